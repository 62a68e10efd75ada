package io.twilight4j.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Packed 4-bit rows: put/get against a plain code array, unpack against get at every position. */
class NibblesTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 7, 16, 32, 64, 100, 128, 256})
    void unpackWritesEveryCodeWherePositionSays(int bytes) {
        SplittableRandom r = new SplittableRandom(bytes);
        int[] want = new int[2 * bytes];
        byte[] packed = new byte[bytes];
        for (int j = 0; j < want.length; j++) {
            want[j] = r.nextInt(16);
            Nibbles.put(packed, 0, j, want[j]);
        }
        // put leaves the other nibble: overwrite every code once more in reverse order.
        for (int j = want.length - 1; j >= 0; j--) {
            want[j] = r.nextInt(16);
            Nibbles.put(packed, 0, j, want[j]);
        }
        Set<Integer> positions = new HashSet<>();
        for (int j = 0; j < want.length; j++) {
            assertEquals(want[j], Nibbles.get(packed, 0, j), "code " + j);
            positions.add(Nibbles.position(j, bytes));
        }
        assertEquals(want.length, positions.size(), "position is a permutation");
        try (Arena arena = Arena.ofConfined()) {
            // An odd offset: the unpack may not assume aligned rows.
            MemorySegment seg = arena.allocate(bytes + 5);
            MemorySegment.copy(packed, 0, seg, ValueLayout.JAVA_BYTE, 5, bytes);
            float[] dst = new float[2 * bytes + 3];
            Nibbles.unpack(seg, 5, dst, 3, bytes);
            for (int j = 0; j < want.length; j++) {
                assertEquals(want[j], dst[3 + Nibbles.position(j, bytes)], "code " + j + " of " + bytes + " bytes");
            }
        }
    }

    /** permute puts value j where position(j) says, for word-wise rows (gathers) and the others alike. */
    @ParameterizedTest
    @ValueSource(ints = {1, 3, 16, 32, 64, 100, 128, 256})
    void permuteWritesEveryValueWherePositionSays(int bytes) {
        SplittableRandom r = new SplittableRandom(7L * bytes);
        int codes = 2 * bytes;
        float[] x = new float[5 + codes];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextInt(255) - 127;
        }
        float[] dst = new float[3 + codes];
        Arrays.fill(dst, Float.NaN);
        Nibbles.permute(x, 5, dst, 3, bytes);
        for (int j = 0; j < codes; j++) {
            float factor = Nibbles.queryFactor(j, bytes);
            assertEquals(Math.scalb(1f, Math.getExponent(factor)), factor, "a power of two, for code " + j);
            assertEquals(x[5 + j] * factor, dst[3 + Nibbles.position(j, bytes)], "code " + j + " of " + bytes + " bytes");
        }
        assertEquals(Float.NaN, dst[0], "nothing written before dstOff");
    }

    /**
     * dots against a float64 sum over get(): rows at scattered odd offsets, every head count around the
     * four-head tile (1..9) and row counts with and without an odd row, for rows dotted in place and
     * rows that take the unpacking path.
     */
    @ParameterizedTest
    @ValueSource(ints = {3, 16, 32, 64, 100, 128, 256})
    void dotsEqualTheSumOverEveryCode(int bytes) {
        SplittableRandom r = new SplittableRandom(31L * bytes);
        int rowsTotal = 19;
        byte[] packed = new byte[rowsTotal * bytes];
        r.nextBytes(packed);
        int row = 2 * bytes;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(packed.length + 7L * rowsTotal);
            long[] offsets = new long[rowsTotal];
            for (int i = 0; i < rowsTotal; i++) {
                // Rows out of order, 7 bytes apart plus one row each.
                int src = (i * 7) % rowsTotal;
                offsets[i] = 3 + (long) src * (bytes + 7);
                MemorySegment.copy(packed, i * bytes, seg, ValueLayout.JAVA_BYTE, offsets[i], bytes);
            }
            for (int heads = 1; heads <= 9; heads++) {
                // Integer query codes as the scorers pass them (|c| <= 127), permuted: every sum is exact.
                float[] natural = new float[heads * row];
                for (int i = 0; i < natural.length; i++) {
                    natural[i] = r.nextInt(255) - 127;
                }
                float[] q = new float[2 + heads * row];
                for (int g = 0; g < heads; g++) {
                    Nibbles.permute(natural, g * row, q, 2 + g * row, bytes);
                }
                for (int n : new int[] {1, 2, 5, 16, rowsTotal}) {
                    int stride = n + 3;
                    float[] s = new float[1 + heads * stride];
                    Arrays.fill(s, Float.NaN);
                    Nibbles.dots(seg, offsets, 0, n, bytes, q, 2, heads, s, 1, stride, new float[row]);
                    for (int g = 0; g < heads; g++) {
                        for (int i = 0; i < n; i++) {
                            double want = 0;
                            for (int j = 0; j < row; j++) {
                                want += (double) Nibbles.get(packed, i * bytes, j) * natural[g * row + j];
                            }
                            assertEquals(want, s[1 + g * stride + i], 0.0,
                                    "head " + g + " of " + heads + ", row " + i + " of " + n + ", " + bytes + " bytes");
                        }
                        for (int i = n; i < stride && g * stride + i + 1 < s.length; i++) {
                            assertEquals(Float.NaN, s[1 + g * stride + i], "wrote past row " + n + " of head " + g);
                        }
                    }
                }
            }
        }
    }
}
