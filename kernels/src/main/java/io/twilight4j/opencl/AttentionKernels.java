package io.twilight4j.opencl;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The FlashDecoding-style attention stage (attention.cl) over dense ranges or sparse token sets:
 * chunk sizes from the device's local memory and compute units, partial states merged by
 * log-sum-exp. Plan-time sizing; {@link #run} allocates nothing.
 */
final class AttentionKernels implements AutoCloseable {

    private static final int MIN_CHUNK_TOKENS = 64;

    private final ClKernel partial;
    private final ClKernel merge;
    private final int headsPerEntry;
    private final int headDim;
    private final int maxChunkTokens;
    private final int maxChunks;
    private final long groupSize;
    private final long mergeGroupSize;
    private final int computeUnits;
    private final ClBuffer pm, pd, po;

    /**
     * @param maxEntries    most (sequence, set) entries in one step
     * @param headsPerEntry query heads one entry serves (the GQA group, or 1)
     * @param maxTokens     most tokens one entry can hold
     */
    AttentionKernels(OpenClContext cl, Map<String, Integer> layoutDefines, int queryHeads, int gqaGroup,
                     boolean dense, int maxEntries, int headsPerEntry, int maxTokens) {
        Map<String, Integer> defines = new LinkedHashMap<>(layoutDefines);
        defines.put("QUERY_HEADS", queryHeads);
        defines.put("GQA_GROUP", gqaGroup);
        defines.put("HEADS_PER_ENTRY", headsPerEntry);
        defines.put("DENSE", dense ? 1 : 0);
        this.headsPerEntry = headsPerEntry;
        this.headDim = layoutDefines.get("HEAD_DIM");
        this.computeUnits = cl.device().computeUnits();
        this.partial = cl.kernel("common.cl+attention.cl", defines, "attend_partial");
        this.merge = cl.kernel("common.cl+attention.cl", defines, "attend_merge");
        // Local memory per group: q rows + one probability row per head + positions; keep half of it
        // free so the device can run two groups per compute unit.
        long budget = cl.device().localMemBytes() / 2 - 4L * headsPerEntry * headDim - 64;
        this.maxChunkTokens = (int) Math.max(MIN_CHUNK_TOKENS / 2, Math.min(4096, budget / (4L * (headsPerEntry + 1))));
        int toFill = (int) Math.ceil(4.0 * computeUnits / Math.max(1, maxEntries));
        this.maxChunks = Math.max(1, Math.max(Math.min(toFill, ceilDiv(maxTokens, MIN_CHUNK_TOKENS)), ceilDiv(maxTokens, maxChunkTokens)));
        this.groupSize = Long.highestOneBit(Math.min(256, partial.workGroupLimit()));
        this.mergeGroupSize = Math.min(headDim, merge.workGroupLimit());
        long states = (long) maxEntries * headsPerEntry * maxChunks;
        this.pm = cl.buffer("attention partial max", 4 * states);
        this.pd = cl.buffer("attention partial sum", 4 * states);
        this.po = cl.buffer("attention partial output", 4 * states * headDim);
    }

    /**
     * Enqueues attention for {@code entries} entries ({@code entriesPerSeq} per sequence) whose
     * longest holds {@code maxTokens} tokens and which hold {@code totalTokens} together.
     */
    void run(ClBuffer q, ClBuffer k, ClBuffer v, ClBuffer pageTables, int maxPages, ClBuffer lengths,
             ClBuffer sets, ClBuffer setCount, int cap, int entries, int entriesPerSeq, int maxTokens,
             long totalTokens, ClBuffer out) {
        int chunk = (int) Math.max(MIN_CHUNK_TOKENS, Math.min(maxChunkTokens, ceilDiv(totalTokens, 4L * computeUnits)));
        chunk = Math.max(chunk, ceilDiv(maxTokens, maxChunks));
        chunk = Math.min(chunk, maxChunkTokens);
        int chunks = Math.max(1, ceilDiv(maxTokens, chunk));
        partial.arg(0, q).arg(1, k).arg(2, v).arg(3, pageTables).arg(4, maxPages).arg(5, lengths).arg(6, sets)
                .arg(7, setCount).arg(8, cap).arg(9, entriesPerSeq).arg(10, chunk).arg(11, chunks)
                .arg(12, pm).arg(13, pd).arg(14, po)
                .local(15, 4L * headsPerEntry * headDim).local(16, 4L * headsPerEntry * chunk).local(17, 4L * chunk);
        partial.launch((long) entries * chunks, groupSize);
        merge.arg(0, pm).arg(1, pd).arg(2, po).arg(3, entriesPerSeq).arg(4, chunks).arg(5, out);
        merge.launch((long) entries * headsPerEntry, mergeGroupSize);
    }

    private static int ceilDiv(long a, long b) {
        return (int) ((a + b - 1) / b);
    }

    @Override
    public void close() {
        partial.close();
        merge.close();
        pm.close();
        pd.close();
        po.close();
    }
}
