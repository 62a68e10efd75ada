package io.twilight4j.prune;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.CacheLines;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.Int8Query;
import io.twilight4j.kv.KvLayout;
import io.twilight4j.kv.Nibbles;
import io.twilight4j.kv.PageColumns;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Twilight's score estimate (the SpGEMV): q.k^ / sqrt(d) over the candidates, with k^ the 4-bit key
 * and q the 8-bit query ({@link Int8Query}: q = c * qs). Since k^_i = code_i * scale + min, q.k^ =
 * qs * (scale * (c . code) + min * sum(c)): each token's codes are read once and dotted with every
 * query head of the group, from the host cache's page columns ({@link PageColumns}): whole pages (Quest's
 * candidates, all tokens) with lanes = tokens, single tokens with lanes = channels. The dot products are
 * sums of integers below 2^24, exact in float arithmetic in any order: the same sums the OpenCL kernel gets
 * from integer dot-product instructions, scaled by the same float operations in the same order.
 */
public final class Int4Estimator {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** 0, 1, 2, ... in {@link #I}'s lanes. */
    private static final IntVector IOTA = IntVector.zero(I).addIndex(1);

    private Int4Estimator() {
    }

    /**
     * Writes the estimated scores of the group's {@code heads} query heads for candidates
     * {@code tokens[0..n)} to {@code scores[g * n + i]}; query head g's codes are at
     * {@code queryCodes[(firstHead + g) * headDim..]}, its scale at {@code queryScales[firstHead + g]},
     * and scores are scaled by {@code scoreScale} (1/sqrt(d)).
     */
    public static void estimate(HostKvCache cache, int layer, int[] pageTable, int kvHead, int[] tokens, int n,
                                float[] queryCodes, float[] queryScales, int firstHead, int heads, float scoreScale,
                                Workspace ws, float[] scores, int scoresOff) {
        KvLayout layout = cache.layout();
        int dim = layout.shape().headDim();
        int pageTokens = layout.shape().pageTokens();
        HostKvCache.Layer ly = cache.layer(layer);
        int qOff = firstHead * dim;
        float[] qSum = ws.corrections;
        for (int g = 0; g < heads; g++) {
            float sum = 0;
            for (int c = 0; c < dim; c++) {
                sum += queryCodes[qOff + g * dim + c];
            }
            qSum[g] = sum;
        }
        Queries queries = new Queries(queryCodes, qOff, heads, dim, pageTokens, ws.queryScratch);
        // Blocks of tokens: each block's code blocks (or rows) and params are asked for AHEAD blocks before
        // it is dotted, and located (offsets and params read) one block ahead, so their misses are in flight
        // while the blocks before are dotted with every head of the group. Offsets and params are
        // double-buffered: `at` = the block's half.
        long[] offsets = ws.rowOffsets;
        float[] params = ws.tokenParams;
        float[] dots = ws.logits;
        // Each block's path, found when it is asked for: block i's at paths[i % (AHEAD + 1)].
        Path[] paths = new Path[AHEAD + 1];
        int asked = 0;
        for (int i = 0; i < AHEAD && i * Workspace.BLOCK < n; i++) {
            asked += ask(ly, layout, pageTable, kvHead, tokens, i, n, paths, ws);
        }
        locate(ly, layout, paths[0], pageTable, kvHead, tokens, 0, Math.min(Workspace.BLOCK, n), offsets, params, 0);
        for (int i = 0; i * Workspace.BLOCK < n; i++) {
            int b = i * Workspace.BLOCK;
            int m = Math.min(Workspace.BLOCK, n - b);
            int at = i % 2 * Workspace.BLOCK;
            if ((i + AHEAD) * Workspace.BLOCK < n) {
                asked += ask(ly, layout, pageTable, kvHead, tokens, i + AHEAD, n, paths, ws);
            }
            if (b + m < n) {
                locate(ly, layout, paths[(i + 1) % paths.length], pageTable, kvHead, tokens, b + m,
                        Math.min(Workspace.BLOCK, n - b - m), offsets, params, Workspace.BLOCK - at);
            }
            switch (paths[i % paths.length]) {
                case PAGES -> pages(ly.codes(), layout, tokens, b, m, offsets, at, queries, qSum, dots);
                case ROWS -> Nibbles.dots(ly.codeRows(), offsets, at, m, dim / 2, queries.permuted(), 0, heads, dots, 0,
                        Workspace.BLOCK, ws.codeRow);
                case TOKENS -> tokens(ly.codes(), layout, tokens, b, m, offsets, at, queries, dots);
            }
            for (int g = 0; g < heads; g++) {
                finish(dots, g * Workspace.BLOCK, params, 2 * at, m, qSum[g], queryScales[firstHead + g], scoreScale,
                        scores, scoresOff + g * n + b);
            }
        }
        CacheLines.keep(asked);
    }

