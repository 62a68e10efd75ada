package io.twilight4j.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A KV cache in off-heap host memory (FFM), laid out as {@link KvLayout} says, its 4-bit keys in page
 * columns ({@link PageColumns}) and, with Double Sparsity's labels, as token rows too: the CPU backend's
 * storage.
 */
public final class HostKvCache implements KvCache {

    /**
     * One layer's arrays. Byte-addressed segments; fp16 arrays hold 2 bytes per element. {@code codes}: the
     * 4-bit keys in page columns; {@code codeRows}: the same codes as token rows when the cache carries Double
     * Sparsity's labels (a DS candidate reads one row instead of a page's columns), else null;
     * {@code boundColumns}: Quest's bound codes again, groups of pages as page columns (whole groups of a
     * sequence's pages are scored from those, other pages from the rows in {@code boundCodes}).
     */
    public record Layer(MemorySegment keys, MemorySegment values, MemorySegment codes, MemorySegment codeRows,
                        MemorySegment codeParams,
                        MemorySegment bounds, MemorySegment boundCodes, MemorySegment boundColumns,
                        MemorySegment boundParams,
                        MemorySegment labels, MemorySegment labelParams) {
    }

    private final KvShape shape;
    private final KvLayout layout;
    private final KvPager pager;
    private final LabelChannels labelChannels;
    private final KeySmoothing smoothing;
    private final Arena arena = Arena.ofShared();
    private final Layer[] layers;
    // Scratch for one head row: written from one thread (the decoder), as KvCache.write requires.
    private final float[] row;
    private final float[] smoothRow;
    private final byte[] codeRow;
    private final byte[] labelRow;
    private final float[] pageMin;
    private final float[] pageMax;
    private final byte[] boundRow;

    /** Allocates (zeroed) storage for every layer of {@code shape}, its 4-bit keys unsmoothed. */
    public HostKvCache(KvShape shape, LabelChannels labels) {
        this(shape, labels, null);
    }

    /** Allocates (zeroed) storage for every layer of {@code shape}; {@code smoothing} may be null (none). */
    public HostKvCache(KvShape shape, LabelChannels labels, KeySmoothing smoothing) {
        this.shape = shape;
        this.layout = new KvLayout(shape, KvLayout.CodeOrder.PAGE_COLUMNS);
        this.labelChannels = KvChecks.labels(shape, labels);
        this.smoothing = KvChecks.smoothing(shape, smoothing);
        this.pager = new KvPager(shape.pages(), shape.pageTokens());
        this.layers = new Layer[shape.layers()];
        try {
            for (int l = 0; l < layers.length; l++) {
                // K and V on huge pages (dense attention streams them), and the 4-bit keys and their params
                // (HugePages leaves arrays under 2 MiB on small pages: the params of caches under 64k tokens at 8
                // KV heads). The estimate asks for a page's 1 KB code block ahead with a prefetch, and on small pages
                // each block is a TLB miss (estimate 3-8% faster in five one-JVM runs, cold and warm, either
                // order; bench/results/cpu-2026-12-07-session26). With touch loads and token rows the estimate
                // had been slower on huge pages (bench/results/cpu-2026-12-06-session5). Quest's bound columns
                // stay on small pages (even there).
                layers[l] = new Layer(
                        HugePages.allocate(arena, 2 * layout.kvElements()),
                        HugePages.allocate(arena, 2 * layout.kvElements()),
                        HugePages.allocate(arena, layout.codeBytes()),
                        labelChannels != null ? arena.allocate(layout.codeRowBytes(), 64) : null,
                        HugePages.allocate(arena, 2 * layout.paramElements()),
                        arena.allocate(2 * layout.boundsElements(), 64),
                        arena.allocate(layout.boundCodeBytes(), 64),
                        arena.allocate(layout.boundColumnBytes(), 64),
                        arena.allocate(2 * layout.boundParamElements(), 64),
                        arena.allocate(Math.max(1, layout.labelBytes()), 64),
                        arena.allocate(shape.labelChannels() > 0 ? 2 * layout.paramElements() : 2, 64));
            }
        } catch (OutOfMemoryError | IllegalArgumentException e) {
            arena.close();
            throw new IllegalStateException("cannot allocate a KV cache of " + shape + ": " + e.getMessage(), e);
        }
        this.row = new float[shape.headDim()];
        this.smoothRow = new float[shape.headDim()];
        this.codeRow = new byte[layout.codeBytesPerToken()];
        this.labelRow = new byte[Math.max(1, layout.labelBytesPerToken())];
        this.pageMin = new float[shape.headDim()];
        this.pageMax = new float[shape.headDim()];
        this.boundRow = new byte[PageBounds.codeBytes(shape.headDim())];
    }

