package io.twilight4j.opencl;

import static org.lwjgl.opencl.CL10.CL_PROFILING_COMMAND_END;
import static org.lwjgl.opencl.CL10.CL_PROFILING_COMMAND_START;
import static org.lwjgl.opencl.CL10.clGetEventProfilingInfo;
import static org.lwjgl.opencl.CL10.clReleaseEvent;
import static org.lwjgl.opencl.CL12.clEnqueueMarkerWithWaitList;

import java.nio.LongBuffer;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;

/**
 * Stage times of one step from the device's own kernel timestamps (profiling events), so the queue
 * is never finished between stages: a stage lasts from its first kernel's start to its last kernel's
 * end. Read once the step's final blocking call has returned. With the system property
 * {@code twilight4j.kernelProfile=true} it also sums each kernel's own time over all steps, for the
 * per-kernel table the plan prints when closed (a workbench aid: which kernel of a stage costs).
 */
final class StageTimer {

    /** Whether per-kernel totals are kept (system property {@code twilight4j.kernelProfile}). */
    static final boolean KERNEL_PROFILE = Boolean.getBoolean("twilight4j.kernelProfile");

    /** Stages, as StepStats reports them. */
    static final int SELECT = 0, ESTIMATE = 1, TOP_P = 2, ATTENTION = 3;

    private static final int MAX_EVENTS = 128;
    private final long[] events = new long[MAX_EVENTS];
    private final int[] stageOf = new int[MAX_EVENTS];
    private final ClKernel[] kernelOf = new ClKernel[MAX_EVENTS];
    /** kernel -> {total nanoseconds, launches, idle nanoseconds before}, when {@link #KERNEL_PROFILE}. */
    private final java.util.Map<ClKernel, long[]> kernelTotals = new java.util.LinkedHashMap<>();
    private int count;
    /**
     * Marker events around the step when only its span is timed: its kernels then carry no events (on the
     * H100 a kernel's event costs ~3 us of device time, bench/results/h100-2026-12-07-session21/).
     */
    private final long[] markers = new long[2];
    private int markerCount;
    private final long[] first = new long[4];
    private final long[] last = new long[4];

    /** Records kernel event {@code event} as part of {@code stage}; the timer releases it. */
    void add(int stage, ClKernel kernel, long event) {
        if (count == MAX_EVENTS) {
            clReleaseEvent(event);
            return;
        }
        stageOf[count] = stage;
        kernelOf[count] = kernel;
        events[count++] = event;
    }

    /** Enqueues a marker with an event on {@code queue}: the first before the step's kernels, the second after them. */
    void mark(long queue) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer event = stack.mallocPointer(1);
            ClCheck.check(clEnqueueMarkerWithWaitList(queue, null, event), "clEnqueueMarkerWithWaitList");
            markers[markerCount++] = event.get(0);
        }
    }

    /**
     * Nanoseconds per stage of the recorded kernels (0 for a stage without kernels); returns the step's
     * span, its first kernel's start to its last kernel's end (0 without kernels), or with two markers the
     * span between them (every stage 0). Releases the events.
     */
    long collect(long[] nanos) {
        java.util.Arrays.fill(first, Long.MAX_VALUE);
        java.util.Arrays.fill(last, 0);
        try (MemoryStack stack = MemoryStack.stackPush()) {
            LongBuffer t = stack.mallocLong(1);
            long previousEnd = -1;
            for (int i = 0; i < count; i++) {
                int s = stageOf[i];
                long start = -1;
                if (clGetEventProfilingInfo(events[i], CL_PROFILING_COMMAND_START, t, null) == 0) {
                    start = t.get(0);
                    first[s] = Math.min(first[s], start);
                }
                if (clGetEventProfilingInfo(events[i], CL_PROFILING_COMMAND_END, t, null) == 0) {
                    last[s] = Math.max(last[s], t.get(0));
                    if (KERNEL_PROFILE && start >= 0) {
                        long[] total = kernelTotals.computeIfAbsent(kernelOf[i], k -> new long[3]);
                        total[0] += t.get(0) - start;
                        total[1]++;
                        // Idle time between the step's previous kernel and this one (host enqueue, launch).
                        total[2] += previousEnd < 0 ? 0 : Math.max(0, start - previousEnd);
                    }
                    previousEnd = t.get(0);
                }
                clReleaseEvent(events[i]);
            }
        }
        count = 0;
        if (markerCount == 2) {
            java.util.Arrays.fill(nanos, 0);
            try (MemoryStack stack = MemoryStack.stackPush()) {
                LongBuffer t = stack.mallocLong(1);
                long from = clGetEventProfilingInfo(markers[0], CL_PROFILING_COMMAND_END, t, null) == 0 ? t.get(0) : 0;
                long to = clGetEventProfilingInfo(markers[1], CL_PROFILING_COMMAND_END, t, null) == 0 ? t.get(0) : 0;
                clear();
                return from > 0 && to > from ? to - from : 0;
            }
        }
        long start = Long.MAX_VALUE, end = 0;
        for (int s = 0; s < nanos.length; s++) {
            nanos[s] = first[s] == Long.MAX_VALUE ? 0 : Math.max(0, last[s] - first[s]);
            start = Math.min(start, first[s]);
            end = Math.max(end, last[s]);
        }
        return start == Long.MAX_VALUE ? 0 : Math.max(0, end - start);
    }

    /** Mean device time per launch of each kernel seen so far, one line each (empty without {@link #KERNEL_PROFILE}). */
    String kernelTable() {
        StringBuilder sb = new StringBuilder();
        kernelTotals.forEach((kernel, total) -> sb.append(String.format("  %-22s %8.1f us x %d launches, %.1f us idle before%n",
                kernel.describe(), total[0] / 1e3 / total[1], total[1], total[2] / 1e3 / total[1])));
        return sb.toString();
    }

    /** Releases events not collected (after a failed step). */
    void clear() {
        for (int i = 0; i < count; i++) {
            clReleaseEvent(events[i]);
        }
        count = 0;
        for (int i = 0; i < markerCount; i++) {
            clReleaseEvent(markers[i]);
        }
        markerCount = 0;
    }
}