    /**
     * Blocks asked for ahead of the one being dotted: at two (64 tokens, ~1 us of dots) a 32k step's estimate
     * took 0.70 ms per worker against 0.92 with touch loads one block ahead; one and three were as fast
     * (bench/results/cpu-2026-12-07-session26).
     */
    private static final int AHEAD = 2;

    /**
     * Finds block {@code i}'s path (to {@code paths}) and asks for what {@link #locate} and the dots will read of
     * it: each page's params and, unless the block goes by token rows, its code block; else each token's row.
     * Returns touched bytes' sum where {@link CacheLines#prefetch} touches.
     */
    private static int ask(HostKvCache.Layer ly, KvLayout layout, int[] pageTable, int kvHead, int[] tokens, int i, int n,
                           Path[] paths, Workspace ws) {
        int pageTokens = layout.shape().pageTokens();
        int from = i * Workspace.BLOCK;
        int m = Math.min(Workspace.BLOCK, n - from);
        Path path = path(ly, tokens, from, m, pageTokens);
        paths[i % paths.length] = path;
        boolean rows = path == Path.ROWS;
        long[] lines = ws.aheadOffsets;
        long[] params = ws.aheadParams;
        int count = 0;
        int pages = 0;
        int last = -1;
        // Whole pages: their first tokens; else every token (scattered ones often share a page).
        for (int t = 0; t < m; t += path == Path.PAGES ? pageTokens : 1) {
            int pos = tokens[from + t];
            int page = pageTable[layout.pageOf(pos)];
            if (rows) {
                lines[count++] = layout.codeOffset(page, kvHead, layout.slotOf(pos));
            }
            if (page != last) {
                if (!rows) {
                    lines[count++] = layout.codeBlockOffset(page, kvHead);
                }
                params[pages++] = 2 * layout.paramOffset(page, kvHead, 0);
                last = page;
            }
        }
        return CacheLines.prefetch(ly.codeParams(), params, pages, 4L * pageTokens)
                + (rows ? CacheLines.prefetch(ly.codeRows(), lines, count, layout.codeBytesPerToken())
                : CacheLines.prefetch(ly.codes(), lines, count, layout.codeBlockBytes()));
    }

    /** How a block of candidates is dotted. */
    private enum Path {
        /** Whole pages, from the page columns with lanes = tokens. */
        PAGES,
        /** Single tokens from the token rows (caches with Double Sparsity's labels keep them). */
        ROWS,
        /** Single tokens from the page columns. */
        TOKENS
    }

    private static Path path(HostKvCache.Layer ly, int[] tokens, int from, int m, int pageTokens) {
        if (PageColumns.scoresPages(pageTokens) && wholePages(tokens, from, m, pageTokens)) {
            return Path.PAGES;
        }
        return ly.codeRows() != null ? Path.ROWS : Path.TOKENS;
    }

    /**
     * The group's query codes in the forms the paths take, each prepared on first use. Both forms share the
     * workspace's scratch: a cache has token rows (then {@link Path#ROWS}) or not (then {@link Path#TOKENS}),
     * so one estimate never needs both.
     */
    private static final class Queries {
        final float[] codes;
        final int off;
        final int heads;
        final int dim;
        final int words;
        private final float[] scratch;
        private boolean permuted;
        private boolean tokens;

        Queries(float[] codes, int off, int heads, int dim, int pageTokens, float[] scratch) {
            this.codes = codes;
            this.off = off;
            this.heads = heads;
            this.dim = dim;
            this.words = PageColumns.tokenWords(pageTokens);
            this.scratch = scratch;
        }

        /** For {@link Nibbles#dots}: each head's codes permuted to the order it meets a row's nibbles in. */
        float[] permuted() {
            if (!permuted) {
                for (int g = 0; g < heads; g++) {
                    Nibbles.permute(codes, off + g * dim, scratch, g * dim, dim / 2);
                }
                permuted = true;
            }
            return scratch;
        }

        /** For {@link PageColumns#tokenDots} (when {@link #words} > 0). */
        float[] tokens() {
            if (!tokens) {
                PageColumns.prepareTokenQueries(codes, off, heads, dim, words, scratch);
                tokens = true;
            }
            return scratch;
        }
    }

