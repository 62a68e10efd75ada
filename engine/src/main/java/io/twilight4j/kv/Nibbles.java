package io.twilight4j.kv;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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
 * two float rows is then the dot product in code order.
 */
public final class Nibbles {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8));

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
                    ((FloatVector) words.lanewise(VectorOperators.LSHR, 4 * i).and(15).convert(VectorOperators.I2F, 0))
                            .intoArray(dst, base + i * lanes);
                }
            }
            return;
        }
        int bound = B.loopBound(bytes);
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
