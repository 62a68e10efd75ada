package io.twilight4j.opencl;

import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.kv.KvCache;
import io.twilight4j.kv.KvChecks;
import io.twilight4j.kv.KvLayout;
import io.twilight4j.kv.KvPager;
import io.twilight4j.kv.KvShape;
import io.twilight4j.kv.LabelChannels;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.List;
import org.lwjgl.system.MemoryUtil;

/**
 * KV cache resident on an OpenCL device: the shared host {@link KvPager} plus, per layer, device
 * buffers laid out exactly as {@link KvLayout} says. Appends run one kernel that writes fp16 K/V,
 * Quest page bounds, 4-bit keys and Double Sparsity labels, the 4-bit copies smoothed as a
 * {@link KeySmoothing} says.
 */
public final class OpenClKvCache implements KvCache {

    /** One layer's device buffers. */
    record LayerBuffers(ClBuffer k, ClBuffer v, ClBuffer codes, ClBuffer params, ClBuffer bounds,
                        ClBuffer boundCodes, ClBuffer boundParams,
                        ClBuffer labels, ClBuffer labelParams) {
        void close() {
            for (ClBuffer b : List.of(k, v, codes, params, bounds, boundCodes, boundParams, labels, labelParams)) {
                b.close();
            }
        }
    }

    private final OpenClContext cl;
    private final KvShape shape;
    private final KvLayout layout;
    private final KvPager pager;
    private final LabelChannels labels;
    private final KeySmoothing smoothing;
    private final List<LayerBuffers> layers = new ArrayList<>();
    private final ClBuffer labelChannelBuffer;
    private final ClBuffer smoothingBuffer;
    private final ClKernel append;
    private ClBuffer stageK, stageV, stageSlots;
    private FloatBuffer hostKv;
    private IntBuffer hostSlots;
    private int stagedTokens;

    /** Allocates every layer's buffers on {@code cl}'s device, the 4-bit keys unsmoothed. */
    public OpenClKvCache(OpenClContext cl, KvShape shape, LabelChannels labels) {
        this(cl, shape, labels, null);
    }

