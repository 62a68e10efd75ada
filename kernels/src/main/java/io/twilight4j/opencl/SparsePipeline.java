package io.twilight4j.opencl;

import io.twilight4j.backend.DecodeShape;
import io.twilight4j.backend.StepStats;
import io.twilight4j.kv.KvShape;
import io.twilight4j.policy.AttentionPolicy;
import io.twilight4j.policy.GqaMode;
import io.twilight4j.policy.SelectorKind;
import io.twilight4j.prune.TopPThreshold;
import java.nio.IntBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Select then prune on the device (TWILIGHT.md section 2): the base selector writes ascending
 * candidate positions per (sequence, KV head), the 4-bit estimate and top-p threshold run per query
 * head, and compaction writes each set's ascending positions. Buffers are sized at plan time.
 */
final class SparsePipeline implements AutoCloseable {

    /** Token sets for attention: {@code indices[entry * capacity + i]}, {@code counts[entry]}. */
    record Sets(ClBuffer indices, ClBuffer counts, int entriesPerSeq) {
    }

    /** Work-groups per compute unit of the kernels that split an entry's pages or candidates ({@link #groupsPerEntry}). */
    private static final int GROUPS_PER_UNIT = 8;
    /** Work-items per group the pipeline's kernels ask for (each gets at most its own limit). */
    private static final int WANTED_GROUP = 256;
    /**
     * The NVIDIA estimate's code bytes per work-item (8: 8 work-items per candidate at d = 128) and candidates
     * each slot has in flight. On the H100 at batch 16, 32k with the token slots staged in local memory
     * (49.6 us before): 8 in flight 41.3 us, 4 46.5 us, 16 48.5 us; 16-byte lanes 48.3 us (4 in flight)
     * (bench/results/h100-2026-12-06-session5/ab-staged-knobs-32k.txt, ab-prefetch-raw-knobs-32k.txt).
     */
    private static final int EST_LANE_BYTES = 8;
    private static final int EST_UNROLL = 8;
    /**
     * Whether plans that prune run the estimate, top-p and the compaction as one launch (estimate_top_p)
     * where the device allows it (local memory for top_p's row, one work-group size for all three), system
     * property {@code twilight4j.clFuseTopP} (default true; false runs estimate_scores, top_p, then compact).
     */
    static final boolean FUSE_TOP_P = !"false".equals(System.getProperty("twilight4j.clFuseTopP"));
    /** top_p's histogram: one uint per bucket of TopPThreshold's (weights are below 2). */
    private static final long TOP_P_HISTOGRAM_BYTES = 4L * (0x40000000 >> TopPThreshold.BUCKET_SHIFT);

    private final OpenClContext cl;
    private final OpenClKvCache cache;
    private final AttentionPolicy policy;
    private final KvShape kv;
    private final int queryHeads, gqa, maxPages, capacity, capacityWords, rowLen, setsPerSeq;
    private final ClKernel quantize, scoreKernel, selectKernel, estimate, topP, compact;
    /** The estimate, top-p and compaction in one launch (null where the plan runs them apart, see {@link #FUSE_TOP_P}). */
    private final ClKernel estimateTopP;
    /** estimate_top_p's ticket counter per slice and finished estimate blocks per entry (both reset by the kernel). */
    private final ClBuffer tickets, entryDone;
    /** estimate_scores' local memory in floats. */
    private final int estimateLocalFloats;
    /** estimate_top_p's local memory in floats, and where top_p's scratch and histogram start in it. */
    private final int fusedLocalFloats, fusedScratchOffset, fusedHistOffset;
    private final ClBuffer queryCodes, queryScales, cand, candCount, rowScores, scores, thr, keepBits, sets, setCount;
    private final IntBuffer hostCounts, hostCandidateCounts;
    private boolean lastPruned;
    private final boolean rowLocal;
    private final boolean selectLocal;
    private final boolean keptLocal;
    private final int[] candidates;
    /** Work-items per group of each kernel (Quest scoring's come from its lanes and slots). */
    private final long scoreGroup, selectGroup, estimateGroup, topPGroup, compactGroup;
    private final int questSlots, questRows, questLanes;
    /** Candidates the NVIDIA estimate stages at a time ({@link StageSizes}). */
    private final int estimateStage;
    /** top_p's local reduction scratch in bytes, for its work-group size. */
    private final long topPScratch;
    private final PhaseTimes phases;

