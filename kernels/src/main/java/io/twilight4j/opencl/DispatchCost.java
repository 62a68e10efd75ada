package io.twilight4j.opencl;

import java.util.Arrays;
import java.util.Map;

/**
 * Workbench: what a launch of many work-groups costs beyond their work, from the profiling events (first
 * group's start to last group's end as the driver reports them). The decode step's kernels last
 * 10-70 us on the H100 while their groups' own lifetimes (phase marks) are far shorter, so it matters
 * whether the gap is the launch, the dispatch of groups, or their tail. {@code spin} runs a dependent
 * multiply-add chain per work-item (no memory traffic): with 0 iterations a launch is pure overhead.
 * The second table asks whether the profiling itself costs: launches queued back to back behind a long
 * blocker (so the host's enqueue time hides behind it) take (wall with them - wall of the blocker alone)
 * / launches of device time each, on the profiling queue with an event per launch, without events, and
 * on a queue made without profiling.
 *   java ... io.twilight4j.opencl.DispatchCost [device]
 */
public final class DispatchCost {

    /** Most work-items per compute unit a launch here takes (groups per unit x group size). */
    private static final int MAX_PER_UNIT = 4096;

    private DispatchCost() {
    }

    public static void main(String[] args) {
        OpenClDevice device = OpenClDevice.choose(args.length > 0 ? args[0] : null);
        int units = device.computeUnits();
        try (OpenClContext cl = new OpenClContext(device);
             ClKernel spin = cl.kernel("queue_overlap.cl", Map.of(), "spin");
             ClBuffer out = cl.buffer("spin output", 4L * MAX_PER_UNIT * units)) {
            spin.arg(0, out);
            cl.profiling(true);
            System.out.println("launch cost on " + device.name() + " (" + units + " compute units), profiled us, median of 50:");
            System.out.println("  iterations  groups  group size  us");
            for (int iters : new int[] {0, 2000}) {
                for (int perUnit : new int[] {1, 4, 8, 16, 32}) {
                    for (int size : new int[] {128, 256}) {
                        if ((long) perUnit * size > MAX_PER_UNIT) {
                            continue;
                        }
                        spin.arg(1, iters);
                        System.out.printf("  %10d  %6d  %10d  %6.1f%n", iters, perUnit * units, size,
                                medianMicros(cl, spin, perUnit * units, size));
                    }
                }
            }
            backToBack(cl, spin, units);
        }
    }

    /**
     * Launches in a row behind a blocker: device us per launch with and without profiling (the context's
     * profiling queue, then its plain one).
     */
    private static void backToBack(OpenClContext cl, ClKernel spin, int units) {
        System.out.println("back to back behind a blocker, device us per launch, median of 7:");
        System.out.println("  iterations  groups  group size  profiled+events  profiled  plain queue");
        for (int[] c : new int[][] {{0, 1, 128}, {0, 8, 256}, {2000, 1, 128}, {2000, 8, 128}}) {
            int groups = c[1] * units;
            cl.profiling(true);
            double events = perLaunch(cl, spin, c[0], groups, c[2], true);
            double profiled = perLaunch(cl, spin, c[0], groups, c[2], false);
            cl.profiling(false);
            double unprofiled = perLaunch(cl, spin, c[0], groups, c[2], false);
            System.out.printf("  %10d  %6d  %10d  %15.2f  %8.2f  %11.2f%n", c[0], groups, c[2], events, profiled, unprofiled);
        }
    }

    private static final int ROW = 200, BLOCKER_ITERS = 2_500_000;

    private static double perLaunch(OpenClContext cl, ClKernel spin, int iters, int groups, int size, boolean events) {
        double[] us = new double[7];
        for (int r = -1; r < us.length; r++) {
            long alone = blocked(cl, spin, 0, iters, groups, size, false);
            long with = blocked(cl, spin, ROW, iters, groups, size, events);
            if (r >= 0) {
                us[r] = (with - alone) / 1e3 / ROW;
            }
        }
        Arrays.sort(us);
        return us[us.length / 2];
    }

    /** Wall nanoseconds of a ~5 ms blocker then {@code count} launches, all on the context's queue. */
    private static long blocked(OpenClContext cl, ClKernel spin, int count, int iters, int groups, int size, boolean events) {
        StageTimer timer = events ? new StageTimer() : null;
        long start = System.nanoTime();
        spin.arg(1, BLOCKER_ITERS);
        spin.launch(cl.device().computeUnits(), 128);
        spin.arg(1, iters);
        for (int i = 0; i < count; i++) {
            spin.launch(groups, size, timer, StageTimer.SELECT);
        }
        cl.finish();
        long wall = System.nanoTime() - start;
        if (timer != null) {
            timer.collect(new long[4]);
        }
        return wall;
    }

    private static double medianMicros(OpenClContext cl, ClKernel kernel, int groups, int size) {
        StageTimer timer = new StageTimer();
        long[] nanos = new long[4];
        double[] us = new double[50];
        for (int i = -5; i < us.length; i++) {
            kernel.launch(groups, size, timer, StageTimer.SELECT);
            cl.finish();
            timer.collect(nanos);
            if (i >= 0) {
                us[i] = nanos[StageTimer.SELECT] / 1e3;
            }
        }
        Arrays.sort(us);
        return us[us.length / 2];
    }
}
