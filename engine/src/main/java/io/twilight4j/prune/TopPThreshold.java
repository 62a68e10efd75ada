package io.twilight4j.prune;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Sorting-free top-p (TWILIGHT.md section 4): bisection on a weight threshold x, where
 * f(x) = sum of the weights above x is non-increasing. Invariant: f(lo) >= p > f(hi). The kept set
 * is {i : w_i > lo}; weights tied at the threshold are kept or dropped together.
 */
public final class TopPThreshold {

    /** Most bisection passes. */
    public static final int MAX_PASSES = 32;
    /**
     * Stop once the weights left between the bounds differ by at most this share of the largest
     * weight. TWILIGHT.md's absolute 1e-5 would keep hundreds of extra tokens in a diffuse head of
     * 8192 candidates (weights near 1e-4), so the tolerance is relative.
     */
    public static final float RELATIVE_EPSILON = 1e-6f;

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private TopPThreshold() {
    }

    /**
     * The threshold for weights {@code w[off..off+n)} (non-negative, summing to about 1) and mass
     * {@code p} in (0, 1]: keep {@code w_i > threshold}.
     */
    public static float threshold(float[] w, int off, int n, float p) {
        float max = 0;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, w[off + i]);
        }
        float lo = 0;
        float hi = max;
        float eps = RELATIVE_EPSILON * max;
        int bound = off + F.loopBound(n);
        int end = off + n;
        for (int pass = 0; pass < MAX_PASSES; pass++) {
            float mid = 0.5f * (lo + hi);
            // One pass: S = sum(w > mid), a = min{w > lo}, b = max{w <= hi}.
            FloatVector sum = FloatVector.zero(F);
            FloatVector aV = FloatVector.broadcast(F, Float.POSITIVE_INFINITY);
            FloatVector bV = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            int i = off;
            for (; i < bound; i += F.length()) {
                FloatVector v = FloatVector.fromArray(F, w, i);
                VectorMask<Float> aboveMid = v.compare(VectorOperators.GT, mid);
                sum = sum.add(v, aboveMid);
                aV = aV.min(v.blend(Float.POSITIVE_INFINITY, v.compare(VectorOperators.LE, lo)));
                bV = bV.max(v.blend(Float.NEGATIVE_INFINITY, v.compare(VectorOperators.GT, hi)));
            }
            float s = sum.reduceLanes(VectorOperators.ADD);
            float a = aV.reduceLanes(VectorOperators.MIN);
            float b = bV.reduceLanes(VectorOperators.MAX);
            for (; i < end; i++) {
                float x = w[i];
                if (x > mid) {
                    s += x;
                }
                if (x > lo) {
                    a = Math.min(a, x);
                }
                if (x <= hi) {
                    b = Math.max(b, x);
                }
            }
            if (b - a <= eps) {
                break;
            }
            if (s >= p) {
                lo = mid;
            } else {
                hi = Math.min(mid, b);
            }
        }
        return lo;
    }
}