    /** Whole pages' tokens b..b+m (code blocks at offsets[at..]) by lanes = tokens, runs of PageColumns.RUN. */
    private static void pages(MemorySegment codes, KvLayout layout, int[] tokens, int b, int m, long[] offsets, int at,
                              Queries q, float[] qSum, float[] dots) {
        int t = 0;
        if (PageColumns.scoresRunPairs(q.heads)) {
            for (; t + 2 * PageColumns.RUN <= m; t += 2 * PageColumns.RUN) {
                long run0 = offsets[at + t] + PageColumns.runOffset(q.dim, layout.slotOf(tokens[b + t]));
                int t1 = t + PageColumns.RUN;
                long run1 = offsets[at + t1] + PageColumns.runOffset(q.dim, layout.slotOf(tokens[b + t1]));
                PageColumns.pageDotsPair(codes, run0, run1, q.dim, q.codes, q.off, q.heads, qSum, 0, dots, t, Workspace.BLOCK);
            }
        }
        for (; t < m; t += PageColumns.RUN) {
            long run = offsets[at + t] + PageColumns.runOffset(q.dim, layout.slotOf(tokens[b + t]));
            PageColumns.pageDots(codes, run, q.dim, q.codes, q.off, q.heads, qSum, 0, dots, t, Workspace.BLOCK);
        }
    }

    /** Single tokens b..b+m from the page columns (code blocks at offsets[at..]). */
    private static void tokens(MemorySegment codes, KvLayout layout, int[] tokens, int b, int m, long[] offsets, int at,
                               Queries q, float[] dots) {
        for (int t = 0; t < m; t++) {
            int slot = layout.slotOf(tokens[b + t]);
            if (q.words > 0) {
                PageColumns.tokenDots(codes, offsets[at + t], layout.shape().pageTokens(), slot, q.words, q.dim,
                        q.tokens(), q.heads, dots, t, Workspace.BLOCK);
            } else {
                PageColumns.tokenDotsScalar(codes, offsets[at + t], layout.shape().pageTokens(), slot, q.dim, q.codes,
                        q.off, q.heads, dots, t, Workspace.BLOCK);
            }
        }
    }

    /**
     * For tokens[from..from+m), dotted by {@code path}: to {@code offsets[at..]} the offsets it reads (code rows
     * for {@link Path#ROWS}, else code blocks), their scales to {@code params[2 * at..]} and mins to
     * {@code params[2 * at + BLOCK..]}.
     */
    private static void locate(HostKvCache.Layer ly, KvLayout layout, Path path, int[] pageTable, int kvHead, int[] tokens,
                              int from, int m, long[] offsets, float[] params, int at) {
        // A loop per kind: one loop for rows and blocks made the scattered rows' case slower (as whole pages
        // and scattered tokens in one loop did before the page columns).
        switch (path) {
            case PAGES -> locatePages(ly, layout, pageTable, kvHead, tokens, from, m, offsets, params, at);
            case ROWS -> locateRows(ly, layout, pageTable, kvHead, tokens, from, m, offsets, params, at);
            case TOKENS -> locateBlocks(ly, layout, pageTable, kvHead, tokens, from, m, offsets, params, at);
        }
    }

    /** Whole pages: a page's block and params are consecutive. */
    private static void locatePages(HostKvCache.Layer ly, KvLayout layout, int[] pageTable, int kvHead, int[] tokens,
                                   int from, int m, long[] offsets, float[] params, int at) {
        int pageTokens = layout.shape().pageTokens();
        MemorySegment codeParams = ly.codeParams();
        for (int t = 0; t < m; t += pageTokens) {
            int page = pageTable[layout.pageOf(tokens[from + t])];
            long block = layout.codeBlockOffset(page, kvHead);
            // pages() reads a block's offset once per run.
            for (int k = 0; k < pageTokens; k += PageColumns.RUN) {
                offsets[at + t + k] = block;
            }
            Fp16.pairsToFloat(codeParams, 2 * layout.paramOffset(page, kvHead, 0), params, 2 * at + t, params,
                    2 * at + Workspace.BLOCK + t, pageTokens);
        }
    }

