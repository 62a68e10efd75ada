package io.twilight4j.opencl;

import io.twilight4j.backend.DecodeShape;
import io.twilight4j.backend.StepStats;
import io.twilight4j.kv.KvShape;
import io.twilight4j.policy.AttentionPolicy;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Kernel workbench (STYLE.md, after llm.c's dev/cuda): times dense decode attention on the device for
 * several launch shapes, so the winner can become {@link AttentionTuning#DEFAULT}. Device time from
 * kernel events, median of 20 steps.
 *   java ... io.twilight4j.opencl.AttentionSweep [batch ctx hkv]
 */
public final class AttentionSweep {

    private AttentionSweep() {
    }

    public static void main(String[] args) {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        int ctx = args.length > 1 ? Integer.parseInt(args[1]) : 32768;
        int hkv = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        int hq = 32;
        int dim = 128;
        OpenClDevice device = OpenClDevice.choose(null);
        try (OpenClContext cl = new OpenClContext(device);
             OpenClKvCache cache = new OpenClKvCache(cl, KvShape.forTokens(1, hkv, dim, (long) batch * ctx, 0), null)) {
            int[] seqs = new int[batch];
            int chunk = 4096;
            float[] k = new float[chunk * hkv * dim];
            float[] v = new float[k.length];
            for (int b = 0; b < batch; b++) {
                seqs[b] = cache.pager().newSequence();
                for (int pos = 0; pos < ctx; pos += chunk) {
                    int n = Math.min(chunk, ctx - pos);
                    long seed = (long) b * ctx + pos;
                    IntStream.range(0, n).parallel().forEach(t -> {
                        SplittableRandom r = new SplittableRandom(seed + t);
                        for (int i = t * hkv * dim; i < (t + 1) * hkv * dim; i++) {
                            k[i] = (float) r.nextGaussian();
                            v[i] = (float) r.nextGaussian();
                        }
                    });
                    cache.pager().append(seqs[b], n);
                    cache.write(0, seqs[b], pos, k, v, n);
                }
            }
            float[] q = new float[batch * hq * dim];
            SplittableRandom r = new SplittableRandom(1);
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) r.nextGaussian();
            }
            float[] out = new float[q.length];
            double bytes = 2.0 * 2 * batch * (double) ctx * hkv * dim;
            System.out.printf("dense attention sweep on %s, batch %d ctx %d hq %d hkv %d d %d%n", device.name(), batch, ctx, hq, hkv, dim);
            int vec = 8;
            for (int rows : new int[] {1, 2, 3, 4}) {
                for (int threads : new int[] {128, 256}) {
                    for (int perUnit : new int[] {4, 6, 8, 12, 16}) {
                        AttentionTuning t = new AttentionTuning(rows, threads, perUnit, vec, AttentionTuning.DEFAULT.mergeChunksPerPart());
                        try (OpenClDecodeAttention plan = new OpenClDecodeAttention(cache, AttentionPolicy.dense(),
                                new DecodeShape(hq, batch, ctx), true, true, t, 1)) {
                            double[] ms = new double[20];
                            for (int i = 0; i < 23; i++) {
                                StepStats s = plan.run(0, seqs, q, out);
                                if (i >= 3) {
                                    ms[i - 3] = s.attentionNanos / 1e6;
                                }
                            }
                            Arrays.sort(ms);
                            double med = 0.5 * (ms[9] + ms[10]);
                            System.out.printf("  vec %2d rows %d threads %3d groups/unit %2d: %.3f ms  %.0f GB/s%n", vec, rows, threads, perUnit,
                                    med, bytes / (med / 1e3) / 1e9);
                        }
                    }
                }
            }
        }
    }
}
