package io.twilight4j.kv;

/**
 * The checks every backend's cache runs at its boundary, so bad input fails the same way on the CPU
 * and on a device, and nothing is half-written.
 */
public final class KvChecks {

    private KvChecks() {
    }

    /** The label channels a cache of {@code shape} keeps (null when it has none); mismatches name both sides. */
    public static LabelChannels labels(KvShape shape, LabelChannels labels) {
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

    /** The key smoothing a cache of {@code shape} applies (may be null: none); a mismatch names both sides. */
    public static KeySmoothing smoothing(KvShape shape, KeySmoothing smoothing) {
        if (smoothing != null && (smoothing.layers() != shape.layers() || smoothing.kvHeads() != shape.kvHeads()
                || smoothing.headDim() != shape.headDim())) {
            throw new IllegalArgumentException("key smoothing (" + smoothing.layers() + " layers, " + smoothing.kvHeads()
                    + " heads, dim " + smoothing.headDim() + ") does not match " + shape);
        }
        return smoothing;
    }

    /**
     * Checks a write against the cache: every backend's {@code write} calls this first, so bad
     * input fails the same way everywhere and nothing is half-written.
     */
    public static void write(KvShape shape, KvPager pager, int layer, int seq, int position,
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
}
