package io.twilight4j.opencl;

import java.util.Arrays;
import java.util.Map;

/**
 * Workbench: what a launch of many work-groups costs beyond their work, from the profiling events (first
 * group's start to last group's end as the driver reports them). The decode step's kernels last
 * 10-70 us on the H100 while their groups' own lifetimes (phase marks) are far shorter, so it matters
 * whether the gap is the launch, the dispatch of groups, or their tail. {@code spin} runs a dependent
 * multiply-add chain per work-item (no memory traffic): with 0 iterations a launch is pure overhead.
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
        }
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
