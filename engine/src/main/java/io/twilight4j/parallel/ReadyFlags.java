package io.twilight4j.parallel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One flag per item of a parallel loop whose later items wait for earlier ones (a {@link WorkerPool}
 * hands items out in order, so a waiting item only waits for one that a running worker holds, and the
 * loop cannot deadlock). Flags belong to a round ({@link #nextRound}): no clearing between loops.
 * What an item wrote before {@link #set} is visible to an item after its {@link #await} returns.
 */
public final class ReadyFlags {

    private static final VarHandle FLAG = MethodHandles.arrayElementVarHandle(int[].class);
    /** Spins before a waiting worker starts yielding its core (the machine may be shared). */
    private static final int SPINS = 1 << 10;

    private final int[] round;
    private int current;

    /** Flags for items {@code 0..n-1}. */
    public ReadyFlags(int n) {
        round = new int[n];
    }

    /** Starts a round: every flag is unset. Call before the loop, on the thread that starts it. */
    public void nextRound() {
        current++;
        if (current == 0) {
            // Wrapped after 2^32 rounds: a stale flag could equal the new round.
            java.util.Arrays.fill(round, 0);
            current = 1;
        }
    }

    /** Marks item {@code i} ready in this round. */
    public void set(int i) {
        FLAG.setRelease(round, i, current);
    }

    /** Whether item {@code i} is ready in this round. */
    public boolean isSet(int i) {
        return (int) FLAG.getAcquire(round, i) == current;
    }

    /** Returns once item {@code i} is ready in this round. */
    public void await(int i) {
        for (int spins = 0; !isSet(i); spins++) {
            if (spins < SPINS) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }
}
