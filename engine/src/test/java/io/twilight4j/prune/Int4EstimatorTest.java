package io.twilight4j.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KvLayout;
import io.twilight4j.kv.KvShape;
import io.twilight4j.kv.LabelChannels;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The 4-bit estimate over every kind of candidate set (whole pages, scattered tokens, a partly filled last page,
 * a mix) on caches with and without Double Sparsity's labels (which add token rows: scattered candidates read
 * those), against scores computed here from the stored codes and params with the estimator's float operations:
 * every path must give the same bits.
 */
class Int4EstimatorTest {

    @ParameterizedTest
    @CsvSource({"16, 128, 4, 1", "16, 64, 1, 2", "16, 24, 6, 3", "8, 64, 2, 4", "5, 32, 4, 5", "32, 64, 4, 6", "12, 16, 3, 7",
            "48, 32, 4, 8"})
    void everyPathGivesTheScoresOfTheStoredCodes(int pageTokens, int dim, int heads, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int kvHeads = 2;
        int length = 7 * pageTokens + pageTokens / 2 + 1;
        int pages = (length + pageTokens - 1) / pageTokens + 3;
        float[] k = new float[length * kvHeads * dim];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) (r.nextGaussian() * 2);
        }
        float[] queryCodes = new float[kvHeads * heads * dim];
        float[] queryScales = new float[kvHeads * heads];
        for (int i = 0; i < queryCodes.length; i++) {
            queryCodes[i] = r.nextInt(255) - 127;
        }
        for (int i = 0; i < queryScales.length; i++) {
            queryScales[i] = (float) (0.01 + r.nextDouble());
        }
        int[][][] labelChannels = new int[1][kvHeads][];
        for (int h = 0; h < kvHeads; h++) {
            labelChannels[0][h] = IntStream.range(0, 4).map(j -> 2 * j).toArray();
        }
        for (boolean labels : new boolean[] {false, true}) {
            KvShape shape = new KvShape(1, kvHeads, dim, pageTokens, pages, labels ? 4 : 0);
            try (HostKvCache cache = new HostKvCache(shape, labels ? new LabelChannels(dim, labelChannels) : null)) {
                int seq = cache.pager().newSequence();
                // A page of another sequence first: this one's pages do not start at page 0.
                int other = cache.pager().newSequence();
                cache.pager().append(other, 1);
                cache.pager().append(seq, length);
                cache.write(0, seq, 0, k, k, length);
                int[] pageTable = new int[pages];
                cache.pager().copyPageTable(seq, pageTable, 0);
                for (int[] candidates : candidateSets(r, length, pageTokens)) {
                    for (int kvHead = 0; kvHead < kvHeads; kvHead++) {
                        Workspace ws = new Workspace(dim, heads, length);
                        float[] scores = new float[3 + heads * candidates.length];
                        float scale = shape.scoreScale();
                        Int4Estimator.estimate(cache, 0, pageTable, kvHead, candidates, candidates.length, queryCodes,
                                queryScales, kvHead * heads, heads, scale, ws, scores, 3);
                        for (int g = 0; g < heads; g++) {
                            for (int i = 0; i < candidates.length; i++) {
                                float want = reference(cache, pageTable, kvHead, candidates[i], queryCodes,
                                        (kvHead * heads + g) * dim, queryScales[kvHead * heads + g], scale);
                                assertEquals(want, scores[3 + g * candidates.length + i], 0,
                                        (labels ? "with" : "without") + " labels, " + candidates.length + " candidates, KV head "
                                                + kvHead + ", head " + g + ", token " + candidates[i]);
                            }
                        }
                    }
                }
            }
        }
    }

    /** All tokens; whole pages with the last one; single scattered tokens; pages and single tokens mixed. */
    private static List<int[]> candidateSets(SplittableRandom r, int length, int pageTokens) {
        List<int[]> sets = new ArrayList<>();
        sets.add(IntStream.range(0, length).toArray());
        int lastPage = (length - 1) / pageTokens;
        sets.add(IntStream.range(0, length).filter(t -> t / pageTokens % 3 != 1 || t / pageTokens == lastPage).toArray());
        sets.add(IntStream.range(0, length).filter(t -> r.nextInt(4) == 0).toArray());
        sets.add(IntStream.range(0, length).filter(t -> t / pageTokens % 2 == 0 || t % 5 == 0).toArray());
        return sets;
    }

    /** (scale * (c . code) + min * sum(c)) * qs * scoreScale from the stored codes, in the estimator's float order. */
    private static float reference(HostKvCache cache, int[] pageTable, int kvHead, int pos, float[] q, int qOff,
                                   float queryScale, float scoreScale) {
        KvLayout layout = cache.layout();
        int dim = layout.shape().headDim();
        int page = pageTable[pos / layout.shape().pageTokens()];
        int slot = pos % layout.shape().pageTokens();
        HostKvCache.Layer ly = cache.layer(0);
        long dot = 0;
        float qSum = 0;
        for (int c = 0; c < dim; c++) {
            dot += (long) q[qOff + c] * layout.code(ly.codes(), page, kvHead, slot, c);
            qSum += q[qOff + c];
        }
        long param = 2 * layout.paramOffset(page, kvHead, slot);
        float scale = Fp16.get(ly.codeParams(), param);
        float min = Fp16.get(ly.codeParams(), param + 2);
        return (scale * (float) dot + min * qSum) * queryScale * scoreScale;
    }
}
