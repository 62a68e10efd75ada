package io.twilight4j.opencl;

/**
 * A contiguous range of a step's (sequence, KV head) entries, {@code [firstEntry, firstEntry + entries)},
 * whose kernels run on {@code queue}. A step cut into slices on separate in-order queues lets the device
 * run one slice's latency-bound kernels (top-p, compaction, the launch gaps) beside another's
 * bandwidth-bound ones; every slice's kernels index the step's buffers by the whole step's entries.
 */
record StepSlice(long queue, int firstEntry, int entries) {

    /** Most slices a step is cut into (phase-time buffers are sized for it). */
    static final int MAX_SLICES = 8;

    /**
     * {@code entries} cut into {@code slices} near-equal slices (fewer when there are fewer entries), the
     * first on the context's main queue, slice i > 0 on side queue i - 1.
     */
    static StepSlice[] cut(OpenClContext cl, int entries, int slices) {
        int n = Math.max(1, Math.min(Math.min(slices, MAX_SLICES), entries));
        StepSlice[] out = new StepSlice[n];
        for (int i = 0; i < n; i++) {
            int first = (int) ((long) entries * i / n), end = (int) ((long) entries * (i + 1) / n);
            out[i] = new StepSlice(i == 0 ? cl.queue() : cl.sideQueue(i - 1), first, end - first);
        }
        return out;
    }

    /**
     * Entries from which a step is cut in two when its plan asks for no number of slices. On the H100, two
     * slices against one (step span, device; bench/results/h100-2026-12-06-session7/ab-3.txt): 512 entries
     * (batch 16 x 32 KV heads, batch 64 x 8 at 32k) 0.313 -> 0.288 and 0.501 -> 0.462 ms; 128 entries (batch
     * 16 x 8) 0.168 -> 0.188 ms (the host then enqueues twice the launches, ~8 us each, slower than the
     * device runs them) and batch 1 x 32 KV heads 0.110 -> 0.187 ms.
     */
    static final int TWO_SLICES_FROM = 512;

    /** Slices for a sparse step of {@code entries} entries: {@code requested}, or with 0 the count {@link #TWO_SLICES_FROM} gives. */
    static int count(int requested, int entries) {
        return requested > 0 ? requested : entries >= TWO_SLICES_FROM ? 2 : 1;
    }

    /**
     * Launches {@code kernel} for every slice, {@code groupsPerEntry} work-groups of {@code groupSize} per
     * entry: slice s covers groups [s.firstEntry, s.firstEntry + s.entries) x groupsPerEntry.
     */
    static void launchAll(ClKernel kernel, StepSlice[] slices, int groupsPerEntry, long groupSize, StageTimer timer, int stage) {
        for (StepSlice s : slices) {
            kernel.launch(s.queue, (long) s.firstEntry * groupsPerEntry, (long) s.entries * groupsPerEntry, groupSize, timer, stage);
        }
    }
}
