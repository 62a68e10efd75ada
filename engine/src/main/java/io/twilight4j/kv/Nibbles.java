package io.twilight4j.kv;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.stream.IntStream;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Rows of 4-bit codes, two per byte: code j in the low nibble of byte j / 2 when j is even, in the high
 * nibble when odd. Twilight's 4-bit keys ({@link Int4Keys}) and Quest's page bounds ({@link PageBounds})
 * are stored this way. A scorer unpacks a row to floats with {@link #unpack}, which writes the codes in
 * its own order ({@link #position}), and permutes its query the same way once: the dot product of the
 * two float rows is then the dot product in code order. {@link #dots} reads rows in place and takes the
 * query as {@link #permute} writes it: in that order, each code's query value times {@link #queryFactor}.
 */
public final class Nibbles {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Bytes as wide as the float lanes (their B2I conversion fills one int vector); none below 64 bits. */
    private static final VectorSpecies<Byte> B = F.length() * 8 >= 64
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8)) : null;

    /** Code bytes per int-vector load of the word-wise unpack. */
    private static final int WORD_BYTES = 4 * I.length();

    private Nibbles() {
    }

    /** Code j of the row at {@code codes[off..]}. */
    public static int get(byte[] codes, int off, int j) {
        return (codes[off + j / 2] >> (4 * (j % 2))) & 15;
    }

    /** Sets code j (in [0, 15]) of the row at {@code codes[off..]}, leaving the other nibble of its byte. */
    public static void put(byte[] codes, int off, int j, int code) {
        int shift = 4 * (j % 2);
        codes[off + j / 2] = (byte) ((codes[off + j / 2] & ~(15 << shift)) | code << shift);
    }

    /** Where {@link #unpack} of a row of {@code bytes} bytes writes code j. */
    public static int position(int j, int bytes) {
        if (bytes % WORD_BYTES != 0) {
            // Byte-wise: low nibbles (even codes) first, then high nibbles.
            return (j % 2) * bytes + j / 2;
        }
        // Word-wise: a load of WORD_BYTES bytes holds codes base + 8L + i in nibble i of int lane L;
        // shifting by 4i gives one vector per i, so code base + 8L + i goes to base + i * lanes + L.
        int lanes = I.length();
        int base = j / (2 * WORD_BYTES) * (2 * WORD_BYTES);
        int inWord = j - base;
        return base + (inWord % 8) * lanes + inWord / 8;
    }

    /**
     * The factor {@link #permute} multiplies the query value of code j by: 1 for byte-wise rows; for
     * word-wise rows 16^-i for a code in nibble i = 1..6 of its int lane, 1 in nibbles 0 and 7. Why:
     * {@link #dots} converts nibble i of a word as masked in place (code * 16^i, one operation fewer than
     * shifting it down) and the top one shifted down (its mask would keep the sign bit); powers of two
     * keep every product, hence every sum, what it was.
     */
    public static float queryFactor(int j, int bytes) {
        return bytes % WORD_BYTES != 0 ? 1f : inPlaceFactor(j % (2 * WORD_BYTES) % 8);
    }

    /** 1 / 16^i for nibble i = 1..6 of an int lane, 1 for 0 and 7: see {@link #queryFactor}. */
    private static float inPlaceFactor(int i) {
        return i == 7 ? 1f : Math.scalb(1f, -4 * i);
    }

    /** Lane L's offset in a load of every eighth float: {@link #permute}'s gather of one nibble position. */
    private static final int[] EVERY_EIGHTH = IntStream.range(0, F.length()).map(l -> 8 * l).toArray();

    /**
     * Writes {@code x[xOff + j] * queryFactor(j, bytes)} to {@code dst[dstOff + position(j, bytes)]} for
     * every code j of a row of {@code bytes} bytes: a query row put in the order and scale {@link #dots}
     * meets the codes in. Word-wise rows take one gather per vector of the result (code base + 8L + i to
     * lane L of vector i), not a scalar store per code: Quest permutes every query head of a sequence once
     * per page range.
     */
    public static void permute(float[] x, int xOff, float[] dst, int dstOff, int bytes) {
        int codes = 2 * bytes;
        if (bytes % WORD_BYTES != 0 || F.length() != I.length()) {
            for (int j = 0; j < codes; j++) {
                dst[dstOff + position(j, bytes)] = x[xOff + j] * queryFactor(j, bytes);
            }
            return;
        }
        int lanes = I.length();
        for (int base = 0; base < codes; base += 2 * WORD_BYTES) {
            for (int i = 0; i < 8; i++) {
                FloatVector.fromArray(F, x, xOff + base + i, EVERY_EIGHTH, 0).mul(inPlaceFactor(i))
                        .intoArray(dst, dstOff + base + i * lanes);
            }
        }
    }

    /**
     * Dot products of code rows with query rows: {@code s[sOff + g * sStride + r]} = sum_j code_j(row r) *
     * {@code q[qOff + g * 2 * bytes + position(j, bytes)] / queryFactor(j, bytes)} (the query as
     * {@link #permute} writes it) for heads g < {@code heads} and rows r < {@code n},
     * row r being the {@code bytes} bytes at offset {@code rows[rowsOff + r]} of {@code seg}. Rows of whole
     * words are dotted in place, two rows by up to four heads at a time: each nibble vector is converted in
     * registers and meets the query vectors there, with no float row written and read back (1.4x faster
     * than unpacking). Other rows are unpacked to {@code scratch} (2 * bytes floats) first. Sums are exact
     * while they stay integers below 2^24.
     */
    public static void dots(MemorySegment seg, long[] rows, int rowsOff, int n, int bytes, float[] q, int qOff,
                            int heads, float[] s, int sOff, int sStride, float[] scratch) {
        int row = 2 * bytes;
        if (bytes % WORD_BYTES != 0) {
            for (int r = 0; r < n; r++) {
                unpack(seg, rows[rowsOff + r], scratch, 0, bytes);
                for (int g = 0; g < heads; g++) {
                    s[sOff + g * sStride + r] = dot(q, qOff + g * row, scratch, row);
                }
            }
            return;
        }
        int g = 0;
        int pairs = n & ~1;
        for (; g + 4 <= heads; g += 4) {
            dots4(seg, rows, rowsOff, pairs, bytes, q, qOff + g * row, row, s, sOff + g * sStride, sStride);
        }
        // Heads past the last four, and the odd row's four-head groups, one (head, row) at a time.
        for (int h = 0; h < heads; h++) {
            for (int r = h < g ? pairs : 0; r < n; r++) {
                s[sOff + h * sStride + r] = dot1(seg, rows[rowsOff + r], bytes, q, qOff + h * row);
            }
        }
    }

    /**
     * Four heads (query rows {@code row} floats apart) by rows {@code rows[rowsOff..rowsOff+pairs)}, two at a
     * time: writes row r's sums to {@code s[out + h * stride + r]}. The loop over pairs lives here, not in
     * the caller: a call per pair cost 30% (its arguments, and the nibble masks set up again each time).
     */
    private static void dots4(MemorySegment seg, long[] rows, int rowsOff, int pairs, int bytes, float[] q, int qOff,
                              int row, float[] s, int out, int stride) {
        int lanes = I.length();
        for (int r = 0; r < pairs; r += 2) {
            long a = rows[rowsOff + r];
            long b = rows[rowsOff + r + 1];
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector b0 = a0;
            FloatVector b1 = a0;
            FloatVector b2 = a0;
            FloatVector b3 = a0;
            for (int k = 0; k < bytes; k += WORD_BYTES) {
                IntVector wa = IntVector.fromMemorySegment(I, seg, a + k, ByteOrder.LITTLE_ENDIAN);
                IntVector wb = IntVector.fromMemorySegment(I, seg, b + k, ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < 8; i++) {
                    FloatVector x = nibblesInPlace(wa, i);
                    FloatVector y = nibblesInPlace(wb, i);
                    int c = qOff + 2 * k + i * lanes;
                    FloatVector q0 = FloatVector.fromArray(F, q, c);
                    a0 = x.fma(q0, a0);
                    b0 = y.fma(q0, b0);
                    FloatVector q1 = FloatVector.fromArray(F, q, c + row);
                    a1 = x.fma(q1, a1);
                    b1 = y.fma(q1, b1);
                    FloatVector q2 = FloatVector.fromArray(F, q, c + 2 * row);
                    a2 = x.fma(q2, a2);
                    b2 = y.fma(q2, b2);
                    FloatVector q3 = FloatVector.fromArray(F, q, c + 3 * row);
                    a3 = x.fma(q3, a3);
                    b3 = y.fma(q3, b3);
                }
            }
            store(s, out + r, stride, a0, a1, a2, a3);
            store(s, out + r + 1, stride, b0, b1, b2, b3);
        }
    }

    /** The lane sums of four heads' accumulators, {@code stride} floats apart from {@code out}. */
    private static void store(float[] s, int out, int stride, FloatVector h0, FloatVector h1, FloatVector h2,
                              FloatVector h3) {
        s[out] = h0.reduceLanes(VectorOperators.ADD);
        s[out + stride] = h1.reduceLanes(VectorOperators.ADD);
        s[out + 2 * stride] = h2.reduceLanes(VectorOperators.ADD);
        s[out + 3 * stride] = h3.reduceLanes(VectorOperators.ADD);
    }

    /** One head by one row of whole words. */
    private static float dot1(MemorySegment seg, long a, int bytes, float[] q, int qOff) {
        FloatVector acc = FloatVector.zero(F);
        int lanes = I.length();
        for (int k = 0; k < bytes; k += WORD_BYTES) {
            IntVector w = IntVector.fromMemorySegment(I, seg, a + k, ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 8; i++) {
                acc = nibblesInPlace(w, i).fma(FloatVector.fromArray(F, q, qOff + 2 * k + i * lanes), acc);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Nibble i of every int lane as floats, times 16^i for i = 1..6 ({@link #queryFactor}): code * 16^i
     * is exact in a float.
     */
    private static FloatVector nibblesInPlace(IntVector words, int i) {
        IntVector codes = i == 7 ? words.lanewise(VectorOperators.LSHR, 28) : words.and(15 << (4 * i));
        return (FloatVector) codes.convert(VectorOperators.I2F, 0);
    }

    /** Nibble i of every int lane, as floats. */
    private static FloatVector nibbles(IntVector words, int i) {
        return (FloatVector) words.lanewise(VectorOperators.LSHR, 4 * i).and(15).convert(VectorOperators.I2F, 0);
    }

    /** Plain dot product of n floats. */
    private static float dot(float[] a, int aOff, float[] b, int n) {
        float r = 0;
        for (int c = 0; c < n; c++) {
            r += a[aOff + c] * b[c];
        }
        return r;
    }

    /**
     * The {@code 2 * bytes} codes at byte offset {@code off} of {@code seg} as floats, code j at
     * {@code dst[dstOff + position(j, bytes)]}. Whole words: one int-vector load per WORD_BYTES bytes
     * and a shift, mask and convert per nibble, instead of widening bytes to ints.
     */
    public static void unpack(MemorySegment seg, long off, float[] dst, int dstOff, int bytes) {
        if (bytes % WORD_BYTES == 0) {
            int lanes = I.length();
            for (int k = 0; k < bytes; k += WORD_BYTES) {
                IntVector words = IntVector.fromMemorySegment(I, seg, off + k, ByteOrder.LITTLE_ENDIAN);
                int base = dstOff + 2 * k;
                for (int i = 0; i < 8; i++) {
                    nibbles(words, i).intoArray(dst, base + i * lanes);
                }
            }
            return;
        }
        // 128-bit float vectors (4 lanes) have no 32-bit byte vector: those rows go byte by byte.
        int bound = B == null ? 0 : B.loopBound(bytes);
        int c = 0;
        for (; c < bound; c += B.length()) {
            IntVector b = (IntVector) ByteVector.fromMemorySegment(B, seg, off + c, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2I, I, 0);
            ((FloatVector) b.and(15).convert(VectorOperators.I2F, 0)).intoArray(dst, dstOff + c);
            ((FloatVector) b.lanewise(VectorOperators.LSHR, 4).and(15).convert(VectorOperators.I2F, 0)).intoArray(dst, dstOff + bytes + c);
        }
        for (; c < bytes; c++) {
            int b = seg.get(ValueLayout.JAVA_BYTE, off + c) & 0xff;
            dst[dstOff + c] = b & 15;
            dst[dstOff + bytes + c] = b >>> 4;
        }
    }
}
