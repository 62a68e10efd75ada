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
        for (int g = 0; g < heads; g++) {
            float sum = 0;
            for (int b = 0; b < bytes; b++) {
                int t0 = (g * bytes + b) * 256;
                for (int v = 0; v < 256; v++) {
                    float acc = 0;
                    for (int s = 0; s < 4; s++) {
                        acc += q[qOff + g * dim + channels[4 * b + s]] * ((v >>> (2 * s)) & 3);
                    }
                    table[t0 + v] = acc;
                }
                for (int s = 0; s < 4; s++) {
                    sum += q[qOff + g * dim + channels[4 * b + s]];
                }
            }
            qSum[g] = sum;
        }
        HostKvCache.Layer ly = cache.layer(layer);
        for (int pos = 0; pos < length; pos++) {
            int page = pageTable[pos / pageTokens];
            int slot = pos % pageTokens;
            long labelOff = layout.labelOffset(page, kvHead, slot);
            long paramByte = 2 * layout.paramOffset(page, kvHead, slot);
            float scale = Fp16.get(ly.labelParams(), paramByte);
            float min = Fp16.get(ly.labelParams(), paramByte + 2);
            float best = Float.NEGATIVE_INFINITY;
            for (int g = 0; g < heads; g++) {
                float acc = 0;
                for (int b = 0; b < bytes; b++) {
                    acc += table[(g * bytes + b) * 256 + (ly.labels().get(ValueLayout.JAVA_BYTE, labelOff + b) & 0xff)];
                }
                best = Math.max(best, scale * acc + min * qSum[g]);
            }
            scores[pos] = best;
        }
    }
}