    @Override
    public KvShape shape() {
        return shape;
    }

    /** The layout of every layer's arrays. */
    public KvLayout layout() {
        return layout;
    }

    @Override
    public KvPager pager() {
        return pager;
    }

    @Override
    public LabelChannels labelChannels() {
        return labelChannels;
    }

    @Override
    public KeySmoothing keySmoothing() {
        return smoothing;
    }

    /** The arrays of {@code layer}. */
    public Layer layer(int layer) {
        return layers[layer];
    }

    @Override
    public void write(int layer, int seq, int position, float[] k, float[] v, int tokens) {
        KvChecks.write(shape, pager, layer, seq, position, k, v, tokens);
        Layer ly = layers[layer];
        int d = shape.headDim();
        for (int t = 0; t < tokens; t++) {
            int pos = position + t;
            int page = pager.page(seq, layout.pageOf(pos));
            int slot = layout.slotOf(pos);
            for (int h = 0; h < shape.kvHeads(); h++) {
                int[] e = smoothing == null ? null : smoothing.exponentsOf(layer, h);
                int src = (t * shape.kvHeads() + h) * d;
                long kvByte = 2 * layout.kvOffset(page, h, slot);
                long boundsByte = 2 * layout.boundsOffset(page, h);
                for (int c = 0; c < d; c++) {
                    float x = Fp16.round(k[src + c]);
                    row[c] = x;
                    Fp16.put(ly.keys(), kvByte + 2L * c, x);
                    Fp16.put(ly.values(), kvByte + 2L * c, v[src + c]);
                    // A page's first token starts its bounds afresh (TWILIGHT.md section 3).
                    float mn = slot == 0 ? x : Math.min(x, Fp16.get(ly.bounds(), boundsByte + 2L * c));
                    float mx = slot == 0 ? x : Math.max(x, Fp16.get(ly.bounds(), boundsByte + 2L * (d + c)));
                    Fp16.put(ly.bounds(), boundsByte + 2L * c, mn);
                    Fp16.put(ly.bounds(), boundsByte + 2L * (d + c), mx);
                    // The 4-bit copies hold k / 2^e (exact: a power of two), the bounds of those being the bounds / 2^e.
                    pageMin[c] = e == null ? mn : Math.scalb(mn, -e[c]);
                    pageMax[c] = e == null ? mx : Math.scalb(mx, -e[c]);
                    smoothRow[c] = e == null ? x : Math.scalb(x, -e[c]);
                }
                // The 4-bit copy Quest reads follows the exact bounds on every append.
                int range = PageBounds.encode(pageMin, 0, pageMax, 0, d, boundRow, 0);
                MemorySegment.copy(boundRow, 0, ly.boundCodes(), ValueLayout.JAVA_BYTE, layout.boundCodeOffset(page, h), boundRow.length);
                PageColumns.putRow(ly.boundColumns(), layout.boundColumnOffset(page, h), KvLayout.BOUND_GROUP_PAGES,
                        2 * d, page % KvLayout.BOUND_GROUP_PAGES, boundRow);
                putParams(ly.boundParams(), 2 * layout.boundParamOffset(page, h), range);
                int params = Int4Keys.quantize(smoothRow, 0, d, codeRow, 0);
                PageColumns.putRow(ly.codes(), layout.codeBlockOffset(page, h), shape.pageTokens(), d, slot, codeRow);
                if (ly.codeRows() != null) {
                    MemorySegment.copy(codeRow, 0, ly.codeRows(), ValueLayout.JAVA_BYTE, layout.codeOffset(page, h, slot),
                            codeRow.length);
                }
                putParams(ly.codeParams(), 2 * layout.paramOffset(page, h, slot), params);
                if (labelChannels != null) {
                    int lp = LabelKeys.quantize(row, 0, labelChannels.of(layer, h), labelRow, 0);
                    MemorySegment.copy(labelRow, 0, ly.labels(), ValueLayout.JAVA_BYTE, layout.labelOffset(page, h, slot),
                            layout.labelBytesPerToken());
                    putParams(ly.labelParams(), 2 * layout.paramOffset(page, h, slot), lp);
                }
            }
        }
    }

    private static void putParams(MemorySegment seg, long byteOffset, int packed) {
        Fp16.put(seg, byteOffset, Quantizer.scale(packed));
        Fp16.put(seg, byteOffset + 2, Quantizer.min(packed));
    }

    @Override
    public void close() {
        arena.close();
    }
}
