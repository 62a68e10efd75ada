package io.twilight4j.parallel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ReadyFlagsTest {

    @Test
    void aRoundStartsWithEveryFlagUnset() {
        ReadyFlags flags = new ReadyFlags(3);
        flags.nextRound();
        flags.set(1);
        assertTrue(flags.isSet(1));
        assertFalse(flags.isSet(0));
        flags.nextRound();
        assertFalse(flags.isSet(1), "a flag of the round before");
    }

    /**
     * The pattern of the CPU pipeline: items [0, n) produce a row each, items [n, 2n) wait for their
     * producer and copy its row, on a pool that hands items out in order; over many rounds every copy sees
     * its producer's whole row of this round (a consumer that ran early would copy the row before).
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void consumersSeeWhatTheirProducersWrote(int workers) {
        int n = 12, len = 64;
        ReadyFlags ready = new ReadyFlags(n);
        int[][] rows = new int[n][len];
        int[][] copies = new int[n][len];
        long[] sink = new long[n];
        SplittableRandom r = new SplittableRandom(workers);
        try (WorkerPool pool = new WorkerPool(workers, "ready-test", 10_000)) {
            for (int round = 1; round <= 200; round++) {
                int value = round;
                int spin = r.nextInt(2000);
                ready.nextRound();
                pool.run(2 * n, (item, w) -> {
                    if (item < n) {
                        // Uneven producers, so consumers of fast ones overtake slow ones.
                        long x = 0;
                        for (int k = 0; k < spin * (item % 3); k++) {
                            x += k * (long) item;
                        }
                        sink[item] = x;
                        for (int c = 0; c < len; c++) {
                            rows[item][c] = value * 1000 + c;
                        }
                        ready.set(item);
                    } else {
                        int p = item - n;
                        ready.await(p);
                        System.arraycopy(rows[p], 0, copies[p], 0, len);
                    }
                });
                for (int p = 0; p < n; p++) {
                    assertArrayEquals(rows[p], copies[p], "round " + round + ", producer " + p);
                }
            }
        }
    }
}
