package io.twilight4j.llama;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.policy.AttentionPolicy;
import io.twilight4j.tensor.RowPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Decode speed against the machine's memory bandwidth: decode is a stream over every weight once
 * per token, so weight bytes per second over a plain streaming read (same pool, same run) says how
 * close the matrix code is to the physical limit.
 */
public final class DecodeBenchmark {

    /** What one run measured. */
    public record Result(int tokens, double tokensPerSecond, double weightBytesPerSecond, double streamBytesPerSecond,
                         double meanAttentionBudget) {
        /** Weight throughput as a share of the streaming read. */
        public double bandwidthShare() {
            return weightBytesPerSecond / streamBytesPerSecond;
        }

        @Override
        public String toString() {
            return String.format("decode %.2f tokens/s, weights %.2f GB/s, streaming read %.2f GB/s (%.0f%%), mean attention budget %.1f tokens",
                    tokensPerSecond, weightBytesPerSecond / 1e9, streamBytesPerSecond / 1e9, 100 * bandwidthShare(), meanAttentionBudget);
        }
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private DecodeBenchmark() {
    }

    /** Decodes {@code warmup + tokens} random tokens on {@code model} and measures the last {@code tokens}. */
    public static Result run(LlamaModel model, AttentionBackend backend, AttentionPolicy policy, int denseLayers,
                             int warmup, int tokens, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int vocab = model.config().vocabSize();
        double tokPerSec;
        double budget;
        try (LlamaDecoder d = model.newDecoder(backend, policy, denseLayers, warmup + tokens)) {
            for (int i = 0; i < warmup; i++) {
                d.forward(rnd.nextInt(vocab));
            }
            d.resetBudget();
            long t0 = System.nanoTime();
            for (int i = 0; i < tokens; i++) {
                d.forward(rnd.nextInt(vocab));
            }
            tokPerSec = tokens / ((System.nanoTime() - t0) / 1e9);
            budget = d.meanAttentionBudget();
        }
        double stream = streamingReadBytesPerSecond(Math.max(256L << 20, Math.min(model.weightBytesPerToken(), 1L << 30)));
        return new Result(tokens, tokPerSec, tokPerSec * model.weightBytesPerToken(), stream, budget);
    }

    /** Best of five vectorized sums over {@code bytes} of fresh memory, split over the {@link RowPool}. */
    public static double streamingReadBytesPerSecond(long bytes) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(bytes, 64);
            seg.fill((byte) 1);
            int chunks = RowPool.threads() * 64;
            long chunkBytes = bytes / chunks / (F.vectorByteSize() * 4L) * (F.vectorByteSize() * 4L);
            double[] sink = new double[chunks];
            double best = 0;
            for (int rep = 0; rep < 5; rep++) {
                long t0 = System.nanoTime();
                RowPool.forRows(chunks, (from, to) -> {
                    for (int c = from; c < to; c++) {
                        sink[c] = sum(seg, c * chunkBytes, chunkBytes);
                    }
                });
                best = Math.max(best, chunks * chunkBytes / ((System.nanoTime() - t0) / 1e9));
            }
            return best;
        }
    }

    private static double sum(MemorySegment seg, long offset, long bytes) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
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
