package io.twilight4j.select;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KvLayout;
import java.lang.foreign.ValueLayout;

/**
 * Double Sparsity: ranks tokens by q.k over the r calibrated label channels, keys taken from the
 * 2-bit label cache, and takes the best B0 tokens. Each label byte holds four 2-bit codes, so the
 * dot product is a sum of r/4 lookups in per-query tables built once per call.
 */
public final class DoubleSparsitySelector extends TokenScoreSelector {

    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /** A Double Sparsity selector with budget {@code budgetTokens} (B0). */
    public DoubleSparsitySelector(int budgetTokens) {
        super(budgetTokens);
    }

    @Override
    void scoreTokens(HostKvCache cache, int layer, int[] pageTable, int length, int kvHead,
                     float[] q, int qOff, int heads, Workspace ws, float[] scores) {
        if (cache.labelChannels() == null) {
            throw new IllegalStateException("ds selector: the KV cache has no label cache (create it with label channels)");
        }
        KvLayout layout = cache.layout();
        int dim = layout.shape().headDim();
        int pageTokens = layout.shape().pageTokens();
        int[] channels = cache.labelChannels().of(layer, kvHead);
        int bytes = channels.length / 4;
        float[] table = ws.table;
        float[] qSum = ws.queryScratch;
        // table[(b * 256 + v) * heads + g]: the group's heads side by side, so one lookup serves the whole
        // group (for four heads, one vector load).
        for (int g = 0; g < heads; g++) {
            float sum = 0;
            for (int b = 0; b < bytes; b++) {
                for (int v = 0; v < 256; v++) {
                    float acc = 0;
                    for (int s = 0; s < 4; s++) {
                        acc += q[qOff + g * dim + channels[4 * b + s]] * ((v >>> (2 * s)) & 3);
                    }
                    table[(b * 256 + v) * heads + g] = acc;
                }
                for (int s = 0; s < 4; s++) {
                    sum += q[qOff + g * dim + channels[4 * b + s]];
                }
            }
            qSum[g] = sum;
        }
        HostKvCache.Layer ly = cache.layer(layer);
        float[] acc = ws.corrections;
        // Page by page: one page-table lookup per page; a page's labels and params are contiguous.
        for (int p = 0, first = 0; first < length; p++, first += pageTokens) {
            int page = pageTable[p];
            int n = Math.min(pageTokens, length - first);
            long labels = layout.labelOffset(page, kvHead, 0);
            long params = 2 * layout.paramOffset(page, kvHead, 0);
            for (int slot = 0; slot < n; slot++, labels += bytes, params += 4) {
                float scale = Fp16.get(ly.labelParams(), params);
                float min = Fp16.get(ly.labelParams(), params + 2);
                float best;
                if (heads == 4) {
                    best = groupOfFour(ly, labels, bytes, table, scale, min, qSum);
                } else {
                    java.util.Arrays.fill(acc, 0, heads, 0f);
                    for (int b = 0; b < bytes; b++) {
                        int at = (b * 256 + (ly.labels().get(ValueLayout.JAVA_BYTE, labels + b) & 0xff)) * heads;
                        for (int g = 0; g < heads; g++) {
                            acc[g] += table[at + g];
                        }
                    }
                    best = Float.NEGATIVE_INFINITY;
                    for (int g = 0; g < heads; g++) {
                        best = Math.max(best, scale * acc[g] + min * qSum[g]);
                    }
                }
                scores[first + slot] = best;
            }
        }
    }

    /**
     * The common GQA group of four, in scalar code: labels read eight bytes at a time, and two sets of
     * four sums (even and odd bytes) halve the chains of dependent adds (1.6 instead of 5.6 ms per KV
     * head at 32k tokens, r = 64, on this project's Zen 3 machine). A 4-lane vector version was as fast
     * alone but fell to the Vector API's slow fallback when run after other policies in one JVM (its
     * 128-bit species beside everyone else's 256-bit ones: 44 ms a step).
     */
    private static float groupOfFour(HostKvCache.Layer ly, long labels, int bytes, float[] table, float scale, float min,
                                     float[] qSum) {
        float e0 = 0;
        float e1 = 0;
        float e2 = 0;
        float e3 = 0;
        float o0 = 0;
        float o1 = 0;
        float o2 = 0;
        float o3 = 0;
        int b = 0;
        for (; b + 8 <= bytes; b += 8) {
            long word = ly.labels().get(WORD, labels + b);
            // Byte j of the word is label byte b + j.
            for (int j = 0; j < 8; j += 2) {
                int at = ((b + j) * 256 + ((int) (word >>> (8 * j)) & 0xff)) * 4;
                int bt = ((b + j + 1) * 256 + ((int) (word >>> (8 * j + 8)) & 0xff)) * 4;
                e0 += table[at];
                e1 += table[at + 1];
                e2 += table[at + 2];
                e3 += table[at + 3];
                o0 += table[bt];
                o1 += table[bt + 1];
                o2 += table[bt + 2];
                o3 += table[bt + 3];
            }
        }
        for (; b < bytes; b++) {
            int at = (b * 256 + (ly.labels().get(ValueLayout.JAVA_BYTE, labels + b) & 0xff)) * 4;
            e0 += table[at];
            e1 += table[at + 1];
            e2 += table[at + 2];
            e3 += table[at + 3];
        }
        return Math.max(Math.max(scale * (e0 + o0) + min * qSum[0], scale * (e1 + o1) + min * qSum[1]),
                Math.max(scale * (e2 + o2) + min * qSum[2], scale * (e3 + o3) + min * qSum[3]));
    }
}
