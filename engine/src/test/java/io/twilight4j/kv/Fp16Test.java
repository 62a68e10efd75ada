package io.twilight4j.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Fp16Test {

    /**
     * Copying halves as stored (a sparse set's row gather) gives the segment's halves, for lengths around the vector
     * widths, unaligned offsets, and leaves the array around the copied range alone.
     */
    @ParameterizedTest
    @CsvSource({"0, 128", "1, 128", "5, 1", "3, 31", "2, 33", "0, 0", "7, 257"})
    void copyTakesTheHalvesAsStored(int first, int n) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(2L * 1024 + 1);
            ValueLayout.OfShort half = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            for (int h = 0; h < 1024; h++) {
                seg.set(half, 1 + 2L * h, (short) (h * 40503 + 7));
            }
            short[] out = new short[n + 4];
            java.util.Arrays.fill(out, (short) -1);
            Fp16.copy(seg, 1 + 2L * first, out, 2, n);
            for (int i = 0; i < n; i++) {
                assertEquals((short) ((first + i) * 40503 + 7), out[2 + i], "half " + (first + i));
            }
            assertEquals(-1, out[0]);
            assertEquals(-1, out[1]);
            assertEquals(-1, out[n + 2]);
            assertEquals(-1, out[n + 3]);
        }
    }

    /**
     * Every half bit pattern (subnormals, infinities, NaN included) converts as the JDK's scalar conversion does, one
     * row at a time and two rows (a K and a V segment, different halves) in one call.
     */
    @ParameterizedTest
    @CsvSource({"0, 65536", "1, 65535", "7, 1000", "3, 13"})
    void rowConversionMatchesTheScalarConversion(int first, int n) {
        try (Arena arena = Arena.ofConfined()) {
            // An odd byte offset: rows are read unaligned.
            MemorySegment seg = arena.allocate(2L * 65536 + 1);
            MemorySegment other = arena.allocate(2L * 65536 + 1);
            ValueLayout.OfShort half = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            for (int h = 0; h < 65536; h++) {
                seg.set(half, 1 + 2L * h, (short) h);
                other.set(half, 1 + 2L * h, (short) (h ^ 0xa5a5));
            }
            float[] out = new float[n + 3];
            Fp16.toFloat(seg, 1 + 2L * first, out, 3, n);
            float[] firsts = new float[n + 3];
            float[] seconds = new float[n + 3];
            Fp16.toFloat(seg, other, 1 + 2L * first, firsts, seconds, 3, n);
            for (int i = 0; i < n; i++) {
                float expected = Float.float16ToFloat((short) (first + i));
                assertEquals(expected, out[3 + i], "half 0x" + Integer.toHexString(first + i));
                assertEquals(expected, firsts[3 + i], "first row's half 0x" + Integer.toHexString(first + i));
                short second = (short) ((first + i) ^ 0xa5a5);
                assertEquals(Float.float16ToFloat(second), seconds[3 + i], "second row's half 0x" + Integer.toHexString(second & 0xffff));
            }
        }
    }

    /**
     * Every half bit pattern, as the first and as the second half of a pair, converts bit for bit as the JDK's
     * scalar conversion does (NaN to NaN), at odd offsets and with counts that leave a scalar tail.
     */
    @ParameterizedTest
    @CsvSource({"0, 65536", "1, 65535", "3, 13", "2, 7"})
    void pairConversionMatchesTheScalarConversion(int offset, int n) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(offset + 4L * n);
            ValueLayout.OfShort half = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                seg.set(half, offset + 4L * i, (short) i);
                seg.set(half, offset + 4L * i + 2, (short) (i * 40503 + 7));
            }
            float[] firsts = new float[n + 2];
            float[] seconds = new float[n + 5];
            Fp16.pairsToFloat(seg, offset, firsts, 2, seconds, 5, n);
            for (int i = 0; i < n; i++) {
                assertSameFloat(Float.float16ToFloat((short) i), firsts[2 + i], "first half 0x" + Integer.toHexString(i & 0xffff));
                short second = (short) (i * 40503 + 7);
                assertSameFloat(Float.float16ToFloat(second), seconds[5 + i], "second half 0x" + Integer.toHexString(second & 0xffff));
            }
        }
    }

    /** The same bits, or both NaN (payloads are not compared). */
    private static void assertSameFloat(float expected, float actual, String what) {
        if (Float.isNaN(expected)) {
            assertTrue(Float.isNaN(actual), what + ": NaN expected, got " + actual);
        } else {
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual), what);
        }
    }

    /** A pair read in one load splits into the same two halves as two separate reads, at odd offsets too. */
    @ParameterizedTest
    @CsvSource({"0", "1", "3"})
    void pairSplitsIntoTheTwoHalves(int offset) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(offset + 4L * 4096);
            java.util.SplittableRandom r = new java.util.SplittableRandom(offset);
            for (int i = 0; i < 4096; i++) {
                long at = offset + 4L * i;
                Fp16.put(seg, at, (float) (r.nextGaussian() * 100));
                Fp16.put(seg, at + 2, (float) (r.nextGaussian() * 1e-3));
                int pair = Fp16.getPair(seg, at);
                assertEquals(Fp16.get(seg, at), Fp16.first(pair), "first of pair " + i);
                assertEquals(Fp16.get(seg, at + 2), Fp16.second(pair), "second of pair " + i);
            }
        }
    }
}
