package io.twilight4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** ggml Q8_0: blocks of 32 weights, each an fp16 scale d then 32 signed bytes q; w = d * q. */
public final class Q8_0Matrix extends QuantMatrix {

    /** Weights per block. */
    public static final int BLOCK_ELEMENTS = 32;
    /** Bytes per block: fp16 scale + 32 quants. */
    public static final int BLOCK_BYTES = 2 + BLOCK_ELEMENTS;

    /** 16 quants: half a block, widened to one vector of shorts. */
    private static final VectorSpecies<Byte> HALF_BLOCK = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> SHORTS = ShortVector.SPECIES_256;
    /** One float lane per pair of short lanes. */
    private static final VectorSpecies<Float> PAIRS = FloatVector.SPECIES_256;
    /**
     * Whether 256-bit vectors are native (AVX2 and up). The species are static final constants so
     * C2 sees them and intrinsifies the loads and conversions; without native 256-bit vectors the
     * Vector API would run its slow Java fallbacks, so the scalar dot runs instead.
     */
    private static final boolean VECTORIZED = ShortVector.SPECIES_PREFERRED.vectorBitSize() >= SHORTS.vectorBitSize();

    /** A {@code rows x cols} Q8_0 matrix over {@code data}. */
    public Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BLOCK_ELEMENTS, BLOCK_BYTES);
    }

    @Override
    boolean readsInt8Input() {
        return true;
    }

    /**
     * Q8_0 weights times Q8_0 activations (as llama.cpp's vec_dot_q8_0_q8_0): per block an exact
     * integer dot of the quants, converted to float once and scaled by both blocks' scales. On AVX2
     * (Zen 3, one thread) it streams 16.8 GB/s from cache and 12.2 from memory, against 12.3 and
     * 10.3 for widening every weight to float (two conversions per 8 weights were the bottleneck);
     * the price is rounding the input to 8 bits per block.
     */
    @Override
    float dotRow(int row, MatvecInput in) {
        if (!VECTORIZED) {
            return scalarDot(row, in);
        }
        short[] xq = in.quants();
        float[] xd = in.scales();
        long block = rowOffset(row);
        FloatVector acc = FloatVector.zero(PAIRS);
        for (int i = 0, b = 0; i < cols; i += BLOCK_ELEMENTS, b++, block += BLOCK_BYTES) {
            // |w| <= 128 and |x| <= 127: one product fits 15 bits, so lane j + lane j + 16 fits 16 bits.
            ShortVector s = weights(block + 2).mul(ShortVector.fromArray(SHORTS, xq, i))
                    .add(weights(block + 2 + SHORTS.length()).mul(ShortVector.fromArray(SHORTS, xq, i + SHORTS.length())));
            // Each int lane holds two short lanes: add its arithmetic high half and its
            // sign-extended low half (cheaper on AVX2 than two S2I conversions of half vectors).
            IntVector pairs = s.reinterpretAsInts();
            IntVector sums = pairs.lanewise(VectorOperators.ASHR, 16)
                    .add(pairs.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
            // The pair sums are below 2^16, so the conversion to float is exact.
            acc = ((FloatVector) sums.convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(PAIRS, half(block) * xd[b]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** 16 weight quants at byte {@code offset}, sign-extended to shorts. */
    private ShortVector weights(long offset) {
        return (ShortVector) ByteVector.fromMemorySegment(HALF_BLOCK, data, offset, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2S, SHORTS, 0);
    }

    /** The same product with scalar integer dots (no native 256-bit vectors; a second implementation for tests). */
    float scalarDot(int row, MatvecInput in) {
        short[] xq = in.quants();
        float[] xd = in.scales();
        long block = rowOffset(row);
        float s = 0;
        for (int i = 0, b = 0; i < cols; i += BLOCK_ELEMENTS, b++, block += BLOCK_BYTES) {
            int dot = 0;
            for (int j = 0; j < BLOCK_ELEMENTS; j++) {
                dot += data.get(ValueLayout.JAVA_BYTE, block + 2 + j) * xq[i + j];
            }
            s += half(block) * xd[b] * dot;
        }
        return s;
    }

    /** The Q8_0 scale of the 32 values at {@code v[from]}: max |v| / 127, so the largest maps to +-127. */
    private static float blockScale(float[] v, int from) {
        float amax = 0;
        for (int j = from; j < from + BLOCK_ELEMENTS; j++) {
            amax = Math.max(amax, Math.abs(v[j]));
        }
        return amax / 127f;
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
            float d = blockScale(w, start);
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
