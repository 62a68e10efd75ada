package io.twilight4j.bench;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.backend.Backends;
import io.twilight4j.backend.DecodeAttention;
import io.twilight4j.backend.DecodeShape;
import io.twilight4j.backend.OutputError;
import io.twilight4j.backend.StepStats;
import io.twilight4j.kv.KvCache;
import io.twilight4j.parallel.SteadyState;
import io.twilight4j.policy.AttentionPolicy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The attention benchmark: fills one cache with a synthetic workload, runs dense first (the
 * baseline, measured in the same run), then every policy, and reports median latency, speedup,
 * kept budget, relative error of the output against dense and the true mass of the attended tokens
 * ({@link TrueWeights}). Step i runs cache layer i % layers (every layer holds the same workload, so
 * outputs do not depend on the layer).
 */
public final class AttentionBench {

    /**
     * Warm-up in rounds of at least this many steps and this long, until a round's median is within
     * {@link #STEADY} of the previous one (the JIT has compiled the step: on two busy cores its
     * compiler threads get little time, and a fixed 0.5 s left the pruning path half compiled, twice
     * as slow), for at most {@link #WARMUP_MAX_NANOS}.
     */
    private static final int WARMUP_ROUND_STEPS = 5;
    private static final long WARMUP_ROUND_NANOS = 500_000_000L;
    private static final double STEADY = 0.03;
    /** Two equal slow rounds happen while the compiler is still busy: never stop before this. */
    private static final long WARMUP_MIN_NANOS = 2_000_000_000L;
    private static final long WARMUP_MAX_NANOS = 15_000_000_000L;
    /** The latency pass lasts at least this long (see {@link #timedSteps}). */
    static final long MIN_TIMED_NANOS = 500_000_000L;

    private AttentionBench() {
    }

    /** Runs {@code config}, telling {@code listener} how far it got. */
    public static List<BenchRow> run(BenchConfig config, BenchListener listener) {
        SyntheticWorkload workload = new SyntheticWorkload(config);
        List<BenchRow> rows = new ArrayList<>();
        try (AttentionBackend backend = Backends.open(config.backend(), config.device(), config.threads());
             KvCache cache = backend.createCache(workload.shape(), workload.labelChannels(),
                     workload.keySmoothing())) {
            listener.opened(backend.description());
            int[] seqs = workload.fill(cache, listener::filled);
            listener.fillDone();
            float[] q = workload.queries(config.seed() + 1);
            TrueWeights weights = TrueWeights.of(workload, 0, q, cache.shape().scoreScale());
            DecodeShape shape = new DecodeShape(config.queryHeads(), config.batch(), config.ctx());
            float[] dense = new float[q.length];
            listener.measuring(AttentionPolicy.dense());
            BenchRow baseline = measure(backend, cache, AttentionPolicy.dense(), shape, seqs, q, dense, null, -1, weights,
                    config);
            rows.add(baseline);
            for (AttentionPolicy p : config.policies()) {
                if (!p.isDense()) {
                    listener.measuring(p);
                    rows.add(measure(backend, cache, p, shape, seqs, q, new float[q.length], dense, baseline.medianMs(),
                            weights, config));
                }
            }
        }
        return rows;
    }

