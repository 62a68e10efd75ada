package io.twilight4j.opencl;

import static org.lwjgl.opencl.CL10.*;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

/**
 * One OpenCL context and in-order queue (without profiling unless asked) on one device, with a cache of
 * built programs keyed by source and defines. Every failing call throws {@link OpenClException} naming
 * the call; build failures carry the full build log.
 */
public final class OpenClContext implements AutoCloseable {

    /** CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT in CL_DEVICE_SINGLE_FP_CONFIG. */
    private static final long CORRECTLY_ROUNDED_DIVIDE = 1L << 7;
    private static final int CL_DEVICE_SINGLE_FP_CONFIG = 0x101B;
    /**
     * Extra compiler options for every program (system property {@code twilight4j.clBuildOptions}), e.g.
     * NVIDIA's {@code -cl-nv-maxrregcount=64}: a workbench knob, the kernels are tested without it.
     */
    private static final String EXTRA_OPTIONS = System.getProperty("twilight4j.clBuildOptions", "").trim();
    /** Whether each successful build's log is printed (system property {@code twilight4j.clBuildLog}). */
    private static final boolean PRINT_BUILD_LOG = Boolean.getBoolean("twilight4j.clBuildLog");
    /**
     * A folder where each built program's binary is written (system property {@code twilight4j.clDumpBinaries}):
     * PTX text on NVIDIA, to read what the driver made of a kernel. Off by default.
     */
    private static final String DUMP_BINARIES = System.getProperty("twilight4j.clDumpBinaries", "").trim();

    private final OpenClDevice device;
    private long context;
    /**
     * Queues of each kind, index 0 without profiling and 1 with: the main in-order queue (made on first
     * use for profiling) and further in-order queues ({@link #sideQueue}), made on first use.
     */
    private final long[] queues = new long[2];
    private final java.util.List<java.util.List<Long>> sideQueues = java.util.List.of(new java.util.ArrayList<>(),
            new java.util.ArrayList<>());
    /** Whether commands go to the profiling queues ({@link #profiling(boolean)}). */
    private boolean profiling;
    private final String baseOptions;
    private final Map<String, Long> programs = new LinkedHashMap<>();

    /** Opens a context and queue on {@code device}. */
    public OpenClContext(OpenClDevice device) {
        this.device = device;
        try (JvmSignals.Guard signals = JvmSignals.guard(); MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            PointerBuffer props = stack.mallocPointer(3).put(CL_CONTEXT_PLATFORM).put(device.platform()).put(0).flip();
            context = clCreateContext(props, device.id(), null, 0, err);
            ClCheck.check(err.get(0), "clCreateContext(" + device.name() + ")");
            try {
                queues[0] = createQueue(false, device.name());
            } catch (OpenClException e) {
                clReleaseContext(context);
                throw e;
            }
            LongBuffer fp = stack.mallocLong(1);
            boolean exactDivide = clGetDeviceInfo(device.id(), CL_DEVICE_SINGLE_FP_CONFIG, fp, null) == 0
                    && (fp.get(0) & CORRECTLY_ROUNDED_DIVIDE) != 0;
            // Exact division keeps 1/scale bit-identical to the CPU's, so 4-bit codes agree exactly.
            baseOptions = "-cl-std=CL1.2" + (exactDivide ? " -cl-fp32-correctly-rounded-divide-sqrt" : "")
                    + (EXTRA_OPTIONS.isEmpty() ? "" : " " + EXTRA_OPTIONS);
        }
    }

    /** The device this context runs on. */
    public OpenClDevice device() {
        return device;
    }

    /** The context's main in-order queue: transfers and every launch that names no other queue. */
    long queue() {
        return queues[profiling ? 1 : 0];
    }

    /** Whether commands go to queues that record profiling timestamps. */
    public boolean profiling() {
        return profiling;
    }

    /**
     * Sends later commands to queues that record profiling timestamps (kernel events give stage times
     * without finishing the queue between stages) or, the default, to queues that do not: on the H100 a
     * profiling queue cost a decode step up to 13 us of wall time even with no event asked for
     * (bench/results/h100-2026-12-07-session21/). The queues in use finish first, so commands keep their
     * order; a caller holding a queue handle ({@link StepSlice}) takes it again.
     */
    public void profiling(boolean on) {
        if (on == profiling) {
            return;
        }
        int from = profiling ? 1 : 0;
        ClCheck.check(clFinish(queues[from]), "clFinish");
        for (long q : sideQueues.get(from)) {
            ClCheck.check(clFinish(q), "clFinish(side queue)");
        }
        if (on && queues[1] == 0) {
            queues[1] = createQueue(true, "main queue, profiling");
        }
        profiling = on;
    }

