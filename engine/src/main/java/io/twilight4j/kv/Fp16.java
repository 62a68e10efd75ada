package io.twilight4j.kv;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

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
    /** Lanes of {@link #pairsToFloat}: one (first, second) pair per int. */
    private static final VectorSpecies<Integer> PAIRS = IntVector.SPECIES_PREFERRED;
    /** Lanes of {@link #copy}. */
    private static final VectorSpecies<Short> HALVES = ShortVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfInt PAIR = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Fp16() {
    }

    /** Converts {@code n} halves at byte offset {@code byteOffset} of {@code seg} into {@code dst[off..]}. */
    public static void toFloat(MemorySegment seg, long byteOffset, float[] dst, int off, int n) {
        for (int i = 0; i < n; i++) {
            dst[off + i] = Float.float16ToFloat(seg.get(HALF, byteOffset + 2L * i));
        }
    }

    /**
     * Converts {@code n} halves of two rows at the same byte offset of two segments (a token's K and V) into
     * {@code dstA[off..]} and {@code dstB[off..]}, in one loop: one call and one loop's overhead instead of two,
     * which counts for the dense kernel's pieces of four rows (JMH denseKernel over 256k tokens from memory 8.88 ->
     * 8.28 ms in one A/B on Zen 5; bench/results/cpu-2026-12-08-session29).
     */
    public static void toFloat(MemorySegment a, MemorySegment b, long byteOffset, float[] dstA, float[] dstB, int off,
                               int n) {
        for (int i = 0; i < n; i++) {
            dstA[off + i] = Float.float16ToFloat(a.get(HALF, byteOffset + 2L * i));
            dstB[off + i] = Float.float16ToFloat(b.get(HALF, byteOffset + 2L * i));
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
        // Vector loads, not MemorySegment.copy: a sparse set gathers one 256-byte row per call, where the bulk
        // copy's per-call checks cost more than the copy (ds:8192's attention at 32k 2.52 -> 2.04 ms, one JVM).
        int i = 0;
        int bound = HALVES.loopBound(n);
        for (; i < bound; i += HALVES.length()) {
            ShortVector.fromMemorySegment(HALVES, seg, byteOffset + 2L * i, ByteOrder.LITTLE_ENDIAN).intoArray(dst, off + i);
        }
        for (; i < n; i++) {
            dst[off + i] = seg.get(HALF, byteOffset + 2L * i);
        }
    }

    /**
     * Converts {@code n} adjacent (first, second) half pairs at byte offset {@code byteOffset} of {@code seg}
     * (a token's (scale, min), say) into {@code firsts[fOff..]} and {@code seconds[sOff..]}: the pairs' two
     * halves are the two halves of an int lane, each rebuilt as a float by bit operations (exactly what
     * {@link Float#float16ToFloat} gives, subnormals and infinities included; NaN stays NaN). Eight pairs per
     * vector instead of a scalar load and two conversions per pair (the 4-bit estimate reads one pair per
     * candidate).
     */
    public static void pairsToFloat(MemorySegment seg, long byteOffset, float[] firsts, int fOff, float[] seconds,
                                    int sOff, int n) {
        int i = 0;
        int bound = PAIRS.loopBound(n);
        for (; i < bound; i += PAIRS.length()) {
            IntVector pairs = IntVector.fromMemorySegment(PAIRS, seg, byteOffset + 4L * i, ByteOrder.LITTLE_ENDIAN);
            toFloat(pairs.and(0xffff)).intoArray(firsts, fOff + i);
            toFloat(pairs.lanewise(VectorOperators.LSHR, 16)).intoArray(seconds, sOff + i);
        }
        for (; i < n; i++) {
            int pair = getPair(seg, byteOffset + 4L * i);
            firsts[fOff + i] = first(pair);
            seconds[sOff + i] = second(pair);
        }
    }

    /** Halves (in the low 16 bits of each lane, the rest 0) as floats. */
    private static FloatVector toFloat(IntVector halves) {
        IntVector magnitude = halves.and(0x7fff);
        // Exponent and fraction moved to a float's places: times 2^112 rebases the exponent (15 -> 127) and
        // normalizes subnormal halves; all-ones exponents (infinity, NaN) keep a float's all-ones exponent.
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        IntVector finite = ((FloatVector) shifted.reinterpretAsFloats()).mul(0x1p112f).reinterpretAsInts();
        IntVector special = shifted.or(0x7f800000);
        IntVector bits = finite.blend(special, magnitude.compare(VectorOperators.GE, 0x7c00));
        // NaN comes back quiet, as from the hardware conversion.
        bits = bits.blend(bits.or(0x400000), magnitude.compare(VectorOperators.GT, 0x7c00));
        return (FloatVector) bits.or(halves.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
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
