package io.twilight4j.parallel;

import java.util.function.DoubleSupplier;

/**
 * Benchmark warm-up: runs rounds until two consecutive ones measure within a tolerance of each other.
 * On this project's two-core machines the JIT's compiler threads share the cores with the measured
 * code, so a fixed warm-up left it half compiled (the attention bench's pruning path ran twice as
 * slow, the decode benchmark's first run ~25% slow).
 */
public final class SteadyState {

    private SteadyState() {
    }

    /**
     * Calls {@code round} (which runs one round and returns its measure, e.g. a median or a duration)
     * until a round is within {@code tolerance} (relative) of the previous one and at least
     * {@code minNanos} have passed, or until {@code maxRounds} rounds or {@code maxNanos} have passed.
     * Returns the rounds run.
     */
    public static int warmUp(DoubleSupplier round, double tolerance, long minNanos, long maxNanos, int maxRounds) {
        long start = System.nanoTime();
        double previous = Double.NaN;
        int rounds = 0;
        while (rounds < maxRounds && System.nanoTime() - start < maxNanos) {
            rounds++;
            double m = round.getAsDouble();
            if (Math.abs(m - previous) <= tolerance * previous && System.nanoTime() - start >= minNanos) {
                break;
            }
            previous = m;
        }
        return rounds;
    }
}
