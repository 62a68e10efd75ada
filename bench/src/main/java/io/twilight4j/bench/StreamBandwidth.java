package io.twilight4j.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The CPU baseline for "reads K and V at X% of bandwidth": a vectorized sum over a buffer much
 * larger than the caches, split over the same number of threads the backend uses.
 */
public final class StreamBandwidth {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private StreamBandwidth() {
    }

    /** Median read bandwidth in GB/s over {@code repeats} passes of {@code bytes} with {@code threads} threads. */
    public static double readGBs(long bytes, int threads, int repeats) throws InterruptedException {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(bytes, 64);
            seg.fill((byte) 1);
            double[] gbs = new double[repeats];
            for (int rep = 0; rep < repeats + 1; rep++) {
                long t0 = System.nanoTime();
                List<Thread> ts = new ArrayList<>();
                long per = bytes / threads / 64 * 64;
                float[] sink = new float[threads];
                for (int i = 0; i < threads; i++) {
                    int id = i;
                    ts.add(Thread.ofPlatform().start(() -> sink[id] = sum(seg, id * per, per)));
                }
                for (Thread t : ts) {
                    t.join();
                }
                double s = (System.nanoTime() - t0) / 1e9;
                if (rep > 0) {
                    gbs[rep - 1] = per * threads / s / 1e9;
                }
                if (sink[0] == 42) {
                    System.err.print("");
                }
            }
            Arrays.sort(gbs);
            return gbs[repeats / 2];
        }
    }

    private static float sum(MemorySegment seg, long from, long bytes) {
        FloatVector a = FloatVector.zero(F);
        FloatVector b = FloatVector.zero(F);
        long step = F.vectorByteSize();
        long end = from + bytes - 2 * step + 1;
        long i = from;
        for (; i < end; i += 2 * step) {
            a = a.add(FloatVector.fromMemorySegment(F, seg, i, ByteOrder.LITTLE_ENDIAN));
            b = b.add(FloatVector.fromMemorySegment(F, seg, i + step, ByteOrder.LITTLE_ENDIAN));
        }
        return a.add(b).reduceLanes(VectorOperators.ADD);
    }
}
