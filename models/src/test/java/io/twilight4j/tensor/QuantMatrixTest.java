package io.twilight4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every matrix type against a float64 decoder written here from ggml's block descriptions as
 * per-element index formulas (not the loops of the production code), on seeded random blocks.
 */
class QuantMatrixTest {

    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One encoding: block geometry, where its fp16 fields sit, a reference decoder and the class under test. */
    record Type(String name, int blockElements, int blockBytes, int[] halfOffsets, RefDecoder ref,
                BiFunction<MemorySegment, int[], QuantMatrix> make) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** Decodes element {@code i} (within its block) of the block at byte {@code b}. */
    interface RefDecoder {
        double element(MemorySegment s, long b, int i);
    }

    static final Type F32 = new Type("F32", 1, 4, new int[0],
            (s, b, i) -> s.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), b),
            (s, rc) -> new F32Matrix(s, rc[0], rc[1]));
    static final Type F16 = new Type("F16", 1, 2, new int[] {0}, (s, b, i) -> h(s, b),
            (s, rc) -> new F16Matrix(s, rc[0], rc[1]));
    static final Type BF16 = new Type("BF16", 1, 2, new int[0],
            (s, b, i) -> Float.intBitsToFloat((s.get(HALF, b) & 0xFFFF) << 16),
            (s, rc) -> new BF16Matrix(s, rc[0], rc[1]));
    static final Type Q8_0 = new Type("Q8_0", 32, 34, new int[] {0}, (s, b, i) -> h(s, b) * s8(s, b + 2 + i),
            (s, rc) -> new Q8_0Matrix(s, rc[0], rc[1]));
    static final Type Q4_0 = new Type("Q4_0", 32, 18, new int[] {0}, (s, b, i) -> {
        int byteVal = u8(s, b + 2 + i % 16);
        int nibble = i < 16 ? byteVal & 15 : byteVal >> 4;
        return h(s, b) * (nibble - 8);
    }, (s, rc) -> new Q4_0Matrix(s, rc[0], rc[1]));
    static final Type Q4_K = new Type("Q4_K", 256, 144, new int[] {0, 2}, QuantMatrixTest::q4k,
            (s, rc) -> new KQuantMatrix(KQuantMatrix.Format.Q4_K, s, rc[0], rc[1]));
    static final Type Q6_K = new Type("Q6_K", 256, 210, new int[] {208}, QuantMatrixTest::q6k,
            (s, rc) -> new Q6_KMatrix(s, rc[0], rc[1]));

    static final Type Q4_1 = new Type("Q4_1", 32, 20, new int[] {0, 2}, (s, b, i) -> h(s, b) * nibble(s, b + 4, i) + h(s, b + 2),
            (s, rc) -> new SmallBlockMatrix(SmallBlockMatrix.Format.Q4_1, s, rc[0], rc[1]));
    static final Type Q5_0 = new Type("Q5_0", 32, 22, new int[] {0},
            (s, b, i) -> h(s, b) * (nibble(s, b + 6, i) + 16 * bit(s, b + 2, i) - 16),
            (s, rc) -> new SmallBlockMatrix(SmallBlockMatrix.Format.Q5_0, s, rc[0], rc[1]));
    static final Type Q5_1 = new Type("Q5_1", 32, 24, new int[] {0, 2},
            (s, b, i) -> h(s, b) * (nibble(s, b + 8, i) + 16 * bit(s, b + 4, i)) + h(s, b + 2),
            (s, rc) -> new SmallBlockMatrix(SmallBlockMatrix.Format.Q5_1, s, rc[0], rc[1]));
    static final Type Q5_K = new Type("Q5_K", 256, 176, new int[] {0, 2}, QuantMatrixTest::q5k,
            (s, rc) -> new KQuantMatrix(KQuantMatrix.Format.Q5_K, s, rc[0], rc[1]));

    static final Type Q2_K = new Type("Q2_K", 256, 84, new int[] {80, 82}, QuantMatrixTest::q2k,
            (s, rc) -> new Q2_KMatrix(s, rc[0], rc[1]));
    static final Type Q3_K = new Type("Q3_K", 256, 110, new int[] {108}, QuantMatrixTest::q3k,
            (s, rc) -> new Q3_KMatrix(s, rc[0], rc[1]));

    /**
     * Q2_K element i: 16-weight sub-block i / 16 of the super-block; with i = 128 h + 32 j + l its quant is bits
     * 2j, 2j + 1 of quant byte 32 h + l and its (scale, min) pair is byte 8 h + 2 j + l / 16.
     */
    static double q2k(MemorySegment s, long b, int i) {
        int h = i / 128, j = i % 128 / 32, l = i % 32;
        int pair = u8(s, b + 8 * h + 2 * j + l / 16);
        int q = (u8(s, b + 16 + 32 * h + l) >> (2 * j)) & 3;
        return h(s, b + 80) * (pair & 15) * q - h(s, b + 82) * (pair >> 4);
    }

    /**
     * Q3_K element i (i = 128 h + 32 j + l): scale 8 h + 2 j + l / 16, unpacked as llama.cpp does it (the 12 bytes
     * as three little-endian words, recombined into four words of 6-bit bytes), quant bits 2j, 2j + 1 of byte
     * 32 + 32 h + l minus 4 unless bit 4 h + j of hmask byte l is set.
     */
    static double q3k(MemorySegment s, long b, int i) {
        int h = i / 128, j = i % 128 / 32, l = i % 32;
        long a0 = u32(s, b + 96), a1 = u32(s, b + 100), t = u32(s, b + 104);
        long[] aux = {(a0 & 0x0f0f0f0fL) | ((t & 0x03030303L) << 4), (a1 & 0x0f0f0f0fL) | (((t >> 2) & 0x03030303L) << 4),
                ((a0 >> 4) & 0x0f0f0f0fL) | (((t >> 4) & 0x03030303L) << 4), ((a1 >> 4) & 0x0f0f0f0fL) | (((t >> 6) & 0x03030303L) << 4)};
        int is = 8 * h + 2 * j + l / 16;
        int scale = (int) ((aux[is / 4] >> (8 * (is % 4))) & 0xFF) - 32;
        int q = ((u8(s, b + 32 + 32 * h + l) >> (2 * j)) & 3) - (((u8(s, b + l) >> (4 * h + j)) & 1) != 0 ? 0 : 4);
        return h(s, b + 108) * scale * q;
    }

    /** ggml's kvalues_iq4nl, written out here again (not read from the class under test). */
    static final int[] IQ4_LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    static final Type IQ4_NL = new Type("IQ4_NL", 32, 18, new int[] {0}, (s, b, i) -> h(s, b) * IQ4_LEVELS[nibble(s, b + 2, i)],
            (s, rc) -> new IQ4Matrix(IQ4Matrix.Format.IQ4_NL, s, rc[0], rc[1]));
    /** IQ4_XS element i: sub-block i / 32's 6-bit scale (low nibble of byte 4 + sb / 2, high bits of the word at 2), level of its nibble. */
    static final Type IQ4_XS = new Type("IQ4_XS", 256, 136, new int[] {0}, (s, b, i) -> {
        int sb = i / 32;
        int scale = ((u8(s, b + 4 + sb / 2) >> (4 * (sb % 2))) & 15) | (int) ((u32(s, b) >> 16 >> (2 * sb)) & 3) << 4;
        return h(s, b) * (scale - 32) * IQ4_LEVELS[nibble(s, b + 8 + 16 * sb, i % 32)];
    }, (s, rc) -> new IQ4Matrix(IQ4Matrix.Format.IQ4_XS, s, rc[0], rc[1]));

    static long u32(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), off) & 0xFFFFFFFFL;
    }

    /** Element i of a 32-weight block's 16 nibble bytes at q: low nibbles for i < 16, high for the rest. */
    static int nibble(MemorySegment s, long q, int i) {
        int byteVal = u8(s, q + i % 16);
        return i < 16 ? byteVal & 15 : byteVal >> 4;
    }

    /** Bit i of the 4 bytes at h, byte i/8 bit i%8 (a little-endian 32-bit word). */
    static int bit(MemorySegment s, long h, int i) {
        return (u8(s, h + i / 8) >> (i % 8)) & 1;
    }

    /** Q5_K element i: Q4_K's element plus 16 times bit i / 32 of fifth-bit byte i % 32. */
    static double q5k(MemorySegment s, long b, int i) {
        return kQuant(s, b, i, 48, 16);
    }

    /** Q4_K element i: sub-block i/32 with its 6-bit scale and min; quants of 64-weight chunk c share 32 bytes. */
    static double q4k(MemorySegment s, long b, int i) {
        return kQuant(s, b, i, 16, -1);
    }

    /** Element i of a K-quant super-block: nibbles at byte {@code quants}, fifth bits at {@code high} (-1: none). */
    static double kQuant(MemorySegment s, long b, int i, int quants, int high) {
        int sub = i / 32;
        long sc = b + 4;
        int scale, min;
        if (sub < 4) {
            scale = u8(s, sc + sub) & 63;
            min = u8(s, sc + sub + 4) & 63;
        } else {
            scale = (u8(s, sc + sub + 4) & 15) | (u8(s, sc + sub - 4) >> 6) << 4;
            min = (u8(s, sc + sub + 4) >> 4) | (u8(s, sc + sub) >> 6) << 4;
        }
        int byteVal = u8(s, b + quants + 32 * (i / 64) + i % 32);
        int q = sub % 2 == 0 ? byteVal & 15 : byteVal >> 4;
        if (high >= 0) {
            q += 16 * ((u8(s, b + high + i % 32) >> sub) & 1);
        }
        return h(s, b) * scale * q - h(s, b + 2) * min;
    }

    /** Q6_K element i: half i/128, quarter r/32 picks the ql nibble (low/high, +32 bytes) and qh bit pair. */
    static double q6k(MemorySegment s, long b, int i) {
        int half = i / 128;
        int r = i % 128;
        int quarter = r / 32;
        int l = r % 32;
        int qlByte = u8(s, b + 64L * half + l + (quarter % 2) * 32);
        int low = quarter < 2 ? qlByte & 15 : qlByte >> 4;
        int high = (u8(s, b + 128 + 32L * half + l) >> (2 * quarter)) & 3;
        int scale = s8(s, b + 192 + 8L * half + l / 16 + 2 * quarter);
        return h(s, b + 208) * scale * ((low | high << 4) - 32);
    }

    static double h(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(HALF, off));
    }

    static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    static int s8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off);
    }

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        long seed = 11;
        for (Type t : new Type[] {F32, F16, BF16}) {
            for (int[] rc : new int[][] {{1, 37}, {7, 64}, {33, 129}, {65, 8}}) {
                b.add(Arguments.of(t, rc[0], rc[1], seed++));
            }
        }
        for (Type t : new Type[] {Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL}) {
            for (int[] rc : new int[][] {{1, 32}, {7, 96}, {33, 256}, {129, 64}}) {
                b.add(Arguments.of(t, rc[0], rc[1], seed++));
            }
        }
        for (Type t : new Type[] {Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS}) {
            for (int[] rc : new int[][] {{1, 256}, {7, 512}, {33, 256}}) {
                b.add(Arguments.of(t, rc[0], rc[1], seed++));
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} {1}x{2} seed {3}")
    @MethodSource("cases")
    void matvecAndDequantizeMatchFloat64Reference(Type t, int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        try (Arena arena = Arena.ofShared()) {
            int blocksPerRow = cols / t.blockElements();
            MemorySegment seg = arena.allocate((long) rows * blocksPerRow * t.blockBytes() + 1);
            randomBlocks(t, seg, rows * blocksPerRow, rnd);
            QuantMatrix m = t.make().apply(seg, new int[] {rows, cols});
            float[] x = new float[cols];
            for (int i = 0; i < cols; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] y = new float[rows];
            m.matvec(x, y);
            float[] row = new float[cols];
            double[] w = new double[cols];
            for (int r = 0; r < rows; r++) {
                double expect = 0;
                double magnitude = 0;
                m.dequantizeRow(r, row);
                for (int i = 0; i < cols; i++) {
                    long block = ((long) r * blocksPerRow + i / t.blockElements()) * t.blockBytes();
                    w[i] = t.ref().element(seg, block, i % t.blockElements());
                    assertEquals(w[i], row[i], Math.abs(w[i]) * 1e-6 + 1e-6,
                            t + " seed " + seed + ": dequantized row " + r + " element " + i);
                    expect += w[i] * x[i];
                    magnitude += Math.abs(w[i] * x[i]);
                }
                // Q8_0 rows multiply the input's own Q8_0 rounding (Q8_0DotTest checks that product
                // exactly); against the float input they may move by that rounding's bound.
                double rounding = t == Q8_0 ? inputRoundingBound(w, x) : 0;
                assertEquals(expect, y[r], magnitude * 1e-5 + 1e-5 + rounding, t + " seed " + seed + ": row " + r);
            }
        }
    }

    /**
     * How far a product with a Q8_0 matrix may move from the float product: the input is rounded
     * in blocks of 32 with step max|x| / 127, every element by at most half a step, so row w moves
     * by at most the sum over blocks of step / 2 * sum |w| (plus 1e-6 relative for float scales).
     */
    static double inputRoundingBound(double[] w, float[] x) {
        double bound = 0;
        for (int from = 0; from < x.length; from += 32) {
            double amax = 0;
            double weights = 0;
            for (int j = from; j < from + 32; j++) {
                amax = Math.max(amax, Math.abs(x[j]));
                weights += Math.abs(w[j]);
            }
            bound += amax / 127 / 2 * weights;
        }
        return bound * (1 + 1e-6);
    }

    /** Random bytes, except fp16 fields which get finite values in [0.5, 2) / 64 with random sign. */
    static void randomBlocks(Type t, MemorySegment seg, long blocks, Random rnd) {
        byte[] bytes = new byte[(int) (blocks * t.blockBytes())];
        rnd.nextBytes(bytes);
        MemorySegment.copy(bytes, 0, seg, ValueLayout.JAVA_BYTE, 0, bytes.length);
        for (long blk = 0; blk < blocks; blk++) {
            long base = blk * t.blockBytes();
            if (t == F32) {
                seg.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), base, (float) rnd.nextGaussian());
            } else if (t == BF16) {
                seg.set(HALF, base, (short) (Float.floatToIntBits((float) rnd.nextGaussian()) >>> 16));
            }
            for (int off : t.halfOffsets()) {
                float v = (float) ((0.5 + 1.5 * rnd.nextDouble()) / 64 * (rnd.nextBoolean() ? 1 : -1));
                seg.set(HALF, base + off, Float.floatToFloat16(v));
            }
        }
    }

    static Stream<Arguments> roundTrips() {
        return Stream.of(Arguments.of("Q8_0", 3, 64, 5L), Arguments.of("Q8_0", 17, 96, 6L),
                Arguments.of("Q4_0", 3, 64, 7L), Arguments.of("Q4_0", 17, 96, 8L));
    }

    @ParameterizedTest(name = "{0} {1}x{2} seed {3}")
    @MethodSource("roundTrips")
    void quantizeRoundTripStaysWithinHalfAStep(String type, int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rnd.nextGaussian() * (1 + i % 7));
        }
        try (Arena arena = Arena.ofShared()) {
            boolean q8 = type.equals("Q8_0");
            QuantMatrix m = q8 ? Q8_0Matrix.quantize(w, rows, cols, arena) : Q4_0Matrix.quantize(w, rows, cols, arena);
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                m.dequantizeRow(r, row);
                for (int blk = 0; blk < cols / 32; blk++) {
                    double amax = 0;
                    for (int j = 0; j < 32; j++) {
                        amax = Math.max(amax, Math.abs(w[r * cols + blk * 32 + j]));
                    }
                    // Step d = amax/127 (Q8_0) or amax/8 (Q4_0); rounding costs half a step, Q4_0's
                    // clamp of +8 to +7 a whole one, and the fp16 scale 2^-11 relative per quant unit.
                    double step = q8 ? amax / 127 : amax / 8;
                    double bound = (q8 ? 0.5 : 1.0) * step + (q8 ? 127 : 8) * step * Math.pow(2, -11) + 1e-7;
                    for (int j = 0; j < 32; j++) {
                        int i = blk * 32 + j;
                        double err = Math.abs(row[i] - w[r * cols + i]);
                        assertTrue(err <= bound, type + " seed " + seed + ": row " + r + " element " + i
                                + " error " + err + " > " + bound);
                    }
                }
            }
        }
    }
}
