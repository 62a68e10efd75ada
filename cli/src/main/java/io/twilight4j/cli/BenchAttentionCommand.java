package io.twilight4j.cli;

import io.twilight4j.bench.AttentionBench;
import io.twilight4j.bench.BenchConfig;
import io.twilight4j.bench.BenchRow;
import io.twilight4j.parallel.StreamRead;
import io.twilight4j.parallel.WorkerPool;
import io.twilight4j.policy.AttentionPolicy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code twilight4j bench attention}: dense against sparse policies on a synthetic long context. */
@Command(name = "attention", mixinStandardHelpOptions = true,
        description = "Decode attention on a synthetic long-context workload: every policy against dense, measured in one run.")
final class BenchAttentionCommand implements Callable<Integer> {

    static final String DEFAULT_POLICIES = "quest:8192,quest:8192+twilight:0.95,full+twilight:0.95,ds:8192+twilight:0.95";

    @Mixin
    BackendOptions run = new BackendOptions();
    @Option(names = "--batch", defaultValue = "1", description = "sequences per step (default: ${DEFAULT-VALUE})")
    int batch;
    @Option(names = "--ctx", defaultValue = "32768", description = "tokens per sequence (default: ${DEFAULT-VALUE})")
    int ctx;
    @Option(names = "--hq", defaultValue = "32", description = "query heads (default: ${DEFAULT-VALUE})")
    int hq;
    @Option(names = "--hkv", defaultValue = "8", description = "KV heads (default: ${DEFAULT-VALUE})")
    int hkv;
    @Option(names = "--dim", defaultValue = "128", description = "head dimension (default: ${DEFAULT-VALUE})")
    int dim;
    @Option(names = "--policy", defaultValue = DEFAULT_POLICIES, split = ",",
            description = "comma list of policies (dense runs first as the baseline); default: ${DEFAULT-VALUE}")
    List<String> policies;
    @Option(names = {"-s", "--seed"}, defaultValue = "42", description = "workload seed")
    long seed;
    @Option(names = "--iterations", defaultValue = "20",
            description = "timed steps per policy, at least (more until 0.5 s have passed; the median is reported)")
    int iterations;
    @Option(names = "--layers", defaultValue = "1",
            description = "cache layers the steps take turns on, each holding the same workload (default: ${DEFAULT-VALUE}); "
                    + "with 4 or more a step's data is no longer in the CPU caches from the step before, as in a model's decode")
    int layers;
    @Option(names = "--json", description = "also write the rows to FILE, one JSON object per line")
    Path json;
    @Option(names = "--no-bandwidth", description = "skip the CPU streaming-read baseline")
    boolean noBandwidth;
    @Option(names = "--no-key-smoothing",
            description = "quantize the 4-bit keys as they are, without the per-channel smoothing calibrated on the workload")
    boolean noKeySmoothing;

    @Override
    public Integer call() throws Exception {
        List<AttentionPolicy> parsed = new ArrayList<>();
        for (String p : policies) {
            parsed.add(AttentionPolicy.parse(p));
        }
        BenchConfig config = new BenchConfig(run.backend, run.device, run.threads, batch, ctx, hq, hkv, dim, parsed, seed, iterations, layers,
                !noKeySmoothing);
        if (json != null) {
            JsonLines.checkWritable(json);
        }
        System.err.println(noKeySmoothing ? "4-bit keys: not smoothed (--no-key-smoothing)"
                : "4-bit keys: smoothed per channel, calibrated on the workload's keys and queries (--no-key-smoothing: off)");
        long tokens = (long) batch * ctx;
        List<BenchRow> rows;
        try (BenchProgress progress = new BenchProgress(System.err, tokens)) {
            rows = AttentionBench.run(config, progress);
        }
        System.out.print(AttentionBench.table(rows));
        if (layers > 1) {
            System.out.printf(Locale.ROOT, "steps took turns on %d cache layers (the same workload in each)%n", layers);
        }
        if (run.backend.equalsIgnoreCase("cpu") && !noBandwidth) {
            int workers = run.threads == 0 ? Runtime.getRuntime().availableProcessors() : run.threads;
            double stream;
            try (WorkerPool pool = new WorkerPool(workers, "stream", 0)) {
                stream = StreamRead.measure(pool, 1L << 29, 5).medianBytesPerSecond() / 1e9;
            }
            double dense = rows.get(0).kvReadGBs();
            System.out.printf(Locale.ROOT, "dense reads K+V at %.1f GB/s = %.0f%% of a same-run streaming read (%.1f GB/s, %d threads)%n",
                    dense, 100 * dense / stream, stream, workers);
        }
        if (json != null) {
            JsonLines.write(json, rows.stream().map(BenchRow::toJson).toList());
        }
        return 0;
    }
}
