package io.twilight4j.opencl;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The FlashDecoding-style attention stage (attention.cl) over dense ranges or sparse token sets:
 * chunk sizes from the device's local memory and compute units, partial states merged by
 * log-sum-exp. Plan-time sizing; {@link #run} allocates nothing.
 */
final class AttentionKernels implements AutoCloseable {

    /**
     * Whether the NVIDIA dense-attention loop loads the next step's K/V rows while it computes the current
     * step's (system property {@code twilight4j.attPipeline}, default true). On the H100, Hkv 8: dense
     * attend_partial 3-5.5% faster at six shapes (16 x 32k 791 -> 765 us); the sparse sets' loop ran slower
     * pipelined (16 x 32k 44.6 -> 53.8 us), so sparse attention never pipelines
     * ({@code bench/results/h100-2026-12-07-session17/}).
     */
    static final boolean PIPELINE = !"false".equals(System.getProperty("twilight4j.attPipeline"));

    /** Smallest dense chunk: below this the merge costs more than the split gains. */
    private static final int MIN_CHUNK_TOKENS = 128;
    // Sparse sets: chunks of at least 256 tokens (at most 64 per set), 4 groups of 128 work-items per compute
    // unit sharing them out. On the H100 at batch 16, 32k (attention 52.3 us with one chunk per group sized for
    // the sets' capacity): 39.9 us; chunks of 128 / 512 tokens 47.5 / 49.0 us; groups of 256 work-items 47.4 us.
    // At 128k the same launch took 57.6 us against 53.4 us (chunks of 512: 52.2 us, but 49.0 us at 32k):
    // bench/results/h100-2026-12-06-session5/ab-group-sizes-*.txt.
    private static final int SPARSE_CHUNK_TOKENS = 256;
    private static final int SPARSE_MAX_CHUNKS = 64;
    private static final int SPARSE_GROUPS_PER_UNIT = 4;
    private static final int SPARSE_GROUP_THREADS = 128;
    /**
     * Most work-items per channel in attend_merge (one per {@link AttentionTuning#mergeChunksPerPart} chunks). Dense
     * attention at batch 1 merges ~128 chunks per head: one work-item per channel walking them all took 25 us
     * of a 96 us step at 32k on the H100, four 14 us; at batch 16 (~8 chunks per head) four per channel were
     * 2 us slower than one (bench/results/h100-2026-12-07-session19/).
     */
    private static final int MERGE_PARTS = 4;
    /** Rows of a tile: each work-item keeps this many K/V loads in flight. */
    private static final int TILE_ROWS = 64;

    private final ClKernel partial;
    private final ClKernel merge;
    private final boolean dense;
    private final int headsPerEntry;
    private final int headDim;
    private final int tile;
    private final int targetGroups;
    private final int maxChunks;
    private final long groupSize;
    /** Most work-items per channel in attend_merge that the device's group limit allows (up to MERGE_PARTS). */
    private final int maxMergeParts;
    private final int mergeChunksPerPart;
    private final long redFloats;
    private final long scoreFloats;
    private final ClBuffer pm, pd, po;
    /** Sparse: per entry, its chunks finished this step (the last resets it to 0 after merging). */
    private final ClBuffer arrivals;
    /** Whether attend_partial merges a sparse entry's chunks itself (FUSED_MERGE). */
    private final boolean fusedMerge;
    private final PhaseTimes phases;

    /**
     * @param maxEntries    most (sequence, set) entries in one step
     * @param headsPerEntry query heads one entry serves (the GQA group, or 1)
     * @param maxTokens     most tokens one entry can hold
     * @param fastPath      use a device-specific variant where there is one (tested against the portable one)
     * @param fusedMerge    sparse: the last group of an entry's chunks merges them, no merge launch (for sets
     *                      of a few chunks: pruned ones)
     * @param tuning        launch shape
     */
    AttentionKernels(OpenClContext cl, Map<String, Integer> layoutDefines, int queryHeads, int gqaGroup,
                     boolean dense, int maxEntries, int headsPerEntry, int maxTokens, boolean fastPath,
                     boolean fusedMerge, AttentionTuning tuning) {
        this.headsPerEntry = headsPerEntry;
        this.dense = dense;
        this.fusedMerge = fusedMerge && !dense;
        this.headDim = layoutDefines.get("HEAD_DIM");
        this.mergeChunksPerPart = tuning.mergeChunksPerPart();
        // Work-item (slot, lane): HEAD_DIM / vec lanes read one row together (vec channels each), about
        // 128 work-items per group, and a tile of about TILE_ROWS rows.
        // Warp-shuffle variant where inline PTX builds and a row's lanes fit in one warp.
        int portableVec = headDim % 8 == 0 ? 8 : 4;
        int shuffleVec = headDim % tuning.shuffleVec() == 0 ? tuning.shuffleVec() : portableVec;
        // The reduce-scatter over lanes needs the group's heads to divide the lanes (both powers of two).
        int shuffleLanes = headDim / shuffleVec;
        boolean shuffle = fastPath && cl.device().inlinePtx() && 32 % shuffleLanes == 0
                && Integer.bitCount(headsPerEntry) == 1 && shuffleLanes % headsPerEntry == 0;
        int vec = shuffle ? shuffleVec : portableVec;
        int lanes = headDim / vec;
        int slots = Math.max(1, (dense ? tuning.groupThreads() : SPARSE_GROUP_THREADS) / lanes);
        int rows = Math.max(1, TILE_ROWS / slots);
        this.tile = slots * rows;
        this.groupSize = (long) lanes * slots;
        Map<String, Integer> defines = new LinkedHashMap<>(layoutDefines);
        defines.put("QUERY_HEADS", queryHeads);
        defines.put("GQA_GROUP", gqaGroup);
        defines.put("HEADS_PER_ENTRY", headsPerEntry);
        defines.put("DENSE", dense ? 1 : 0);
        defines.put("FUSED_MERGE", this.fusedMerge ? 1 : 0);
        defines.put("SLOTS", slots);
        defines.put("ATT_UNROLL", tuning.rowsInFlight());
        defines.put("ATT_PIPELINE", shuffle && vec == 8 && dense && PIPELINE ? 1 : 0);
        defines.put("ROWS", rows);
        defines.put("ATT_WG", (int) groupSize);
        defines.put("ATT_VEC", vec);
        defines.put("ATT_SHUFFLE", shuffle ? 1 : 0);
        int stage = StageSizes.attention();
        defines.put("ATT_STAGE", stage);
        defines.put("INLINE_PTX", shuffle ? 1 : 0);
        // K/V rows load evict-first (see SparsePipeline): the sets and page tables stay in L2.
        defines.put("STREAM_LOADS", shuffle ? 1 : 0);
        defines.put("PHASE_TIMES", PhaseTimes.ENABLED && shuffle && !dense ? 1 : 0);
        // Everything allocated so far is released if a later allocation or kernel build fails.
        try (Closer guard = new Closer()) {
            this.partial = guard.add(cl.kernel("common.cl+attention.cl", defines, "attend_partial"));
            this.merge = guard.add(cl.kernel("common.cl+attention.cl", defines, "attend_merge"));
            if (partial.workGroupLimit() < groupSize) {
                throw new OpenClException("attend_partial: the device runs at most " + partial.workGroupLimit()
                        + " work-items per group, the kernel needs " + groupSize);
            }
            this.redFloats = Math.max((long) lanes * (headsPerEntry * tile + 1), (long) slots * headsPerEntry * (headDim + 2));
            // The NVIDIA variant keeps a sparse chunk's staged token slots where the portable one keeps scores.
            this.scoreFloats = shuffle && !dense ? Math.max((long) headsPerEntry * tile, stage) : (long) headsPerEntry * tile;
            long local = 4 * (redFloats + scoreFloats + (long) headsPerEntry * tile + (dense ? 1 : maxEntries));
            if (local > cl.device().localMemBytes()) {
                throw new OpenClException("attend_partial: needs " + local + " bytes of local memory, the device has "
                        + cl.device().localMemBytes());
            }
            if (merge.workGroupLimit() < headDim) {
                throw new OpenClException("attend_merge: the device runs at most " + merge.workGroupLimit()
                        + " work-items per group, the kernel needs one per channel (" + headDim + ")");
            }
            this.maxMergeParts = (int) Math.max(1, Math.min(MERGE_PARTS, merge.workGroupLimit() / headDim));
            long states;
            if (dense) {
                this.targetGroups = tuning.groupsPerUnit() * cl.device().computeUnits();
                this.maxChunks = Math.max(1, Math.min(ceilDiv(maxTokens, MIN_CHUNK_TOKENS), targetGroups));
                // run() keeps entries x chunks <= min(entries x maxChunks, targetGroups + entries).
                states = (long) headsPerEntry * Math.min((long) maxEntries * maxChunks, (long) targetGroups + maxEntries);
            } else {
                this.targetGroups = SPARSE_GROUPS_PER_UNIT * cl.device().computeUnits();
                this.maxChunks = Math.max(1, Math.min(ceilDiv(maxTokens, SPARSE_CHUNK_TOKENS), SPARSE_MAX_CHUNKS));
                states = (long) headsPerEntry * maxEntries * maxChunks;
            }
            if (!this.fusedMerge && mergeLocalBytes(maxChunks, maxMergeParts) > cl.device().localMemBytes()) {
                throw new OpenClException("attend_merge: needs " + mergeLocalBytes(maxChunks, maxMergeParts)
                        + " bytes of local memory, the device has " + cl.device().localMemBytes());
            }
            this.pm = guard.add(cl.buffer("attention partial max", 4 * states));
            this.pd = guard.add(cl.buffer("attention partial sum", 4 * states));
            this.po = guard.add(cl.buffer("attention partial output", 4 * states * headDim));
            this.arrivals = guard.add(cl.zeroedBuffer("attention chunk arrivals", 4L * (this.fusedMerge ? maxEntries : 1)));
            this.phases = guard.add(new PhaseTimes(cl));
            if (PhaseTimes.ENABLED && shuffle && !dense) {
                phases.attach(partial, targetGroups * StepSlice.MAX_SLICES);
            }
            guard.keep();
        }
    }

    /**
     * Enqueues attention for {@code entries} entries ({@code entriesPerSeq} per sequence) whose
     * longest holds {@code maxTokens} tokens, for each slice of {@code slices} on its queue (a slice's
     * (sequence, KV head) entries hold {@code entriesPerSlot} entries here each).
     */
    void run(ClBuffer q, ClBuffer k, ClBuffer v, ClBuffer pageTables, int maxPages, ClBuffer lengths,
             ClBuffer sets, ClBuffer setCount, int cap, int entries, int entriesPerSeq, int maxTokens,
             ClBuffer out, StepSlice[] slices, int entriesPerSlot, StageTimer timer) {
        int chunk, chunks;
        if (dense) {
            // Equal chunks of the longest entry, about targetGroups groups in all; a shorter entry's
            // surplus chunks exit at once.
            chunks = Math.max(1, Math.min(maxChunks, Math.min(ceilDiv(targetGroups, entries),
                    ceilDiv(maxTokens, MIN_CHUNK_TOKENS))));
            chunk = ceilDiv(ceilDiv(maxTokens, chunks), tile) * tile;
            chunks = Math.max(1, ceilDiv(maxTokens, chunk));
        } else {
            // The set sizes are on the device: the groups share out the chunks the kernel cuts from them.
            chunk = SPARSE_CHUNK_TOKENS;
            chunks = maxChunks;
        }
        partial.arg(0, q).arg(1, k).arg(2, v).arg(3, pageTables).arg(4, maxPages).arg(5, lengths).arg(6, sets)
                .arg(7, setCount).arg(8, cap).arg(11, entriesPerSeq).arg(12, chunk).arg(13, chunks)
                .arg(14, pm).arg(15, pd).arg(16, po).arg(17, arrivals).arg(18, out)
                .local(19, 4 * redFloats).local(20, 4 * scoreFloats).local(21, 4L * headsPerEntry * tile);
        if (dense) {
            partial.arg(9, 0).arg(10, entries).local(22, 4);
            StepSlice.launchAll(partial, slices, entriesPerSlot * chunks, groupSize, timer, StageTimer.ATTENTION);
        } else {
            // Each slice's groups share out its own entries' chunks; their group indices follow the slices
            // before (for the phase marks only).
            long firstGroup = 0;
            for (StepSlice s : slices) {
                int first = s.firstEntry() * entriesPerSlot, n = s.entries() * entriesPerSlot;
                long sliceGroups = Math.min((long) n * chunks, targetGroups);
                partial.arg(9, first).arg(10, n).local(22, 4L * n);
                partial.launch(s.queue(), firstGroup, sliceGroups, groupSize, timer, StageTimer.ATTENTION);
                firstGroup += sliceGroups;
            }
        }
        if (!fusedMerge) {
            int parts = Math.max(1, Math.min(maxMergeParts, chunks / mergeChunksPerPart));
            merge.arg(0, pm).arg(1, pd).arg(2, po).arg(3, setCount).arg(4, entriesPerSeq).arg(5, chunk).arg(6, chunks)
                    .arg(7, out).local(8, mergeLocalBytes(chunks, parts));
            StepSlice.launchAll(merge, slices, entriesPerSlot * headsPerEntry, (long) headDim * parts, timer,
                    StageTimer.ATTENTION);
        }
    }

    /** attend_merge's local memory for {@code chunks} chunks and {@code parts} work-items per channel. */
    private long mergeLocalBytes(int chunks, int parts) {
        return 4L * (2L * chunks + (long) parts * (headDim + 1));
    }

    private static int ceilDiv(long a, long b) {
        return (int) ((a + b - 1) / b);
    }

    /** Phase cycles of the last sparse launch (empty unless {@link PhaseTimes#ENABLED} on NVIDIA). */
    String phaseTable() {
        return phases.table();
    }

    @Override
    public void close() {
        for (AutoCloseable c : new AutoCloseable[] {phases, partial, merge, pm, pd, po, arrivals}) {
            Closer.closeQuietly(c);
        }
    }
}
