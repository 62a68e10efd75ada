package io.twilight4j.opencl;

import static org.lwjgl.opencl.CL10.CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE;
import static org.lwjgl.opencl.CL10.clCreateCommandQueue;
import static org.lwjgl.opencl.CL10.clFinish;
import static org.lwjgl.opencl.CL10.clReleaseCommandQueue;

import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.Map;
import org.lwjgl.system.MemoryStack;

/**
 * Workbench: whether a device runs independent kernels at the same time, from two in-order queues or
 * from one out-of-order queue. A decode step's kernels each leave most of a GPU's time to latency (top_p,
 * compact, launch gaps); two halves of a batch on two queues could hide one half's latency behind the
 * other's bandwidth, if the driver overlaps them. Each launch here fills only a few compute units and
 * spins, so overlapped launches take the time of one and serialized ones the time of two.
 *   java ... io.twilight4j.opencl.QueueOverlapCheck [device]
 */
public final class QueueOverlapCheck {

    private static final int GROUPS = 8, GROUP = 128, ROUNDS = 7;

    private QueueOverlapCheck() {
    }

    public static void main(String[] args) {
        OpenClDevice device = OpenClDevice.choose(args.length > 0 ? args[0] : null);
        try (OpenClContext cl = new OpenClContext(device);
             ClKernel k1 = cl.kernel("queue_overlap.cl", Map.of(), "spin");
             ClKernel k2 = cl.kernel("queue_overlap.cl", Map.of(), "spin");
             ClBuffer out1 = cl.buffer("spin output 1", 4L * GROUPS * GROUP);
             ClBuffer out2 = cl.buffer("spin output 2", 4L * GROUPS * GROUP)) {
            k1.arg(0, out1);
            k2.arg(0, out2);
            // The second in-order queue is the side queue a sliced step's second half runs on.
            long outOfOrder = outOfOrderQueue(cl);
            try {
                report(device, cl.queue(), cl.sideQueue(0), outOfOrder, k1, k2);
            } finally {
                if (outOfOrder != 0) {
                    clReleaseCommandQueue(outOfOrder);
                }
            }
        }
    }

    /** An out-of-order queue on the context; 0 where the device refuses one. */
    private static long outOfOrderQueue(OpenClContext cl) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long queue = clCreateCommandQueue(cl.handle(), cl.device().id(), CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, err);
            return err.get(0) == 0 ? queue : 0;
        }
    }

    /** Times one launch, two on queue a, one each on a and b, two on the out-of-order queue (0: none). */
    private static void report(OpenClDevice device, long a, long b, long outOfOrder, ClKernel k1, ClKernel k2) {
        // Iterations for ~2 ms per launch.
        int iters = 1 << 12;
        while (time(() -> launch(a, k1, a, null), k1, k2, iters) < 2e6 && iters < (1 << 26)) {
            iters *= 2;
        }
        int n = iters;
        double one = time(() -> launch(a, k1, a, null), k1, k2, n);
        double sameQueue = time(() -> launch(a, k1, a, k2), k1, k2, n);
        double twoQueues = time(() -> launch(a, k1, b, k2), k1, k2, n);
        System.out.printf("queue overlap on %s: %d groups of %d, %d iterations%n", device.name(), GROUPS, GROUP, n);
        System.out.printf("  one launch %.3f ms; two on one in-order queue %.2fx; one on each of two queues %.2fx%n",
                one / 1e6, sameQueue / one, twoQueues / one);
        if (outOfOrder != 0) {
            System.out.printf("  two on one out-of-order queue %.2fx%n", time(() -> launch(outOfOrder, k1, outOfOrder, k2), k1, k2, n) / one);
        } else {
            System.out.println("  out-of-order queues: not supported");
        }
        System.out.println("  (1.00x: the launches overlap; 2.00x: the driver runs them one after the other)");
    }

    /** Enqueues k1 on q1 and (unless k2 is null) k2 on q2 (each launch flushes its queue) and waits for both. */
    private static void launch(long q1, ClKernel k1, long q2, ClKernel k2) {
        k1.launch(q1, 0, GROUPS, GROUP, null, 0);
        if (k2 != null) {
            k2.launch(q2, 0, GROUPS, GROUP, null, 0);
        }
        ClCheck.check(clFinish(q1), "clFinish");
        ClCheck.check(clFinish(q2), "clFinish");
    }

    /** Median wall nanoseconds of ROUNDS runs (after one warm-up) with {@code iters} iterations. */
    private static double time(Runnable run, ClKernel k1, ClKernel k2, int iters) {
        k1.arg(1, iters);
        k2.arg(1, iters);
        run.run();
        long[] t = new long[ROUNDS];
        for (int i = 0; i < ROUNDS; i++) {
            long start = System.nanoTime();
            run.run();
            t[i] = System.nanoTime() - start;
        }
        Arrays.sort(t);
        return t[ROUNDS / 2];
    }
}
