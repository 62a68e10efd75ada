package io.twilight4j.select;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.CacheLines;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.Int8Query;
import io.twilight4j.kv.KvLayout;
import io.twilight4j.kv.Nibbles;
import io.twilight4j.kv.PageColumns;
import io.twilight4j.kv.PageBounds;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Quest: ranks pages by sum_c max(q_c * min_c, q_c * max_c), an upper bound of q.k over the page
 * (TWILIGHT.md section 3), and takes the best pages up to B0 tokens. The last, partly filled page is
 * always taken and counts toward the budget. Under GQA the query heads of a KV head share its pages: a page
 * ranks by the largest of its heads' bounds, each taken relative to that head's best page
 * ({@code max_g (bound_g(p) - max_p' bound_g(p'))}), not by the largest bound itself. The heads of a group
 * attend to different tokens with logits of different spread, and by raw bounds the sharpest head took most
 * pages (bench/results/cpu-2026-12-08-session30). Scores come from the 4-bit copy of the bounds
 * ({@link PageBounds}: a box around the exact one, so still an upper bound), for all KV heads in one
 * pass ({@link #scorePages}): whole groups of a sequence's pages from the host cache's bound columns
 * (lanes = pages, {@link PageColumns}: no lane sums; JMH questScore 92-97 -> 74-77 us per KV head at 32k, 68 with
 * the codes taken in place),
 * other pages from the code rows, where a page's [kvHead][min|max] rows are contiguous.
 */
public final class QuestSelector implements Selector {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

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
    public int sharedFloats(int maxContext, int kvHeads, int group, int pageTokens) {
        return kvHeads * group * Math.max(1, (maxContext + pageTokens - 1) / pageTokens);
    }

    @Override
    public int select(HostKvCache cache, int layer, int[] pageTable, int length, int kvHead,
                      float[] q, int qOff, int heads, Workspace ws, float[] shared, int[] out) {
        int pageTokens = cache.layout().shape().pageTokens();
        int scored = scoredPages(length, pageTokens);
        if (scored == 0) {
            return Selector.allTokens(length, out);
        }
        relativeBest(shared, kvHead * heads * scored, heads, scored, ws.scores);
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
     * out[p] = max over the group's heads g of (bound_g[p] - max_p' bound_g[p']), the heads' bounds at
     * {@code bounds[off + g * scored + p]}: the OpenCL select_top's float operations (head_best, combined_item).
     */
    static void relativeBest(float[] bounds, int off, int heads, int scored, float[] out) {
        java.util.Arrays.fill(out, 0, scored, Float.NEGATIVE_INFINITY);
        int bound = F.loopBound(scored);
        for (int g = 0; g < heads; g++) {
            int row = off + g * scored;
            // Max and a subtraction per item are exact in any order: vector lanes change nothing.
            FloatVector lanes = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            int p = 0;
            for (; p < bound; p += F.length()) {
                lanes = lanes.max(FloatVector.fromArray(F, bounds, row + p));
            }
            float best = lanes.reduceLanes(VectorOperators.MAX);
            for (; p < scored; p++) {
                best = Math.max(best, bounds[row + p]);
            }
            FloatVector top = FloatVector.broadcast(F, best);
            for (p = 0; p < bound; p += F.length()) {
                FloatVector.fromArray(F, out, p).max(FloatVector.fromArray(F, bounds, row + p).sub(top)).intoArray(out, p);
            }
            for (; p < scored; p++) {
                out[p] = Math.max(out[p], bounds[row + p] - best);
            }
        }
    }

    @Override
    public int preparedFloats(int heads, int headDim) {
        return heads * (4 * headDim + 1);
    }

    /**
     * Per head g: [c- | c+] of its query codes (min(c, 0), then max(c, 0)), permuted to the order
     * {@link Nibbles#dots} meets [u_min | u_max] in, at {@code prepared[g * 2 * headDim..]}; then every
     * head's sum(c) after the rows, at {@code prepared[heads * 2 * headDim + g]}; then [c- | c+] again in
     * channel order (for the bound columns), at {@code prepared[heads * (2 * headDim + 1) + g * 2 * headDim..]}.
     */
    @Override
    public void prepareQueries(float[] queryCodes, int firstHead, int heads, int headDim, float[] scratch,
                               float[] prepared) {
        int row = 2 * headDim;
        int bytes = PageBounds.codeBytes(headDim);
        for (int g = 0; g < heads; g++) {
            prepared[heads * row + g] = splitSigns(queryCodes, (firstHead + g) * headDim, headDim, scratch);
            Nibbles.permute(scratch, 0, prepared, g * row, bytes);
            System.arraycopy(scratch, 0, prepared, heads * (row + 1) + g * row, row);
        }
    }

    /**
     * shared[(h * group + g) * scoredPages + p] = the bound of query head g of KV head h's group over page p,
     * for the 8-bit queries ({@link Int8Query}: q = c * qs). Since max(q min, q max) = q+ max + q- min and a stored
     * bound is min + u * scale, a head's bound is qs * (min * sum(c) + scale * ([c- | c+] . [u_min | u_max])):
     * one dot product of integers (exact in float arithmetic, the same sum the OpenCL kernels' integer
     * dot products get) with the page's codes: per block of pages, from the bound columns when the block is
     * whole groups of pages in order, else from the rows read in place ({@link Nibbles#dots}), all of one KV
     * head's rows in one call, then the next head's. {@code prepared}: the
     * sequence's query heads as {@link #prepareQueries} wrote them.
     */
    @Override
    public void scorePages(HostKvCache cache, int layer, int[] pageTable, int length, int fromPage, int toPage,
                           float[] prepared, float[] queryScales, int firstHead, int group, Workspace ws, float[] shared) {
        KvLayout layout = cache.layout();
        int dim = layout.shape().headDim();
        int kvHeads = layout.shape().kvHeads();
        int scored = scoredPages(length, layout.shape().pageTokens());
        int row = 2 * dim;
        int bytes = PageBounds.codeBytes(dim);
        int sums = kvHeads * group * row;
        HostKvCache.Layer ly = cache.layer(layer);
        long[] rows = ws.rowOffsets;
        // dots[(h * group + g) * BLOCK + i]; params[2 * h * BLOCK + i] = scale, then min at + BLOCK.
        float[] dots = ws.pageDots;
        float[] params = ws.pageParams;
        int columnsAt = kvHeads * group * (row + 1);
        for (int p0 = fromPage; p0 < toPage; p0 += Workspace.BLOCK) {
            int m = Math.min(Workspace.BLOCK, toPage - p0);
            for (int h = 0; h < kvHeads; h++) {
                for (int i = 0; i < m; i++) {
                    int pair = Fp16.getPair(ly.boundParams(), 2 * layout.boundParamOffset(pageTable[p0 + i], h));
                    params[2 * h * Workspace.BLOCK + i] = Fp16.first(pair);
                    params[(2 * h + 1) * Workspace.BLOCK + i] = Fp16.second(pair);
                }
            }
            if (wholeGroups(pageTable, p0, m)) {
                // Groups of the sequence's own pages, in order: dot them as page columns (lanes = pages), the next
                // block's groups asked for meanwhile (a range's first block just before).
                int asked = p0 == fromPage
                        ? askGroups(ly.boundColumns(), layout, pageTable, p0, m, ws.aheadOffsets) : 0;
                int next = p0 + Workspace.BLOCK;
                if (next < toPage) {
                    asked += askGroups(ly.boundColumns(), layout, pageTable, next, Math.min(Workspace.BLOCK, toPage - next),
                            ws.aheadOffsets);
                }
                CacheLines.keep(asked);
                int k = 0;
                if (PageColumns.RUN == KvLayout.BOUND_GROUP_PAGES && PageColumns.scoresRunPairs(group)) {
                    // Two groups at a time: see PageColumns.pageDotsPair.
                    for (; k + 2 * KvLayout.BOUND_GROUP_PAGES <= m; k += 2 * KvLayout.BOUND_GROUP_PAGES) {
                        for (int h = 0; h < kvHeads; h++) {
                            long first = layout.boundColumnOffset(pageTable[p0 + k], h) + PageColumns.runOffset(row, 0);
                            long second = layout.boundColumnOffset(pageTable[p0 + k + KvLayout.BOUND_GROUP_PAGES], h)
                                    + PageColumns.runOffset(row, 0);
                            PageColumns.pageDotsPair(ly.boundColumns(), first, second, row,
                                    prepared, columnsAt + h * group * row, group, prepared, sums + h * group, dots,
                                    h * group * Workspace.BLOCK + k, Workspace.BLOCK);
                        }
                    }
                }
                for (; k < m; k += KvLayout.BOUND_GROUP_PAGES) {
                    for (int h = 0; h < kvHeads; h++) {
                        long block = layout.boundColumnOffset(pageTable[p0 + k], h);
                        for (int r = 0; r < KvLayout.BOUND_GROUP_PAGES; r += PageColumns.RUN) {
                            PageColumns.pageDots(ly.boundColumns(), block + PageColumns.runOffset(row, r), row,
                                    prepared, columnsAt + h * group * row, group, prepared, sums + h * group, dots,
                                    h * group * Workspace.BLOCK + k + r, Workspace.BLOCK);
                        }
                    }
                }
            } else {
                // One call per KV head for the block's pages: Nibbles.dots runs its pair loop over all of them.
                // Those rows are a page's bytes apart; the block is first read in storage order (a page's
                // heads are contiguous), which the hardware prefetcher streams, so the per-head passes hit
                // the cache. Without it, 128k tokens' bounds (8 MB) came from memory at a stride: 1.5x slower.
                CacheLines.keep(touch(ly.boundCodes(), layout, pageTable, p0, m, kvHeads * bytes));
                for (int h = 0; h < kvHeads; h++) {
                    for (int i = 0; i < m; i++) {
                        rows[i] = layout.boundCodeOffset(pageTable[p0 + i], h);
                    }
                    Nibbles.dots(ly.boundCodes(), rows, 0, m, bytes, prepared, h * group * row, group, dots,
                            h * group * Workspace.BLOCK, Workspace.BLOCK, ws.codeRow);
                }
            }
            for (int h = 0; h < kvHeads; h++) {
                bounds(dots, h * group * Workspace.BLOCK, params, 2 * h * Workspace.BLOCK, m, prepared, sums,
                        queryScales, firstHead, h, group, shared, h * group * scored + p0, scored);
            }
        }
    }

    /**
     * Whether pages {@code pageTable[p0..p0+m)} are whole groups of bound columns, each group's pages in order
     * (a fresh cache hands a sequence its pages in order; pages freed and reused, or sequences grown in turns,
     * mix groups, and those blocks are scored from the rows).
     */
    private static boolean wholeGroups(int[] pageTable, int p0, int m) {
        int n = KvLayout.BOUND_GROUP_PAGES;
        if (m % n != 0 || !PageColumns.scoresPages(n)) {
            return false;
        }
        for (int k = 0; k < m; k += n) {
            int first = pageTable[p0 + k];
            if (first % n != 0) {
                return false;
            }
            for (int i = 1; i < n; i++) {
                if (pageTable[p0 + k + i] != first + i) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Asks for the bound-column groups of pages {@code pageTable[p0..p0+m)}, all heads ({@link CacheLines#prefetch}). */
    private static int askGroups(MemorySegment columns, KvLayout layout, int[] pageTable, int p0, int m, long[] groups) {
        int count = 0;
        for (int k = 0; k < m; k += KvLayout.BOUND_GROUP_PAGES) {
            groups[count++] = layout.boundColumnOffset(pageTable[p0 + k], 0);
        }
        return CacheLines.prefetch(columns, groups, count, layout.shape().kvHeads() * layout.boundColumnBlockBytes());
    }

    /** Loads a byte of every cache line of pages {@code pageTable[p0..p0+m)}'s bound codes, in storage order. */
    private static int touch(MemorySegment codes, KvLayout layout, int[] pageTable, int p0, int m, int pageBytes) {
        int sum = 0;
        for (int i = 0; i < m; i++) {
            sum += CacheLines.touch(codes, layout.boundCodeOffset(pageTable[p0 + i], 0), pageBytes);
        }
        return sum;
    }

    /**
     * Writes [c- | c+] of the query codes {@code q[off..off+dim)} (min(c, 0), then max(c, 0)) to
     * {@code out[0..2 * dim)} and returns sum(c): exact, the codes being integers.
     */
    private static float splitSigns(float[] q, int off, int dim, float[] out) {
        FloatVector sum = FloatVector.zero(F);
        int c = 0;
        int bound = F.loopBound(dim);
        for (; c < bound; c += F.length()) {
            FloatVector x = FloatVector.fromArray(F, q, off + c);
            x.min(0f).intoArray(out, c);
            x.max(0f).intoArray(out, dim + c);
            sum = sum.add(x);
        }
        float s = sum.reduceLanes(VectorOperators.ADD);
        for (; c < dim; c++) {
            float x = q[off + c];
            out[c] = Math.min(x, 0f);
            out[dim + c] = Math.max(x, 0f);
            s += x;
        }
        return s;
    }

    /**
     * out[outOff + g * stride + i] = qs_g * (min_i * sum(c_g) + scale_i * dot_gi) for the group's heads g and the
     * block's {@code m} pages of KV head h (dot_gi at {@code dots[dotsOff + g * BLOCK + i]}, scale_i at
     * {@code params[pOff + i]}, min_i at {@code params[pOff + BLOCK + i]}, sum(c_g) at
     * {@code qSum[sumsOff + h * group + g]}): lanes are pages, the same float operations as the OpenCL kernel.
     */
    private static void bounds(float[] dots, int dotsOff, float[] params, int pOff, int m, float[] qSum, int sumsOff,
                               float[] queryScales, int firstHead, int h, int group, float[] out, int outOff, int stride) {
        int i = 0;
        int bound = F.loopBound(m);
        for (; i < bound; i += F.length()) {
            FloatVector scale = FloatVector.fromArray(F, params, pOff + i);
            FloatVector min = FloatVector.fromArray(F, params, pOff + Workspace.BLOCK + i);
            for (int g = 0; g < group; g++) {
                FloatVector dot = FloatVector.fromArray(F, dots, dotsOff + g * Workspace.BLOCK + i);
                min.mul(qSum[sumsOff + h * group + g]).add(scale.mul(dot)).mul(queryScales[firstHead + h * group + g])
                        .intoArray(out, outOff + g * stride + i);
            }
        }
        for (; i < m; i++) {
            for (int g = 0; g < group; g++) {
                float b = params[pOff + Workspace.BLOCK + i] * qSum[sumsOff + h * group + g]
                        + params[pOff + i] * dots[dotsOff + g * Workspace.BLOCK + i];
                out[outOff + g * stride + i] = queryScales[firstHead + h * group + g] * b;
            }
        }
    }

    @Override
    public int maxCandidates(int length) {
        return length;
    }
}
