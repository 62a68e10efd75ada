package io.twilight4j.select;

import io.twilight4j.attention.DecodeKernel;
import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KvLayout;

/**
 * Quest: ranks pages by sum_c max(q_c * min_c, q_c * max_c), an upper bound of q.k over the page
 * (TWILIGHT.md section 3), and takes the best pages up to B0 tokens. The last, partly filled page is
 * always taken and counts toward the budget.
 */
public final class QuestSelector implements Selector {

    private final int budgetTokens;

    /** A Quest selector with budget {@code budgetTokens} (B0). */
    public QuestSelector(int budgetTokens) {
        this.budgetTokens = budgetTokens;
    }

    @Override
    public int select(HostKvCache cache, int layer, int[] pageTable, int length, int kvHead,
                      float[] q, int qOff, int heads, Workspace ws, int[] out) {
        KvLayout layout = cache.layout();
        int pageTokens = layout.shape().pageTokens();
        int pages = (length + pageTokens - 1) / pageTokens;
        int take = Math.max(1, budgetTokens / pageTokens);
        if (pages <= take) {
            for (int i = 0; i < length; i++) {
                out[i] = i;
            }
            return length;
        }
        scorePages(cache.layer(layer), layout, pageTable, pages - 1, kvHead, q, qOff, heads, ws);
        int chosen = TopK.largest(ws.scores, pages - 1, take - 1, ws.scratch, ws.indices);
        ws.indices[chosen++] = pages - 1;
        int c = 0;
        for (int i = 0; i < chosen; i++) {
            int first = ws.indices[i] * pageTokens;
            int end = Math.min(length, first + pageTokens);
            for (int pos = first; pos < end; pos++) {
                out[c++] = pos;
            }
        }
        return c;
    }

    /**
     * ws.scores[p] = the group's largest bound over pages 0..pages-1. Since max(q min, q max) = q+ max
     * + q- min, a head's bound is one dot product of [q- | q+] with the page's [min | max] row, so
     * pages are scored in blocks with the attention kernel's tiled dot products.
     */
    private static void scorePages(HostKvCache.Layer ly, KvLayout layout, int[] pageTable, int pages, int kvHead,
                                   float[] q, int qOff, int heads, Workspace ws) {
        int dim = layout.shape().headDim();
        int row = 2 * dim;
        float[] split = ws.queryScratch;
        for (int g = 0; g < heads; g++) {
            for (int c = 0; c < dim; c++) {
                float x = q[qOff + g * dim + c];
                split[g * row + c] = Math.min(x, 0f);
                split[g * row + dim + c] = Math.max(x, 0f);
            }
        }
        int perBlock = ws.keyBlock.length / row;
        float[] bounds = ws.keyBlock;
        float[] s = ws.logits;
        for (int p0 = 0; p0 < pages; p0 += perBlock) {
            int m = Math.min(perBlock, pages - p0);
            for (int i = 0; i < m; i++) {
                Fp16.toFloat(ly.bounds(), 2 * layout.boundsOffset(pageTable[p0 + i], kvHead), bounds, i * row, row);
            }
            DecodeKernel.scores(split, 0, heads, row, bounds, m, s, 0, Workspace.BLOCK, 1f);
            for (int i = 0; i < m; i++) {
                float best = Float.NEGATIVE_INFINITY;
                for (int g = 0; g < heads; g++) {
                    best = Math.max(best, s[g * Workspace.BLOCK + i]);
                }
                ws.scores[p0 + i] = best;
            }
        }
    }

    @Override
    public int maxCandidates(int length) {
        return length;
    }
}
