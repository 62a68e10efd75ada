package io.twilight4j.opencl;

import io.twilight4j.backend.DecodeAttention;
import io.twilight4j.backend.DecodeShape;
import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.kv.KvCache;
import io.twilight4j.kv.KvShape;
import io.twilight4j.policy.AttentionPolicy;
import java.util.SplittableRandom;

/**
 * Checks a device's fast-path kernels against their portable variants on the same seeded data:
 * CI has no device with fast paths (PoCL builds only the portable ones), so the GPU run calls this.
 * Prints one line per policy with the largest output difference and exits non-zero past tolerance.
 * bench/gpu/ab-h100.sh runs it twice, the second time with {@code -Dtwilight4j.stageTokens=64} ({@link StageSizes}).
 *   java ... io.twilight4j.opencl.FastPathCheck [device]
 */
public final class FastPathCheck {

    private FastPathCheck() {
    }

    public static void main(String[] args) {
        OpenClDevice device = OpenClDevice.choose(args.length > 0 ? args[0] : null);
        String[] policies = {"dense", "quest:512+twilight:0.95", "full+twilight:0.9:head"};
        int[][] shapes = {{8, 32, 128, 3000}, {2, 2, 64, 777}, {4, 8, 128, 130}};
        boolean ok = true;
        try (OpenClBackend fast = new OpenClBackend(device, false, true);
             OpenClBackend portable = new OpenClBackend(device, false, false)) {
            System.out.println("fast-path check on " + fast.description());
            for (int[] s : shapes) {
                for (String p : policies) {
                    double diff = compare(fast, portable, s[0], s[1], s[2], s[3], AttentionPolicy.parse(p));
                    boolean pass = diff <= 2e-3;
                    ok &= pass;
                    System.out.printf("  hkv %d hq %d d %d ctx %d %-26s max |fast - portable| = %.2e %s%n",
                            s[0], s[1], s[2], s[3], p, diff, pass ? "ok" : "FAIL");
                }
            }
        }
        System.exit(ok ? 0 : 1);
    }

    private static double compare(OpenClBackend a, OpenClBackend b, int hkv, int hq, int dim, int ctx, AttentionPolicy policy) {
        float[] outA = run(a, hkv, hq, dim, ctx, policy);
        float[] outB = run(b, hkv, hq, dim, ctx, policy);
        double max = 0;
        for (int i = 0; i < outA.length; i++) {
            max = Math.max(max, Math.abs(outA[i] - outB[i]));
        }
        return max;
    }

    private static float[] run(OpenClBackend backend, int hkv, int hq, int dim, int ctx, AttentionPolicy policy) {
        int batch = 2;
        KvShape shape = KvShape.forTokens(1, hkv, dim, 2L * (ctx + 16), 0);
        SplittableRandom r = new SplittableRandom(7);
        // Key smoothing on (its exponents fixed by channel), so the fast Quest kernel's smoothed query codes are checked too.
        int[][][] exponents = new int[1][hkv][dim];
        for (int[] head : exponents[0]) {
            for (int c = 0; c < dim; c++) {
                head[c] = c % 16 == 3 ? 3 : c % 5 == 0 ? 1 : 0;
            }
        }
        try (KvCache cache = backend.createCache(shape, null, new KeySmoothing(dim, exponents));
             DecodeAttention plan = backend.plan(cache, policy, new DecodeShape(hq, batch, ctx))) {
            int[] seqs = new int[batch];
            for (int s = 0; s < batch; s++) {
                int len = ctx - 37 * s;
                seqs[s] = cache.pager().newSequence();
                cache.pager().append(seqs[s], len);
                float[] k = new float[len * hkv * dim];
                float[] v = new float[len * hkv * dim];
                for (int i = 0; i < k.length; i++) {
                    k[i] = (float) (r.nextGaussian() * Math.scalb(1.0, exponents[0][0][i % dim]));
                    v[i] = (float) r.nextGaussian();
                }
                cache.write(0, seqs[s], 0, k, v, len);
            }
            float[] q = new float[batch * hq * dim];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) (r.nextGaussian() * 2);
            }
            float[] out = new float[q.length];
            plan.run(0, seqs, q, out);
            return out;
        }
    }
}
