package io.twilight4j.kv;

/**
 * Double Sparsity's label cache entry: the r calibrated label channels of a key, quantized to 2
 * bits with a per-token min/max (TWILIGHT.md section 3); channel j sits at bits 2*(j%4) of byte j/4.
 */
public final class LabelKeys {

    /** Largest code. */
    public static final int LEVELS = 3;

    private LabelKeys() {
    }

    /**
     * Quantizes channels {@code channels[]} of the fp16-exact row {@code k[off..]} into r/4 bytes;
     * returns (scale, min) packed as {@code scale16 << 16 | min16}.
     */
    public static int quantize(float[] k, int off, int[] channels, byte[] codes, int codeOff) {
        return Quantizer.quantize(k, channels, off, channels.length, LEVELS, codes, codeOff, 4);
    }
}
