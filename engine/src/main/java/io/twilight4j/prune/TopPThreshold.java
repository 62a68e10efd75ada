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
     * A weight's histogram bucket is its float bits >>> BUCKET_SHIFT (sign 0, 8 exponent bits, 3 mantissa
     * bits): 1/8 of an octave. The OpenCL top_p kernel buckets the same way.
     */
    public static final int BUCKET_SHIFT = 20;
    /** Histogram buckets. */
    static final int BUCKETS = 1 << (31 - BUCKET_SHIFT);
    /** Floats of scratch besides the n compacted weights: two interleaved histograms. */
    public static final int SCRATCH_EXTRA = 2 * BUCKETS;

    /**
     * The threshold for weights {@code w[off..off+n)} (non-negative, summing to about 1) and mass
     * {@code p} in (0, 1]: keep {@code w_i > threshold}. {@code scratch} needs n + {@link #SCRATCH_EXTRA}
     * floats.
     * <p>
     * A first pass sums the weights per bucket of their top float bits (a bucket spans 1/8 of an octave),
     * so one pass finds the bucket where the mass from the top crosses p: its edges are a first bracket
     * (f(lo) >= p > f(hi)). A second pass moves the weights inside the bracket to scratch and sums those
     * above it, and the bisection then runs over those few weights only.
     */
    public static float threshold(float[] w, int off, int n, float p, float[] scratch) {
        int h0 = n;
        int h1 = n + BUCKETS;
        java.util.Arrays.fill(scratch, h0, h0 + 2 * BUCKETS, 0f);
        float max = 0;
        int i = 0;
        // Two interleaved histograms: neighbours often share a bucket, and one would chain their adds.
        for (; i + 1 < n; i += 2) {
            float x = w[off + i];
            float y = w[off + i + 1];
            scratch[h0 + (Float.floatToRawIntBits(x) >>> BUCKET_SHIFT)] += x;
            scratch[h1 + (Float.floatToRawIntBits(y) >>> BUCKET_SHIFT)] += y;
            max = Math.max(max, Math.max(x, y));
        }
        for (; i < n; i++) {
            scratch[h0 + (Float.floatToRawIntBits(w[off + i]) >>> BUCKET_SHIFT)] += w[off + i];
            max = Math.max(max, w[off + i]);
        }
        float cum = 0;
        int j = BUCKETS - 1;
        for (; j > 0; j--) {
            cum += scratch[h0 + j] + scratch[h1 + j];
            if (cum >= p) {
                break;
            }
        }
        if (j == 0) {
            // Mass p needs every positive weight (p near 1, rounding): keep all w > 0.
            return 0;
        }
        // f(top of bucket j) = mass of the buckets above < p <= f(top of bucket j - 1).
        float lo = Float.intBitsToFloat((j << BUCKET_SHIFT) - 1);
        float hi = Float.intBitsToFloat(((j + 1) << BUCKET_SHIFT) - 1);
        float above = 0;
        int count = 0;
        for (i = 0; i < n; i++) {
            float x = w[off + i];
            above += x > hi ? x : 0;
            scratch[count] = x;
            count += x > lo && x <= hi ? 1 : 0;
        }
        return bisect(scratch, count, above, p, lo, hi, RELATIVE_EPSILON * max);
    }

    /**
     * Bisection on (lo, hi] over the weights {@code v[0..count)} inside it, {@code above} being the mass
     * of the weights above hi. Invariant: f(lo) >= p > f(hi).
     */
    private static float bisect(float[] v, int count, float above, float p, float lo, float hi, float eps) {
        int bound = F.loopBound(count);
        for (int pass = 0; pass < MAX_PASSES; pass++) {
            float mid = 0.5f * (lo + hi);
            // One pass: S = sum(w > mid), a = min{w > lo}, b = max{w <= hi}.
            FloatVector sum = FloatVector.zero(F);
            FloatVector aV = FloatVector.broadcast(F, Float.POSITIVE_INFINITY);
            FloatVector bV = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            int i = 0;
            for (; i < bound; i += F.length()) {
                FloatVector x = FloatVector.fromArray(F, v, i);
                VectorMask<Float> aboveMid = x.compare(VectorOperators.GT, mid);
                sum = sum.add(x, aboveMid);
                aV = aV.min(x.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.LE, lo)));
                bV = bV.max(x.blend(Float.NEGATIVE_INFINITY, x.compare(VectorOperators.GT, hi)));
            }
            float s = sum.reduceLanes(VectorOperators.ADD);
            float a = aV.reduceLanes(VectorOperators.MIN);
            float b = bV.reduceLanes(VectorOperators.MAX);
            for (; i < count; i++) {
                float x = v[i];
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
            if (s + above >= p) {
                lo = mid;
            } else {
                hi = Math.min(mid, b);
            }
        }
        return lo;
    }
}
