package io.twilight4j.kv;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * fp16 storage, fp32 math: conversions between the cache's half-precision rows and float arrays.
 * The vector path rebuilds the fp32 bit pattern with integer operations (exact for every finite
 * half, subnormals included), since the Vector API has no half-to-float conversion.
 */
public final class Fp16 {

    /** Largest finite fp16 value. */
    public static final float MAX = 65504f;

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.length() * 16));
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    // A half's exponent+mantissa shifted into fp32 position is the value scaled by 2^-112.
    private static final float REBIAS = 0x1p112f;

    private Fp16() {
    }

    /** Converts {@code n} halves at byte offset {@code byteOffset} of {@code seg} into {@code dst[off..]}. */
    public static void toFloat(MemorySegment seg, long byteOffset, float[] dst, int off, int n) {
        int i = 0;
        int bound = n - F.length() + 1;
        for (; i < bound; i += F.length()) {
            toFloatVector(seg, byteOffset + 2L * i).intoArray(dst, off + i);
        }
        for (; i < n; i++) {
            dst[off + i] = Float.float16ToFloat(seg.get(HALF, byteOffset + 2L * i));
        }
    }

    /** One vector of {@link #lanes()} halves at {@code byteOffset}, as floats. */
    public static FloatVector toFloatVector(MemorySegment seg, long byteOffset) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, seg, byteOffset, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.S2I, I, 0);
        IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        FloatVector mag = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(REBIAS);
        return mag.reinterpretAsInts().or(sign).reinterpretAsFloats();
    }

    /** Float lanes per vector in the vector path. */
    public static int lanes() {
        return F.length();
    }

    /** The half at byte offset {@code byteOffset}. */
    public static float get(MemorySegment seg, long byteOffset) {
        return Float.float16ToFloat(seg.get(HALF, byteOffset));
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
