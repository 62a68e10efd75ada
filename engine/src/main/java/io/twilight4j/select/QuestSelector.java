package io.twilight4j.select;

import io.twilight4j.attention.DecodeKernel;
import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.Int8Query;
import io.twilight4j.kv.KvLayout;
import io.twilight4j.kv.Nibbles;
import io.twilight4j.kv.PageBounds;

/**
 * Quest: ranks pages by sum_c max(q_c * min_c, q_c * max_c), an upper bound of q.k over the page
 * (TWILIGHT.md section 3), and takes the best pages up to B0 tokens. The last, partly filled page is
 * always taken and counts toward the budget. Scores come from the 4-bit copy of the bounds
 * ({@link PageBounds}: a box around the exact one, so still an upper bound), for all KV heads in one
 * pass ({@link #scorePages}): a page's [kvHead][min|max] code rows are contiguous.
 */
public final class QuestSelector implements Selector {

    /** Pages whose bound codes (all KV heads) are unpacked per block: 4 x 8 heads x 256 floats = 32 KiB. */
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
        int chosen = TopK.largest(ws.scores, scored, takePages(pageTokens) - 1, ws.indices);
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
     * shared[h * scoredPages + p] = the largest bound of KV head h's group over page p, for the 8-bit
     * queries ({@link Int8Query}: q = c * qs). Since max(q min, q max) = q+ max + q- min and a stored
     * bound is min + u * scale, a head's bound is qs * (min * sum(c) + scale * ([c- | c+] . [u_min | u_max])):
     * one dot product of integers (exact in float arithmetic, the same sum the OpenCL kernels' integer
     * dot products get) with the page's code row. A block of pages is unpacked ({@link Nibbles}) and
     * scored per head with the attention kernel's tiled dot products; the block's codes are read in
     * storage order, all heads of a page at once.
     */
    @Override
    public void scorePages(HostKvCache cache, int layer, int[] pageTable, int length, int fromPage, int toPage,
                           float[] queryCodes, float[] queryScales, int firstHead, int group, Workspace ws, float[] shared) {
        KvLayout layout = cache.layout();
        int dim = layout.shape().headDim();
        int kvHeads = layout.shape().kvHeads();
        int scored = scoredPages(length, layout.shape().pageTokens());
        int row = 2 * dim;
        int bytes = PageBounds.codeBytes(dim);
        // [c- | c+] per head, permuted to the order Nibbles.unpack writes [u_min | u_max] in.
        float[] split = ws.sequenceQuery;
        float[] qSum = ws.querySums;
        for (int g = 0; g < kvHeads * group; g++) {
            float sum = 0;
            int qOff = (firstHead + g) * dim;
            for (int c = 0; c < dim; c++) {
                float x = queryCodes[qOff + c];
                split[g * row + Nibbles.position(c, bytes)] = Math.min(x, 0f);
                split[g * row + Nibbles.position(dim + c, bytes)] = Math.max(x, 0f);
                sum += x;
            }
            qSum[g] = sum;
        }
        HostKvCache.Layer ly = cache.layer(layer);
        float[] codes = ws.pageBlock;
        float[] s = ws.logits;
        int perBlock = Math.min(BLOCK_PAGES, codes.length / (kvHeads * row));
        for (int p0 = fromPage; p0 < toPage; p0 += perBlock) {
            int m = Math.min(perBlock, toPage - p0);
            // codes[(h * m + i) * row]: head h's rows of the block's pages are adjacent for the tile.
            for (int i = 0; i < m; i++) {
                long page = layout.boundCodeOffset(pageTable[p0 + i], 0);
                for (int h = 0; h < kvHeads; h++) {
                    Nibbles.unpack(ly.boundCodes(), page + (long) h * bytes, codes, (h * m + i) * row, bytes);
                }
            }
            for (int h = 0; h < kvHeads; h++) {
                DecodeKernel.scores(split, h * group * row, group, row, codes, h * m * row, m, s, 0, Workspace.BLOCK, 1f);
                for (int i = 0; i < m; i++) {
                    long range = 2 * layout.boundParamOffset(pageTable[p0 + i], h);
                    float scale = Fp16.get(ly.boundParams(), range);
                    float min = Fp16.get(ly.boundParams(), range + 2);
                    float best = Float.NEGATIVE_INFINITY;
                    for (int g = 0; g < group; g++) {
                        float bound = min * qSum[h * group + g] + scale * s[g * Workspace.BLOCK + i];
                        best = Math.max(best, queryScales[firstHead + h * group + g] * bound);
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
