package io.twilight4j.tensor;

import io.twilight4j.parallel.WorkerPool;

/**
 * The one thread pool every matrix-vector product splits its rows over: persistent platform threads
 * that spin briefly between products (a decode step runs over a hundred of them). Sized once (by
 * the CLI's {@code --threads}) before the first product; defaults to one thread per core.
 */
public final class RowPool {

    /** Rows per chunk at least: large enough that handing out a chunk costs little next to its dots. */
    private static final int MIN_ROWS_PER_CHUNK = 16;
    /** Chunks per worker: a worker slowed by another process leaves its share to the others. */
    private static final int CHUNKS_PER_WORKER = 8;

    private static volatile WorkerPool pool;
    /** Longer than the gap between two products of a decode step. */
    private static final long SPIN_NANOS = 200_000;

    private RowPool() {
    }

    /** Uses {@code threads} worker threads from now on (0: one per core). */
    public static synchronized void useThreads(int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        }
        int n = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        WorkerPool old = pool;
        if (old != null && old.workers() == n) {
            return;
        }
        pool = new WorkerPool(n, "twilight4j-rows", SPIN_NANOS);
        if (old != null) {
            old.close();
        }
    }

    /** Worker threads of the pool (the calling thread counts as one). */
    public static int threads() {
        return get().workers();
    }

    /** A body over the row range {@code [from, to)}. */
    @FunctionalInterface
    public interface RowRange {
        /** Processes rows {@code from} (inclusive) to {@code to} (exclusive). */
        void run(int from, int to);
    }

    /** A body over items {@code 0..n-1} of a parallel loop. */
    @FunctionalInterface
    public interface Items {
        /** Processes item {@code item}. */
        void run(int item);
    }

    /** Chunks {@link #forRows} splits {@code rows} rows into. */
    public static int chunks(int rows) {
        return Math.max(1, Math.min(threads() * CHUNKS_PER_WORKER, rows / MIN_ROWS_PER_CHUNK));
    }

    /** Runs {@code body} over {@code [0, rows)} split into {@link #chunks} about equal ranges. */
    public static void forRows(int rows, RowRange body) {
        int chunks = chunks(rows);
        forItems(chunks, c -> body.run((int) ((long) rows * c / chunks), (int) ((long) rows * (c + 1) / chunks)));
    }

    /** Runs {@code body} for items {@code 0..n-1} on the pool's threads and returns when all are done. */
    public static void forItems(int n, Items body) {
        get().run(n, (item, worker) -> body.run(item));
    }

    /** The pool itself (created with one thread per core on first use), e.g. for a same-pool bandwidth baseline. */
    public static WorkerPool pool() {
        return get();
    }

    private static WorkerPool get() {
        WorkerPool p = pool;
        if (p == null) {
            useThreads(0);
            p = pool;
        }
        return p;
    }
}
