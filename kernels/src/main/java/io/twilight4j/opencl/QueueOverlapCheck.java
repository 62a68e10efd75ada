package io.twilight4j.opencl;

import static org.lwjgl.opencl.CL10.CL_CONTEXT_PLATFORM;
import static org.lwjgl.opencl.CL10.CL_MEM_READ_WRITE;
import static org.lwjgl.opencl.CL10.CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE;
import static org.lwjgl.opencl.CL10.clBuildProgram;
import static org.lwjgl.opencl.CL10.clCreateBuffer;
import static org.lwjgl.opencl.CL10.clCreateCommandQueue;
import static org.lwjgl.opencl.CL10.clCreateContext;
import static org.lwjgl.opencl.CL10.clCreateKernel;
import static org.lwjgl.opencl.CL10.clCreateProgramWithSource;
import static org.lwjgl.opencl.CL10.clEnqueueNDRangeKernel;
import static org.lwjgl.opencl.CL10.clFinish;
import static org.lwjgl.opencl.CL10.clFlush;
import static org.lwjgl.opencl.CL10.clReleaseCommandQueue;
import static org.lwjgl.opencl.CL10.clReleaseContext;
import static org.lwjgl.opencl.CL10.clReleaseKernel;
import static org.lwjgl.opencl.CL10.clReleaseMemObject;
import static org.lwjgl.opencl.CL10.clReleaseProgram;
import static org.lwjgl.opencl.CL10.clSetKernelArg1i;
import static org.lwjgl.opencl.CL10.clSetKernelArg1p;

import java.nio.IntBuffer;
import java.util.Arrays;
import org.lwjgl.PointerBuffer;
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

    private static final String SOURCE = "kernel void spin(global float* out, int iters) {\n"
            + "  float x = (float) get_global_id(0);\n"
            + "  for (int i = 0; i < iters; i++) x = x * 0.999999f + 0.5f;\n"
            + "  out[get_global_id(0)] = x;\n"
            + "}\n";
    private static final int GROUPS = 8, GROUP = 128, ROUNDS = 7;

    private QueueOverlapCheck() {
    }

    public static void main(String[] args) {
        OpenClDevice device = OpenClDevice.choose(args.length > 0 ? args[0] : null);
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            PointerBuffer props = stack.mallocPointer(3).put(CL_CONTEXT_PLATFORM).put(device.platform()).put(0).flip();
            long context = clCreateContext(props, device.id(), null, 0, err);
            ClCheck.check(err.get(0), "clCreateContext");
            long a = clCreateCommandQueue(context, device.id(), 0, err);
            ClCheck.check(err.get(0), "clCreateCommandQueue(a)");
            long b = clCreateCommandQueue(context, device.id(), 0, err);
            ClCheck.check(err.get(0), "clCreateCommandQueue(b)");
            long ooo = clCreateCommandQueue(context, device.id(), CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, err);
            boolean outOfOrder = err.get(0) == 0;
            long program = clCreateProgramWithSource(context, SOURCE, err);
            ClCheck.check(err.get(0), "clCreateProgramWithSource");
            ClCheck.check(clBuildProgram(program, device.id(), "", null, 0), "clBuildProgram(spin)");
            long k1 = clCreateKernel(program, "spin", err);
            long k2 = clCreateKernel(program, "spin", err);
            long buf1 = clCreateBuffer(context, CL_MEM_READ_WRITE, 4L * GROUPS * GROUP, err);
            long buf2 = clCreateBuffer(context, CL_MEM_READ_WRITE, 4L * GROUPS * GROUP, err);
            clSetKernelArg1p(k1, 0, buf1);
            clSetKernelArg1p(k2, 0, buf2);
            // Iterations for ~2 ms per launch.
            int iters = 1 << 12;
            while (time(() -> launch(a, k1, a, -1), k1, k2, iters) < 2e6 && iters < (1 << 26)) {
                iters *= 2;
            }
            final int n = iters;
            double one = time(() -> launch(a, k1, a, -1), k1, k2, n);
            double sameQueue = time(() -> launch(a, k1, a, k2), k1, k2, n);
            double twoQueues = time(() -> launch(a, k1, b, k2), k1, k2, n);
            System.out.printf("queue overlap on %s: %d groups of %d, %d iterations%n", device.name(), GROUPS, GROUP, n);
            System.out.printf("  one launch %.3f ms; two on one in-order queue %.2fx; one on each of two queues %.2fx%n",
                    one / 1e6, sameQueue / one, twoQueues / one);
            if (outOfOrder) {
                double ooq = time(() -> launch(ooo, k1, ooo, k2), k1, k2, n);
                System.out.printf("  two on one out-of-order queue %.2fx%n", ooq / one);
                clReleaseCommandQueue(ooo);
            } else {
                System.out.println("  out-of-order queues: not supported");
            }
            System.out.println("  (1.00x: the launches overlap; 2.00x: the driver runs them one after the other)");
            clReleaseMemObject(buf1);
            clReleaseMemObject(buf2);
            clReleaseKernel(k1);
            clReleaseKernel(k2);
            clReleaseProgram(program);
            clReleaseCommandQueue(a);
            clReleaseCommandQueue(b);
            clReleaseContext(context);
        }
    }

    /** Enqueues k1 on q1 and (unless k2 is -1) k2 on q2, flushes both and waits for both. */
    private static void launch(long q1, long k1, long q2, long k2) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer global = stack.mallocPointer(1).put(0, (long) GROUPS * GROUP);
            PointerBuffer local = stack.mallocPointer(1).put(0, GROUP);
            ClCheck.check(clEnqueueNDRangeKernel(q1, k1, 1, null, global, local, null, null), "enqueue spin");
            if (k2 != -1) {
                ClCheck.check(clEnqueueNDRangeKernel(q2, k2, 1, null, global, local, null, null), "enqueue spin");
            }
            clFlush(q1);
            clFlush(q2);
            clFinish(q1);
            clFinish(q2);
        }
    }

    /** Median wall nanoseconds of ROUNDS runs (after one warm-up) with {@code iters} iterations. */
    private static double time(Runnable run, long k1, long k2, int iters) {
        clSetKernelArg1i(k1, 1, iters);
        clSetKernelArg1i(k2, 1, iters);
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