    private static BenchRow measure(AttentionBackend backend, KvCache cache, AttentionPolicy policy, DecodeShape shape,
                                    int[] seqs, float[] q, float[] out, float[] dense, double denseMs,
                                    TrueWeights weights, BenchConfig c) {
        try (DecodeAttention plan = backend.plan(cache, policy, shape)) {
            // Latency first, without per-stage timing (it costs time on some devices), then the step's
            // own time and the stage split, each from as many steps again (on a device the split's
            // per-kernel events add to the step, so the step is timed without them).
            plan.recordStageTimes(false);
            warmUp(plan, c.layers(), seqs, q, out);
            double[] ms = timedSteps(plan, c, seqs, q, out);
            // The step and stage passes (the table's split, not its latency) keep to --iterations steps: on a
            // device each costs scarce device time.
            int steps = c.iterations();
            StepStats stats = null;
            double[][] stages = new double[5][steps];
            plan.recordStepTimes(true);
            for (int i = 0; i < steps; i++) {
                stages[4][i] = plan.run(i % c.layers(), seqs, q, out).totalNanos() / 1e6;
            }
            plan.recordStepTimes(false);
            plan.recordStageTimes(true);
            for (int i = 0; i < steps; i++) {
                stats = plan.run(i % c.layers(), seqs, q, out);
                stages[0][i] = stats.selectNanos / 1e6;
                stages[1][i] = stats.estimateNanos / 1e6;
                stages[2][i] = stats.topPNanos / 1e6;
                stages[3][i] = stats.attentionNanos / 1e6;
            }
            plan.recordStageTimes(false);
            double median = median(ms);
            double relError = dense == null ? 0 : OutputError.relative(out, dense, dense.length);
            double[] kept = weights.keptMass(plan, 0);
            double kvBytes = 2.0 * 2 * c.batch() * (double) c.ctx() * c.kvHeads() * c.headDim();
            return new BenchRow(policy.toString(), backend.name(), c.batch(), c.ctx(), c.queryHeads(), c.kvHeads(), c.headDim(),
                    median, dense == null ? 1 : denseMs / median, stats.meanKept(), stats.minKept(), stats.maxKept(), relError,
                    Arrays.stream(kept).average().orElse(0), Arrays.stream(kept).min().orElse(0),
                    median(stages[0]), median(stages[1]), median(stages[2]), median(stages[3]), median(stages[4]),
                    policy.isDense() ? kvBytes / (median / 1e3) / 1e9 : 0, c.layers(), c.keySmoothing());
        }
    }

    /**
     * The latency pass: each step's wall time in ms, for at least {@code c.iterations()} steps and at least
     * {@link #MIN_TIMED_NANOS}. On a shared machine a burst of other work can last tens of ms: 20 sparse
     * steps of 2 ms fit inside one, and the median with them (single calls at 32k moved by 10-40%,
     * bench/results/cpu-2026-12-07-session26).
     */
    private static double[] timedSteps(DecodeAttention plan, BenchConfig c, int[] seqs, float[] q, float[] out) {
        List<Double> ms = new ArrayList<>();
        long start = System.nanoTime();
        while (ms.size() < c.iterations() || System.nanoTime() - start < MIN_TIMED_NANOS) {
            long t0 = System.nanoTime();
            plan.run(ms.size() % c.layers(), seqs, q, out);
            ms.add((System.nanoTime() - t0) / 1e6);
        }
        return ms.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Runs warm-up rounds until two consecutive round medians agree within {@link #STEADY}. */
    private static void warmUp(DecodeAttention plan, int layers, int[] seqs, float[] q, float[] out) {
        SteadyState.warmUp(() -> {
            List<Double> round = new ArrayList<>();
            long roundStart = System.nanoTime();
            while (round.size() < WARMUP_ROUND_STEPS || System.nanoTime() - roundStart < WARMUP_ROUND_NANOS) {
                long t0 = System.nanoTime();
                plan.run(round.size() % layers, seqs, q, out);
                round.add((System.nanoTime() - t0) / 1e6);
            }
            return median(round.stream().mapToDouble(Double::doubleValue).toArray());
        }, STEADY, WARMUP_MIN_NANOS, WARMUP_MAX_NANOS, Integer.MAX_VALUE);
    }

    /** ||a - b|| / ||b|| in float64 over all heads. */
    static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    }

    /** The results as a plain-text table. */
    public static String table(List<BenchRow> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-28s %-7s %-22s %10s %8s %22s %9s %12s %28s %8s%n", "policy", "backend",
                "shape (BxL, Hq/Hkv, d)", "median_ms", "speedup", "budget mean/min/max", "rel_err", "mass mean/min",
                "select/est/top-p/attn ms", "step ms"));
        for (BenchRow r : rows) {
            String shape = r.batch() + "x" + r.ctx() + ", " + r.hq() + "/" + r.hkv() + ", " + r.dim();
            sb.append(String.format(java.util.Locale.ROOT, "%-28s %-7s %-22s %10.3f %7.2fx %22s %9.2e %12s %28s %8.3f%n",
                    r.policy(), r.backend(), shape, r.medianMs(), r.speedupVsDense(),
                    String.format(java.util.Locale.ROOT, "%.1f/%d/%d", r.budgetMean(), r.budgetMin(), r.budgetMax()), r.relError(),
                    String.format(java.util.Locale.ROOT, "%.3f/%.3f", r.keptMassMean(), r.keptMassMin()),
                    String.format(java.util.Locale.ROOT, "%.2f/%.2f/%.2f/%.2f", r.selectMs(), r.estimateMs(), r.topPMs(), r.attentionMs()),
                    r.stepMs()));
        }
        return sb.toString();
    }
}
