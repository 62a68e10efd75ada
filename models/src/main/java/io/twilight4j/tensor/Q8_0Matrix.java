package io.twilight4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import static io.twilight4j.tensor.VectorDot.F;

/** ggml Q8_0: blocks of 32 weights, each an fp16 scale d then 32 signed bytes q; w = d * q. */
public final class Q8_0Matrix extends QuantMatrix {

    /** Weights per block. */
    public static final int BLOCK_ELEMENTS = 32;
    /** Bytes per block: fp16 scale + 32 quants. */
    public static final int BLOCK_BYTES = 2 + BLOCK_ELEMENTS;

    /**
     * One byte lane per float lane. A static final constant, so C2 sees the species and intrinsifies
     * the load and the cast; a species looked up per call made the decoder fall back to the Java
     * implementations of both (about 5x slower) once other code had polluted the Vector API profiles.
     */
    private static final VectorSpecies<Byte> BYTES = vectorized()
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8)) : null;

    /** A {@code rows x cols} Q8_0 matrix over {@code data}. */
    public Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BLOCK_ELEMENTS, BLOCK_BYTES);
    }

    @Override
    public float dotRow(int row, float[] x) {
        if (!vectorized()) {
            return scalarDot(row, x);
        }
        int parts = BLOCK_ELEMENTS / F.length();
        // One byte vector per float vector of weights: measured ~30% faster than widening parts of
        // one 32-byte load on AVX2.
        long block = rowOffset(row);
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < cols; i += BLOCK_ELEMENTS, block += BLOCK_BYTES) {
            FloatVector sum = FloatVector.zero(F);
            for (int p = 0; p < parts; p++) {
                ByteVector q = ByteVector.fromMemorySegment(BYTES, data, block + 2 + (long) p * F.length(), ByteOrder.LITTLE_ENDIAN);
                sum = ((FloatVector) q.castShape(F, 0)).fma(FloatVector.fromArray(F, x, i + p * F.length()), sum);
            }
            // Scale once per block: the 32 products share d.
            acc = sum.fma(FloatVector.broadcast(F, half(block)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Whether the float vectors are 8 to 32 lanes wide (a byte vector of as many lanes exists and fits a block). */
    private static boolean vectorized() {
        return F.length() >= 8 && F.length() <= BLOCK_ELEMENTS;
    }

    private float scalarDot(int row, float[] x) {
        long block = rowOffset(row);
        float s = 0;
        for (int i = 0; i < cols; i += BLOCK_ELEMENTS, block += BLOCK_BYTES) {
            float b = 0;
            for (int j = 0; j < BLOCK_ELEMENTS; j++) {
                b += data.get(ValueLayout.JAVA_BYTE, block + 2 + j) * x[i + j];
            }
            s += half(block) * b;
        }
        return s;
    }

    @Override
    public void dequantizeRow(int row, float[] dst) {
        long block = rowOffset(row);
        for (int i = 0; i < cols; i += BLOCK_ELEMENTS, block += BLOCK_BYTES) {
            float d = half(block);
            for (int j = 0; j < BLOCK_ELEMENTS; j++) {
                dst[i + j] = d * data.get(ValueLayout.JAVA_BYTE, block + 2 + j);
            }
        }
    }

    /** Encodes {@code w} ({@code rows x cols}, row-major) as Q8_0 in {@code arena}: d = max|w| / 127 per block. */
    public static Q8_0Matrix quantize(float[] w, int rows, int cols, Arena arena) {
        MemorySegment seg = arena.allocate((long) rows * cols / BLOCK_ELEMENTS * BLOCK_BYTES);
        long off = 0;
        for (int start = 0; start < rows * cols; start += BLOCK_ELEMENTS, off += BLOCK_BYTES) {
            float amax = 0;
            for (int j = 0; j < BLOCK_ELEMENTS; j++) {
                amax = Math.max(amax, Math.abs(w[start + j]));
            }
            float d = amax / 127f;
            float inv = d == 0 ? 0 : 1 / d;
            seg.set(HALF, off, Float.floatToFloat16(d));
            for (int j = 0; j < BLOCK_ELEMENTS; j++) {
                seg.set(ValueLayout.JAVA_BYTE, off + 2 + j, (byte) Math.round(w[start + j] * inv));
            }
        }
        return new Q8_0Matrix(seg, rows, cols);
    }

    /**
     * A seeded random matrix built block by block (no float copy of the whole matrix): quants uniform
     * in [-127, 127] and one scale chosen so the weights have standard deviation {@code std}.
     */
    public static Q8_0Matrix random(int rows, int cols, double std, long seed, Arena arena) {
        long blocks = (long) rows * cols / BLOCK_ELEMENTS;
        MemorySegment seg = arena.allocate(blocks * BLOCK_BYTES);
        SplittableRandom rnd = new SplittableRandom(seed);
        // Uniform integers in [-127, 127] have standard deviation ~73.6.
        short d = Float.floatToFloat16((float) (std / 73.6));
        byte[] quants = new byte[BLOCK_ELEMENTS];
        for (long b = 0; b < blocks; b++) {
            long off = b * BLOCK_BYTES;
            seg.set(HALF, off, d);
            for (int j = 0; j < BLOCK_ELEMENTS; j++) {
                quants[j] = (byte) (rnd.nextInt(255) - 127);
            }
            MemorySegment.copy(quants, 0, seg, ValueLayout.JAVA_BYTE, off + 2, BLOCK_ELEMENTS);
        }
        return new Q8_0Matrix(seg, rows, cols);
    }
}
