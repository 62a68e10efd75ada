package io.twilight4j.attention;

/**
 * FlashDecoding's partial attention state for one query head over a chunk of tokens: running max
 * logit m, sum of exponentials d and the unnormalised output o (TWILIGHT.md section 5). Stored in
 * flat arrays: {@code m[i]}, {@code d[i]}, {@code o[i*dim .. i*dim+dim)}.
 */
public final class AttentionState {

    private AttentionState() {
    }

    /** Sets state {@code i} to the empty state (m = -inf, d = 0, o = 0). */
    public static void clear(float[] m, float[] d, float[] o, int i, int dim) {
        m[i] = Float.NEGATIVE_INFINITY;
        d[i] = 0;
        java.util.Arrays.fill(o, i * dim, i * dim + dim, 0f);
    }

    /**
     * Merges state {@code src} into state {@code dst}: m = max(m1, m2), f_i = exp(m_i - m),
     * d = d1 f1 + d2 f2, o = o1 f1 + o2 f2. An empty side contributes nothing (never -inf - -inf).
     */
    public static void merge(float[] m, float[] d, float[] o, int dst, int src, int dim) {
        if (d[src] == 0) {
            return;
        }
        if (d[dst] == 0) {
            m[dst] = m[src];
            d[dst] = d[src];
            System.arraycopy(o, src * dim, o, dst * dim, dim);
            return;
        }
        float mm = Math.max(m[dst], m[src]);
        float f1 = (float) Math.exp(m[dst] - mm);
        float f2 = (float) Math.exp(m[src] - mm);
        m[dst] = mm;
        d[dst] = d[dst] * f1 + d[src] * f2;
        for (int c = 0; c < dim; c++) {
            o[dst * dim + c] = o[dst * dim + c] * f1 + o[src * dim + c] * f2;
        }
    }

    /** Writes the normalised output o / d of state {@code i} (zeros when d = 0). */
    public static void finish(float[] d, float[] o, int i, int dim, float[] out, int outOff) {
        float inv = d[i] == 0 ? 0f : 1f / d[i];
        for (int c = 0; c < dim; c++) {
            out[outOff + c] = o[i * dim + c] * inv;
        }
    }

    /** Log-sum-exp m + log d of state {@code i}. */
    public static float lse(float[] m, float[] d, int i) {
        return d[i] == 0 ? Float.NEGATIVE_INFINITY : m[i] + (float) Math.log(d[i]);
    }
}
