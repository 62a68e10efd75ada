package io.twilight4j.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Page-column codes: put/get against a plain code array, and every dot-product kernel against sums of the
 * codes in longs (the kernels' sums are integers below 2^24, so they must match exactly). Runs again with
 * 128-bit vectors (the narrow-vectors execution), where a run is eight tokens instead of sixteen.
 */
class PageColumnsTest {

    /** A block of random codes, put one by one (put keeps the other nibble of each byte). */
    private record Block(MemorySegment seg, long at, int[][] codes) {
        static Block random(Arena arena, SplittableRandom r, int pageTokens, int dim) {
            // An odd start: the kernels may not assume aligned blocks.
            long at = 3;
            MemorySegment seg = arena.allocate(at + PageColumns.blockBytes(pageTokens, dim) + 64);
            int[][] codes = new int[pageTokens][dim];
            for (int pass = 0; pass < 2; pass++) {
                for (int t = 0; t < pageTokens; t++) {
                    for (int c = 0; c < dim; c++) {
                        codes[t][c] = r.nextInt(16);
                        PageColumns.put(seg, at, pageTokens, dim, t, c, codes[t][c]);
                    }
                }
            }
            return new Block(seg, at, codes);
        }

        long dot(float[] q, int qOff, int token) {
            long sum = 0;
            for (int c = 0; c < codes[0].length; c++) {
                sum += (long) q[qOff + c] * codes[token][c];
            }
            return sum;
        }
    }

    private static float[] queries(SplittableRandom r, int heads, int dim) {
        float[] q = new float[5 + heads * dim];
        for (int i = 0; i < q.length; i++) {
            q[i] = r.nextInt(2 * Int8Query.MAX_CODE + 1) - Int8Query.MAX_CODE;
        }
        return q;
    }

    /** Each head's row sum (the page kernels take them), after one unused entry. */
    private static float[] sums(float[] q, int qOff, int heads, int dim) {
        float[] sums = new float[1 + heads];
        for (int g = 0; g < heads; g++) {
            long sum = 0;
            for (int c = 0; c < dim; c++) {
                sum += (long) q[qOff + g * dim + c];
            }
            sums[1 + g] = sum;
        }
        return sums;
    }

    /** Every page-kernel run of block b against the long sums, five heads (four at a time, then one) at q[5..]. */
    private static void checkPageKernels(Block b, float[] q, int pageTokens, int dim) {
        float[] qSums = sums(q, 5, 5, dim);
        int stride = PageColumns.RUN + 3;
        for (int first = 0; first < pageTokens; first += PageColumns.RUN) {
            float[] s = new float[5 * stride + PageColumns.RUN];
            PageColumns.pageDots(b.seg, b.at + PageColumns.runOffset(dim, first), dim, q, 5, 5, qSums, 1, s, 2, stride);
            for (int i = 0; i < PageColumns.RUN; i++) {
                for (int g = 0; g < 5; g++) {
                    assertEquals(b.dot(q, 5 + g * dim, first + i), s[2 + g * stride + i], 0,
                            "head " + g + ", token " + (first + i) + " of a page of " + pageTokens);
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 8", "2, 24", "5, 16", "12, 128", "16, 128", "32, 64"})
    void putAndGetKeepEveryCode(int pageTokens, int dim) {
        SplittableRandom r = new SplittableRandom(pageTokens * 31L + dim);
        try (Arena arena = Arena.ofConfined()) {
            Block b = Block.random(arena, r, pageTokens, dim);
            for (int t = 0; t < pageTokens; t++) {
                for (int c = 0; c < dim; c++) {
                    assertEquals(b.codes[t][c], PageColumns.get(b.seg, b.at, pageTokens, dim, t, c), "token " + t + " channel " + c);
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"16, 128, 1", "16, 24, 2", "32, 64, 3", "64, 128, 4", "16, 8, 5", "48, 40, 6"})
    void pageKernelsGiveEveryTokensExactDotProduct(int pageTokens, int dim, long seed) {
        assumeTrue(PageColumns.scoresPages(pageTokens), "pages of " + pageTokens + " are not scored by runs here");
        SplittableRandom r = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            checkPageKernels(Block.random(arena, r, pageTokens, dim), queries(r, 5, dim), pageTokens, dim);
        }
    }

    /**
     * The largest sums the kernels meet (Quest's bound rows: 2 * 128 channels; codes 15 or 0, queries +-127):
     * the sign nibble's lane starts from 8 * sum(q) and must stay exact there too.
     */
    @ParameterizedTest
    @CsvSource({"16, 256, 15, 127", "16, 256, 15, -127", "16, 256, 0, 127", "32, 256, 8, -127", "16, 256, 7, 127"})
    void pageKernelsStayExactAtTheLargestSums(int pageTokens, int dim, int code, int query) {
        assumeTrue(PageColumns.scoresPages(pageTokens), "pages of " + pageTokens + " are not scored by runs here");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(3 + PageColumns.blockBytes(pageTokens, dim) + 64);
            int[][] codes = new int[pageTokens][dim];
            for (int t = 0; t < pageTokens; t++) {
                for (int c = 0; c < dim; c++) {
                    codes[t][c] = code;
                    PageColumns.put(seg, 3, pageTokens, dim, t, c, code);
                }
            }
            float[] q = new float[5 + 5 * dim];
            Arrays.fill(q, 5, q.length, query);
            checkPageKernels(new Block(seg, 3, codes), q, pageTokens, dim);
        }
    }

    @ParameterizedTest
    @CsvSource({"16, 128, 4, 1", "16, 24, 5, 2", "8, 64, 3, 3", "16, 12, 1, 4", "5, 24, 2, 5", "12, 16, 3, 6", "32, 32, 2, 7",
            "24, 16, 3, 8", "20, 24, 2, 9"})
    void singleTokenKernelsGiveTheExactDotProduct(int pageTokens, int dim, int heads, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            Block b = Block.random(arena, r, pageTokens, dim);
            float[] q = queries(r, heads, dim);
            int words = PageColumns.tokenWords(pageTokens);
            float[] prepared = new float[Math.max(1, PageColumns.tokenQueryFloats(heads, dim, words))];
            if (words > 0) {
                PageColumns.prepareTokenQueries(q, 5, heads, dim, words, prepared);
            }
            for (int t = 0; t < pageTokens; t++) {
                float[] s = new float[1 + 2 * heads];
                float[] scalar = new float[1 + 2 * heads];
                if (words > 0) {
                    PageColumns.tokenDots(b.seg, b.at, pageTokens, t, words, dim, prepared, heads, s, 1, 2);
                }
                PageColumns.tokenDotsScalar(b.seg, b.at, pageTokens, t, dim, q, 5, heads, scalar, 1, 2);
                for (int g = 0; g < heads; g++) {
                    long want = b.dot(q, 5 + g * dim, t);
                    if (words > 0) {
                        assertEquals(want, s[1 + 2 * g], 0, "vector kernel, head " + g + ", token " + t);
                    }
                    assertEquals(want, scalar[1 + 2 * g], 0, "scalar kernel, head " + g + ", token " + t);
                }
            }
        }
    }
}