    /**
     * Plans {@code policy} for batches up to {@code decode}. The candidate and set counts go to the plan's
     * step outputs ({@link StepTransfers}: per sequence a count per KV head and one per set).
     */
    SparsePipeline(OpenClKvCache cache, AttentionPolicy policy, DecodeShape decode, int maxPages, boolean fastPaths,
                   boolean fuseTopP, StepTransfers transfers) {
        this.cl = cache.context();
        this.cache = cache;
        this.policy = policy;
        this.kv = cache.shape();
        this.queryHeads = decode.queryHeads();
        this.gqa = queryHeads / kv.kvHeads();
        this.maxPages = maxPages;
        int ctx = decode.maxContext();
        int questPages = Math.max(1, policy.budgetTokens() / kv.pageTokens());
        this.capacity = switch (policy.selector()) {
            case FULL -> ctx;
            case WINDOW -> (int) Math.min(ctx, (long) policy.budgetTokens() + policy.sinkTokens());
            case QUEST -> Math.min(maxPages, questPages) * kv.pageTokens();
            default -> Math.min(ctx, policy.budgetTokens());
        };
        this.capacityWords = (capacity + 31) / 32;
        this.rowLen = switch (policy.selector()) {
            case QUEST -> maxPages;
            case DS, ORACLE -> ctx;
            default -> 1;
        };
        if (policy.selector() == SelectorKind.DS && kv.labelChannels() == 0) {
            throw new IllegalArgumentException("policy '" + policy + "' needs a KV cache with label channels");
        }
        boolean perHead = policy.prunes() && policy.gqaMode() == GqaMode.HEAD;
        this.setsPerSeq = perHead ? queryHeads : kv.kvHeads();
        int headsPerEntry = perHead ? 1 : gqa;
        // A top-p row stays in local memory when it fits beside the reduction scratch and the histogram:
        // B0 = 8192 fits the 48 KiB of NVIDIA GPUs, and the search passes then never go back to global
        // memory (TWILIGHT.md section 4).
        boolean ptx = fastPaths && cl.device().inlinePtx() && kv.headDim() % 16 == 0 && 32 % (kv.headDim() / 8) == 0;
        // 256 work-items per group: NVIDIA's driver reports 256 as every kernel's limit on the H100
        // (CL_KERNEL_WORK_GROUP_SIZE, even at 32 registers); past it (forced, for a test) top_p at 512
        // and 1024 was slower, select_top and compact 1-3 us faster
        // (bench/results/h100-2026-12-06-session3/knobs-group-sizes.txt).
        this.rowLocal = 4L * capacity + topPScratchBytes(WANTED_GROUP, ptx) + TOP_P_HISTOGRAM_BYTES + 64 <= cl.device().localMemBytes();
        Map<String, Integer> defines = new LinkedHashMap<>(cache.layout().kernelDefines());
        defines.put("QUERY_HEADS", queryHeads);
        defines.put("GQA_GROUP", gqa);
        defines.put("HEADS_PER_ENTRY", headsPerEntry);
        // Items per work-item in each tile of select_top's emission.
        defines.put("SCAN_RUN", 4);
        defines.put("ROW_LOCAL", rowLocal ? 1 : 0);
        // top_p brackets the threshold with a histogram first and searches the weights inside the bracket.
        defines.put("TOP_P_HISTOGRAM", 1);
        defines.put("TOP_P_BUCKET_SHIFT", TopPThreshold.BUCKET_SHIFT);
        // Quest's page scores (8191 at 128k) fit local memory: select_top then reads them from global
        // memory once, not in each of its five passes. DS and oracle rows (every token) stay global.
        this.selectLocal = policy.selector() == SelectorKind.QUEST
                && 4L * (rowLen + WANTED_GROUP + 256 + 64) <= cl.device().localMemBytes();
        defines.put("SELECT_LOCAL", selectLocal ? 1 : 0);
        // Quest's kept page numbers (budget / page tokens) wait in local memory to be expanded to tokens
        // by the whole work-group, where they fit beside the rest.
        this.keptLocal = policy.selector() == SelectorKind.QUEST
                && 4L * ((selectLocal ? rowLen : 0) + WANTED_GROUP + 256 + 64 + questPages) <= cl.device().localMemBytes();
        defines.put("KEPT_LOCAL", keptLocal ? 1 : 0);
        // Quest page scoring: HEAD_DIM / vec lanes read one page's bound code row (HEAD_DIM bytes) together,
        // ~128 work-items; the NVIDIA variant takes 8-byte loads (16 codes, all of the min row or all of the
        // max row: HEAD_DIM % 16 == 0) and sums with warp shuffles (16-byte loads were slower on the H100
        // with 8-bit bounds: 177 against 146 us at batch 16, 128k; bench/results/h100-2026-11-23-session3).
        int vec = ptx ? 8 : 4;
        this.questLanes = kv.headDim() / vec;
        this.questSlots = Math.max(1, 128 / questLanes);
        this.questRows = Math.max(1, 32 / questSlots);
        defines.put("QVEC", vec);
        defines.put("QSLOTS", questSlots);
        defines.put("QROWS", questRows);
        defines.put("INLINE_PTX", ptx ? 1 : 0);
        // Read-once streams (codes, bounds, K/V) load evict-first, so the step's reused buffers stay in L2:
        // on the H100 at batch 16, 32k the sparse attention 40.2 -> 36.1 us, top_p's row load 9.1k -> 6.3k
        // cycles, Quest 26.9 -> 25.9 us, the estimate 42.2 -> 42.9 (at 128k 42.9 -> 40.2)
        // (bench/results/h100-2026-12-06-session6/ab-1.txt).
        defines.put("STREAM_LOADS", ptx ? 1 : 0);
        // The pipeline reads top_p's kept bits, not its weights (tests read both).
        defines.put("TOP_P_WRITEBACK", 0);
        defines.put("PHASE_TIMES", PhaseTimes.ENABLED && ptx ? 1 : 0);
        defines.put("QSCATTER", Integer.bitCount(gqa) == 1 && questLanes % gqa == 0 ? 1 : 0);
        // 4-bit estimate, NVIDIA variant: CODE_BYTES / EST_LANE_BYTES lanes per candidate, the group's heads
        // reduce-scattered over them (both powers of two, heads dividing lanes).
        int estLanes = kv.headDim() / 2 / EST_LANE_BYTES;
        boolean estShuffle = ptx && (kv.headDim() / 2) % EST_LANE_BYTES == 0 && Integer.bitCount(estLanes) == 1 && estLanes <= 32
                && Integer.bitCount(gqa) == 1 && estLanes % gqa == 0;
        defines.put("EST_SHUFFLE", estShuffle ? 1 : 0);
        defines.put("EST_LANES", Math.max(1, estLanes));
        defines.put("EST_LANE_BYTES", EST_LANE_BYTES);
        // Candidates each slot has in flight (EST_UNROLL): before the token slots were staged, 4 took the estimate
        // from 214 to 121 us at batch 16, 128k and 8 changed nothing (bench/results/h100-2026-11-23-session2).
        defines.put("EST_UNROLL", EST_UNROLL);
        this.estimateStage = StageSizes.estimate();
        defines.put("EST_STAGE", estimateStage);
        String select = "common.cl+select.cl";
        String prune = "common.cl+prune.cl";
        int b = decode.maxBatch();
        try (Closer guard = new Closer()) {
            // Quest's page scoring and the 4-bit estimate read the 8-bit queries (kv.Int8Query); Quest's
            // scoring quantizes them itself (one launch fewer per step: on the H100 quantize_queries took
            // ~4.4 us and left the device idle ~2.4 us before the next kernel), other selectors launch
            // quantize_queries for the estimate.
            boolean estimates = policy.prunes() && !policy.exactScores();
            boolean int8Query = policy.selector() == SelectorKind.QUEST || estimates;
            quantize = estimates && policy.selector() != SelectorKind.QUEST
                    ? guard.add(cl.kernel("common.cl+query.cl", defines, "quantize_queries")) : null;
            scoreKernel = switch (policy.selector()) {
                case FULL, WINDOW -> guard.add(cl.kernel(select, defines, "window_candidates"));
                case QUEST -> guard.add(cl.kernel(select, defines, "quest_page_scores"));
                case DS -> guard.add(cl.kernel(select, defines, "ds_scores"));
                default -> guard.add(cl.kernel(select, defines, "oracle_scores"));
            };
            boolean scoreless = policy.selector() == SelectorKind.FULL || policy.selector() == SelectorKind.WINDOW;
            selectKernel = scoreless ? null : guard.add(cl.kernel(select, defines, "select_top"));
            estimate = policy.prunes()
                    ? guard.add(cl.kernel(prune, defines, policy.exactScores() ? "exact_scores" : "estimate_scores")) : null;
            topP = policy.prunes() ? guard.add(cl.kernel(prune, defines, "top_p")) : null;
            compact = policy.prunes() ? guard.add(cl.kernel(prune, defines, "compact")) : null;
            if (policy.selector() == SelectorKind.QUEST && scoreKernel.workGroupLimit() < (long) questLanes * questSlots) {
                throw new OpenClException("quest_page_scores: the device runs at most " + scoreKernel.workGroupLimit()
                        + " work-items per group, the kernel needs " + (long) questLanes * questSlots);
            }
            if (quantize != null && quantize.workGroupLimit() < kv.headDim() / 4) {
                throw new OpenClException("quantize_queries: the device runs at most " + quantize.workGroupLimit()
                        + " work-items per group, the kernel needs headDim / 4 = " + kv.headDim() / 4);
            }
            scoreGroup = groupSize(policy.selector() == SelectorKind.QUEST ? null : scoreKernel, ptx);
            selectGroup = groupSize(selectKernel, ptx);
            estimateGroup = groupSize(estimate, ptx);
            topPGroup = groupSize(topP, ptx);
            compactGroup = groupSize(compact, ptx);
            topPScratch = topPScratchBytes(topPGroup, ptx);
            // The fused kernel's one local area holds either part: the estimate's, or top_p's row (16-byte
            // aligned for its copy), scratch and histogram one after the other.
            this.estimateLocalFloats = Math.max(gqa * (kv.headDim() + 1), estimateStage);
            int rowFloats = rowLocal ? (capacity + 3) / 4 * 4 : 4;
            this.fusedScratchOffset = rowFloats;
            this.fusedHistOffset = rowFloats + (int) (topPScratch / 4);
            this.fusedLocalFloats = Math.max(estimateLocalFloats, fusedHistOffset + (int) (TOP_P_HISTOGRAM_BYTES / 4));
            // compact's part takes 3 ints per work-item from the start of the same area (the last condition)
            boolean fuse = fuseTopP && estimates && !PhaseTimes.ENABLED && estimateGroup == topPGroup
                    && compactGroup == topPGroup && 4L * fusedLocalFloats + 64 <= cl.device().localMemBytes()
                    && fusedLocalFloats >= 3 * compactGroup;
            estimateTopP = fuse ? guard.add(cl.kernel(prune, defines, "estimate_top_p")) : null;
            if (estimateTopP != null && estimateTopP.workGroupLimit() < topPGroup) {
                throw new OpenClException("estimate_top_p: the device runs at most " + estimateTopP.workGroupLimit()
                        + " work-items per group, the plan needs " + topPGroup + "; plan with -Dtwilight4j.clFuseTopP=false");
            }
            tickets = guard.add(cl.zeroedBuffer("estimate_top_p tickets", 4L * (fuse ? StepSlice.MAX_SLICES : 1)));
            entryDone = guard.add(cl.zeroedBuffer("estimate_top_p finished blocks", 4L * (fuse ? b * kv.kvHeads() : 1)));
            queryCodes = guard.add(cl.buffer("query codes", int8Query ? (long) b * queryHeads * kv.headDim() : 1));
            queryScales = guard.add(cl.buffer("query scales", int8Query ? 4L * b * queryHeads : 4));
            cand = guard.add(cl.buffer("candidates", 4L * b * kv.kvHeads() * capacity));
            candCount = transfers.candidateCounts();
            // Quest writes a row per query head (select_top combines them), other selectors one per KV head.
            rowScores = guard.add(cl.buffer("selector scores",
                    4L * b * kv.kvHeads() * rowLen * (policy.selector() == SelectorKind.QUEST ? gqa : 1)));
            scores = guard.add(cl.buffer("estimated scores", 4L * (policy.prunes() ? (long) b * queryHeads * capacity : 1)));
            thr = guard.add(cl.buffer("top-p thresholds", 4L * b * queryHeads));
            keepBits = guard.add(cl.buffer("top-p kept bits", 4L * (policy.prunes() ? (long) b * queryHeads * capacityWords : 1)));
            sets = guard.add(cl.buffer("token sets", 4L * (policy.prunes() ? (long) b * setsPerSeq * capacity : 1)));
            setCount = transfers.setCounts();
            phases = guard.add(new PhaseTimes(cl));
            if (PhaseTimes.ENABLED && ptx) {
                // Quest scoring and the estimate split each entry over groupsPerEntry groups: at most
                // max(entries, GROUPS_PER_UNIT x units) in all.
                int splitGroups = Math.max(b * kv.kvHeads(), GROUPS_PER_UNIT * cl.device().computeUnits());
                if (policy.selector() == SelectorKind.QUEST) {
                    phases.attach(scoreKernel, splitGroups);
                }
                if (selectKernel != null) phases.attach(selectKernel, b * kv.kvHeads());
                if (estimate != null && !policy.exactScores()) phases.attach(estimate, splitGroups);
                if (topP != null) phases.attach(topP, b * queryHeads);
                if (compact != null) phases.attach(compact, b * setsPerSeq);
            }
            guard.keep();
        }
        this.hostCounts = transfers.hostSetCounts();
        this.hostCandidateCounts = transfers.hostCandidateCounts();
        this.candidates = new int[b * kv.kvHeads()];
    }

