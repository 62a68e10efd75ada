package io.twilight4j.opencl;

import static org.lwjgl.opencl.CL10.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import org.lwjgl.system.MemoryStack;

/**
 * Host memory for a plan's per-step transfers (queries, outputs, page tables): a buffer the driver
 * allocates on the host side (CL_MEM_ALLOC_HOST_PTR), mapped once for the plan's life. NVIDIA's driver
 * pins such memory, so reads and writes from it go straight to the device instead of through a
 * staging copy of pageable memory first; elsewhere it is plain host memory.
 */
final class PinnedHost implements AutoCloseable {

    private final OpenClContext cl;
    private long mem;
    private final ByteBuffer mapped;

    /** Maps {@code bytes} of host memory; {@code name} appears in errors. */
    PinnedHost(OpenClContext cl, String name, long bytes) {
        this.cl = cl;
        long size = Math.max(16, bytes);
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            mem = clCreateBuffer(cl.handle(), CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, size, err);
            ClCheck.check(err.get(0), "clCreateBuffer(" + name + ", " + size + " bytes, host memory)");
            ByteBuffer m = clEnqueueMapBuffer(cl.queue(), mem, true, CL_MAP_READ | CL_MAP_WRITE, 0, size, null, null, err, null);
            if (err.get(0) != CL_SUCCESS || m == null) {
                clReleaseMemObject(mem);
                mem = 0;
                ClCheck.check(err.get(0) != CL_SUCCESS ? err.get(0) : CL_MAP_FAILURE, "clEnqueueMapBuffer(" + name + ")");
            }
            this.mapped = m.order(ByteOrder.nativeOrder());
        }
    }

    /** The mapped memory (native byte order), valid until {@link #close}. */
    ByteBuffer bytes() {
        return mapped;
    }

    @Override
    public void close() {
        if (mem != 0) {
            clEnqueueUnmapMemObject(cl.queue(), mem, mapped, null, null);
            clFinish(cl.queue());
            clReleaseMemObject(mem);
            mem = 0;
        }
    }
}
