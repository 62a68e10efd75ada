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
     * A weight's bucket is its float bits >>> BUCKET_SHIFT (sign 0, 8 exponent bits, 3 mantissa bits): 1/8
     * of an octave. The OpenCL top_p kernel's histogram buckets the same way.
     */
    public static final int BUCKET_SHIFT = 20;
    /** Bucket edges tested per pass of the bucket search (massAbove's accumulators). */
    private static final int PROBES = 8;
    /** Floats of scratch besides the n compacted weights: the bucket search's probes and their masses. */
    public static final int SCRATCH_EXTRA = 2 * PROBES;

    /**
     * The threshold for weights {@code w[off..off+n)} (non-negative, summing to about 1) and mass
     * {@code p} in (0, 1]: keep {@code w_i > threshold} (p = 1: every positive weight). {@code scratch} needs
     * n + {@link #SCRATCH_EXTRA} floats.
     * <p>
     * Weights fall in buckets by their top float bits (a bucket spans 1/8 of an octave; the OpenCL kernel
     * builds a histogram of the same buckets). The bucket where the mass from the top crosses p gives a
     * first bracket (f(lo) >= p > f(hi)): it is found by a search over bucket edges below the largest
     * weight's bucket, {@link #PROBES} edges per vector pass (the first pass includes the bucket of
     * (1 - p) / (2n): the weights below it hold less than 1 - p, so the search rarely goes lower). Only the
     * first pass reads every weight: after each pass the weights inside the narrowed bracket move to
     * scratch, and the next passes read those few (on this 2-core machine's 8192-candidate rows three
     * full passes of eight probes took 10 of the 14 us a row cost). The bisection then runs over the
     * weights of the last bracket only.
     */
    public static float threshold(float[] w, int off, int n, float p, float[] scratch) {
        if (p >= 1) {
            // All the mass: every positive weight, as the OpenCL top_p keeps. A search would stop wherever
            // the float sums of the weights first reach 1, which depends on their rounding (it kept 1073 of
            // 4756 positive weights on one row).
            return 0;
        }
        FloatVector maxV = FloatVector.zero(F);
        int bound = F.loopBound(n);
        int i = 0;
        for (; i < bound; i += F.length()) {
            maxV = maxV.max(FloatVector.fromArray(F, w, off + i));
        }
        float max = maxV.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, w[off + i]);
        }
        // g(j) = mass of the weights in buckets >= j = f(top of bucket j - 1), non-increasing in j. The
        // bracket is bucket j* = the largest j >= 1 with g(j) >= p; none: keep every positive weight.
        // Invariant: g(low) >= p (low = 0 stands for "none found yet") and g(high) < p; aboveHigh = g(high).
        // The window: the weights of buckets [low, high), the only ones a later probe can tell apart; at
        // first all of w, then compacted into scratch[0..m). Probes (bucket numbers, exact as floats) and
        // their masses over the window live in scratch[n..].
        int high = bucket(max) + 1; // no weight is above max: g = 0 there
        int low = 0;
        float aboveHigh = 0;
        int floor = bucket((1 - p) / (2f * n));
        float[] win = w;
        int winOff = off;
        int m = n;
        boolean first = true;
        while (high - low > 1) {
            int k = 0;
            int from = low;
            if (first && floor > low && floor < high) {
                scratch[n + k++] = floor;
                from = floor;
            }
            first = false;
            // The rest spread evenly over (from, high), or every bucket there when they are few.
            int slots = PROBES - k;
            int span = high - from;
            for (int t = 1; t <= slots && t < span; t++) {
                scratch[n + k++] = span > slots ? from + (int) ((long) span * t / (slots + 1)) : from + t;
            }
            massAbove(win, winOff, m, n, k, scratch);
            for (int t = 0; t < k; t++) {
                int probe = (int) scratch[n + t];
                float g = aboveHigh + scratch[n + PROBES + t];
                if (g >= p) {
                    low = probe;
                } else {
                    high = probe;
                    aboveHigh = g;
                    break;
                }
            }
            m = compact(win, winOff, m, lowEdge(low), topOf(high - 1), scratch);
            win = scratch;
            winOff = 0;
        }
        int j = low;
        if (j == 0) {
            // Mass p needs every positive weight (p near 1, rounding): keep all w > 0.
            return 0;
        }
        // f(top of bucket j) = mass of the buckets above < p <= f(top of bucket j - 1); the window holds
        // exactly bucket j's weights.
        return bisect(scratch, m, aboveHigh, p, topOf(j - 1), topOf(j), RELATIVE_EPSILON * max);
    }

    /** The bucket of a non-negative weight. */
    private static int bucket(float x) {
        return Float.floatToRawIntBits(x) >>> BUCKET_SHIFT;
    }

    /** The largest float in bucket j (bucket 0 holds 0 and the smallest weights). */
    private static float topOf(int j) {
        return Float.intBitsToFloat(((j + 1) << BUCKET_SHIFT) - 1);
    }

    /** The bound below bucket {@code low}'s weights: weights above it are in buckets >= low. */
    private static float lowEdge(int low) {
        return low == 0 ? -1f : topOf(low - 1);
    }

    /**
     * Moves the weights x of {@code src[off..off+len)} with lo < x <= hi to {@code dst[0..)}, in order, and
     * returns their count. {@code dst} may be {@code src} with {@code off} 0: writes trail the reads.
     */
    private static int compact(float[] src, int off, int len, float lo, float hi, float[] dst) {
        int c = 0;
        int bound = F.loopBound(len);
        int i = 0;
        // Eight compares at a time; a branch per moved weight only.
        for (; i < bound; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, src, off + i);
            for (long bits = x.compare(VectorOperators.GT, lo).and(x.compare(VectorOperators.LE, hi)).toLong();
                 bits != 0; bits &= bits - 1) {
                dst[c++] = src[off + i + Long.numberOfTrailingZeros(bits)];
            }
        }
        for (; i < len; i++) {
            float x = src[off + i];
            if (x > lo && x <= hi) {
                dst[c++] = x;
            }
        }
        return c;
    }

    /**
     * For the {@code k} (at most {@link #PROBES}) ascending bucket numbers j_t at {@code probes[at + t]}:
     * {@code probes[at + PROBES + t]} = the mass of the weights of {@code w[off..off+n)} above the top of
     * bucket j_t - 1. One pass over the weights for all of them.
     */
    private static void massAbove(float[] w, int off, int n, int at, int k, float[] probes) {
        // Unused probes get an edge no weight is above.
        float e0 = edge(probes, at, k, 0), e1 = edge(probes, at, k, 1), e2 = edge(probes, at, k, 2);
        float e3 = edge(probes, at, k, 3), e4 = edge(probes, at, k, 4), e5 = edge(probes, at, k, 5);
        float e6 = edge(probes, at, k, 6), e7 = edge(probes, at, k, 7);
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
        int bound = F.loopBound(n);
        int i = 0;
        for (; i < bound; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, w, off + i);
            s0 = s0.add(x, x.compare(VectorOperators.GT, e0));
            s1 = s1.add(x, x.compare(VectorOperators.GT, e1));
            s2 = s2.add(x, x.compare(VectorOperators.GT, e2));
            s3 = s3.add(x, x.compare(VectorOperators.GT, e3));
            s4 = s4.add(x, x.compare(VectorOperators.GT, e4));
            s5 = s5.add(x, x.compare(VectorOperators.GT, e5));
            s6 = s6.add(x, x.compare(VectorOperators.GT, e6));
            s7 = s7.add(x, x.compare(VectorOperators.GT, e7));
        }
        int m = at + PROBES;
        probes[m] = s0.reduceLanes(VectorOperators.ADD);
        probes[m + 1] = s1.reduceLanes(VectorOperators.ADD);
        probes[m + 2] = s2.reduceLanes(VectorOperators.ADD);
        probes[m + 3] = s3.reduceLanes(VectorOperators.ADD);
        probes[m + 4] = s4.reduceLanes(VectorOperators.ADD);
        probes[m + 5] = s5.reduceLanes(VectorOperators.ADD);
        probes[m + 6] = s6.reduceLanes(VectorOperators.ADD);
        probes[m + 7] = s7.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float x = w[off + i];
            for (int t = 0; t < k; t++) {
                probes[m + t] += x > edge(probes, at, k, t) ? x : 0;
            }
        }
    }

    /** The top of bucket j_t - 1 for probe t (+infinity for an unused probe). */
    private static float edge(float[] probes, int at, int k, int t) {
        return t < k ? topOf((int) probes[at + t] - 1) : Float.POSITIVE_INFINITY;
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
                // Receivers of known class (see TopK.range).
                aV = x.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.LE, lo)).min(aV);
                bV = x.blend(Float.NEGATIVE_INFINITY, x.compare(VectorOperators.GT, hi)).max(bV);
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