    /** Work-items per group of {@code kernel}: the largest power of two up to {@link #WANTED_GROUP} it allows (0 without it). */
    private static long groupSize(ClKernel kernel, boolean ptx) {
        if (kernel == null) {
            return 0;
        }
        long size = Long.highestOneBit(Math.max(1, Math.min(WANTED_GROUP, kernel.workGroupLimit())));
        if (ptx && size % 32 != 0) {
            // The NVIDIA scans and reductions work a warp at a time.
            throw new OpenClException(kernel.describe() + ": the device allows work-groups of " + size
                    + " work-items, the NVIDIA fast path needs whole warps of 32; plan with fast paths off");
        }
        return size;
    }

    /**
     * top_p's reduction scratch for work-groups of {@code size}: the portable variant's five floats per
     * work-item, the NVIDIA one's 64 + two buffers of 5 x 32; at least one int per work-item (flat_prefix).
     */
    private static long topPScratchBytes(long size, boolean ptx) {
        return 4L * Math.max(ptx ? size : 5 * size, 64 + 2 * 5 * 32);
    }

    /** Whether the estimate and top-p run as one launch. */
    boolean fusedTopP() {
        return estimateTopP != null;
    }

    /** Phase cycles of the last step's kernels (empty unless {@link PhaseTimes#ENABLED} on NVIDIA). */
    String phaseTable() {
        return phases.table();
    }

