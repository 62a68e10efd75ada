package io.twilight4j.opencl;

import io.twilight4j.backend.DecodeAttention;
import io.twilight4j.backend.DecodeShape;
import io.twilight4j.backend.StepInputs;
import io.twilight4j.backend.StepStats;
import io.twilight4j.kv.KvShape;
import io.twilight4j.policy.AttentionPolicy;
import java.nio.IntBuffer;
import org.lwjgl.system.MemoryUtil;

/**
 * Decode attention on the device: per step only q, the page tables and lengths go up and the
 * output (plus the per-entry counts for {@link StepStats}) comes back. Dense policies run the
 * FlashDecoding kernels directly; the others run {@link SparsePipeline} (select, estimate, top-p,
 * compaction) and the same attention kernels over its token sets.
 */
public final class OpenClDecodeAttention implements DecodeAttention {

    private final OpenClContext cl;
    private final OpenClKvCache cache;
    private final AttentionPolicy policy;
    private final DecodeShape decode;
    private final KvShape kv;
    private final int maxPages;
    private final StepStats stats;
    private volatile boolean timing;
    /** Whether steps time their span by two markers ({@link #recordStepTimes}), when stage times are off. */
    private volatile boolean stepTiming;
    private final StageTimer timer = new StageTimer();
    private final long[] stageNanos = new long[4];
    /** Host time per phase of a call (checks, uploads, kernel enqueues, blocking read, counts) and calls, when profiling. */
    private final long[] hostNanos = new long[6];
    private final ClBuffer pageTables;
    private final StepTransfers transfers;
    private final PinnedHost pinnedPages;
    private final IntBuffer hostPages;
    private final int[] lengthOf;
    private final StepInputs inputs;
    private final AttentionKernels attention;
    private final SparsePipeline sparse;
    private SparsePipeline.Sets lastSets;
    private int lastBatch;
    /** Slices a step's entries are cut into, each on its own queue ({@link StepSlice}); 0: by the step's size. */
    private final int slices;
    /** The last step's slices, reused while the step's entries stay the same (no allocation per step). */
    private StepSlice[] cut = new StepSlice[0];
    private int cutEntries = -1;

    /** Plans {@code policy} over {@code cache} for batches up to {@code decode}; {@code timing} reads per-stage device times from kernel events. */
    public OpenClDecodeAttention(OpenClKvCache cache, AttentionPolicy policy, DecodeShape decode, boolean timing, boolean fastPaths) {
        this(cache, policy, decode, timing, fastPaths, AttentionTuning.fromProperties(), Integer.getInteger("twilight4j.clSlices", 0));
    }

    /**
     * As above, with an explicit attention launch shape (for {@link AttentionSweep}) and the number of
     * slices a step's entries are cut into, each enqueued on its own queue ({@link StepSlice}); 0 leaves it
     * to the step's size ({@link StepSlice#count}). The public constructor takes it from the system property
     * {@code twilight4j.clSlices} (default 0).
     */
    OpenClDecodeAttention(OpenClKvCache cache, AttentionPolicy policy, DecodeShape decode, boolean timing, boolean fastPaths,
                          AttentionTuning tuning, int slices) {
        this(cache, policy, decode, timing, fastPaths, tuning, slices, SparsePipeline.FUSE_TOP_P);
    }

    /** As above; {@code fuseTopP} false runs the estimate and top-p as two launches ({@link SparsePipeline#FUSE_TOP_P}). */
    OpenClDecodeAttention(OpenClKvCache cache, AttentionPolicy policy, DecodeShape decode, boolean timing, boolean fastPaths,
                          AttentionTuning tuning, int slices, boolean fuseTopP) {
        if (slices < 0) {
            throw new IllegalArgumentException("decode plan: slices must be 0 (by step size) or more, got " + slices);
        }
        this.kv = cache.shape();
        if (decode.queryHeads() % kv.kvHeads() != 0) {
            throw new IllegalArgumentException("decode plan: " + decode.queryHeads() + " query heads are not a multiple of "
                    + kv.kvHeads() + " KV heads");
        }
        this.cl = cache.context();
        this.cache = cache;
        this.policy = policy;
        this.decode = decode;
        this.timing = timing;
        this.maxPages = (decode.maxContext() + kv.pageTokens() - 1) / kv.pageTokens();
        this.stats = new StepStats(decode.maxBatch() * decode.queryHeads());
        this.slices = slices;
        int gqa = decode.queryHeads() / kv.kvHeads();
        int b = decode.maxBatch();
        // Everything allocated so far is released if a later allocation or kernel build fails.
        try (Closer guard = new Closer()) {
            this.pageTables = guard.add(cl.buffer("page tables", 4L * b * maxPages));
            // Per-step transfers go through mapped host memory (pinned by NVIDIA's driver: no staging copy):
            // one upload and one download a step, the page tables only where they changed.
            this.transfers = guard.add(new StepTransfers(cl, b, decode.queryHeads() * kv.headDim(), kv.kvHeads(), decode.queryHeads()));
            this.pinnedPages = guard.add(new PinnedHost(cl, "page tables (host)", 4L * b * maxPages));
            this.hostPages = pinnedPages.bytes().asIntBuffer();
            this.inputs = new StepInputs(cache.pager(), b, decode.maxContext(), kv.pageTokens());
            this.lengthOf = new int[b];
            if (policy.isDense()) {
                this.sparse = null;
                this.attention = guard.add(new AttentionKernels(cl, cache.layout().kernelDefines(), decode.queryHeads(), gqa,
                        true, b * kv.kvHeads(), gqa, decode.maxContext(), fastPaths, false, tuning));
            } else {
                this.sparse = guard.add(new SparsePipeline(cache, policy, decode, maxPages, fastPaths, fuseTopP, transfers));
                boolean perHead = policy.prunes() && policy.gqaMode() == io.twilight4j.policy.GqaMode.HEAD;
                this.attention = guard.add(new AttentionKernels(cl, cache.layout().kernelDefines(), decode.queryHeads(), gqa,
                        false, b * (perHead ? decode.queryHeads() : kv.kvHeads()), perHead ? 1 : gqa, sparse.capacity(),
                        fastPaths, policy.prunes(), tuning));
            }
            guard.keep();
        }
    }