    private static void locateRows(HostKvCache.Layer ly, KvLayout layout, int[] pageTable, int kvHead, int[] tokens,
                                  int from, int m, long[] offsets, float[] params, int at) {
        int pageTokens = layout.shape().pageTokens();
        MemorySegment codeParams = ly.codeParams();
        int pageStart = Integer.MIN_VALUE / 2;
        int page = 0;
        for (int t = 0; t < m; t++) {
            int pos = tokens[from + t];
            // Scattered candidates share pages often: look the page up only when it changes.
            if (pos - pageStart >= pageTokens || pos < pageStart) {
                int logical = layout.pageOf(pos);
                pageStart = logical * pageTokens;
                page = pageTable[logical];
            }
            int slot = pos - pageStart;
            long row = layout.codeOffset(page, kvHead, slot);
            offsets[at + t] = row;
            putParams(codeParams, 2 * layout.paramOffset(page, kvHead, slot), params, at, t);
        }
    }

    private static void locateBlocks(HostKvCache.Layer ly, KvLayout layout, int[] pageTable, int kvHead, int[] tokens,
                                    int from, int m, long[] offsets, float[] params, int at) {
        int pageTokens = layout.shape().pageTokens();
        MemorySegment codeParams = ly.codeParams();
        int pageStart = Integer.MIN_VALUE / 2;
        long block = 0;
        long param = 0;
        for (int t = 0; t < m; t++) {
            int pos = tokens[from + t];
            if (pos - pageStart >= pageTokens || pos < pageStart) {
                int logical = layout.pageOf(pos);
                pageStart = logical * pageTokens;
                int page = pageTable[logical];
                block = layout.codeBlockOffset(page, kvHead);
                param = 2 * layout.paramOffset(page, kvHead, 0);
            }
            offsets[at + t] = block;
            putParams(codeParams, param + 4L * (pos - pageStart), params, at, t);
        }
    }

    /** Token t's (scale, min), the fp16 pair at byte {@code param}, to the block's params. */
    private static void putParams(MemorySegment codeParams, long param, float[] params, int at, int t) {
        int pair = Fp16.getPair(codeParams, param);
        params[2 * at + t] = Fp16.first(pair);
        params[2 * at + Workspace.BLOCK + t] = Fp16.second(pair);
    }

    /**
     * Whether {@code tokens[from..from+m)} are whole pages, each page's slots in order. Scattered candidates
     * fail at the first page's first or last token.
     */
    private static boolean wholePages(int[] tokens, int from, int m, int pageTokens) {
        if (m % pageTokens != 0) {
            return false;
        }
        for (int t = 0; t < m; t += pageTokens) {
            int pos = tokens[from + t];
            if (pos % pageTokens != 0 || tokens[from + t + pageTokens - 1] != pos + pageTokens - 1
                    || !consecutive(tokens, from + t, pageTokens, pos)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code tokens[from..from+n)} are {@code first, first + 1, ...}, by vector compares (a scalar loop
     * was ~6% of the estimate: bench/results/cpu-2026-12-07-session25).
     */
    private static boolean consecutive(int[] tokens, int from, int n, int first) {
        int k = 0;
        int bound = I.loopBound(n);
        for (; k < bound; k += I.length()) {
            if (IntVector.fromArray(I, tokens, from + k).compare(VectorOperators.NE, IOTA.add(first + k)).anyTrue()) {
                return false;
            }
        }
        for (; k < n; k++) {
            if (tokens[from + k] != first + k) {
                return false;
            }
        }
        return true;
    }

    /**
     * scores[out + t] = (scale_t * dot_t + min_t * qSum) * queryScale * scoreScale for the block's {@code m}
     * tokens, with scale_t at {@code params[pOff + t]} and min_t at {@code params[pOff + BLOCK + t]}: lanes
     * are tokens, the same float operations in the same order as the scalar tail and the OpenCL kernel.
     */
    private static void finish(float[] dots, int dotsOff, float[] params, int pOff, int m, float qSum,
                               float queryScale, float scoreScale, float[] scores, int out) {
        int t = 0;
        int bound = F.loopBound(m);
        for (; t < bound; t += F.length()) {
            FloatVector scale = FloatVector.fromArray(F, params, pOff + t);
            FloatVector min = FloatVector.fromArray(F, params, pOff + Workspace.BLOCK + t);
            scale.mul(FloatVector.fromArray(F, dots, dotsOff + t)).add(min.mul(qSum)).mul(queryScale).mul(scoreScale)
                    .intoArray(scores, out + t);
        }
        for (; t < m; t++) {
            scores[out + t] = (params[pOff + t] * dots[dotsOff + t] + params[pOff + Workspace.BLOCK + t] * qSum)
                    * queryScale * scoreScale;
        }
    }
}
