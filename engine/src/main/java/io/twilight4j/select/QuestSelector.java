package io.twilight4j.select;

import io.twilight4j.attention.DecodeKernel;
import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KvLayout;

/**
 * Quest: ranks pages by sum_c max(q_c * min_c, q_c * max_c), an upper bound of q.k over the page
 * (TWILIGHT.md section 3), and takes the best pages up to B0 tokens. The last, partly filled page is
 * always taken and counts toward the budget. Pages are scored for all KV heads in one pass over the
 * bounds ({@link #scorePages}): a page's [kvHead][min|max] rows are contiguous, one head's rows are
 * kvHeads * 2 * headDim halves apart.
 */
public final class QuestSelector implements Selector {

    /** Pages whose bounds (all KV heads) are converted per block: 4 x 8 heads x 256 floats = 32 KiB. */
    static final int BLOCK_PAGES = 4;

    private final int budgetTokens;

    /** A Quest selector with budget {@code budgetTokens} (B0). */
    public QuestSelector(int budgetTokens) {
        this.budgetTokens = budgetTokens;
    }

    private int takePages(int pageTokens) {
        return Math.max(1, budgetTokens / pageTokens);
    }

    @Override
    public int scoredPages(int length, int pageTokens) {
        int pages = (length + pageTokens - 1) / pageTokens;
        // All pages are taken when they fit: nothing to rank. The last page is always taken.
        return pages <= takePages(pageTokens) ? 0 : pages - 1;
    }

    @Override
    public int sharedFloats(int maxContext, int kvHeads, int pageTokens) {
        return kvHeads * Math.max(1, (maxContext + pageTokens - 1) / pageTokens);
    }

    @Override
    public int select(HostKvCache cache, int layer, int[] pageTable, int length, int kvHead,
                      float[] q, int qOff, int heads, Workspace ws, float[] shared, int[] out) {
        int pageTokens = cache.layout().shape().pageTokens();
        int scored = scoredPages(length, pageTokens);
        if (scored == 0) {
            return Selector.allTokens(length, out);
        }
        System.arraycopy(shared, kvHead * scored, ws.scores, 0, scored);
        int chosen = TopK.largest(ws.scores, scored, takePages(pageTokens) - 1, ws.scratch, ws.indices);
        ws.indices[chosen++] = scored;
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
     * shared[h * scoredPages + p] = the largest bound of KV head h's group over page p. Since
     * max(q min, q max) = q+ max + q- min, a head's bound is one dot product of [q- | q+] with the
     * page's [min | max] row, so a block of pages is scored per head with the attention kernel's
     * tiled dot products; the block's bounds are read in storage order, all heads of a page at once.
     */
    @Override
    public void scorePages(HostKvCache cache, int layer, int[] pageTable, int length, int fromPage, int toPage,
                           float[] q, int qOff, int group, Workspace ws, float[] shared) {
        KvLayout layout = cache.layout();
        int dim = layout.shape().headDim();
        int kvHeads = layout.shape().kvHeads();
        int scored = scoredPages(length, layout.shape().pageTokens());
        int row = 2 * dim;
        float[] split = ws.sequenceQuery;
        for (int g = 0; g < kvHeads * group; g++) {
            for (int c = 0; c < dim; c++) {
                float x = q[qOff + g * dim + c];
                split[g * row + c] = Math.min(x, 0f);
                split[g * row + dim + c] = Math.max(x, 0f);
            }
        }
        HostKvCache.Layer ly = cache.layer(layer);
        float[] bounds = ws.pageBlock;
        float[] s = ws.logits;
        int perBlock = Math.min(BLOCK_PAGES, bounds.length / (kvHeads * row));
        for (int p0 = fromPage; p0 < toPage; p0 += perBlock) {
            int m = Math.min(perBlock, toPage - p0);
            // bounds[(h * m + i) * row]: head h's rows of the block's pages are adjacent for the tile.
            for (int i = 0; i < m; i++) {
                long page = 2 * layout.boundsOffset(pageTable[p0 + i], 0);
                for (int h = 0; h < kvHeads; h++) {
                    Fp16.toFloat(ly.bounds(), page + 2L * h * row, bounds, (h * m + i) * row, row);
                }
            }
            for (int h = 0; h < kvHeads; h++) {
                DecodeKernel.scores(split, h * group * row, group, row, bounds, h * m * row, m, s, 0, Workspace.BLOCK, 1f);
                for (int i = 0; i < m; i++) {
                    float best = Float.NEGATIVE_INFINITY;
                    for (int g = 0; g < group; g++) {
                        best = Math.max(best, s[g * Workspace.BLOCK + i]);
                    }
                    shared[h * scored + p0 + i] = best;
                }
            }
        }
    }

    @Override
    public int maxCandidates(int length) {
        return length;
    }
}
