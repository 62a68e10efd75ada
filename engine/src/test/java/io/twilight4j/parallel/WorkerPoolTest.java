package io.twilight4j.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class WorkerPoolTest {

    /** Back-to-back runs of random sizes, with pauses long enough for workers to park: every item runs once. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void everyItemRunsExactlyOnceOnAValidWorker(int workers) throws InterruptedException {
        SplittableRandom r = new SplittableRandom(workers);
        try (WorkerPool pool = new WorkerPool(workers, "test", 10_000)) {
            for (int run = 0; run < 300; run++) {
                int n = r.nextInt(200);
                AtomicIntegerArray count = new AtomicIntegerArray(Math.max(n, 1));
                boolean[] badWorker = new boolean[1];
                pool.run(n, (item, worker) -> {
                    count.incrementAndGet(item);
                    if (worker < 0 || worker >= workers) {
                        badWorker[0] = true;
                    }
                });
                for (int i = 0; i < n; i++) {
                    assertEquals(1, count.get(i), "run " + run + " item " + i);
                }
                assertTrue(!badWorker[0], "worker index out of range");
                if (run % 50 == 0) {
                    Thread.sleep(2);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void theFirstFailureReachesTheCaller(int workers) {
        IllegalStateException boom = new IllegalStateException("item 7");
        try (WorkerPool pool = new WorkerPool(workers, "test", 10_000)) {
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> pool.run(20, (item, worker) -> {
                if (item == 7) {
                    throw boom;
                }
            }));
            assertSame(boom, thrown);
            AtomicIntegerArray after = new AtomicIntegerArray(5);
            pool.run(5, (item, worker) -> after.incrementAndGet(item));
            for (int i = 0; i < 5; i++) {
                assertEquals(1, after.get(i), "the pool keeps working after a failure");
            }
        }
    }
}
