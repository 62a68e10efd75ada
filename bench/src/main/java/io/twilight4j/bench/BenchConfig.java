package io.twilight4j.bench;

import io.twilight4j.policy.AttentionPolicy;
import java.util.List;

/**
 * One attention benchmark run: shape, policies, backend and timing settings.
 *
 * @param backend     backend name ({@code cpu} or {@code opencl})
 * @param device      device choice for OpenCL (index or name part), or null
 * @param threads     CPU threads (0: one per core)
 * @param batch       sequences per step
 * @param ctx         tokens per sequence
 * @param queryHeads  query heads (Hq)
 * @param kvHeads     KV heads (Hkv)
 * @param headDim     channels per head (d)
 * @param policies    policies to compare; dense always runs first as the baseline
 * @param seed        workload seed
 * @param iterations  timed steps per policy at least (as many more as fill 0.5 s; the median is reported)
 * @param layers      cache layers, each holding the same workload; step i runs layer i % layers, so with
 *                    several a step finds none of its data in the CPU caches the step before warmed (as in
 *                    a model, whose other layers come in between)
 * @param keySmoothing whether the cache smooths its 4-bit keys per channel ({@code KeySmoothing} calibrated
 *                    on the workload's keys and queries); false quantizes the keys as they are
 */
public record BenchConfig(String backend, String device, int threads, int batch, int ctx, int queryHeads, int kvHeads,
                          int headDim, List<AttentionPolicy> policies, long seed, int iterations, int layers,
                          boolean keySmoothing) {

    /** One cache layer: every step runs the layer the step before ran; key smoothing on. */
    public BenchConfig(String backend, String device, int threads, int batch, int ctx, int queryHeads, int kvHeads,
                       int headDim, List<AttentionPolicy> policies, long seed, int iterations) {
        this(backend, device, threads, batch, ctx, queryHeads, kvHeads, headDim, policies, seed, iterations, 1, true);
    }

    public BenchConfig {
        check(batch > 0, "--batch must be positive, got " + batch);
        check(ctx > 0, "--ctx must be positive, got " + ctx);
        check(kvHeads > 0 && queryHeads > 0 && queryHeads % kvHeads == 0,
                "--hq (" + queryHeads + ") must be a positive multiple of --hkv (" + kvHeads + ")");
        check(headDim > 0 && headDim % 4 == 0, "--dim must be a positive multiple of 4, got " + headDim);
        check(iterations > 0, "--iterations must be positive, got " + iterations);
        check(layers > 0, "--layers must be positive, got " + layers);
        check(!policies.isEmpty(), "--policy needs at least one policy");
        policies = List.copyOf(policies);
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Label channels the cache needs: the largest r of any ds policy (0 when none). */
    public int labelChannels() {
        int r = 0;
        for (AttentionPolicy p : policies) {
            if (p.selector() == io.twilight4j.policy.SelectorKind.DS) {
                int pr = p.labelChannelsFor(headDim);
                if (r != 0 && pr != r) {
                    throw new IllegalArgumentException("all ds policies of one run must use the same label channels, got "
                            + r + " and " + pr);
                }
                r = pr;
            }
        }
        return r;
    }
}
