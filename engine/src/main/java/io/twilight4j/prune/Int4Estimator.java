package io.twilight4j.prune;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.CacheLines;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.Int8Query;
import io.twilight4j.kv.KvLayout;
import io.twilight4j.kv.Nibbles;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Twilight's score estimate (the SpGEMV): q.k^ / sqrt(d) over the candidates, with k^ the 4-bit key
 * and q the 8-bit query ({@link Int8Query}: q = c * qs). Since k^_i = code_i * scale + min, q.k^ =
 * qs * (scale * (c . code) + min * sum(c)): each token's codes are read once and dotted with every
 * query head of the group ({@link Nibbles#dots}). The dot products are sums of integers below 2^24,
 * exact in float arithmetic in any order: the same sums the OpenCL kernel gets from integer dot-product
 * instructions, scaled by the same float operations in the same order.
 */
public final class Int4Estimator {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

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
        int codeBytes = dim / 2;
        HostKvCache.Layer ly = cache.layer(layer);
        // Query rows permuted to the order Nibbles.dots meets the channels in (Nibbles.position).
        float[] qp = ws.queryScratch;
        float[] qSum = ws.corrections;
        for (int g = 0; g < heads; g++) {
            float sum = 0;
            int qOff = (firstHead + g) * dim;
            for (int c = 0; c < dim; c++) {
                sum += queryCodes[qOff + c];
            }
            qSum[g] = sum;
            Nibbles.permute(queryCodes, qOff, qp, g * dim, codeBytes);
        }
        // Blocks of tokens: each block's code rows and params are located (and their cache lines touched)
        // one block ahead, so those misses are in flight while the block before is dotted with every
        // head of the group. Rows and params are double-buffered: `at` = the block's half.
        long[] rows = ws.rowOffsets;
        float[] params = ws.tokenParams;
        float[] dots = ws.logits;
        int touched = locate(ly, layout, pageTable, kvHead, tokens, 0, Math.min(Workspace.BLOCK, n), rows, params, 0);
        for (int b = 0; b < n; b += Workspace.BLOCK) {
            int m = Math.min(Workspace.BLOCK, n - b);
            int at = (b / Workspace.BLOCK) % 2 * Workspace.BLOCK;
            if (b + m < n) {
                touched += locate(ly, layout, pageTable, kvHead, tokens, b + m, Math.min(Workspace.BLOCK, n - b - m),
                        rows, params, Workspace.BLOCK - at);
            }
            Nibbles.dots(ly.codes(), rows, at, m, codeBytes, qp, 0, heads, dots, 0, Workspace.BLOCK, ws.codeRow);
            for (int g = 0; g < heads; g++) {
                finish(dots, g * Workspace.BLOCK, params, 2 * at, m, qSum[g], queryScales[firstHead + g], scoreScale,
                        scores, scoresOff + g * n + b);
            }
        }
        CacheLines.keep(touched);
    }

    /**
     * Byte offsets of the code rows of {@code tokens[from..from+m)} to {@code rows[at..]}, their scales to
     * {@code params[2 * at..]} and mins to {@code params[2 * at + BLOCK..]}; loads one byte of each row
     * (a cache line) and returns their sum.
     */
    private static int locate(HostKvCache.Layer ly, KvLayout layout, int[] pageTable, int kvHead, int[] tokens,
                              int from, int m, long[] rows, float[] params, int at) {
        int pageTokens = layout.shape().pageTokens();
        MemorySegment codes = ly.codes();
        MemorySegment codeParams = ly.codeParams();
        int codeBytes = layout.codeBytesPerToken();
        int sum = 0;
        if (wholePages(tokens, from, m, pageTokens)) {
            // Quest's candidates: whole pages, whose rows and params are consecutive. A loop of its own:
            // mixing both cases in one loop made the scattered case 1.3x-1.9x slower.
            for (int t = 0; t < m; t += pageTokens) {
                int pos = tokens[from + t];
                int page = pageTable[layout.pageOf(pos)];
                long row = layout.codeOffset(page, kvHead, 0);
                long param = 2 * layout.paramOffset(page, kvHead, 0);
                for (int k = 0; k < pageTokens; k++, row += codeBytes, param += 4) {
                    sum += put(codes, codeParams, row, param, rows, params, at, t + k);
                }
            }
            return sum;
        }
        int pageStart = Integer.MIN_VALUE / 2;
        int page = 0;
        for (int t = 0; t < m; t++) {
            int pos = tokens[from + t];
            // Scattered candidates (Double Sparsity) share pages often: look the page up only when it changes.
            if (pos - pageStart >= pageTokens || pos < pageStart) {
                int logical = layout.pageOf(pos);
                pageStart = logical * pageTokens;
                page = pageTable[logical];
            }
            int slot = pos - pageStart;
            sum += put(codes, codeParams, layout.codeOffset(page, kvHead, slot), 2 * layout.paramOffset(page, kvHead, slot),
                    rows, params, at, t);
        }
        return sum;
    }

    /**
     * Token t of a block: its row offset to {@code rows[at + t]}, scale and min (the fp16 pair at byte
     * {@code param}) to {@code params}; returns the row's first byte (the touch).
     */
    private static int put(MemorySegment codes, MemorySegment codeParams, long row, long param, long[] rows,
                           float[] params, int at, int t) {
        rows[at + t] = row;
        int pair = Fp16.getPair(codeParams, param);
        params[2 * at + t] = Fp16.first(pair);
        params[2 * at + Workspace.BLOCK + t] = Fp16.second(pair);
        return codes.get(ValueLayout.JAVA_BYTE, row);
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
            if (pos % pageTokens != 0 || tokens[from + t + pageTokens - 1] != pos + pageTokens - 1) {
                return false;
            }
            for (int k = 1; k < pageTokens - 1; k++) {
                if (tokens[from + t + k] != pos + k) {
                    return false;
                }
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
