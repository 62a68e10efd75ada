package io.twilight4j.kv;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * fp16 storage, fp32 math: conversions between the cache's half-precision rows and float arrays.
 * The row conversion is a plain counted loop over {@link Float#float16ToFloat}: C2 vectorizes it
 * into the hardware half-to-float instruction (F16C), which beat an integer bit-rebuild in the
 * Vector API by about 1.4x and runs at one core's memory bandwidth.
 */
public final class Fp16 {

    /** Largest finite fp16 value. */
    public static final float MAX = 65504f;

    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt PAIR = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Fp16() {
    }

    /** Converts {@code n} halves at byte offset {@code byteOffset} of {@code seg} into {@code dst[off..]}. */
    public static void toFloat(MemorySegment seg, long byteOffset, float[] dst, int off, int n) {
        for (int i = 0; i < n; i++) {
            dst[off + i] = Float.float16ToFloat(seg.get(HALF, byteOffset + 2L * i));
        }
    }

    /** Converts {@code n} halves {@code src[srcOff..]} into {@code dst[off..]}. */
    public static void toFloat(short[] src, int srcOff, float[] dst, int off, int n) {
        for (int i = 0; i < n; i++) {
            dst[off + i] = Float.float16ToFloat(src[srcOff + i]);
        }
    }

    /** Copies {@code n} halves at byte offset {@code byteOffset} of {@code seg} to {@code dst[off..]}, as stored. */
    public static void copy(MemorySegment seg, long byteOffset, short[] dst, int off, int n) {
        MemorySegment.copy(seg, HALF, byteOffset, dst, off, n);
    }

    /** The half at byte offset {@code byteOffset}. */
    public static float get(MemorySegment seg, long byteOffset) {
        return Float.float16ToFloat(seg.get(HALF, byteOffset));
    }

    /**
     * The two adjacent halves at byte offset {@code byteOffset} (a (scale, min) pair) in one load; split
     * them with {@link #first} and {@link #second}.
     */
    public static int getPair(MemorySegment seg, long byteOffset) {
        return seg.get(PAIR, byteOffset);
    }

    /** The first half of a {@link #getPair} pair. */
    public static float first(int pair) {
        return Float.float16ToFloat((short) pair);
    }

    /** The second half of a {@link #getPair} pair. */
    public static float second(int pair) {
        return Float.float16ToFloat((short) (pair >>> 16));
    }

    /** Stores {@code value} rounded to half at byte offset {@code byteOffset}. */
    public static void put(MemorySegment seg, long byteOffset, float value) {
        seg.set(HALF, byteOffset, Float.floatToFloat16(value));
    }

    /** {@code value} rounded to the nearest half, as a float. */
    public static float round(float value) {
        return Float.float16ToFloat(Float.floatToFloat16(value));
    }
}
