package io.twilight4j.llama;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.parallel.SteadyState;
import io.twilight4j.parallel.StreamRead;
import io.twilight4j.policy.AttentionPolicy;
import io.twilight4j.tensor.RowPool;
import java.util.SplittableRandom;

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

    private DecodeBenchmark() {
    }

    /**
     * Decodes rounds of {@code roundTokens} random tokens until two consecutive rounds take within 3%
     * of each other (at most {@code maxRounds}): the JIT's compiler threads share the cores with the
     * decode, so a fixed short warm-up left the first measured run ~25% slow. Returns the rounds run.
     */
    public static int warmUp(LlamaModel model, AttentionBackend backend, AttentionPolicy policy, int denseLayers,
                             int roundTokens, int maxRounds) {
        SplittableRandom rnd = new SplittableRandom(-1);
        int vocab = model.config().vocabSize();
        return SteadyState.warmUp(() -> {
            // A fresh decoder per round keeps the context (and so the attention work) the same.
            try (LlamaDecoder d = model.newDecoder(backend, policy, denseLayers, roundTokens)) {
                long t0 = System.nanoTime();
                for (int i = 0; i < roundTokens; i++) {
                    d.forward(rnd.nextInt(vocab));
                }
                return System.nanoTime() - t0;
            }
        }, 0.03, 0, Long.MAX_VALUE, maxRounds);
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
        // Best of five reads on the same pool as the products (StreamRead, shared with bench attention).
        double stream = StreamRead.measure(RowPool.pool(), Math.max(256L << 20, Math.min(model.weightBytesPerToken(), 1L << 30)), 5)
                .bestBytesPerSecond();
        return new Result(tokens, tokPerSec, tokPerSec * model.weightBytesPerToken(), stream, budget);
    }
}
