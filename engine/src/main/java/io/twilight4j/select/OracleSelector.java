package io.twilight4j.select;

import io.twilight4j.attention.DecodeKernel;
import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KvLayout;

/** Exact top-B by q.k over the real keys: reads every key, so it is for evaluation only. */
public final class OracleSelector extends TokenScoreSelector {

    /** An oracle selector keeping the {@code budgetTokens} best tokens. */
    public OracleSelector(int budgetTokens) {
        super(budgetTokens);
    }

    @Override
    void scoreTokens(HostKvCache cache, int layer, int[] pageTable, int length, int kvHead,
                     float[] q, int qOff, int heads, Workspace ws, float[] scores) {
        KvLayout layout = cache.layout();
        int dim = layout.shape().headDim();
        HostKvCache.Layer ly = cache.layer(layer);
        for (int pos = 0; pos < length; pos++) {
            Fp16.toFloat(ly.keys(), 2 * layout.kvOffset(pageTable, kvHead, pos), ws.keyBlock, 0, dim);
            float best = Float.NEGATIVE_INFINITY;
            for (int g = 0; g < heads; g++) {
                best = Math.max(best, DecodeKernel.dot(q, qOff + g * dim, ws.keyBlock, 0, dim));
            }
            scores[pos] = best;
        }
    }
}
