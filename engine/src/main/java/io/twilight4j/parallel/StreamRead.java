package io.twilight4j.parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The CPU baseline every "X% of bandwidth" figure is measured against: a vectorized sum over fresh
 * memory much larger than the caches, split over a worker pool's threads, in the same run.
 */
public final class StreamRead {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Chunks per worker: a worker slowed by another process leaves its share to the others. */
    private static final int CHUNKS_PER_WORKER = 64;

    /** Bytes per second of the timed passes: their median and their best. */
    public record Result(double medianBytesPerSecond, double bestBytesPerSecond) {
    }

    private StreamRead() {
    }

    /** Reads {@code bytes} of fresh memory {@code repeats} times on {@code pool} (after one untimed pass). */
    public static Result measure(WorkerPool pool, long bytes, int repeats) {
        if (repeats < 1) {
            throw new IllegalArgumentException("stream read: repeats must be >= 1, got " + repeats);
        }
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(bytes, 64);
            seg.fill((byte) 1);
            int chunks = pool.workers() * CHUNKS_PER_WORKER;
            long unit = 4L * F.vectorByteSize();
            long chunkBytes = bytes / chunks / unit * unit;
            double[] sink = new double[chunks];
            double[] rates = new double[repeats];
            for (int rep = -1; rep < repeats; rep++) {
                long t0 = System.nanoTime();
                pool.run(chunks, (c, worker) -> sink[c] = sum(seg, c * chunkBytes, chunkBytes));
                if (rep >= 0) {
                    rates[rep] = chunks * chunkBytes / ((System.nanoTime() - t0) / 1e9);
                }
            }
            Arrays.sort(rates);
            return new Result(rates[repeats / 2], rates[repeats - 1]);
        }
    }

    private static double sum(MemorySegment seg, long offset, long bytes) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        long step = F.vectorByteSize();
        for (long o = offset, end = offset + bytes; o < end; o += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, seg, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(F, seg, o + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(F, seg, o + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(F, seg, o + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }
}
