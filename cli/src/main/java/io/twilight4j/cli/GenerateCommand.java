package io.twilight4j.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code twilight4j generate}: continues a prompt, streaming the text to stdout and the stats to stderr. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from a GGUF model: the prompt, then its continuation until EOS or --max-tokens.")
final class GenerateCommand implements Callable<Integer> {

    @Mixin
    ModelOptions options;
    @Option(names = {"-p", "--prompt"}, required = true, description = "the text to continue")
    String prompt;

    @Override
    public Integer call() throws Exception {
        try (ModelSession s = new ModelSession(options)) {
            int[] tokens = s.tokenizer.encode(prompt, s.tokenizer.addBosByDefault(), false);
            float[] logits = s.prompt(tokens);
            // The prompt is echoed, as llama.cpp does, so stdout reads as one text.
            System.out.print(prompt);
            int eos = s.tokenizer.eos();
            s.generate(logits, options.maxTokens, t -> t == eos, System.out);
            System.out.println();
            System.out.flush();
            System.err.println(s.stats());
        }
        return 0;
    }
}
