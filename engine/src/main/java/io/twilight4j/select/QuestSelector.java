package io.twilight4j.select;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KvLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Quest: ranks pages by sum_c max(q_c * min_c, q_c * max_c), an upper bound of q.k over the page
 * (TWILIGHT.md section 3), and takes the best pages up to B0 tokens. The last, partly filled page is
 * always taken and counts toward the budget.
 */
public final class QuestSelector implements Selector {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
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
        HostKvCache.Layer ly = cache.layer(layer);
        int dim = layout.shape().headDim();
        for (int p = 0; p < pages - 1; p++) {
            Fp16.toFloat(ly.bounds(), 2 * layout.boundsOffset(pageTable[p], kvHead), ws.keyBlock, 0, 2 * dim);
            ws.scores[p] = upperBound(ws.keyBlock, q, qOff, heads, dim);
        }
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

    /** The group's largest bound: max over heads of sum_c max(q_c * min_c, q_c * max_c). */
    static float upperBound(float[] bounds, float[] q, int qOff, int heads, int dim) {
        float best = Float.NEGATIVE_INFINITY;
        int bound = F.loopBound(dim);
        for (int g = 0; g < heads; g++) {
            int qg = qOff + g * dim;
            FloatVector acc = FloatVector.zero(F);
            int c = 0;
            for (; c < bound; c += F.length()) {
                FloatVector qv = FloatVector.fromArray(F, q, qg + c);
                FloatVector lo = qv.mul(FloatVector.fromArray(F, bounds, c));
                FloatVector hi = qv.mul(FloatVector.fromArray(F, bounds, dim + c));
                acc = acc.add(lo.max(hi));
            }
            float s = acc.reduceLanes(VectorOperators.ADD);
            for (; c < dim; c++) {
                s += Math.max(q[qg + c] * bounds[c], q[qg + c] * bounds[dim + c]);
            }
            best = Math.max(best, s);
        }
        return best;
    }

    @Override
    public int maxCandidates(int length) {
        return length;
    }
}
