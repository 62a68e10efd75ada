package io.twilight4j.parallel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Persistent platform threads for many short parallel loops (a decode step runs hundreds). The
 * caller works too, as worker 0. Items are handed out one at a time from a shared counter, so a
 * worker that drew small items takes more. Idle workers spin for {@code spinNanos} before they park:
 * a loop that follows the last one within microseconds starts at once, a pause costs no CPU.
 */
public final class WorkerPool implements AutoCloseable {

    /** The body of a parallel loop. */
    @FunctionalInterface
    public interface Task {
        /** Processes {@code item} on worker {@code worker} (0 is the caller; use it to pick per-worker scratch). */
        void run(int item, int worker);
    }

    private static final VarHandle SLEEPING = MethodHandles.arrayElementVarHandle(boolean[].class);

    private final Thread[] threads;
    private final long spinNanos;
    /** Per worker: parked or about to park (read and written through {@link #SLEEPING}). */
    private final boolean[] sleeping;
    /**
     * Run state in one word, so a worker that wakes late never takes an item of a later run:
     * generation (16 bits) | item count (24 bits) | next item (24 bits).
     */
    private final AtomicLong state = new AtomicLong();
    private final AtomicInteger remaining = new AtomicInteger();
    private volatile int generation;
    private volatile Task task;
    private volatile Throwable failure;
    private volatile boolean closed;

    /**
     * A pool of {@code workers} workers (the caller included), threads named {@code name-N}, idle
     * workers spinning {@code spinNanos} before they park.
     */
    public WorkerPool(int workers, String name, long spinNanos) {
        if (workers < 1) {
            throw new IllegalArgumentException("worker pool: workers must be >= 1, got " + workers);
        }
        this.spinNanos = spinNanos;
        threads = new Thread[workers - 1];
        sleeping = new boolean[workers];
        for (int i = 0; i < threads.length; i++) {
            int index = i + 1;
            threads[i] = Thread.ofPlatform().daemon().name(name + "-" + index).start(() -> loop(index));
        }
    }

    /** Workers, the caller included. */
    public int workers() {
        return threads.length + 1;
    }

    /** Runs {@code t} for items {@code 0..n-1} and returns when all are done; rethrows the first failure. */
    public void run(int n, Task t) {
        if (n >= 1 << 24) {
            throw new IllegalArgumentException("worker pool: too many items: " + n);
        }
        if (n <= 1 || threads.length == 0) {
            for (int i = 0; i < n; i++) {
                t.run(i, 0);
            }
            return;
        }
        failure = null;
        task = t;
        remaining.set(n);
        int gen = (generation + 1) & 0xffff;
        state.set((long) gen << 48 | (long) n << 24);
        generation = gen;
        for (int i = 0; i < threads.length; i++) {
            // Volatile read after the volatile generation write: a worker that missed the new
            // generation has set its flag first, and an unpark before its park is kept as a permit.
            if (isSleeping(i + 1)) {
                LockSupport.unpark(threads[i]);
            }
        }
        work(gen, 0);
        // A worker still busy here was likely preempted (the machine is shared): after a short spin,
        // yielding lets it finish its item on this core.
        for (int spins = 0; remaining.get() > 0; spins++) {
            if (spins < 1 << 10) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        Throwable f = failure;
        if (f instanceof RuntimeException r) {
            throw r;
        }
        if (f instanceof Error e) {
            throw e;
        }
        if (f != null) {
            throw new IllegalStateException(f);
        }
    }

    private void work(int gen, int worker) {
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
        while (!closed) {
            long spinStart = System.nanoTime();
            int spins = 0;
            while (generation == seen && !closed) {
                if ((++spins & 63) != 0) {
                    Thread.onSpinWait();
                } else if (System.nanoTime() - spinStart < spinNanos) {
                    // Let another thread of this core run meanwhile (other pools, other processes).
                    Thread.yield();
                } else {
                    setSleeping(worker, true);
                    if (generation == seen && !closed) {
                        LockSupport.park(this);
                    }
                    setSleeping(worker, false);
                }
            }
            seen = generation;
            work(seen, worker);
        }
    }

    private boolean isSleeping(int worker) {
        return (boolean) SLEEPING.getVolatile(sleeping, worker);
    }

    private void setSleeping(int worker, boolean value) {
        SLEEPING.setVolatile(sleeping, worker, value);
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : threads) {
            LockSupport.unpark(t);
        }
    }
}
