package io.twilight4j.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fixed pool of worker threads for the CPU pipeline's parallel loops. The calling thread works
 * too (as worker 0), so {@code threads} workers use {@code threads - 1} background threads. Items
 * are handed out one at a time from a shared counter: a worker that drew small items takes more.
 */
final class WorkerPool implements AutoCloseable {

    /** The body of a parallel loop. */
    interface Task {
        void run(int item, int worker);
    }

    /** Spin-wait iterations (about 20 microseconds) an idle worker looks for a new run before it sleeps. */
    private static final int IDLE_SPINS = 1 << 9;

    private final Thread[] threads;
    private final Object lock = new Object();
    /**
     * Run state in one word, so a worker that wakes late can never take an item of a later run:
     * generation (16 bits) | item count (24 bits) | next item (24 bits).
     */
    private final AtomicLong state = new AtomicLong();
    private final AtomicInteger remaining = new AtomicInteger();
    private volatile Task task;
    private volatile Throwable failure;
    private int generation;
    private boolean closed;

    WorkerPool(int workers) {
        threads = new Thread[workers - 1];
        for (int i = 0; i < threads.length; i++) {
            int index = i + 1;
            threads[i] = Thread.ofPlatform().daemon().name("twilight4j-cpu-" + index).start(() -> loop(index));
        }
    }

    /** Workers, the caller included. */
    int workers() {
        return threads.length + 1;
    }

    /** Runs {@code task} for items 0..n-1 and returns when all are done; rethrows the first failure. */
    void run(int n, Task t) {
        if (n <= 0) {
            return;
        }
        if (n >= 1 << 24) {
            throw new IllegalArgumentException("worker pool: too many items: " + n);
        }
        failure = null;
        task = t;
        remaining.set(n);
        int gen;
        synchronized (lock) {
            generation = (generation + 1) & 0xffff;
            gen = generation;
            state.set((long) gen << 48 | (long) n << 24);
            if (n > 1) {
                lock.notifyAll();
            }
        }
        work(0, gen);
        int spins = 0;
        while (remaining.get() > 0) {
            // A worker still on an item may have been preempted: on a shared machine, give the core back
            // soon rather than spin through its time slice.
            if (++spins < 1 << 8) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        Throwable f = failure;
        if (f != null) {
            if (f instanceof RuntimeException r) {
                throw r;
            }
            if (f instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(f);
        }
    }

    private void work(int worker, int gen) {
        while (true) {
            long v = state.get();
            int i = (int) (v & 0xffffff);
            if ((int) (v >>> 48) != gen || i >= (int) ((v >>> 24) & 0xffffff)) {
                return;
            }
            if (!state.compareAndSet(v, v + 1)) {
                continue;
            }
            try {
                task.run(i, worker);
            } catch (Throwable e) {
                if (failure == null) {
                    failure = e;
                }
            } finally {
                remaining.decrementAndGet();
            }
        }
    }

    private void loop(int worker) {
        int seen = 0;
        while (true) {
            // Stages of one step follow each other within microseconds: look for the next run briefly
            // before sleeping, so a stage rarely waits for a thread wake-up.
            for (int spin = 0; spin < IDLE_SPINS && (int) (state.get() >>> 48) == seen; spin++) {
                Thread.onSpinWait();
            }
            synchronized (lock) {
                while (generation == seen && !closed) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (closed) {
                    return;
                }
                seen = generation;
            }
            work(worker, seen);
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
        }
    }
}
