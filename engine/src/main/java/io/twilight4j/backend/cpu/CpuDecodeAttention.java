package io.twilight4j.backend.cpu;

import io.twilight4j.parallel.ReadyFlags;
import io.twilight4j.parallel.WorkerPool;
import io.twilight4j.attention.AttentionState;
import io.twilight4j.attention.ChunkSchedule;
import io.twilight4j.attention.DecodeKernel;
import io.twilight4j.attention.Workspace;
import io.twilight4j.backend.DecodeAttention;
import io.twilight4j.backend.DecodeShape;
import io.twilight4j.backend.StepInputs;
import io.twilight4j.backend.StepStats;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.Int8Query;
import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.kv.KvShape;
import io.twilight4j.policy.AttentionPolicy;
import io.twilight4j.policy.GqaMode;
import io.twilight4j.prune.ExactScores;
import io.twilight4j.prune.Int4Estimator;
import io.twilight4j.prune.TwilightPruner;
import io.twilight4j.select.Selector;

/**
 * The CPU pipeline of one policy: the selector's page scoring (per sequence and page range, all KV
 * heads at once), then select, estimate and top-p (per sequence and KV head), then attention over the
 * kept sets. Sparse plans run all three in one parallel loop: an entry's pruning follows its own
 * sequence's page ranges and its attention chunks follow its own pruning, so a worker that runs out of
 * entries to prune attends those already pruned (a barrier there left ~60 us a step idle at 32k on two
 * workers) and sequences of a batch do not wait for each other. Dense plans cut their entries by the
 * head-balanced {@link ChunkSchedule}. All buffers are sized here, at plan time. Stage times in
 * {@link StepStats} are per-worker averages for sparse plans (each worker's time in the stage, summed
 * over workers, divided by the worker count) and wall time for dense attention.
 */
final class CpuDecodeAttention implements DecodeAttention {

    /** Smallest chunk in tokens (TWILIGHT.md section 5). */
    static final int MIN_CHUNK = 128;
    /** Pages per item of the page-scoring loop: 4096 tokens at 16-token pages, enough items to balance two workers. */
    static final int SCORE_ITEM_PAGES = 256;
    /**
     * Attention chunks per worker that a sparse step aims for, over all its entries: the chunk counts of
     * entries are fixed before their kept sets are known, so more and smaller chunks even out the tail.
     */
    static final int SPARSE_CHUNKS_PER_WORKER = 16;
    /** Fewest and most chunk slots per attention entry of a sparse step. */
    static final int MIN_SLOTS = 2;
    static final int MAX_SLOTS = 8;

    private final HostKvCache cache;
    private final AttentionPolicy policy;
    private final DecodeShape shape;
    private final WorkerPool pool;
    private final Selector selector;
    private final TwilightPruner pruner;
    private final int dim;
    private final int kvHeads;
    private final int group;
    private final float scale;
    private final Workspace[] workspaces;
    private final StepStats stats;
    private final ChunkSchedule schedule;
    private final StepInputs in;

    // Per sequence: the selector's page scores for all KV heads, its query heads as the page scoring
    // takes them (prepared once a step, not by each page range), and its first page-scoring item.
    private final float[][] shared;
    private final float[][] prepared;
    private final int[] firstScoreItem;
    // Per selection entry (sequence, KV head): candidates, later the GQA union in place. An entry's
    // estimated weights live only while its worker prunes it: they go to the worker's Workspace.scores,
    // which stays in that core's L2 from entry to entry (a buffer per entry, 512 KB each at 32k, came
    // from L3 or memory on every step).
    private final int[][] candidates;
    private final int[] candidateCount;
    private final int[] selectedCount;
    private final float[] thresholds;
    // Per query head of the batch: the 8-bit query the page scoring and the estimate read (q * 2^e where the
    // cache smooths its 4-bit copies).
    private final float[] queryCodes;
    private final float[] queryScales;
    // Per attention entry (group mode: sequence x KV head; head mode: sequence x query head).
    private final int[][] headTokens;
    private final int[] attendCount;
    // Partial states per chunk and query head of the chunk's entry.
    private final float[] partialMax;
    private final float[] partialSum;
    private final float[] partialOut;
    /** Partial states per chunk: the entry's query heads (all of a sequence's for dense, a group's otherwise). */
    private final int statesPerItem;
    /** Sparse steps: a page range is scored (for its sequence's ranking); an entry's kept sets are ready (for its attention). */
    private final ReadyFlags rangesScored;
    private final ReadyFlags entriesPruned;
    /** Per worker (at w * STAGE_STRIDE, a cache line apart): nanoseconds in select, estimate, top-p, attention this step. */
    private final long[] stageNanos;
    private static final int STAGE_STRIDE = 8;

