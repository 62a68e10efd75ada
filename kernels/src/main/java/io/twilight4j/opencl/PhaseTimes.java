package io.twilight4j.opencl;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Workbench aid (system property {@code twilight4j.phaseTimes=true}, NVIDIA fast paths only): kernels built
 * with PHASE_TIMES store the SM cycle counter at their PHASE_MARK points (common.cl), one row of
 * {@link #SLOTS} per work-group, into a buffer passed as their last argument; {@link #table()} prints the
 * mean cycles between consecutive marks over the groups of each kernel's last launch. Which phase of a
 * latency-bound kernel costs, without a profiler on the device.
 */
final class PhaseTimes implements AutoCloseable {

    /** Whether kernels are built with phase marks. */
    static final boolean ENABLED = Boolean.getBoolean("twilight4j.phaseTimes");
    /** Marks per work-group (PHASE_SLOTS in common.cl). */
    static final int SLOTS = 16;

    private final OpenClContext cl;
    private final Map<ClKernel, ClBuffer> buffers = new LinkedHashMap<>();
    private final Map<ClKernel, Integer> groups = new LinkedHashMap<>();

    PhaseTimes(OpenClContext cl) {
        this.cl = cl;
    }

    /** Passes {@code kernel} a buffer for {@code maxGroups} work-groups' marks as its last argument. */
    void attach(ClKernel kernel, int maxGroups) {
        ClBuffer b = buffers.computeIfAbsent(kernel, k -> cl.zeroedBuffer("phase times", 8L * SLOTS * maxGroups));
        groups.put(kernel, maxGroups);
        kernel.arg(kernel.argCount() - 1, b);
    }

    /** Mean cycles between consecutive marks of each attached kernel (marks never reached are skipped). */
    String table() {
        StringBuilder sb = new StringBuilder();
        buffers.forEach((kernel, buffer) -> {
            int n = groups.get(kernel);
            ByteBuffer bytes = ByteBuffer.allocateDirect(8 * SLOTS * n).order(ByteOrder.nativeOrder());
            cl.read(buffer, 0, bytes);
            LongBuffer t = bytes.asLongBuffer();
            double[] sum = new double[SLOTS];
            int[] count = new int[SLOTS];
            for (int g = 0; g < n; g++) {
                int previous = -1;
                for (int k = 0; k < SLOTS; k++) {
                    long v = t.get(g * SLOTS + k);
                    if (v == 0) {
                        continue;
                    }
                    long before = previous >= 0 ? t.get(g * SLOTS + previous) : Long.MAX_VALUE;
                    if (v >= before) {
                        sum[k] += v - before;
                        count[k]++;
                    }
                    previous = k;
                }
            }
            sb.append("  phases of ").append(kernel.describe()).append(", mean cycles over ").append(n).append(" groups:");
            for (int k = 0; k < SLOTS; k++) {
                if (count[k] > 0) {
                    sb.append(String.format(" ->%d %.0f", k, sum[k] / count[k]));
                }
            }
            sb.append('\n');
        });
        return sb.toString();
    }

    @Override
    public void close() {
        buffers.values().forEach(ClBuffer::close);
        buffers.clear();
    }
}
