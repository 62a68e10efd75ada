package io.twilight4j.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.kv.Nibbles;
import io.twilight4j.kv.PageBounds;
import java.util.Arrays;

/**
 * Float64 Quest reference: exact page bounds from the keys (divided by 2^e where the cache smooths its 4-bit
 * copies), widened to the 4-bit box the cache stores ({@link PageBounds}, tested on its own), scored for the 8-bit
 * query ({@link Int8QueryReference}, of q * 2^e); a page ranks by the largest of its heads' bounds relative to each
 * head's best page; best pages + the last.
 */
final class QuestReference {

    private QuestReference() {
    }

    /** Query head g's (of KV head kvHead's group) bound over page {@code page}; {@code smoothing} may be null. */
    static double bound(Workload w, int layer, int b, int kvHead, int g, float[] q, int page, KeySmoothing smoothing) {
        int dim = w.shape.headDim();
        int group = w.queryHeads / w.shape.kvHeads();
        int[] e = smoothing == null ? new int[dim] : smoothing.exponentsOf(layer, kvHead);
        int first = page * 16;
        int end = Math.min(w.lengths[b], first + 16);
        float[] mn = new float[dim];
        float[] mx = new float[dim];
        for (int c = 0; c < dim; c++) {
            mn[c] = Float.POSITIVE_INFINITY;
            mx[c] = Float.NEGATIVE_INFINITY;
            for (int t = first; t < end; t++) {
                mn[c] = (float) Math.min(mn[c], w.keys[layer][b][kvHead][t][c] * Math.pow(2, -e[c]));
                mx[c] = (float) Math.max(mx[c], w.keys[layer][b][kvHead][t][c] * Math.pow(2, -e[c]));
            }
        }
        byte[] codes = new byte[PageBounds.codeBytes(dim)];
        int range = PageBounds.encode(mn, 0, mx, 0, dim, codes, 0);
        // Quest scores pages for the 8-bit query (of q * 2^e), so the bound holds for that query's scores.
        float[] row = new float[dim];
        for (int c = 0; c < dim; c++) {
            row[c] = (float) (q[(b * w.queryHeads + kvHead * group + g) * dim + c] * Math.pow(2, e[c]));
        }
        double[] qq = Int8QueryReference.dequantized(row, 0, dim);
        double s = 0;
        double exactMax = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < dim; c++) {
            double lo = PageBounds.decode(Nibbles.get(codes, 0, c), PageBounds.scale(range), PageBounds.min(range));
            double hi = PageBounds.decode(Nibbles.get(codes, 0, dim + c), PageBounds.scale(range), PageBounds.min(range));
            s += Math.max(qq[c] * lo, qq[c] * hi);
        }
        for (int t = first; t < end; t++) {
            double dot = 0;
            for (int c = 0; c < dim; c++) {
                dot += qq[c] * w.keys[layer][b][kvHead][t][c] * Math.pow(2, -e[c]);
            }
            exactMax = Math.max(exactMax, dot);
        }
        // The property Quest rests on: the bound is never below a true score in the page.
        assertTrue(s >= exactMax - 1e-9 * Math.abs(exactMax), "quest bound " + s + " below true score " + exactMax);
        return s;
    }

    /** The ranking scores of pages [0, pages): max over the group's heads of bound - that head's best bound. */
    static double[] relativeScores(Workload w, int layer, int b, int kvHead, float[] q, int pages, KeySmoothing smoothing) {
        int group = w.queryHeads / w.shape.kvHeads();
        double[] scores = new double[pages];
        java.util.Arrays.fill(scores, Double.NEGATIVE_INFINITY);
        for (int g = 0; g < group; g++) {
            double[] head = new double[pages];
            double best = Double.NEGATIVE_INFINITY;
            for (int p = 0; p < pages; p++) {
                head[p] = bound(w, layer, b, kvHead, g, q, p, smoothing);
                best = Math.max(best, head[p]);
            }
            for (int p = 0; p < pages; p++) {
                scores[p] = Math.max(scores[p], head[p] - best);
            }
        }
        return scores;
    }

    /** Asserts the kept set is whole pages: the last page plus the best others, up to ties at the cut. */
    static void assertBestPages(Workload w, int layer, int b, int kvHead, float[] q, int budget, int[] set, int n, String what) {
        assertBestPages(w, layer, b, kvHead, q, budget, set, n, null, what);
    }

    /** As above on a cache with {@code smoothing} (may be null). */
    static void assertBestPages(Workload w, int layer, int b, int kvHead, float[] q, int budget, int[] set, int n,
                                KeySmoothing smoothing, String what) {
        int len = w.lengths[b];
        int pages = (len + 15) / 16;
        int take = Math.max(1, budget / 16);
        boolean[] chosen = new boolean[pages];
        for (int i = 0; i < n; i++) {
            chosen[set[i] / 16] = true;
        }
        int tokens = 0;
        for (int p = 0; p < pages; p++) {
            if (chosen[p]) {
                tokens += Math.min(len, p * 16 + 16) - p * 16;
            }
        }
        assertTrue(tokens == n, what + ": kept tokens are not whole pages");
        assertTrue(chosen[pages - 1], what + ": the last page must always be taken");
        if (pages <= take) {
            assertTrue(n == len, what + ": a short sequence keeps every token");
            return;
        }
        double[] scores = relativeScores(w, layer, b, kvHead, q, pages - 1, smoothing);
        double[] sorted = scores.clone();
        Arrays.sort(sorted);
        double cut = sorted[sorted.length - (take - 1)];
        int count = 0;
        for (int p = 0; p < pages - 1; p++) {
            count += chosen[p] ? 1 : 0;
            double tol = 1e-3 * Math.abs(cut) + 1e-3;
            if (chosen[p] && scores[p] < cut - tol || !chosen[p] && scores[p] > cut + tol) {
                throw new AssertionError(what + ": page " + p + " with bound " + scores[p] + (chosen[p] ? " taken" : " left")
                        + " but the cut is " + cut);
            }
        }
        assertTrue(count == take - 1, what + ": took " + count + " pages besides the last, expected " + (take - 1));
    }
}