    CpuDecodeAttention(HostKvCache cache, AttentionPolicy policy, DecodeShape shape, WorkerPool pool) {
        KvShape kv = cache.shape();
        if (shape.queryHeads() % kv.kvHeads() != 0) {
            throw new IllegalArgumentException("decode plan: " + shape.queryHeads() + " query heads are not a multiple of "
                    + kv.kvHeads() + " KV heads");
        }
        if (policy.selector() == io.twilight4j.policy.SelectorKind.DS && kv.labelChannels() == 0) {
            throw new IllegalArgumentException("policy '" + policy + "': the KV cache has no label cache; create it with "
                    + policy.labelChannelsFor(kv.headDim()) + " label channels");
        }
        this.cache = cache;
        this.policy = policy;
        this.shape = shape;
        this.pool = pool;
        this.dim = kv.headDim();
        this.kvHeads = kv.kvHeads();
        this.group = shape.queryHeads() / kvHeads;
        this.scale = kv.scoreScale();
        this.selector = policy.isDense() ? null : Selector.of(policy);
        this.pruner = policy.prunes() ? new TwilightPruner(policy.topP()) : null;
        int maxContext = Math.min(shape.maxContext(), kv.capacityTokens());
        int maxCandidates = selector == null ? 0 : selector.maxCandidates(maxContext);
        int selectionEntries = shape.maxBatch() * kvHeads;
        this.workspaces = new Workspace[pool.workers()];
        for (int w = 0; w < workspaces.length; w++) {
            workspaces[w] = new Workspace(dim, group, kvHeads, selector == null ? 1 : maxContext);
        }
        int sharedFloats = selector == null ? 0 : selector.sharedFloats(maxContext, kvHeads, group, kv.pageTokens());
        this.shared = new float[shape.maxBatch()][sharedFloats];
        int preparedFloats = selector == null ? 0 : selector.preparedFloats(shape.queryHeads(), dim);
        this.prepared = new float[shape.maxBatch()][preparedFloats];
        this.firstScoreItem = new int[shape.maxBatch() + 1];
        this.stats = new StepStats(shape.maxBatch() * shape.queryHeads());
        this.in = new StepInputs(cache.pager(), shape.maxBatch(), maxContext, kv.pageTokens());
        this.candidates = new int[selector == null ? 0 : selectionEntries][];
        for (int e = 0; e < candidates.length; e++) {
            candidates[e] = new int[Math.max(1, maxCandidates)];
        }
        this.candidateCount = new int[selectionEntries];
        this.selectedCount = new int[selectionEntries];
        this.thresholds = new float[selectionEntries * group];
        int queryRows = selector == null ? 0 : shape.maxBatch() * shape.queryHeads();
        this.queryCodes = new float[queryRows * dim];
        this.queryScales = new float[queryRows];
        boolean perHead = pruner != null && policy.gqaMode() == GqaMode.HEAD;
        // Dense attends a sequence's KV heads together (one entry per sequence, storage order).
        int attentionEntries = perHead ? shape.maxBatch() * shape.queryHeads() : selectionEntries;
        this.statesPerItem = selector == null ? shape.queryHeads() : group;
        this.headTokens = new int[perHead ? attentionEntries : 0][];
        for (int e = 0; e < headTokens.length; e++) {
            headTokens[e] = new int[Math.max(1, maxCandidates)];
        }
        this.attendCount = new int[attentionEntries];
        this.schedule = new ChunkSchedule(attentionEntries, pool.workers());
        int maxItems = selector == null ? ChunkSchedule.maxItems(attentionEntries, pool.workers())
                : attentionEntries * MIN_SLOTS + SPARSE_CHUNKS_PER_WORKER * pool.workers();
        int pagesPerSequence = (maxContext + kv.pageTokens() - 1) / kv.pageTokens();
        this.rangesScored = new ReadyFlags(shape.maxBatch() * ((pagesPerSequence + SCORE_ITEM_PAGES - 1) / SCORE_ITEM_PAGES));
        this.entriesPruned = new ReadyFlags(selectionEntries);
        this.partialMax = new float[maxItems * statesPerItem];
        this.partialSum = new float[maxItems * statesPerItem];
        this.partialOut = new float[maxItems * statesPerItem * dim];
        this.stageNanos = new long[pool.workers() * STAGE_STRIDE];
    }

    @Override
    public AttentionPolicy policy() {
        return policy;
    }

