package io.twilight4j.select;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Top-k against a sort: the k largest, ascending indices, ties at the cut to the lower indices. */
class TopKTest {

    @ParameterizedTest
    @CsvSource({"1, 1000, 10, gauss", "2, 1000, 1, gauss", "3, 1000, 999, gauss", "4, 5000, 1234, few",
            "5, 777, 300, negative", "6, 4096, 2048, zeros", "7, 33, 33, gauss", "8, 33, 40, few", "9, 20000, 8191, huge",
            "10, 9000, 3000, few", "11, 8191, 2047, zeros", "12, 2047, 511, narrow", "13, 9000, 100, narrow",
            "14, 500, 37, same", "15, 2047, 511, pages", "16, 2047, 300, signedZeros"})
    void keepsTheLargestWithTiesToLowerIndices(long seed, int n, int k, String kind) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] s = new float[n];
        for (int i = 0; i < n; i++) {
            s[i] = switch (kind) {
                case "few" -> r.nextInt(7) * 0.5f - 1f;                       // many ties
                case "negative" -> (float) -Math.abs(r.nextGaussian()) * 1e-3f;
                case "zeros" -> r.nextBoolean() ? 0f : -0f;                  // +0 and -0 compare equal
                case "huge" -> (float) (r.nextGaussian() * 1e30);
                case "narrow" -> 1000f + (float) r.nextGaussian() * 1e-3f;   // keys share their top 20 bits
                case "same" -> 1.5f;
                case "signedZeros" -> new float[] {0f, -0f, -1f, -2.5f}[r.nextInt(4)]; // the largest are +-0
                case "pages" -> 50f + (float) r.nextGaussian() * 10f;        // Quest's page bounds, roughly
                default -> (float) r.nextGaussian();
            };
        }
        float[] before = s.clone();
        int[] out = new int[n];
        int c = TopK.largest(s, n, k, out);
        assertArrayEquals(before, s, "scores must be left as they were");
        // Reference: sort by descending score in float order (+0 == -0, unlike Double.compare), ties by
        // ascending index; take k.
        Comparator<Integer> byScore = (i, j) -> s[i] > s[j] ? -1 : (s[i] < s[j] ? 1 : 0);
        int[] ref = IntStream.range(0, n).boxed()
                .sorted(byScore.thenComparingInt(i -> i))
                .limit(Math.min(k, n)).mapToInt(Integer::intValue).sorted().toArray();
        assertEquals(ref.length, c, "count");
        assertArrayEquals(ref, Arrays.copyOf(out, c), "kept indices");
    }
}
