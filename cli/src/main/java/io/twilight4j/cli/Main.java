package io.twilight4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code bin/twilight4j}: lists the subcommands when called without arguments. */
@Command(name = "twilight4j", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Long-context LLM decoding with Twilight adaptive attention sparsity (CPU and OpenCL).",
        subcommands = {
                GenerateCommand.class,
                ChatCommand.class,
                BenchCommand.class,
                InspectCommand.class,
                DevicesCommand.class,
        })
public final class Main implements Runnable {

    /** Subcommands with one example each, printed when no subcommand is given. */
    static final String[][] EXAMPLES = {
            {"generate", "generate text from a GGUF model",
                    "bin/twilight4j generate -m ../shared/models/stories260K.gguf -p 'Once upon a time' -n 64 --temperature 0"},
            {"generate --bench", "decode speed against memory bandwidth (synthetic weights, no download)",
                    "bin/twilight4j generate --synthetic llama-1b --bench -n 16"},
            {"chat", "chat with a GGUF model (its chat template when it has one)", "bin/twilight4j chat -m model.gguf"},
            {"bench", "attention benchmark: dense vs sparse policies on a synthetic long context",
                    "bin/twilight4j bench attention --ctx 32768 --policy quest:8192+twilight:0.95"},
            {"bench accuracy", "what sparse policies cost a model's predictions on a text (perplexity, KL from dense)",
                    "bin/twilight4j bench accuracy -m model.gguf --text book.txt --max-tokens 8192 --policy quest:1024+twilight:0.95"},
            {"inspect", "print a GGUF file's metadata and tensor table", "bin/twilight4j inspect ../shared/models/stories260K.gguf"},
            {"devices", "list OpenCL devices and their limits", "bin/twilight4j devices"},
    };

    @Override
    public void run() {
        System.out.println("usage: twilight4j COMMAND [OPTIONS]   (twilight4j COMMAND --help for details)");
        System.out.println();
        for (String[] e : EXAMPLES) {
            System.out.printf("  %-16s %s%n                   e.g. %s%n", e[0], e[1], e[2]);
        }
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (tests call this). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(new ErrorHandler());
        return cl.execute(args);
    }

    /** Prints the version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"twilight4j " + (v == null ? "dev" : v)};
        }
    }
}
