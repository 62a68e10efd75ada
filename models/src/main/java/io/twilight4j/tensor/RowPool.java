package io.twilight4j.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * The one thread pool every matrix-vector product splits its rows over. Sized once (by the CLI's
 * {@code --threads}) before the first product; defaults to one thread per core.
 */
public final class RowPool {

    /** Rows per task: large enough that task overhead stays small next to the row dots. */
    private static final int MIN_ROWS_PER_TASK = 16;

    private static volatile ForkJoinPool pool;

    private RowPool() {
    }

    /** Uses {@code threads} worker threads from now on (0: one per core). */
    public static synchronized void useThreads(int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        }
        int n = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        ForkJoinPool old = pool;
        if (old != null && old.getParallelism() == n) {
            return;
        }
        pool = new ForkJoinPool(n);
        if (old != null) {
            old.shutdown();
        }
    }

    /** Worker threads of the pool. */
    public static int threads() {
        return get().getParallelism();
    }

    /** A body over the row range {@code [from, to)}. */
    @FunctionalInterface
    public interface RowRange {
        /** Processes rows {@code from} (inclusive) to {@code to} (exclusive). */
        void run(int from, int to);
    }

    /** Runs {@code body} over {@code [0, rows)} split into about equal chunks, one per thread or more. */
    public static void forRows(int rows, RowRange body) {
        ForkJoinPool p = get();
        int tasks = Math.max(1, Math.min(p.getParallelism() * 4, rows / MIN_ROWS_PER_TASK));
        if (tasks == 1) {
            body.run(0, rows);
            return;
        }
        p.submit(() -> IntStream.range(0, tasks).parallel().forEach(t ->
                body.run((int) ((long) rows * t / tasks), (int) ((long) rows * (t + 1) / tasks)))).join();
    }

    private static ForkJoinPool get() {
        ForkJoinPool p = pool;
        if (p == null) {
            useThreads(0);
            p = pool;
        }
        return p;
    }
}
