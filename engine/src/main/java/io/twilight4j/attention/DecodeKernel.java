package io.twilight4j.attention;

import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KvLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The CPU decode-attention kernel: exact softmax attention of the query heads of one GQA group over
 * a chunk of one sequence's tokens, K and V read once for the whole group. Dense decode passes a
 * position range, sparse decode an index list; both produce partial {@link AttentionState}s.
 */
public final class DecodeKernel {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private DecodeKernel() {
    }

    /**
     * Attends query heads {@code 0..heads-1} (rows of {@code dim} floats at {@code qOff} in {@code q})
     * over the tokens of KV head {@code kvHead}: positions {@code tokens[from..to)}, or positions
     * {@code from..to} when {@code tokens} is null. Writes states {@code stateBase + g}.
     */
    public static void attend(HostKvCache.Layer layer, KvLayout layout, int[] pageTable, int kvHead,
                              int[] tokens, int from, int to, float[] q, int qOff, int heads, float scale,
                              Workspace ws, float[] m, float[] d, float[] o, int stateBase) {
        int dim = layout.shape().headDim();
        int pageTokens = layout.shape().pageTokens();
        for (int g = 0; g < heads; g++) {
            AttentionState.clear(m, d, o, stateBase + g, dim);
        }
        float[] kb = ws.keyBlock;
        float[] vb = ws.valueBlock;
        float[] s = ws.logits;
        for (int b = from; b < to; b += Workspace.BLOCK) {
            int n = Math.min(Workspace.BLOCK, to - b);
            for (int t = 0; t < n; t++) {
                int pos = tokens == null ? b + t : tokens[b + t];
                long off = 2 * layout.kvOffset(pageTable[pos / pageTokens], kvHead, pos % pageTokens);
                Fp16.toFloat(layer.keys(), off, kb, t * dim, dim);
                Fp16.toFloat(layer.values(), off, vb, t * dim, dim);
            }
            for (int g = 0; g < heads; g++) {
                int qg = qOff + g * dim;
                float blockMax = Float.NEGATIVE_INFINITY;
                for (int t = 0; t < n; t++) {
                    float x = dot(q, qg, kb, t * dim, dim) * scale;
                    s[g * Workspace.BLOCK + t] = x;
                    blockMax = Math.max(blockMax, x);
                }
                int st = stateBase + g;
                float mNew = Math.max(m[st], blockMax);
                // exp(-inf - finite) = 0: an empty state contributes nothing.
                float correction = (float) Math.exp(m[st] - mNew);
                float sum = d[st] * correction;
                for (int t = 0; t < n; t++) {
                    float p = (float) Math.exp(s[g * Workspace.BLOCK + t] - mNew);
                    s[g * Workspace.BLOCK + t] = p;
                    sum += p;
                }
                m[st] = mNew;
                d[st] = sum;
                accumulate(o, st * dim, correction, s, g * Workspace.BLOCK, vb, n, dim);
            }
        }
    }

    /** o = o * correction + sum_t p[t] * v[t]. */
    private static void accumulate(float[] o, int oOff, float correction, float[] p, int pOff, float[] v, int n, int dim) {
        int c = 0;
        int bound = F.loopBound(dim);
        for (; c < bound; c += F.length()) {
            FloatVector acc = FloatVector.fromArray(F, o, oOff + c).mul(correction);
            for (int t = 0; t < n; t++) {
                acc = FloatVector.fromArray(F, v, t * dim + c).fma(FloatVector.broadcast(F, p[pOff + t]), acc);
            }
            acc.intoArray(o, oOff + c);
        }
        for (; c < dim; c++) {
            float acc = o[oOff + c] * correction;
            for (int t = 0; t < n; t++) {
                acc += p[pOff + t] * v[t * dim + c];
            }
            o[oOff + c] = acc;
        }
    }

    /** Dot product of {@code n} floats. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int c = 0;
        int bound = F.loopBound(n);
        FloatVector acc = FloatVector.zero(F);
        for (; c < bound; c += F.length()) {
            acc = FloatVector.fromArray(F, a, aOff + c).fma(FloatVector.fromArray(F, b, bOff + c), acc);
        }
        float r = acc.reduceLanes(VectorOperators.ADD);
        for (; c < n; c++) {
            r += a[aOff + c] * b[bOff + c];
        }
        return r;
    }
}