    /** Allocates every layer's buffers on {@code cl}'s device; {@code smoothing} may be null (none). */
    public OpenClKvCache(OpenClContext cl, KvShape shape, LabelChannels labels, KeySmoothing smoothing) {
        this.labels = KvChecks.labels(shape, labels);
        this.smoothing = KvChecks.smoothing(shape, smoothing);
        this.cl = cl;
        this.shape = shape;
        this.layout = new KvLayout(shape);
        this.pager = new KvPager(shape.pages(), shape.pageTokens());
        try {
            for (int l = 0; l < shape.layers(); l++) {
                layers.add(allocateLayer(l));
            }
            labelChannelBuffer = uploadLabelChannels();
            smoothingBuffer = uploadSmoothing();
            append = cl.kernel("kv_append.cl", layout.kernelDefines(), "kv_append");
            if (append.workGroupLimit() < shape.headDim()) {
                throw new OpenClException("kv_append needs a work-group of headDim = " + shape.headDim()
                        + " work-items; " + cl.device().name() + " allows " + append.workGroupLimit());
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private LayerBuffers allocateLayer(int l) {
        String p = "layer " + l + " ";
        // A failed allocation releases this layer's earlier buffers (earlier layers: the constructor's close).
        try (Closer guard = new Closer()) {
            LayerBuffers b = new LayerBuffers(guard.add(cl.buffer(p + "K", layout.kvElements() * 2)),
                    guard.add(cl.buffer(p + "V", layout.kvElements() * 2)),
                    guard.add(cl.buffer(p + "int4 codes", layout.codeBytes())),
                    guard.add(cl.buffer(p + "int4 params", layout.paramElements() * 2)),
                    guard.add(cl.buffer(p + "page bounds", layout.boundsElements() * 2)),
                    guard.add(cl.buffer(p + "bound codes", layout.boundCodeBytes())),
                    guard.add(cl.buffer(p + "bound ranges", layout.boundParamElements() * 2)),
                    guard.add(cl.buffer(p + "labels", layout.labelBytes())),
                    guard.add(cl.buffer(p + "label params", layout.paramElements() * 2)));
            guard.keep();
            return b;
        }
    }

    private ClBuffer uploadLabelChannels() {
        int r = shape.labelChannels();
        ClBuffer b = cl.buffer("label channels", 4L * Math.max(1, shape.layers() * shape.kvHeads() * r));
        if (r > 0) {
            IntBuffer host = MemoryUtil.memAllocInt(shape.layers() * shape.kvHeads() * r);
            try {
                for (int l = 0; l < shape.layers(); l++) {
                    for (int h = 0; h < shape.kvHeads(); h++) {
                        host.put(labels.of(l, h));
                    }
                }
                cl.write(b, 0, host.flip());
            } finally {
                MemoryUtil.memFree(host);
            }
        }
        return b;
    }

    /** The smoothing exponents, {@code [layers][kvHeads][headDim]} ints (zeros without smoothing: the kernels always apply them). */
    private ClBuffer uploadSmoothing() {
        int[] exponents = smoothing != null ? smoothing.flatten() : new int[shape.layers() * shape.kvHeads() * shape.headDim()];
        ClBuffer b = cl.buffer("key smoothing exponents", 4L * exponents.length);
        IntBuffer host = MemoryUtil.memAllocInt(exponents.length);
        try {
            cl.write(b, 0, host.put(exponents).flip());
        } finally {
            MemoryUtil.memFree(host);
        }
        return b;
    }

    @Override
    public KvShape shape() {
        return shape;
    }

    @Override
    public KvPager pager() {
        return pager;
    }

    @Override
    public LabelChannels labelChannels() {
        return labels;
    }

    @Override
    public KeySmoothing keySmoothing() {
        return smoothing;
    }

    /** Key smoothing exponents of every (layer, KV head, channel); a layer's start at {@code layer * kvHeads * headDim}. */
    ClBuffer smoothingBuffer() {
        return smoothingBuffer;
    }

    /** The layout the device buffers follow. */
    public KvLayout layout() {
        return layout;
    }

    /** The context the buffers live in. */
    OpenClContext context() {
        return cl;
    }

    /** Label channels of every (layer, KV head), {@code [layers][kvHeads][r]} ints. */
    ClBuffer labelChannelBuffer() {
        return labelChannelBuffer;
    }

    /** Device buffers of {@code layer}. */
    LayerBuffers layer(int layer) {
        return layers.get(layer);
    }

    @Override
    public void write(int layer, int seq, int position, float[] k, float[] v, int tokens) {
        KvChecks.write(shape, pager, layer, seq, position, k, v, tokens);
        int row = shape.kvHeads() * shape.headDim();
        ensureStaging(tokens);
        hostKv.clear().put(k, 0, tokens * row).flip();
        cl.write(stageK, 0, hostKv);
        hostKv.clear().put(v, 0, tokens * row).flip();
        cl.write(stageV, 0, hostKv);
        hostSlots.clear();
        for (int t = 0; t < tokens; t++) {
            int pos = position + t;
            hostSlots.put(pager.page(seq, pos / shape.pageTokens()) * shape.pageTokens() + pos % shape.pageTokens());
        }
        cl.write(stageSlots, 0, hostSlots.flip());
        LayerBuffers b = layers.get(layer);
        append.arg(0, stageK).arg(1, stageV).arg(2, stageSlots).arg(3, tokens).arg(4, b.k).arg(5, b.v)
                .arg(6, b.codes).arg(7, b.params).arg(8, b.bounds).arg(9, b.boundCodes).arg(10, b.boundParams)
                .arg(11, b.labels).arg(12, b.labelParams)
                .arg(13, labelChannelBuffer).arg(14, layer * shape.kvHeads() * shape.labelChannels())
                .arg(15, smoothingBuffer).arg(16, layer * shape.kvHeads() * shape.headDim());
        append.launch(shape.kvHeads(), shape.headDim());
    }

    private void ensureStaging(int tokens) {
        if (tokens <= stagedTokens) {
            return;
        }
        freeStaging();
        int cap = Integer.highestOneBit(tokens - 1) << 1;
        cap = Math.max(cap, 1);
        long row = (long) shape.kvHeads() * shape.headDim();
        stageK = cl.buffer("append keys", 4 * row * cap);
        stageV = cl.buffer("append values", 4 * row * cap);
        stageSlots = cl.buffer("append slots", 4L * cap);
        hostKv = MemoryUtil.memAllocFloat((int) (row * cap));
        hostSlots = MemoryUtil.memAllocInt(cap);
        stagedTokens = cap;
    }

    private void freeStaging() {
        for (ClBuffer b : new ClBuffer[] {stageK, stageV, stageSlots}) {
            if (b != null) {
                b.close();
            }
        }
        MemoryUtil.memFree(hostKv);
        MemoryUtil.memFree(hostSlots);
        hostKv = null;
        hostSlots = null;
        stagedTokens = 0;
    }

    @Override
    public void close() {
        freeStaging();
        if (append != null) {
            append.close();
        }
        if (labelChannelBuffer != null) {
            labelChannelBuffer.close();
        }
        if (smoothingBuffer != null) {
            smoothingBuffer.close();
        }
        layers.forEach(LayerBuffers::close);
        layers.clear();
    }
}
