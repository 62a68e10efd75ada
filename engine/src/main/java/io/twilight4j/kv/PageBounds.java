package io.twilight4j.kv;

/**
 * Quest page bounds at 4 bits: what the Quest selector reads per (page, KV head) instead of the exact
 * fp16 min and max rows, a quarter of their bytes (the L/16 metadata term of TWILIGHT.md section 6
 * dominates long contexts). One range per row pair, (scale, min) in fp16 as for the 4-bit keys; per
 * channel an unsigned 4-bit code u with value {@code min + u * scale}. The row of 2 * dim codes (the min
 * row's channels, then the max row's) is packed two per byte as the 4-bit keys are ({@link Nibbles}:
 * code j in the low nibble of byte j / 2 when j is even), so a page's codes take dim bytes.
 * Codes round outward (the min row down, the max row up), checked in float arithmetic as a decoder
 * computes, so the decoded box holds every key of the page and the Quest score stays an upper bound of
 * q.k; each side is at most one scale step wider than the exact bound. The OpenCL append kernel encodes
 * with the same float operations, so both caches store the same bytes.
 */
public final class PageBounds {

    /** Largest code. */
    public static final int LEVELS = 15;

    private PageBounds() {
    }

    /** Bytes of one (page, KV head)'s codes: 2 * dim codes, two per byte. */
    public static int codeBytes(int dim) {
        return dim;
    }

    /**
     * Encodes the exact bounds {@code min[minOff..+dim)} and {@code max[maxOff..+dim)} (fp16 values) into
     * {@code codes[codeOff..+codeBytes(dim))}; returns the (scale, min) pair packed as fp16 bits,
     * scale in the high half.
     */
    public static int encode(float[] min, int minOff, float[] max, int maxOff, int dim, byte[] codes, int codeOff) {
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (int c = 0; c < dim; c++) {
            lo = Math.min(lo, min[minOff + c]);
            hi = Math.max(hi, max[maxOff + c]);
        }
        // LEVELS - 1 steps, not LEVELS: the top code then lies beyond hi by a step, whatever the rounding
        // of the division, so every max code fits without a check of the range itself.
        short scale16 = roundUpToHalf((hi - lo) / (LEVELS - 1));
        float scale = Float.float16ToFloat(scale16);
        for (int c = 0; c < dim; c++) {
            int down = 0;
            int up = 0;
            if (scale > 0) {
                down = clamp((int) Math.floor((min[minOff + c] - lo) / scale));
                while (down > 0 && lo + down * scale > min[minOff + c]) {
                    down--;
                }
                up = clamp((int) Math.ceil((max[maxOff + c] - lo) / scale));
                while (up < LEVELS && lo + up * scale < max[maxOff + c]) {
                    up++;
                }
            }
            Nibbles.put(codes, codeOff, c, down);
            Nibbles.put(codes, codeOff, dim + c, up);
        }
        return (scale16 & 0xffff) << 16 | (Float.floatToFloat16(lo) & 0xffff);
    }

    /** The value of code {@code code} under range (scale, min). */
    public static float decode(int code, float scale, float min) {
        return min + code * scale;
    }

    /** The scale of a packed pair. */
    public static float scale(int packed) {
        return Float.float16ToFloat((short) (packed >>> 16));
    }

    /** The min of a packed pair. */
    public static float min(int packed) {
        return Float.float16ToFloat((short) packed);
    }

    private static int clamp(int code) {
        return Math.max(0, Math.min(LEVELS, code));
    }

    /** The smallest half at or above {@code x >= 0}. */
    static short roundUpToHalf(float x) {
        short h = Float.floatToFloat16(x);
        return Float.float16ToFloat(h) < x ? (short) (h + 1) : h;
    }
}