    /** Whether this plan runs the estimate and top-p as one launch (false for dense and unpruned plans). */
    boolean fusedTopP() {
        return sparse != null && sparse.fusedTopP();
    }

    @Override
    public AttentionPolicy policy() {
        return policy;
    }

    @Override
    public StepStats run(int layer, int[] seqs, float[] query, float[] output) {
        int batch = seqs.length;
        int rowFloats = decode.queryHeads() * kv.headDim();
        long start = System.nanoTime();
        // Another plan on this context may have switched its queues: this plan's steps run on the queues
        // its own times need (a switch finishes the queues in use, so plans that alternate pay for it).
        useQueuesForTimes();
        // The shared checks (sequences, sizes, finite q) and page-table copies, as on the CPU.
        inputs.load(layer, kv.layers(), seqs, query, output, decode.queryHeads(), kv.headDim());
        long t0 = System.nanoTime();
        int maxLen = 0;
        IntBuffer hostLengths = transfers.hostLengths().clear();
        // Inputs go up without waiting: the queue runs in order, and the output read below is the
        // step's one sync (the host buffers stay untouched until then).
        try {
            for (int i = 0; i < batch; i++) {
                int len = inputs.length(i);
                uploadPageTable(i, inputs.pageTable(i), (len + kv.pageTokens() - 1) / kv.pageTokens());
                hostLengths.put(len);
                lengthOf[i] = len;
                maxLen = Math.max(maxLen, len);
            }
        } catch (RuntimeException e) {
            forgetPageTables();
            throw e;
        }
        transfers.hostQueries().clear().put(query, 0, batch * rowFloats);
        transfers.upload(batch);
        ClBuffer q = transfers.queries(), lengths = transfers.lengths(), out = transfers.out();
        stats.reset(batch * decode.queryHeads());
        OpenClKvCache.LayerBuffers buffers = cache.layer(layer);
        // Stage times: an event per kernel. Step times alone: two markers around the kernels, which carry none.
        boolean markers = stepTiming && !timing;
        StageTimer stageTimer = timing || markers ? timer : null;
        StageTimer kernelTimer = timing ? timer : null;
        long uploaded = System.nanoTime();
        long enqueued;
        try {
            int entries = batch * kv.kvHeads();
            if (entries != cutEntries || cut[0].queue() != cl.queue()) {
                // Dense plans are one attention launch and stay whole unless asked (slicing them was not measured).
                cut = StepSlice.cut(cl, entries, sparse == null && slices == 0 ? 1 : StepSlice.count(slices, entries));
                cutEntries = entries;
            }
            if (markers) {
                timer.mark(cl.queue()); // before the joins: the side queues' kernels wait for it too
            }
            // Side queues start once the step's inputs (and the KV appends before them) are on the device,
            // and the main queue reads the output once every slice is done.
            for (int i = 1; i < cut.length; i++) {
                cl.join(cl.queue(), cut[i].queue());
            }
            if (sparse == null) {
                attention.run(q, buffers.k(), buffers.v(), pageTables, maxPages, lengths, lengths, lengths, 0,
                        entries, kv.kvHeads(), maxLen, out, cut, 1, kernelTimer);
            } else {
                SparsePipeline.Sets sets = sparse.run(layer, batch, cut, q, pageTables, lengths, lengthOf, kernelTimer);
                attention.run(q, buffers.k(), buffers.v(), pageTables, maxPages, lengths, sets.indices(), sets.counts(),
                        sparse.capacity(), batch * sets.entriesPerSeq(), sets.entriesPerSeq(), sparse.capacity(),
                        out, cut, sets.entriesPerSeq() / kv.kvHeads(), kernelTimer);
                lastSets = sets;
            }
            for (int i = 1; i < cut.length; i++) {
                cl.join(cut[i].queue(), cl.queue());
            }
            if (markers) {
                timer.mark(cl.queue());
            }
            lastBatch = batch;
            enqueued = System.nanoTime();
            transfers.download(batch, sparse != null);
        } catch (RuntimeException e) {
            timer.clear();
            forgetPageTables();
            throw e;
        }
        long read = System.nanoTime();
        transfers.hostOut().get(0, output, 0, batch * rowFloats);
        if (sparse == null) {
            for (int i = 0; i < batch; i++) {
                for (int h = 0; h < decode.queryHeads(); h++) {
                    stats.record(i * decode.queryHeads() + h, lengthOf[i], lengthOf[i]);
                }
            }
        } else {
            sparse.recordCounts(batch, stats);
        }
        if (StageTimer.KERNEL_PROFILE) {
            long[] at = {start, t0, uploaded, enqueued, read, System.nanoTime()};
            for (int i = 0; i < hostNanos.length - 1; i++) {
                hostNanos[i] += at[i + 1] - at[i];
            }
            hostNanos[hostNanos.length - 1]++;
        }
        if (stageTimer != null) {
            stats.stepNanos = stageTimer.collect(stageNanos);
            stats.selectNanos = stageNanos[StageTimer.SELECT];
            stats.estimateNanos = stageNanos[StageTimer.ESTIMATE];
            stats.topPNanos = stageNanos[StageTimer.TOP_P];
            stats.attentionNanos = stageNanos[StageTimer.ATTENTION];
        } else {
            stats.attentionNanos = System.nanoTime() - t0;
        }
        return stats;
    }