    private long createQueue(boolean withProfiling, String what) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long q = clCreateCommandQueue(context, device.id(), withProfiling ? CL_QUEUE_PROFILING_ENABLE : 0, err);
            ClCheck.check(err.get(0), "clCreateCommandQueue(" + what + ")");
            return q;
        }
    }

    /**
     * Side queue {@code i} (0-based) of the kind in use ({@link #profiling()}), created on first use and
     * released with the context. NVIDIA's driver runs kernels of different in-order queues at the same
     * time (its out-of-order queues it runs in order; {@link QueueOverlapCheck}); slices of a step go to
     * side queues for that.
     */
    long sideQueue(int i) {
        java.util.List<Long> side = sideQueues.get(profiling ? 1 : 0);
        while (side.size() <= i) {
            side.add(createQueue(profiling, "side queue " + side.size() + (profiling ? ", profiling" : "")));
        }
        return side.get(i);
    }

    /** Makes commands enqueued on {@code waiting} from now on wait for everything enqueued on {@code first} so far. */
    void join(long first, long waiting) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer event = stack.mallocPointer(1);
            ClCheck.check(org.lwjgl.opencl.CL12.clEnqueueMarkerWithWaitList(first, null, event), "clEnqueueMarkerWithWaitList");
            try {
                ClCheck.check(org.lwjgl.opencl.CL12.clEnqueueBarrierWithWaitList(waiting, event, null),
                        "clEnqueueBarrierWithWaitList");
            } finally {
                // The barrier holds the event as long as it needs it.
                clReleaseEvent(event.get(0));
            }
            ClCheck.check(clFlush(first), "clFlush(before a join)");
        }
    }

    /** The cl_context handle. */
    long handle() {
        return context;
    }

    /**
     * Creates kernel {@code kernel} from resource {@code source} (next to this class; several joined
     * by '+' are compiled as one text) built with {@code defines}.
     */
    public ClKernel kernel(String source, Map<String, Integer> defines, String kernel) {
        long program = program(source, defines);
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long k = clCreateKernel(program, kernel, err);
            ClCheck.check(err.get(0), "clCreateKernel(" + source + ": " + kernel + ")");
            return new ClKernel(this, k, source + ":" + kernel);
        }
    }

    private long program(String source, Map<String, Integer> defines) {
        StringBuilder options = new StringBuilder(baseOptions);
        defines.forEach((k, v) -> options.append(" -D").append(k).append('=').append(v));
        String key = source + "\n" + options;
        Long cached = programs.get(key);
        if (cached != null) {
            return cached;
        }
        String text = readSource(source);
        // A compiler inside the driver (PoCL's LLVM) may install its signal handlers while it builds.
        try (JvmSignals.Guard signals = JvmSignals.guard(); MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long program = clCreateProgramWithSource(context, text, err);
            ClCheck.check(err.get(0), "clCreateProgramWithSource(" + source + ")");
            int status = clBuildProgram(program, device.id(), options, null, 0);
            if (status != 0) {
                String log = buildLog(program);
                clReleaseProgram(program);
                throw new OpenClException("clBuildProgram(" + source + ", options '" + options + "') failed: "
                        + ClCheck.errorName(status) + " (" + status + "); build log:\n" + log);
            }
            if (PRINT_BUILD_LOG) {
                // With NVIDIA's -cl-nv-verbose the log holds ptxas' registers and spills per kernel.
                System.err.println("build log of " + source + " (" + options + "):\n" + buildLog(program).strip());
            }
            if (!DUMP_BINARIES.isEmpty()) {
                dumpBinary(program, source, options.toString());
            }
            programs.put(key, program);
            return program;
        }
    }

    /** Writes the program's binary for this device and the options it was built with (see DUMP_BINARIES). */
    private void dumpBinary(long program, String source, String options) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            ClCheck.check(clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, size, null), "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)");
            ByteBuffer bin = MemoryUtil.memAlloc((int) size.get(0));
            try {
                PointerBuffer where = stack.mallocPointer(1).put(0, bin);
                ClCheck.check(clGetProgramInfo(program, CL_PROGRAM_BINARIES, where, null), "clGetProgramInfo(CL_PROGRAM_BINARIES)");
                Path dir = Path.of(DUMP_BINARIES);
                Files.createDirectories(dir);
                String name = source.replace('+', '_') + "-" + Integer.toHexString(options.hashCode());
                byte[] bytes = new byte[bin.remaining()];
                bin.get(bytes);
                Files.write(dir.resolve(name + ".bin"), bytes);
                Files.writeString(dir.resolve(name + ".options"), options + "\n");
            } catch (IOException e) {
                throw new UncheckedIOException("writing the binary of " + source + " to " + DUMP_BINARIES, e);
            } finally {
                MemoryUtil.memFree(bin);
            }
        }
    }

    private String buildLog(long program) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            if (clGetProgramBuildInfo(program, device.id(), CL_PROGRAM_BUILD_LOG, (ByteBuffer) null, size) != 0) {
                return "(no build log)";
            }
            ByteBuffer buf = MemoryUtil.memAlloc((int) size.get(0));
            try {
                clGetProgramBuildInfo(program, device.id(), CL_PROGRAM_BUILD_LOG, buf, null);
                return MemoryUtil.memUTF8(buf, Math.max(0, buf.capacity() - 1));
            } finally {
                MemoryUtil.memFree(buf);
            }
        }
    }

    /** Reads a resource, or several joined by '+' (shared helpers first), as one program text. */
    private static String readSource(String source) {
        if (source.contains("+")) {
            StringBuilder sb = new StringBuilder();
            for (String part : source.split("\\+")) {
                sb.append(readSource(part)).append('\n');
            }
            return sb.toString();
        }
        try (InputStream in = OpenClContext.class.getResourceAsStream(source)) {
            if (in == null) {
                throw new OpenClException("kernel source '" + source + "' is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading kernel source " + source, e);
        }
    }

    /** Allocates a read-write buffer of {@code bytes}; {@code name} appears in errors. */
    public ClBuffer buffer(String name, long bytes) {
        long size = Math.max(bytes, 16);
        if (size > device.maxAllocBytes()) {
            throw new OpenClException("buffer '" + name + "' needs " + size + " bytes, more than the device's largest allocation ("
                    + device.maxAllocBytes() + " bytes, CL_DEVICE_MAX_MEM_ALLOC_SIZE of " + device.name() + "); use fewer pages or a smaller context");
        }
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long mem = clCreateBuffer(context, CL_MEM_READ_WRITE, size, err);
            ClCheck.check(err.get(0), "clCreateBuffer(" + name + ", " + size + " bytes)");
            return new ClBuffer(mem, size, name);
        }
    }

    /**
     * As {@link #buffer}, every byte 0 when this returns: counters the kernels count up from 0 and reset
     * themselves, marks that must not read as stale.
     */
    ClBuffer zeroedBuffer(String name, long bytes) {
        ClBuffer b = buffer(name, bytes);
        try {
            write(b, 0, ByteBuffer.allocateDirect(Math.toIntExact(b.bytes())));
            return b;
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
    }

    /** Alignment in bytes the device asks of a sub-buffer's origin (CL_DEVICE_MEM_BASE_ADDR_ALIGN is in bits). */
    long subBufferAlignment() {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer bits = stack.mallocInt(1);
            ClCheck.check(clGetDeviceInfo(device.id(), CL_DEVICE_MEM_BASE_ADDR_ALIGN, bits, null),
                    "clGetDeviceInfo(CL_DEVICE_MEM_BASE_ADDR_ALIGN)");
            return Math.max(4, bits.get(0) / 8);
        }
    }

    /**
     * A view of {@code bytes} of {@code parent} from byte {@code offset} (a multiple of {@link #subBufferAlignment});
     * kernels see it as a buffer of its own. Close it before the parent.
     */
    ClBuffer subBuffer(ClBuffer parent, String name, long offset, long bytes) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            org.lwjgl.opencl.CLBufferRegion region = org.lwjgl.opencl.CLBufferRegion.malloc(stack).set(offset, bytes);
            long mem = org.lwjgl.opencl.CL11.nclCreateSubBuffer(parent.handle(), CL_MEM_READ_WRITE,
                    org.lwjgl.opencl.CL11.CL_BUFFER_CREATE_TYPE_REGION, region.address(), MemoryUtil.memAddress(err));
            ClCheck.check(err.get(0), "clCreateSubBuffer(" + name + ", " + bytes + " bytes at " + offset + " of " + parent.name() + ")");
            return new ClBuffer(mem, bytes, name);
        }
    }

    /** Copies {@code src} (position to limit) to {@code dst} at byte {@code offset}; blocking. */
    public void write(ClBuffer dst, long offset, ByteBuffer src) {
        ClCheck.check(clEnqueueWriteBuffer(queue(), dst.handle(), true, offset, src, null, null), "clEnqueueWriteBuffer(" + dst.name() + ")");
    }

    /** Copies floats to {@code dst} at byte {@code offset}; blocking. */
    public void write(ClBuffer dst, long offset, FloatBuffer src) {
        ClCheck.check(clEnqueueWriteBuffer(queue(), dst.handle(), true, offset, src, null, null), "clEnqueueWriteBuffer(" + dst.name() + ")");
    }

    /** Copies ints to {@code dst} at byte {@code offset}; blocking. */
    public void write(ClBuffer dst, long offset, IntBuffer src) {
        ClCheck.check(clEnqueueWriteBuffer(queue(), dst.handle(), true, offset, src, null, null), "clEnqueueWriteBuffer(" + dst.name() + ")");
    }

    /**
     * Enqueues a copy of ints to {@code dst} without waiting. {@code src} must stay unchanged until a
     * later blocking call on this queue returns (the queue runs in order).
     */
    public void writeAsync(ClBuffer dst, long offset, IntBuffer src) {
        ClCheck.check(clEnqueueWriteBuffer(queue(), dst.handle(), false, offset, src, null, null), "clEnqueueWriteBuffer(" + dst.name() + ")");
    }

    /** Enqueues a copy of floats without waiting; as {@link #writeAsync(ClBuffer, long, IntBuffer)}. */
    public void writeAsync(ClBuffer dst, long offset, FloatBuffer src) {
        ClCheck.check(clEnqueueWriteBuffer(queue(), dst.handle(), false, offset, src, null, null), "clEnqueueWriteBuffer(" + dst.name() + ")");
    }

    /** Enqueues a copy of bytes without waiting; as {@link #writeAsync(ClBuffer, long, IntBuffer)}. */
    void writeAsync(ClBuffer dst, long offset, ByteBuffer src) {
        ClCheck.check(clEnqueueWriteBuffer(queue(), dst.handle(), false, offset, src, null, null), "clEnqueueWriteBuffer(" + dst.name() + ")");
    }

    /** Reads {@code src} from byte {@code offset} into {@code dst} (position to limit); blocking. */
    public void read(ClBuffer src, long offset, ByteBuffer dst) {
        ClCheck.check(clEnqueueReadBuffer(queue(), src.handle(), true, offset, dst, null, null), "clEnqueueReadBuffer(" + src.name() + ")");
    }

    /** Reads floats; blocking. */
    public void read(ClBuffer src, long offset, FloatBuffer dst) {
        ClCheck.check(clEnqueueReadBuffer(queue(), src.handle(), true, offset, dst, null, null), "clEnqueueReadBuffer(" + src.name() + ")");
    }

    /** Reads ints; blocking. */
    public void read(ClBuffer src, long offset, IntBuffer dst) {
        ClCheck.check(clEnqueueReadBuffer(queue(), src.handle(), true, offset, dst, null, null), "clEnqueueReadBuffer(" + src.name() + ")");
    }

    /** Reads fp16 values as raw shorts; blocking. */
    public void read(ClBuffer src, long offset, ShortBuffer dst) {
        ClCheck.check(clEnqueueReadBuffer(queue(), src.handle(), true, offset, dst, null, null), "clEnqueueReadBuffer(" + src.name() + ")");
    }

    /** Waits until every enqueued command has finished. */
    public void finish() {
        ClCheck.check(clFinish(queue()), "clFinish");
    }

    @Override
    public void close() {
        for (long p : programs.values()) {
            clReleaseProgram(p);
        }
        programs.clear();
        for (java.util.List<Long> side : sideQueues) {
            for (long q : side) {
                clReleaseCommandQueue(q);
            }
            side.clear();
        }
        for (int i = 0; i < queues.length; i++) {
            if (queues[i] != 0) {
                clReleaseCommandQueue(queues[i]);
                queues[i] = 0;
            }
        }
        if (context != 0) {
            clReleaseContext(context);
            context = 0;
        }
    }
}
