package io.twilight4j.opencl;

/**
 * A contiguous range of a step's (sequence, KV head) entries, {@code [firstEntry, firstEntry + entries)},
 * whose kernels run on {@code queue}. A step cut into slices on separate in-order queues lets the device
 * run one slice's latency-bound kernels (top-p, compaction, the launch gaps) beside another's
 * bandwidth-bound ones; every slice's kernels index the step's buffers by the whole step's entries.
 */
record StepSlice(long queue, int firstEntry, int entries) {

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

    /** Most slices a step is cut into (phase-time buffers are sized for it). */
    static final int MAX_SLICES = 8;

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
