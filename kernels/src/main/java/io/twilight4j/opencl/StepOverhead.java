package io.twilight4j.opencl;

import io.twilight4j.backend.DecodeShape;
import io.twilight4j.kv.KvShape;
import io.twilight4j.policy.AttentionPolicy;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.lwjgl.system.MemoryUtil;

/**
 * Where a decode step's host time goes on a device: a whole dense step with and without profiling
 * events, and its pieces alone (an upload, an empty round trip, a blocking read), medians of 200.
 *   java ... io.twilight4j.opencl.StepOverhead
 */
public final class StepOverhead {

    private StepOverhead() {
    }

    public static void main(String[] args) {
        OpenClDevice device = OpenClDevice.choose(args.length > 0 ? args[0] : null);
        int hq = 32, hkv = 8, dim = 128, ctx = 8192;
        try (OpenClContext cl = new OpenClContext(device);
             OpenClKvCache cache = new OpenClKvCache(cl, KvShape.forTokens(1, hkv, dim, ctx, 0), null)) {
            int seq = cache.pager().newSequence();
            cache.pager().append(seq, ctx);
            float[] k = new float[ctx * hkv * dim];
            SplittableRandom r = new SplittableRandom(3);
            for (int i = 0; i < k.length; i++) {
                k[i] = (float) r.nextGaussian();
            }
            cache.write(0, seq, 0, k, k, ctx);
            float[] q = new float[hq * dim];
            float[] out = new float[q.length];
            System.out.println("step overhead on " + device.name() + " (batch 1, ctx 8192, hq 32, hkv 8, d 128), median us:");
            for (boolean timing : new boolean[] {true, false}) {
                try (OpenClDecodeAttention plan = new OpenClDecodeAttention(cache, AttentionPolicy.dense(),
                        new DecodeShape(hq, 1, ctx), timing, true)) {
                    System.out.printf("  dense step, profiling events %-5s: %8.1f%n", timing,
                            median(() -> plan.run(0, new int[] {seq}, q, out)));
                }
            }
            kernelFloor(cl, cache, q);
            try (ClBuffer buf = cl.buffer("probe", 4L * q.length)) {
                FloatBuffer host = MemoryUtil.memAllocFloat(q.length);
                try {
                    System.out.printf("  16 KiB upload (non-blocking) + clFinish: %8.1f%n", median(() -> {
                        cl.writeAsync(buf, 0, host.clear());
                        cl.finish();
                    }));
                    System.out.printf("  clFinish on an idle queue:               %8.1f%n", median(cl::finish));
                    System.out.printf("  16 KiB blocking read:                    %8.1f%n", median(() -> cl.read(buf, 0, host.clear())));
                } finally {
                    MemoryUtil.memFree(host);
                }
            }
        }
    }

    /**
     * The smallest device time a kernel event reports: quantize_queries on one row (one work-group of
     * HEAD_DIM / 4 work-items, nothing to wait for), alone and twice back to back (first start to second
     * end: the gap a dependent launch adds).
     */
    private static void kernelFloor(OpenClContext cl, OpenClKvCache cache, float[] q) {
        Map<String, Integer> defines = new LinkedHashMap<>(cache.layout().kernelDefines());
        defines.put("QUERY_HEADS", 32);
        defines.put("GQA_GROUP", 32 / cache.shape().kvHeads());
        int dim = cache.shape().headDim();
        FloatBuffer host = MemoryUtil.memAllocFloat(q.length).put(q).flip();
        try (ClKernel probe = cl.kernel("common.cl+query.cl", defines, "quantize_queries");
             ClBuffer qb = cl.buffer("probe q", 4L * q.length);
             ClBuffer codes = cl.buffer("probe codes", q.length);
             ClBuffer scales = cl.buffer("probe scales", 4L * q.length / dim)) {
            cl.write(qb, 0, host);
            probe.arg(0, qb).arg(1, codes).arg(2, scales).local(3, dim).arg(4, cache.smoothingBuffer()).arg(5, 0);
            StageTimer timer = new StageTimer();
            long[] nanos = new long[4];
            for (int launches : new int[] {1, 2}) {
                double[] us = new double[200];
                for (int i = -20; i < us.length; i++) {
                    for (int l = 0; l < launches; l++) {
                        probe.launch(1, dim / 4, timer, StageTimer.SELECT);
                    }
                    cl.finish();
                    timer.collect(nanos);
                    if (i >= 0) {
                        us[i] = nanos[StageTimer.SELECT] / 1e3;
                    }
                }
                Arrays.sort(us);
                System.out.printf("  one-row kernel x %d, profiled first start to last end: %8.1f%n", launches, us[us.length / 2]);
            }
        } finally {
            MemoryUtil.memFree(host);
        }
    }

    private static double median(Runnable step) {
        double[] us = new double[200];
        for (int i = 0; i < 20; i++) {
            step.run();
        }
        for (int i = 0; i < us.length; i++) {
            long t0 = System.nanoTime();
            step.run();
            us[i] = (System.nanoTime() - t0) / 1e3;
        }
        Arrays.sort(us);
        return us[us.length / 2];
    }
}