    @Override
    public StepStats run(int layer, int[] seqs, float[] q, float[] out) {
        in.load(layer, cache.shape().layers(), seqs, q, out, shape.queryHeads(), dim);
        int batch = seqs.length;
        stats.reset(batch * shape.queryHeads());
        if (selector != null) {
            runSparse(layer, batch, q, out);
        } else {
            runDense(layer, batch, q, out);
        }
        return stats;
    }

    /**
     * Ranking, estimate, top-p and attention of one entry depend only on that entry and its sequence's
     * page scores: one parallel loop runs the page ranges, then the entries' pruning, each entry waiting
     * for its own sequence's ranges only, then their attention chunks, each waiting for its own entry. A
     * step waits at one barrier, not four (a preempted worker on a shared machine stalls every barrier).
     */
    private void runSparse(int layer, int batch, float[] q, float[] out) {
        int selectionEntries = batch * kvHeads;
        java.util.Arrays.fill(stageNanos, 0);
        KeySmoothing smoothing = cache.keySmoothing();
        for (int r = 0; r < batch * shape.queryHeads(); r++) {
            int[] e = smoothing == null ? null : smoothing.exponentsOf(layer, r % shape.queryHeads() / group);
            queryScales[r] = Int8Query.quantize(q, r * dim, dim, e, queryCodes, r * dim);
        }
        int scoreItems = planPageScoring(batch);
        for (int b = 0; b < batch && scoreItems > 0; b++) {
            selector.prepareQueries(queryCodes, b * shape.queryHeads(), shape.queryHeads(), dim,
                    workspaces[0].codeRow, prepared[b]);
        }
        int attentionEntries = perHead() ? batch * shape.queryHeads() : selectionEntries;
        int slots = chunkSlots(attentionEntries);
        int perEntry = attentionEntries / selectionEntries * slots;
        rangesScored.nextRound();
        entriesPruned.nextRound();
        // A failed item still sets its flag, so the items after it do not wait forever; the pool
        // rethrows the failure when the loop ends.
        pool.run(scoreItems + selectionEntries * (1 + perEntry), (item, w) -> {
            if (item < scoreItems) {
                try {
                    scorePageRange(layer, item, q, workspaces[w], w * STAGE_STRIDE);
                } finally {
                    rangesScored.set(item);
                }
            } else if (item < scoreItems + selectionEntries) {
                int e = item - scoreItems;
                try {
                    awaitPageScores(e / kvHeads);
                    selectAndPrune(layer, e, q, workspaces[w], w * STAGE_STRIDE);
                } finally {
                    entriesPruned.set(e);
                }
            } else {
                attendSlot(layer, item - scoreItems - selectionEntries, slots, q, workspaces[w], w * STAGE_STRIDE);
            }
        });
        // Stage times are each worker's time in the stage, averaged over the workers.
        int workers = pool.workers();
        for (int w = 0; w < workers; w++) {
            stats.selectNanos += stageNanos[w * STAGE_STRIDE] / workers;
            stats.estimateNanos += stageNanos[w * STAGE_STRIDE + 1] / workers;
            stats.topPNanos += stageNanos[w * STAGE_STRIDE + 2] / workers;
            stats.attentionNanos += stageNanos[w * STAGE_STRIDE + 3] / workers;
        }
        int entries = recordBudgets(batch);
        for (int a = 0; a < entries; a++) {
            mergeEntry(a, a * slots, (a + 1) * slots, out);
        }
    }

    /** Dense attention: every sequence's tokens cut by the head-balanced schedule. */
    private void runDense(int layer, int batch, float[] q, float[] out) {
        int entries = recordBudgets(batch);
        long t0 = System.nanoTime();
        schedule.build(attendCount, entries, pool.workers(), MIN_CHUNK, cache.shape().pageTokens());
        pool.run(schedule.items(), (item, w) -> attendChunk(layer, item, q, workspaces[w]));
        // Merging is a few vector adds per chunk: cheaper on the caller than another barrier.
        for (int e = 0; e < entries; e++) {
            mergeEntry(e, schedule.firstItem(e), schedule.firstItem(e + 1), out);
        }
        stats.attentionNanos = System.nanoTime() - t0;
    }

    /** Cuts each sequence's scored pages into items of {@link #SCORE_ITEM_PAGES}; returns the item count. */
    private int planPageScoring(int batch) {
        int pageTokens = cache.shape().pageTokens();
        int items = 0;
        for (int b = 0; b < batch; b++) {
            firstScoreItem[b] = items;
            items += (selector.scoredPages(in.length(b), pageTokens) + SCORE_ITEM_PAGES - 1) / SCORE_ITEM_PAGES;
        }
        firstScoreItem[batch] = items;
        return items;
    }

