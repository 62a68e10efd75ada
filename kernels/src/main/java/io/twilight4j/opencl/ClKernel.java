package io.twilight4j.opencl;

import static org.lwjgl.opencl.CL10.*;
import static org.lwjgl.opencl.CL11.CL_KERNEL_PRIVATE_MEM_SIZE;

import java.nio.IntBuffer;
import java.nio.LongBuffer;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;

/** One kernel object with its arguments; launches name the kernel in every error. */
public final class ClKernel implements AutoCloseable {

    private final OpenClContext cl;
    private final String name;
    private long handle;
    private final long workGroupLimit;
    private final long privateBytes;
    private final int argCount;
    private long lastGroups, lastGroupSize;
    // What each argument was last set to (kind 0: not yet): a step sets most of them to the same buffers
    // and sizes as the step before, and every clSetKernelArg is a native call (about 80 per step of the
    // sparse pipeline).
    private static final byte BUFFER = 1, INT = 2, FLOAT = 3, LOCAL = 4;
    private byte[] lastKind = new byte[16];
    private long[] lastValue = new long[16];

    ClKernel(OpenClContext cl, long handle, String name) {
        this.cl = cl;
        this.handle = handle;
        this.name = name;
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer wg = stack.mallocPointer(1);
            ClCheck.check(clGetKernelWorkGroupInfo(handle, cl.device().id(), CL_KERNEL_WORK_GROUP_SIZE, wg, null),
                    "clGetKernelWorkGroupInfo(" + name + ")");
            this.workGroupLimit = Math.min(wg.get(0), cl.device().maxWorkGroup());
            IntBuffer args = stack.mallocInt(1);
            ClCheck.check(clGetKernelInfo(handle, CL_KERNEL_NUM_ARGS, args, null), "clGetKernelInfo(" + name + ")");
            this.argCount = args.get(0);
            LongBuffer priv = stack.mallocLong(1);
            this.privateBytes = clGetKernelWorkGroupInfo(handle, cl.device().id(), CL_KERNEL_PRIVATE_MEM_SIZE, priv, null) == 0
                    ? priv.get(0) : -1;
        }
    }

    /** Largest work-group this kernel may launch with on this device (CL_KERNEL_WORK_GROUP_SIZE). */
    public long workGroupLimit() {
        return workGroupLimit;
    }

    /** The number of arguments the kernel declares. */
    int argCount() {
        return argCount;
    }

    /** The kernel's name and its last launch's shape and limits, for the kernel profile. */
    String describe() {
        return String.format("%s [%d x %d, limit %d, private %d B]", name, lastGroups, lastGroupSize, workGroupLimit,
                privateBytes);
    }

    /** Sets argument {@code i} to a buffer. */
    public ClKernel arg(int i, ClBuffer b) {
        if (!same(i, BUFFER, b.handle())) {
            ClCheck.check(clSetKernelArg1p(handle, i, b.handle()), "clSetKernelArg(" + name + ", " + i + ", " + b.name() + ")");
            remember(i, BUFFER, b.handle());
        }
        return this;
    }

    /** Sets argument {@code i} to an int. */
    public ClKernel arg(int i, int v) {
        if (!same(i, INT, v)) {
            ClCheck.check(clSetKernelArg1i(handle, i, v), "clSetKernelArg(" + name + ", " + i + ")");
            remember(i, INT, v);
        }
        return this;
    }

    /** Sets argument {@code i} to a float. */
    public ClKernel arg(int i, float v) {
        if (!same(i, FLOAT, Float.floatToRawIntBits(v))) {
            ClCheck.check(clSetKernelArg1f(handle, i, v), "clSetKernelArg(" + name + ", " + i + ")");
            remember(i, FLOAT, Float.floatToRawIntBits(v));
        }
        return this;
    }

    /** Sets argument {@code i} to {@code bytes} of local memory. */
    public ClKernel local(int i, long bytes) {
        if (!same(i, LOCAL, bytes)) {
            ClCheck.check(clSetKernelArg(handle, i, bytes), "clSetKernelArg(" + name + ", " + i + ", local " + bytes + " bytes)");
            remember(i, LOCAL, bytes);
        }
        return this;
    }

    private boolean same(int i, byte kind, long value) {
        return i < lastKind.length && lastKind[i] == kind && lastValue[i] == value;
    }

    private void remember(int i, byte kind, long value) {
        if (i >= lastKind.length) {
            lastKind = java.util.Arrays.copyOf(lastKind, i + 16);
            lastValue = java.util.Arrays.copyOf(lastValue, i + 16);
        }
        lastKind[i] = kind;
        lastValue[i] = value;
    }

    /** Enqueues {@code groups} work-groups of {@code groupSize} work-items (1-D). */
    public void launch(long groups, long groupSize) {
        launch(groups, groupSize, null, 0);
    }

    /** As {@link #launch(long, long)}, timing the kernel as part of {@code stage} of {@code timer} (when not null). */
    public void launch(long groups, long groupSize, StageTimer timer, int stage) {
        launch(cl.queue(), 0, groups, groupSize, timer, stage);
    }

    /**
     * Enqueues groups {@code [firstGroup, firstGroup + groups)} of a launch on {@code queue}: the kernels
     * read their group's index as GROUP_ID (common.cl), which adds this global work offset.
     */
    void launch(long queue, long firstGroup, long groups, long groupSize, StageTimer timer, int stage) {
        if (groups == 0) {
            return;
        }
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer offset = firstGroup == 0 ? null : stack.pointers(firstGroup * groupSize);
            PointerBuffer global = stack.pointers(groups * groupSize);
            PointerBuffer local = stack.pointers(groupSize);
            PointerBuffer event = timer == null ? null : stack.mallocPointer(1);
            ClCheck.check(clEnqueueNDRangeKernel(queue, handle, 1, offset, global, local, null, event),
                    "clEnqueueNDRangeKernel(" + name + ", " + groups + " x " + groupSize + ")");
            lastGroups = groups;
            lastGroupSize = groupSize;
            if (timer != null) {
                timer.add(stage, this, event.get(0));
            }
            // Submitted now: NVIDIA's driver otherwise held the kernels enqueued after a step's first one
            // (H100, batch 16, 128k: 11.5 us idle before Quest scoring, 3.7 us with this flush).
            ClCheck.check(clFlush(queue), "clFlush(after " + name + ")");
        }
    }

    @Override
    public void close() {
        if (handle != 0) {
            clReleaseKernel(handle);
            handle = 0;
        }
    }
}
