package io.twilight4j.select;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KvLayout;
import io.twilight4j.kv.KvShape;
import io.twilight4j.kv.Nibbles;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Quest's page scores against scores computed here from the stored bound rows with the scorer's float
 * operations: blocks of whole page groups come from the bound columns, other blocks (short ranges, pages of
 * two sequences interleaved) from the rows; both must give the same bits.
 */
class QuestSelectorTest {

    @ParameterizedTest
    @CsvSource({"128, 4, 2, false, 1", "64, 1, 3, false, 2", "32, 6, 1, false, 3", "128, 4, 2, true, 4", "24, 3, 2, false, 5"})
    void pageScoresAreTheBoundsOfTheStoredCodes(int dim, int group, int kvHeads, boolean interleaved, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int pageTokens = 16;
        int pages = 77;
        int length = pages * pageTokens - 5;
        KvShape shape = new KvShape(1, kvHeads, dim, pageTokens, 2 * pages + 4, 0);
        int heads = kvHeads * group;
        float[] queryCodes = new float[heads * dim];
        float[] queryScales = new float[heads];
        for (int i = 0; i < queryCodes.length; i++) {
            queryCodes[i] = r.nextInt(255) - 127;
        }
        for (int i = 0; i < heads; i++) {
            queryScales[i] = (float) (0.01 + r.nextDouble());
        }
        try (HostKvCache cache = new HostKvCache(shape, null)) {
            int seq = cache.pager().newSequence();
            int other = cache.pager().newSequence();
            // Interleaved: the two sequences take pages in turns, so no group of pages is one sequence's.
            for (int p = 0; p < pages; p++) {
                int n = Math.min(pageTokens, length - p * pageTokens);
                write(cache, seq, p * pageTokens, n, r);
                if (interleaved) {
                    write(cache, other, p * pageTokens, pageTokens, r);
                }
            }
            int[] pageTable = new int[pages];
            cache.pager().copyPageTable(seq, pageTable, 0);
            QuestSelector quest = new QuestSelector(8 * pageTokens);
            int scored = quest.scoredPages(length, pageTokens);
            float[] prepared = new float[quest.preparedFloats(heads, dim)];
            Workspace ws = new Workspace(dim, group, kvHeads, length);
            quest.prepareQueries(queryCodes, 0, heads, dim, ws.codeRow, prepared);
            float[] shared = new float[quest.sharedFloats(length, kvHeads, group, pageTokens)];
            // Two ranges, the first a multiple of the block, the second not.
            quest.scorePages(cache, 0, pageTable, length, 0, 64, prepared, queryScales, 0, group, ws, shared);
            quest.scorePages(cache, 0, pageTable, length, 64, scored, prepared, queryScales, 0, group, ws, shared);
            for (int h = 0; h < kvHeads; h++) {
                for (int g = 0; g < group; g++) {
                    for (int p = 0; p < scored; p++) {
                        assertEquals(reference(cache, pageTable[p], h, g, queryCodes, queryScales, group),
                                shared[(h * group + g) * scored + p], 0,
                                (interleaved ? "interleaved" : "in order") + ", KV head " + h + ", head " + g + ", page " + p);
                    }
                }
            }
        }
    }

    /**
     * The GQA ranking: page p scores the largest over the heads of (bound - that head's best bound), computed here
     * in double from the float bounds and rounded to float (a double holds 53 >= 2 x 24 + 2 bits, so that is the float
     * subtraction), for lengths around the vector width and heads whose bounds differ in scale by 100x.
     */
    @ParameterizedTest
    @CsvSource({"1, 1, 1", "4, 7, 2", "4, 16, 3", "4, 33, 4", "8, 300, 5", "3, 129, 6"})
    void relativeBestIsEachHeadsBoundAgainstItsBest(int heads, int scored, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int off = 5;
        float[] bounds = new float[off + heads * scored + 3];
        for (int g = 0; g < heads; g++) {
            double spread = Math.pow(10, r.nextInt(3));
            for (int p = 0; p < scored; p++) {
                bounds[off + g * scored + p] = (float) (spread * r.nextGaussian());
            }
        }
        float[] out = new float[scored + 2];
        out[scored] = 42f;
        QuestSelector.relativeBest(bounds, off, heads, scored, out);
        for (int p = 0; p < scored; p++) {
            double want = Double.NEGATIVE_INFINITY;
            for (int g = 0; g < heads; g++) {
                double best = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < scored; i++) {
                    best = Math.max(best, bounds[off + g * scored + i]);
                }
                want = Math.max(want, (float) (bounds[off + g * scored + p] - best));
            }
            assertEquals(want, out[p], 0, "page " + p);
        }
        assertEquals(42f, out[scored], "wrote past the scored pages");
    }

    private static void write(HostKvCache cache, int seq, int pos, int n, SplittableRandom r) {
        KvShape s = cache.shape();
        cache.pager().append(seq, n);
        float[] k = new float[n * s.kvHeads() * s.headDim()];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) (r.nextGaussian() * 2);
        }
        cache.write(0, seq, pos, k, k, n);
    }

    /** qs * (min * sum(c) + scale * ([c- | c+] . [u_min | u_max])) of head g of KV head h's group, from the bound rows. */
    private static float reference(HostKvCache cache, int page, int h, int g, float[] q, float[] qs, int group) {
        KvLayout layout = cache.layout();
        int dim = layout.shape().headDim();
        HostKvCache.Layer ly = cache.layer(0);
        byte[] row = new byte[dim];
        MemorySegment.copy(ly.boundCodes(), ValueLayout.JAVA_BYTE, layout.boundCodeOffset(page, h), row, 0, dim);
        long param = 2 * layout.boundParamOffset(page, h);
        float scale = Fp16.get(ly.boundParams(), param);
        float min = Fp16.get(ly.boundParams(), param + 2);
        int off = (h * group + g) * dim;
        long dot = 0;
        float sum = 0;
        for (int c = 0; c < dim; c++) {
            float x = q[off + c];
            dot += (long) Math.min(x, 0f) * Nibbles.get(row, 0, c) + (long) Math.max(x, 0f) * Nibbles.get(row, 0, dim + c);
            sum += x;
        }
        return qs[h * group + g] * (min * sum + scale * (float) dot);
    }
}