    /**
     * Returns once every page range of sequence {@code b} is scored: a KV head's ranking needs all of
     * them, and a range scores all heads of its pages together (their bounds read in storage order).
     */
    private void awaitPageScores(int b) {
        for (int item = firstScoreItem[b]; item < firstScoreItem[b + 1]; item++) {
            rangesScored.await(item);
        }
    }

    /** Scores one page range of one sequence for all its KV heads. */
    private void scorePageRange(int layer, int item, float[] q, Workspace ws, int nanosAt) {
        long t0 = System.nanoTime();
        int b = 0;
        while (firstScoreItem[b + 1] <= item) {
            b++;
        }
        int scored = selector.scoredPages(in.length(b), cache.shape().pageTokens());
        int from = (item - firstScoreItem[b]) * SCORE_ITEM_PAGES;
        int to = Math.min(scored, from + SCORE_ITEM_PAGES);
        selector.scorePages(cache, layer, in.pageTable(b), in.length(b), from, to, prepared[b], queryScales,
                b * shape.queryHeads(), group, ws, shared[b]);
        stageNanos[nanosAt] += System.nanoTime() - t0;
    }

    /** Selection of entry (sequence, KV head) {@code e}, then its estimate and top-p when the policy prunes. */
    private void selectAndPrune(int layer, int e, float[] q, Workspace ws, int nanosAt) {
        int b = e / kvHeads;
        int h = e % kvHeads;
        int qOff = (b * shape.queryHeads() + h * group) * dim;
        long t0 = System.nanoTime();
        candidateCount[e] = selector.select(cache, layer, in.pageTable(b), in.length(b), h, q, qOff, group, ws, shared[b],
                candidates[e]);
        selectedCount[e] = candidateCount[e];
        long t1 = System.nanoTime();
        stageNanos[nanosAt] += t1 - t0;
        if (pruner == null) {
            return;
        }
        if (policy.exactScores()) {
            ExactScores.compute(cache, layer, in.pageTable(b), h, candidates[e], candidateCount[e], q, qOff, group, scale, ws,
                    ws.scores, 0);
        } else {
            Int4Estimator.estimate(cache, layer, in.pageTable(b), h, candidates[e], candidateCount[e], queryCodes,
                    queryScales, qOff / dim, group, scale, ws, ws.scores, 0);
        }
        long t2 = System.nanoTime();
        stageNanos[nanosAt + 1] += t2 - t1;
        prune(e, ws);
        stageNanos[nanosAt + 2] += System.nanoTime() - t2;
    }

    private void prune(int e, Workspace ws) {
        int n = candidateCount[e];
        float[] w = ws.scores;
        int th = e * group;
        pruner.thresholds(w, 0, n, group, thresholds, th, ws.scratch);
        if (policy.gqaMode() == GqaMode.GROUP) {
            candidateCount[e] = TwilightPruner.union(w, 0, n, group, thresholds, th, candidates[e]);
            return;
        }
        int b = e / kvHeads;
        int h = e % kvHeads;
        for (int g = 0; g < group; g++) {
            int a = b * shape.queryHeads() + h * group + g;
            attendCount[a] = TwilightPruner.keptByHead(w, 0, n, g, thresholds[th + g], candidates[e], headTokens[a]);
        }
    }

    private boolean perHead() {
        return headTokens.length > 0;
    }

