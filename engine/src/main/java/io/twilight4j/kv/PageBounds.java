package io.twilight4j.kv;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Quest page bounds at 8 bits: what the Quest selector reads per (page, KV head) instead of the exact
 * fp16 min and max rows, half their bytes (the L/16 metadata term of TWILIGHT.md section 6 dominates
 * long contexts). One range per row pair, (scale, min) in fp16 as for the 4-bit keys; per channel a
 * signed byte s with value {@code min + (s + 128) * scale}, first the min row's codes, then the max
 * row's. Codes round outward (the min row down, the max row up), checked in float arithmetic as a
 * decoder computes, so the decoded box holds every key of the page and the Quest score stays an upper
 * bound of q.k; each side is at most one scale step wider than the exact bound. The OpenCL append
 * kernel encodes with the same float operations, so both caches store the same bytes.
 */
public final class PageBounds {

    /** Largest unsigned code: codes 0..255 are stored as signed bytes code - 128. */
    public static final int LEVELS = 255;

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8));

    private PageBounds() {
    }

    /**
     * Encodes the exact bounds {@code min[minOff..+dim)} and {@code max[maxOff..+dim)} (fp16 values) into
     * {@code codes[codeOff..+2*dim)}; returns the (scale, min) pair packed as fp16 bits,
     * scale in the high half.
     */
    public static int encode(float[] min, int minOff, float[] max, int maxOff, int dim, byte[] codes, int codeOff) {
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (int c = 0; c < dim; c++) {
            lo = Math.min(lo, min[minOff + c]);
            hi = Math.max(hi, max[maxOff + c]);
        }
        // 254 steps, not 255: the top code then lies beyond hi by a step, whatever the rounding of the
        // division, so every max code fits without a check of the range itself.
        short scale16 = roundUpToHalf((hi - lo) / 254f);
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
            codes[codeOff + c] = (byte) (down - 128);
            codes[codeOff + dim + c] = (byte) (up - 128);
        }
        return (scale16 & 0xffff) << 16 | (Float.floatToFloat16(lo) & 0xffff);
    }

    /** The value of stored code {@code code} under range (scale, min). */
    public static float decode(byte code, float scale, float min) {
        return min + (code + 128) * scale;
    }

    /**
     * Converts {@code n} stored codes at byte offset {@code byteOffset} of {@code seg} to floats (the
     * signed values s, without range): a scorer applies (scale, min) once per page, not per channel.
     */
    public static void codesToFloat(MemorySegment seg, long byteOffset, float[] dst, int off, int n) {
        int i = 0;
        for (int bound = B.loopBound(n); i < bound; i += B.length()) {
            ((FloatVector) ByteVector.fromMemorySegment(B, seg, byteOffset + i, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2F, F, 0)).intoArray(dst, off + i);
        }
        for (; i < n; i++) {
            dst[off + i] = seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, byteOffset + i);
        }
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
