package io.twilight4j.opencl;

import static org.lwjgl.opencl.CL10.clReleaseMemObject;

/** One device buffer; owned by the object that allocated it, released by {@link #close}. */
public final class ClBuffer implements AutoCloseable {

    private long handle;
    private final long bytes;
    private final String name;

    ClBuffer(long handle, long bytes, String name) {
        this.handle = handle;
        this.bytes = bytes;
        this.name = name;
    }

    /** The cl_mem handle. */
    long handle() {
        if (handle == 0) {
            throw new IllegalStateException("buffer '" + name + "' is closed");
        }
        return handle;
    }

    /** Size in bytes. */
    public long bytes() {
        return bytes;
    }

    /** The name used in error messages. */
    public String name() {
        return name;
    }

    @Override
    public void close() {
        if (handle != 0) {
            clReleaseMemObject(handle);
            handle = 0;
        }
    }
}
