package io.twilight4j.kv;

/**
 * Twilight's 4-bit key copy (TWILIGHT.md section 4): asymmetric min/max quantization per
 * (token, KV head) over the whole head vector. The OpenCL append kernel implements the same
 * arithmetic, so both backends store identical codes.
 */
public final class Int4Keys {

    /** Largest code. */
    public static final int LEVELS = 15;

    private Int4Keys() {
    }

    /**
     * Quantizes {@code dim} fp16-exact values {@code k[off..]} into {@code dim/2} code bytes and
     * returns (scale, min) packed as {@code scale16 << 16 | min16}.
     */
    public static int quantize(float[] k, int off, int dim, byte[] codes, int codeOff) {
        return Quantizer.quantize(k, null, off, dim, LEVELS, codes, codeOff, 2);
    }

    /** Dequantized channel value: {@code code * scale + min}. */
    public static float dequantize(int code, float scale, float min) {
        return code * scale + min;
    }
}
