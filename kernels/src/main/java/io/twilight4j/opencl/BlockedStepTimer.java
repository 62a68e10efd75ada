package io.twilight4j.opencl;

import java.util.Arrays;
import java.util.Map;

/**
 * Workbench: a step's device time without profiling events (system property {@code twilight4j.clBlockerUs},
 * e.g. 2000). A spin kernel of about that many microseconds goes first on the queue, so the host's checks,
 * uploads and enqueues all happen while it runs and the step's commands then run back to back; the step's
 * time is the wall time from the blocker's enqueue to the end of the step's blocking read, less the
 * blocker's own (blocker then finish, median of {@link #CALIBRATION_RUNS}). Profiling timestamps (and the
 * host's gaps between launches) are not in that number; transfers and the read's completion are.
 */
final class BlockedStepTimer implements AutoCloseable {

    /** Requested blocker length in microseconds; 0: off. */
    static final int BLOCKER_US = Integer.getInteger("twilight4j.clBlockerUs", 0);
    private static final int CALIBRATION_RUNS = 15;

    private final OpenClContext cl;
    private final ClKernel spin;
    private final ClBuffer out;
    private final int groups;
    private final long blockerNanos;
    private long started;

    BlockedStepTimer(OpenClContext cl) {
        this.cl = cl;
        this.groups = cl.device().computeUnits();
        this.spin = cl.kernel("queue_overlap.cl", Map.of(), "spin");
        this.out = cl.buffer("blocker output", 4L * 128 * groups);
        spin.arg(0, out);
        int iters = 1024;
        while (alone(iters) < BLOCKER_US * 1000L && iters < (1 << 28)) {
            iters *= 2;
        }
        spin.arg(1, iters);
        long[] t = new long[CALIBRATION_RUNS];
        for (int i = 0; i < t.length; i++) {
            t[i] = alone(iters);
        }
        Arrays.sort(t);
        this.blockerNanos = t[t.length / 2];
    }

    private long alone(int iters) {
        spin.arg(1, iters);
        long start = System.nanoTime();
        spin.launch(groups, 128);
        cl.finish();
        return System.nanoTime() - start;
    }

    /** Enqueues the blocker; call before the step's first command. */
    void start() {
        started = System.nanoTime();
        spin.launch(groups, 128);
    }

    /** The step's nanoseconds once its blocking read has returned. */
    long stepNanos() {
        return Math.max(0, System.nanoTime() - started - blockerNanos);
    }

    @Override
    public void close() {
        spin.close();
        out.close();
    }
}