    /** Sets each attention entry's token count and records candidates and kept tokens per query head. */
    private int recordBudgets(int batch) {
        int hq = shape.queryHeads();
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < kvHeads; h++) {
                int e = b * kvHeads + h;
                int selected = selector == null ? in.length(b) : selectedCount[e];
                if (!perHead()) {
                    attendCount[e] = selector == null ? in.length(b) : candidateCount[e];
                }
                for (int g = 0; g < group; g++) {
                    int a = b * hq + h * group + g;
                    stats.record(a, selected, perHead() ? attendCount[a] : attendCount[e]);
                }
            }
        }
        if (selector == null) {
            for (int b = 0; b < batch; b++) {
                attendCount[b] = in.length(b);
            }
            return batch;
        }
        return perHead() ? batch * hq : batch * kvHeads;
    }

    /** Dense attention: chunk {@code item} of the schedule. */
    private void attendChunk(int layer, int item, float[] q, Workspace ws) {
        int e = schedule.entry(item);
        DecodeKernel.attendAllHeads(cache.layer(layer), cache.layout(), in.pageTable(e), schedule.from(item),
                schedule.to(item), q, e * shape.queryHeads() * dim, group, scale, ws, partialMax, partialSum, partialOut,
                item * statesPerItem);
    }

    /**
     * Slots per attention entry of a sparse step: enough chunks over all entries for the tail to even out,
     * at least {@link #MIN_SLOTS} so one large kept set does not end the step on one worker.
     */
    private int chunkSlots(int attentionEntries) {
        int aim = (SPARSE_CHUNKS_PER_WORKER * pool.workers() + attentionEntries - 1) / attentionEntries;
        return Math.max(MIN_SLOTS, Math.min(MAX_SLOTS, aim));
    }

    /**
     * Sparse attention: slot {@code t % slots} of attention entry {@code t / slots}, once its selection
     * entry is pruned. The entry's kept set of n tokens is cut into min(slots, ceil(n / MIN_CHUNK)) pieces
     * of equal length rounded up to whole pages, as {@link ChunkSchedule} cuts dense entries (so a policy
     * that keeps every token of a short context sums as dense does, bit for bit); later slots hold empty
     * states.
     */
    private void attendSlot(int layer, int t, int slots, float[] q, Workspace ws, int nanosAt) {
        int a = t / slots;
        int j = t % slots;
        int e = perHead() ? a / group : a;
        entriesPruned.await(e);
        long t0 = System.nanoTime();
        int n = perHead() ? attendCount[a] : candidateCount[e];
        int pieces = Math.max(1, Math.min(slots, (n + MIN_CHUNK - 1) / MIN_CHUNK));
        int step = ChunkSchedule.pieceLength(n, pieces, cache.shape().pageTokens());
        int from = (int) Math.min(n, (long) j * step);
        int to = (int) Math.min(n, (long) (j + 1) * step);
        attendRange(layer, a, from, to, q, ws, t * statesPerItem);
        stageNanos[nanosAt + 3] += System.nanoTime() - t0;
    }

    /** Sparse attention of attention entry {@code a} over its kept tokens [from, to), states from {@code stateBase}. */
    private void attendRange(int layer, int a, int from, int to, float[] q, Workspace ws, int stateBase) {
        int hq = shape.queryHeads();
        int b;
        int kvHead;
        int firstHead;
        int heads;
        int[] tokens;
        if (perHead()) {
            b = a / hq;
            firstHead = a % hq;
            kvHead = firstHead / group;
            heads = 1;
            tokens = headTokens[a];
        } else {
            b = a / kvHeads;
            kvHead = a % kvHeads;
            firstHead = kvHead * group;
            heads = group;
            tokens = candidates[a];
        }
        DecodeKernel.attend(cache.layer(layer), cache.layout(), in.pageTable(b), kvHead, tokens, from, to, q,
                (b * hq + firstHead) * dim, heads, scale, ws, partialMax, partialSum, partialOut, stateBase);
    }

    /** Merges the chunks {@code [first, end)} of entry {@code e} in order and writes its heads' outputs. */
    private void mergeEntry(int e, int first, int end, float[] out) {
        int hq = shape.queryHeads();
        int heads;
        int firstRow;
        if (selector == null) {
            heads = hq;
            firstRow = e * hq;
        } else {
            heads = perHead() ? 1 : group;
            firstRow = perHead() ? e : (e / kvHeads) * hq + (e % kvHeads) * group;
        }
        for (int g = 0; g < heads; g++) {
            int dst = first * statesPerItem + g;
            for (int it = first + 1; it < end; it++) {
                AttentionState.merge(partialMax, partialSum, partialOut, dst, it * statesPerItem + g, dim);
            }
            AttentionState.finish(partialSum, partialOut, dst, dim, out, (firstRow + g) * dim);
        }
    }

    @Override
    public int keptTokens(int slot, int queryHead, int[] out) {
        if (selector == null) {
            int len = in.length(slot);
            for (int i = 0; i < len; i++) {
                out[i] = i;
            }
            return len;
        }
        if (perHead()) {
            int a = slot * shape.queryHeads() + queryHead;
            System.arraycopy(headTokens[a], 0, out, 0, attendCount[a]);
            return attendCount[a];
        }
        int e = slot * kvHeads + queryHead / group;
        System.arraycopy(candidates[e], 0, out, 0, candidateCount[e]);
        return candidateCount[e];
    }

    @Override
    public void close() {
        // Heap buffers only; the pool and the cache belong to the backend and the caller.
    }
}
