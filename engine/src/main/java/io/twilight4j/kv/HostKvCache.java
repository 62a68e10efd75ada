package io.twilight4j.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A KV cache in off-heap host memory (FFM), laid out as {@link KvLayout} says: the CPU backend's
 * storage and the reference the OpenCL cache is checked against.
 */
public final class HostKvCache implements KvCache {

    /** One layer's arrays. Byte-addressed segments; fp16 arrays hold 2 bytes per element. */
    public record Layer(MemorySegment keys, MemorySegment values, MemorySegment codes, MemorySegment codeParams,
                        MemorySegment bounds, MemorySegment labels, MemorySegment labelParams) {
    }

    private final KvShape shape;
    private final KvLayout layout;
    private final KvPager pager;
    private final LabelChannels labelChannels;
    private final Arena arena = Arena.ofShared();
    private final Layer[] layers;
    // Scratch for one head row: written from one thread (the decoder), as KvCache.write requires.
    private final float[] row;
    private final byte[] codeRow;
    private final byte[] labelRow;

    /** Allocates (zeroed) storage for every layer of {@code shape}. */
    public HostKvCache(KvShape shape, LabelChannels labels) {
        this.shape = shape;
        this.layout = new KvLayout(shape);
        this.labelChannels = checkLabels(shape, labels);
        this.pager = new KvPager(shape.pages(), shape.pageTokens());
        this.layers = new Layer[shape.layers()];
        try {
            for (int l = 0; l < layers.length; l++) {
                layers[l] = new Layer(
                        arena.allocate(2 * layout.kvElements(), 64),
                        arena.allocate(2 * layout.kvElements(), 64),
                        arena.allocate(layout.codeBytes(), 64),
                        arena.allocate(2 * layout.paramElements(), 64),
                        arena.allocate(2 * layout.boundsElements(), 64),
                        arena.allocate(Math.max(1, layout.labelBytes()), 64),
                        arena.allocate(shape.labelChannels() > 0 ? 2 * layout.paramElements() : 2, 64));
            }
        } catch (OutOfMemoryError | IllegalArgumentException e) {
            arena.close();
            throw new IllegalStateException("cannot allocate a KV cache of " + shape + ": " + e.getMessage(), e);
        }
        this.row = new float[shape.headDim()];
        this.codeRow = new byte[layout.codeBytesPerToken()];
        this.labelRow = new byte[Math.max(1, layout.labelBytesPerToken())];
    }

    static LabelChannels checkLabels(KvShape shape, LabelChannels labels) {
        if (shape.labelChannels() == 0) {
            return null;
        }
        if (labels == null) {
            throw new IllegalArgumentException("KV shape has " + shape.labelChannels()
                    + " label channels but no calibrated LabelChannels were given");
        }
        if (labels.count() != shape.labelChannels() || labels.layers() != shape.layers()
                || labels.kvHeads() != shape.kvHeads() || labels.headDim() != shape.headDim()) {
            throw new IllegalArgumentException("label channels (" + labels.layers() + " layers, " + labels.kvHeads()
                    + " heads, dim " + labels.headDim() + ", r " + labels.count() + ") do not match " + shape);
        }
        return labels;
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

    /** The arrays of {@code layer}. */
    public Layer layer(int layer) {
        return layers[layer];
    }

    @Override
    public void write(int layer, int seq, int position, float[] k, float[] v, int tokens) {
        checkWrite(shape, pager, layer, seq, position, k, v, tokens);
        Layer ly = layers[layer];
        int d = shape.headDim();
        int pageTokens = shape.pageTokens();
        for (int t = 0; t < tokens; t++) {
            int pos = position + t;
            int page = pager.page(seq, pos / pageTokens);
            int slot = pos % pageTokens;
            for (int h = 0; h < shape.kvHeads(); h++) {
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
                }
                int params = Int4Keys.quantize(row, 0, d, codeRow, 0);
                MemorySegment.copy(codeRow, 0, ly.codes(), ValueLayout.JAVA_BYTE, layout.codeOffset(page, h, slot), codeRow.length);
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

    /**
     * Checks a write against the cache: every backend's {@code write} calls this first, so bad
     * input fails the same way everywhere and nothing is half-written.
     */
    public static void checkWrite(KvShape shape, KvPager pager, int layer, int seq, int position,
                                  float[] k, float[] v, int tokens) {
        if (layer < 0 || layer >= shape.layers()) {
            throw new IllegalArgumentException("KV write: layer " + layer + " out of range [0, " + shape.layers() + ")");
        }
        if (!pager.isLive(seq)) {
            throw new IllegalArgumentException("KV write: no live sequence " + seq);
        }
        if (tokens <= 0 || position < 0 || (long) position + tokens > pager.length(seq)) {
            throw new IllegalArgumentException("KV write: positions [" + position + ", " + ((long) position + tokens)
                    + ") not appended to sequence " + seq + " (length " + pager.length(seq) + ")");
        }
        long n = (long) tokens * shape.kvHeads() * shape.headDim();
        if (k.length < n || v.length < n) {
            throw new IllegalArgumentException("KV write: " + tokens + " tokens need " + n + " floats of K and V, got "
                    + k.length + " and " + v.length);
        }
        for (int i = 0; i < n; i++) {
            if (!(Math.abs(k[i]) <= Fp16.MAX) || !(Math.abs(v[i]) <= Fp16.MAX)) {
                throw new IllegalArgumentException("KV write: " + (Math.abs(k[i]) <= Fp16.MAX ? "V" : "K") + "[" + i
                        + "] = " + (Math.abs(k[i]) <= Fp16.MAX ? v[i] : k[i]) + " is not a finite fp16 value");
            }
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
