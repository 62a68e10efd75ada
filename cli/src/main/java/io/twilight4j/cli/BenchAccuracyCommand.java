package io.twilight4j.cli;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.backend.Backends;
import io.twilight4j.eval.PolicyAccuracy;
import io.twilight4j.gguf.GgufFile;
import io.twilight4j.llama.LlamaModel;
import io.twilight4j.console.ProgressBars;
import io.twilight4j.policy.AttentionPolicy;
import io.twilight4j.tensor.RowPool;
import io.twilight4j.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code twilight4j bench accuracy}: what each policy costs a real model's next-token predictions on a text. */
@Command(name = "accuracy", mixinStandardHelpOptions = true,
        description = "Teacher-forced quality of attention policies on a GGUF model: the model reads a text with dense "
                + "attention and with each policy in lockstep; per policy: perplexity, KL divergence from dense's "
                + "next-token distribution, top-1 agreement with dense, mean attended tokens per head.")
final class BenchAccuracyCommand implements Callable<Integer> {

    static final String DEFAULT_POLICIES = "quest:1024,quest:1024+twilight:0.95,full+twilight:0.95";

    @Mixin
    BackendOptions run = new BackendOptions();
    @Option(names = {"-m", "--model"}, paramLabel = "FILE", required = true, description = "the .gguf model")
    Path model;
    @Option(names = "--text", paramLabel = "FILE", description = "the text to read (UTF-8); or -p")
    Path textFile;
    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "the text to read, inline; or --text")
    String text;
    @Option(names = "--policy", defaultValue = DEFAULT_POLICIES, split = ",",
            description = "comma list of policies, each against dense; default: ${DEFAULT-VALUE}")
    List<String> policies;
    @Option(names = "--start", defaultValue = "0",
            description = "first step scored: earlier tokens are context only (and calibrate ds label channels and the key smoothing) (default: ${DEFAULT-VALUE})")
    int start;
    @Option(names = "--dense-prefix", description = "the steps before --start attend densely under every policy: a dense "
            + "prefill of the context, then sparse decode (the Twilight paper's setting)")
    boolean densePrefix;
    @Option(names = "--max-tokens", defaultValue = "0", description = "read only the text's first N tokens, 0 = all (default: ${DEFAULT-VALUE})")
    int maxTokens;
    @Option(names = "--dense-layers", defaultValue = "2",
            description = "leading layers that attend densely under every policy, as in generate (default: ${DEFAULT-VALUE})")
    int denseLayers;
    @Option(names = "--json", paramLabel = "FILE", description = "also write the rows to FILE, one JSON object per line")
    Path json;
    @Option(names = "--no-key-smoothing", description = "quantize the 4-bit keys as they are; by default policies "
            + "that read them (Quest, Twilight's estimate) smooth them per channel, calibrated on the tokens before --start")
    boolean noKeySmoothing;

    @Override
    public Integer call() throws Exception {
        List<AttentionPolicy> parsed = new ArrayList<>();
        for (String p : policies) {
            try {
                parsed.add(AttentionPolicy.parse(p.trim()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--policy '" + p + "': " + e.getMessage(), e);
            }
        }
        String input = readText();
        if (maxTokens < 0) {
            throw new IllegalArgumentException("--max-tokens must be >= 0, not " + maxTokens);
        }
        if (denseLayers < 0) {
            throw new IllegalArgumentException("--dense-layers must be >= 0, not " + denseLayers);
        }
        if (json != null) {
            JsonLines.checkWritable(json);
        }
        RowPool.useThreads(run.threads);
        try (GgufFile file = GgufFile.open(model)) {
            Tokenizer tokenizer = Tokenizer.fromGguf(file);
            int[] tokens = tokenizer.encode(input, tokenizer.addBosByDefault(), false);
            if (maxTokens > 0 && tokens.length > maxTokens) {
                tokens = Arrays.copyOf(tokens, maxTokens);
            }
            if (tokens.length < 2) {
                throw new IllegalArgumentException("the text reads as " + tokens.length + " token" + (tokens.length == 1 ? "" : "s")
                        + (maxTokens > 0 ? " (--max-tokens " + maxTokens + ")" : "")
                        + "; scoring needs at least 2, a token and the one after it");
            }
            if (start < 0 || start > tokens.length - 2) {
                throw new IllegalArgumentException("--start " + start + ": the text reads as " + tokens.length
                        + " tokens, so --start must be in [0, " + Math.max(0, tokens.length - 2) + "]");
            }
            LlamaModel m = LlamaModel.load(file, System.err);
            List<PolicyAccuracy.Row> rows;
            try (AttentionBackend backend = Backends.open(run.backend, run.device, run.threads)) {
                System.err.println("backend: " + backend.description());
                try (ProgressBar bar = ProgressBars.on(System.err, "reading", tokens.length - 1, " tokens").build()) {
                    rows = PolicyAccuracy.run(m, backend, parsed, denseLayers, tokens, start, densePrefix, !noKeySmoothing,
                            bar::stepBy);
                }
            }
            boolean smoothed = rows.stream().anyMatch(PolicyAccuracy.Row::keySmoothing);
            System.out.printf(Locale.ROOT, "%s: %d tokens, steps %d..%d scored, dense layers %d%s%s%n", model.getFileName(),
                    tokens.length, start, tokens.length - 2, denseLayers, densePrefix ? ", steps before them dense" : "",
                    smoothed ? ", 4-bit keys smoothed (calibrated on the " + start + " tokens before)" : "");
            System.out.print(PolicyAccuracy.table(rows));
            if (rows.size() > 1) {
                System.out.println();
                System.out.print(PolicyAccuracy.layerTable(rows));
            }
            if (json != null) {
                JsonLines.write(json, rows.stream().map(PolicyAccuracy.Row::toJson).toList());
            }
        }
        return 0;
    }

    private String readText() throws IOException {
        if ((textFile == null) == (text == null)) {
            throw new IllegalArgumentException("give the text as either --text FILE or -p TEXT");
        }
        if (text != null) {
            return text;
        }
        if (!Files.isReadable(textFile)) {
            throw new IllegalArgumentException("--text " + textFile + ": no such readable file");
        }
        try {
            return Files.readString(textFile, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("--text " + textFile + ": not UTF-8 text", e);
        }
    }
}