    /**
     * Sends slot {@code slot}'s page table from the first page the previous call did not send
     * ({@link StepInputs#changedFrom}): most calls send nothing instead of the whole table (512 KiB at
     * batch 16, 128k). {@code hostPages} stages the pages until the step's final sync.
     */
    private void uploadPageTable(int slot, int[] table, int pages) {
        int first = inputs.changedFrom(slot);
        if (first >= pages) {
            return;
        }
        int base = slot * maxPages;
        hostPages.put(base + first, table, first, pages - first);
        cl.writeAsync(pageTables, 4L * (base + first), hostPages.slice(base + first, pages - first));
    }

    /** After a failed step the device tables are unknown: the next step sends them whole. */
    private void forgetPageTables() {
        inputs.forget();
    }

    /** The select-and-prune pipeline, null for dense plans (for tests). */
    SparsePipeline sparsePipeline() {
        return sparse;
    }

    @Override
    public void recordStageTimes(boolean on) {
        timing = on;
        useQueuesForTimes();
    }

    @Override
    public void recordStepTimes(boolean on) {
        stepTiming = on;
        useQueuesForTimes();
    }

    /**
     * Stage and step times come from events, which need the profiling queues; without them the plain ones
     * are faster. Switches only when the context is on the other kind.
     */
    private void useQueuesForTimes() {
        cl.profiling(timing || stepTiming);
    }

    @Override
    public int keptTokens(int slot, int queryHead, int[] dst) {
        if (slot < 0 || slot >= lastBatch || queryHead < 0 || queryHead >= decode.queryHeads()) {
            throw new IllegalArgumentException("keptTokens: slot " + slot + " / head " + queryHead + " not in the last step");
        }
        if (sparse == null) {
            for (int t = 0; t < lengthOf[slot]; t++) {
                dst[t] = t;
            }
            return lengthOf[slot];
        }
        int perSeq = lastSets.entriesPerSeq();
        int entry = slot * perSeq + (perSeq == decode.queryHeads() ? queryHead : queryHead / (decode.queryHeads() / kv.kvHeads()));
        IntBuffer one = MemoryUtil.memAllocInt(Math.max(1, sparse.capacity()));
        try {
            cl.read(lastSets.counts(), 4L * entry, one.clear().limit(1));
            int n = one.get(0);
            if (n > 0) {
                cl.read(lastSets.indices(), 4L * entry * sparse.capacity(), one.clear().limit(n));
                one.get(dst, 0, n);
            }
            return n;
        } finally {
            MemoryUtil.memFree(one);
        }
    }

    @Override
    public void close() {
        if (StageTimer.KERNEL_PROFILE) {
            System.err.print("kernel times of plan " + policy + " (" + decode + "):\n" + timer.kernelTable());
            long calls = Math.max(1, hostNanos[5]);
            System.err.printf("  host per call, us: checks %.1f, uploads %.1f, enqueue %.1f, read (waits for the kernels) %.1f, counts %.1f%n",
                    hostNanos[0] / 1e3 / calls, hostNanos[1] / 1e3 / calls, hostNanos[2] / 1e3 / calls,
                    hostNanos[3] / 1e3 / calls, hostNanos[4] / 1e3 / calls);
            if (sparse != null) {
                System.err.print(sparse.phaseTable());
                System.err.print(attention.phaseTable());
            }
        }
        attention.close();
        if (sparse != null) {
            sparse.close();
        }
        pageTables.close();
        pinnedPages.close();
        transfers.close();
    }
}