    /** The 8-bit query codes and scales of the last step (for tests: the estimate reads them). */
    ClBuffer queryCodes() {
        return queryCodes;
    }

    ClBuffer queryScales() {
        return queryScales;
    }

    /** Most tokens one set can hold. */
    int capacity() {
        return capacity;
    }

    /**
     * Enqueues select (and prune) for {@code batch} sequences, each stage for every slice of
     * {@code slices} (which cover the batch's entries) on the slice's queue.
     */
    Sets run(int layer, int batch, StepSlice[] slices, ClBuffer q, ClBuffer pageTables, ClBuffer lengths, int[] lengthOf,
             StageTimer timer) {
        OpenClKvCache.LayerBuffers buf = cache.layer(layer);
        int entries = batch * kv.kvHeads();
        int smoothingBase = layer * kv.kvHeads() * kv.headDim();
        if (quantize != null) {
            quantize.arg(0, q).arg(1, queryCodes).arg(2, queryScales).local(3, kv.headDim())
                    .arg(4, cache.smoothingBuffer()).arg(5, smoothingBase);
            StepSlice.launchAll(quantize, slices, gqa, kv.headDim() / 4, timer, StageTimer.SELECT);
        }
        switch (policy.selector()) {
            // full: no sinks (its sinkTokens is 0) and an unbounded window.
            case FULL, WINDOW -> scoreKernel.arg(0, lengths).arg(1, capacity).arg(2, cand).arg(3, candCount)
                    .arg(4, policy.sinkTokens())
                    .arg(5, policy.selector() == SelectorKind.FULL ? Integer.MAX_VALUE : policy.budgetTokens());
            case QUEST -> {
                // Groups per entry as groupsPerEntry says, each scoring at least one tile of pages.
                int tile = questSlots * questRows;
                int maxLen = 0;
                for (int i = 0; i < batch; i++) {
                    maxLen = Math.max(maxLen, lengthOf[i]);
                }
                int pages = (maxLen + kv.pageTokens() - 1) / kv.pageTokens();
                int perEntry = Math.max(1, Math.min((pages + tile - 1) / tile, groupsPerEntry(entries)));
                long lanes = questLanes;
                scoreKernel.arg(0, q).arg(1, queryCodes).arg(2, queryScales).arg(3, buf.boundCodes()).arg(4, buf.boundParams())
                        .arg(5, pageTables).arg(6, maxPages).arg(7, lengths).arg(8, rowLen).arg(9, rowScores).arg(10, perEntry)
                        .local(11, 4L * (lanes * ((long) gqa * tile + 1) + 2L * gqa) + (long) gqa * kv.headDim())
                        .arg(12, cache.smoothingBuffer()).arg(13, smoothingBase);
                StepSlice.launchAll(scoreKernel, slices, perEntry, lanes * questSlots, timer, StageTimer.SELECT);
            }
            case DS -> scoreKernel.arg(0, q).arg(1, buf.labels()).arg(2, buf.labelParams()).arg(3, cache.labelChannelBuffer())
                    .arg(4, layer * kv.kvHeads() * kv.labelChannels()).arg(5, pageTables).arg(6, maxPages).arg(7, lengths)
                    .arg(8, rowLen).arg(9, rowScores);
            default -> scoreKernel.arg(0, q).arg(1, buf.k()).arg(2, pageTables).arg(3, maxPages).arg(4, lengths)
                    .arg(5, rowLen).arg(6, rowScores);
        }
        if (policy.selector() != SelectorKind.QUEST) {
            StepSlice.launchAll(scoreKernel, slices, 1, scoreGroup, timer, StageTimer.SELECT);
        }
        if (selectKernel != null) {
            boolean quest = policy.selector() == SelectorKind.QUEST;
            int k = quest ? Math.max(1, policy.budgetTokens() / kv.pageTokens()) : policy.budgetTokens();
            selectKernel.arg(0, rowScores).arg(1, rowLen).arg(2, lengths).arg(3, quest ? kv.pageTokens() : 1).arg(4, k)
                    .arg(5, quest ? 1 : 0).arg(6, capacity).arg(7, cand).arg(8, candCount).local(9, 4 * selectGroup)
                    .local(10, selectLocal ? 4L * rowLen : 4).local(11, keptLocal ? 4L * k : 4).arg(12, quest ? gqa : 0);
            StepSlice.launchAll(selectKernel, slices, 1, selectGroup, timer, StageTimer.SELECT);
        }
        if (!policy.prunes()) {
            lastPruned = false;
            return new Sets(cand, candCount, kv.kvHeads());
        }
        // Blocks of at least ~256 candidates per KV head, as many as groupsPerEntry says.
        // (8 groups per unit: at batch 16 the estimate's 1024 groups run in two waves of 4 per unit, its 64
        // registers allowing no more; one wave of 512 measured 43.5 against 41.2 us at 32k and even at 128k,
        // 768 groups 48.0 us; bench/results/h100-2026-12-06-session6/ab-5-final.txt.)
        int blocks = Math.max(1, Math.min((capacity + 255) / 256, groupsPerEntry(entries)));
        if (estimateTopP != null) {
            estimateTopP.arg(0, queryCodes).arg(1, queryScales).arg(2, buf.codes()).arg(3, buf.params()).arg(4, pageTables)
                    .arg(5, maxPages).arg(6, cand).arg(7, candCount).arg(8, capacity).arg(9, scores).arg(10, blocks)
                    .arg(11, (float) policy.topP()).arg(12, thr).arg(13, keepBits).arg(14, capacityWords).arg(15, tickets)
                    .arg(17, entryDone).arg(20, fusedScratchOffset).arg(21, fusedHistOffset).arg(22, sets).arg(23, setCount)
                    .local(24, 4L * fusedLocalFloats);
            for (int i = 0; i < slices.length; i++) {
                StepSlice s = slices[i];
                estimateTopP.arg(16, i).arg(18, s.firstEntry()).arg(19, s.entries());
                // One stage for the three parts (estimate blocks, top-p rows, token sets), which overlap: the estimate's.
                estimateTopP.launch(s.queue(), 0, (long) s.entries() * (blocks + gqa + setsPerSeq / kv.kvHeads()), topPGroup,
                        timer, StageTimer.ESTIMATE);
            }
        } else {
            if (policy.exactScores()) {
                estimate.arg(0, q).arg(1, buf.k()).arg(2, pageTables).arg(3, maxPages).arg(4, cand).arg(5, candCount)
                        .arg(6, capacity).arg(7, scores).arg(8, blocks);
            } else {
                estimate.arg(0, queryCodes).arg(1, queryScales).arg(2, buf.codes()).arg(3, buf.params()).arg(4, pageTables)
                        .arg(5, maxPages).arg(6, cand).arg(7, candCount).arg(8, capacity).arg(9, scores).arg(10, blocks)
                        .local(11, 4L * estimateLocalFloats);
            }
            StepSlice.launchAll(estimate, slices, blocks, estimateGroup, timer, StageTimer.ESTIMATE);
            topP.arg(0, scores).arg(1, candCount).arg(2, capacity).arg(3, (float) policy.topP()).arg(4, thr)
                    .arg(5, keepBits).arg(6, capacityWords).local(7, rowLocal ? 4L * capacity : 4).local(8, topPScratch)
                    .local(9, TOP_P_HISTOGRAM_BYTES);
            StepSlice.launchAll(topP, slices, gqa, topPGroup, timer, StageTimer.TOP_P);
            compact.arg(0, keepBits).arg(1, capacityWords).arg(2, cand).arg(3, candCount).arg(4, capacity).arg(5, setsPerSeq)
                    .arg(6, sets).arg(7, setCount).local(8, 3 * 4 * compactGroup);
            StepSlice.launchAll(compact, slices, setsPerSeq / kv.kvHeads(), compactGroup, timer, StageTimer.TOP_P);
        }
        lastPruned = true;
        return new Sets(sets, setCount, setsPerSeq);
    }

