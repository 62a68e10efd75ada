package io.twilight4j.cli;

import io.twilight4j.llama.DecodeBenchmark;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code twilight4j generate}: continues a prompt, streaming the text to stdout and the stats to stderr;
 * with {@code --bench}, measures decode speed against the machine's streaming read bandwidth instead.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from a GGUF model: the prompt, then its continuation until EOS or --max-tokens.")
final class GenerateCommand implements Callable<Integer> {

    @Mixin
    ModelOptions options;
    @Option(names = {"-p", "--prompt"}, description = "the text to continue (required unless --bench)")
    String prompt;
    @Option(names = "--synthetic", paramLabel = "NAME",
            description = "instead of -m: random Q8_0 weights of a known shape, built in memory (tiny, llama-1b, llama2-7b, llama3-8b)")
    String synthetic;
    @Option(names = "--bench", description = "decode benchmark: -n random tokens per run after a warm-up, "
            + "weight bytes/s against a streaming read of the same run")
    boolean bench;
    @Option(names = "--bench-runs", defaultValue = "3", description = "benchmark runs, the median is reported (default: ${DEFAULT-VALUE})")
    int benchRuns;

    /** Tokens decoded before each measured run (JIT compilation, caches). */
    private static final int BENCH_WARMUP_TOKENS = 8;

    @Override
    public Integer call() throws Exception {
        if (!bench && prompt == null) {
            throw new IllegalArgumentException("missing -p/--prompt (or --bench)");
        }
        if (bench && benchRuns <= 0) {
            throw new IllegalArgumentException("--bench-runs must be positive, not " + benchRuns);
        }
        try (ModelSession s = new ModelSession(options, synthetic)) {
            if (bench) {
                benchmark(s);
                return 0;
            }
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

    private void benchmark(ModelSession s) {
        int tokens = Math.min(options.maxTokens, s.room() - BENCH_WARMUP_TOKENS);
        System.out.printf(Locale.ROOT, "decode benchmark: %s, %.2f GB of weights per token, attention %s, %d runs of %d tokens%n",
                synthetic != null ? "synthetic " + synthetic : options.model, s.model.weightBytesPerToken() / 1e9,
                options.attention, benchRuns, tokens);
        List<DecodeBenchmark.Result> results = s.bench(BENCH_WARMUP_TOKENS, tokens, benchRuns);
        for (int r = 0; r < results.size(); r++) {
            System.out.println("run " + (r + 1) + ": " + results.get(r));
        }
        System.out.printf(Locale.ROOT, "median: %.2f tokens/s, weights %.2f GB/s, stream %.2f GB/s, ratio %.1f%%%n",
                median(results, DecodeBenchmark.Result::tokensPerSecond),
                median(results, DecodeBenchmark.Result::weightBytesPerSecond) / 1e9,
                median(results, DecodeBenchmark.Result::streamBytesPerSecond) / 1e9,
                100 * median(results, DecodeBenchmark.Result::bandwidthShare));
    }

    private static double median(List<DecodeBenchmark.Result> results, ToDoubleFunction<DecodeBenchmark.Result> field) {
        double[] v = results.stream().mapToDouble(field).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