    /**
     * Work-groups per (sequence, KV head) entry for the kernels that split an entry's pages or candidates:
     * 8 per compute unit over all entries, rounded down. On the H100 (132 units) this was best or equal at
     * batch 16 and 64 against the earlier 16 per unit rounded up (17 per entry at batch 16: quest 77 -> 74
     * us, estimate 55.5 -> 49.5 us at 16 x 128k; bench/results/h100-2026-12-06/knobs-groups-per-entry.txt);
     * 4, 6 and 12 per entry were slower, likely a partly filled last wave of resident groups.
     */
    private int groupsPerEntry(int entries) {
        return Math.max(1, GROUPS_PER_UNIT * cl.device().computeUnits() / entries);
    }

    /** Records candidates and kept tokens per (sequence, query head), once the step's outputs have arrived. */
    void recordCounts(int batch, StepStats stats) {
        boolean pruned = lastPruned;
        hostCandidateCounts.get(0, candidates, 0, batch * kv.kvHeads());
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < queryHeads; h++) {
                int c = candidates[b * kv.kvHeads() + h / gqa];
                int kept = !pruned ? c : hostCounts.get(b * setsPerSeq + (setsPerSeq == queryHeads ? h : h / gqa));
                stats.record(b * queryHeads + h, c, kept);
            }
        }
    }

    @Override
    public void close() {
        for (AutoCloseable c : new AutoCloseable[] {quantize, scoreKernel, selectKernel, estimate, topP, compact,
                estimateTopP, tickets, entryDone, queryCodes, queryScales, cand, rowScores, scores, thr, keepBits, sets, phases}) {
            Closer.closeQuietly(c);
        }
    }
}
