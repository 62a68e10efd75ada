package io.twilight4j.select;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Unsorted top-k: finds the k-th largest score by a radix select on the float bits (a counting pass
 * over the scores, then two over the few in the chosen bucket; no sort and no data-dependent branches:
 * the quickselect it replaced mispredicted about half its comparisons) and lists the k largest in
 * ascending index order. Ties at the cut go to the lower indices.
 */
public final class TopK {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private TopK() {
    }

    /**
     * Writes to {@code out} the indices of the {@code k} largest of {@code scores[0..n)}, ascending;
     * returns min(k, n). Needs no scratch beyond a small per-thread counter array.
     */
    public static int largest(float[] scores, int n, int k, int[] out) {
        if (k >= n) {
            for (int i = 0; i < n; i++) {
                out[i] = i;
            }
            return n;
        }
        if (k <= 0) {
            return 0;
        }
        float threshold = kthLargest(scores, n, k);
        // Vector compares: the kept quarter of a Double Sparsity row is scattered at random, so a branch
        // per score mispredicted often; here a branch runs per kept index, over the bits of a lane mask.
        int bound = F.loopBound(n);
        int greater = 0;
        int i = 0;
        for (; i < bound; i += F.length()) {
            greater += FloatVector.fromArray(F, scores, i).compare(VectorOperators.GT, threshold).trueCount();
        }
        for (; i < n; i++) {
            greater += scores[i] > threshold ? 1 : 0;
        }
        int ties = k - greater;
        int c = 0;
        for (i = 0; i < bound; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, scores, i);
            long keep = x.compare(VectorOperators.GT, threshold).toLong();
            if (ties > 0) {
                // Ties at the cut go to the lowest indices: the mask's low bits first.
                for (long eq = x.compare(VectorOperators.EQ, threshold).toLong(); eq != 0 && ties > 0; eq &= eq - 1, ties--) {
                    keep |= eq & -eq;
                }
            }
            for (; keep != 0; keep &= keep - 1) {
                out[c++] = i + Long.numberOfTrailingZeros(keep);
            }
        }
        for (; i < n; i++) {
            float s = scores[i];
            if (s > threshold || (s == threshold && ties-- > 0)) {
                out[c++] = i;
            }
        }
        return c;
    }

    /** Bits of the order key a counting pass resolves (the last pass may take fewer). */
    private static final int DIGIT_BITS = 11;
    /** Interleaved counters: equal neighbours (scores cluster in few top digits) would chain their increments. */
    private static final int WAYS = 4;
    /** Rows from this length on count in {@link #WAYS} ways. */
    private static final int WAYS_FROM = 8192;
    private static final ThreadLocal<int[]> COUNTS = ThreadLocal.withInitial(() -> new int[WAYS * (1 << 11)]);
    /** Order keys whose top digit is the k-th largest's: the later passes read only these. */
    private static final ThreadLocal<int[]> KEYS = ThreadLocal.withInitial(() -> new int[1024]);

    /**
     * The k-th largest (1-based) of a[0..n): the order key's digits from the top, each pass counting only
     * matches so far. The digits start at the highest bit in which the keys differ (the row's min and max
     * tell): a row's scores share their sign and most of their exponent, and a first digit taken from the
     * key's top bits put most of Quest's pages in a few buckets. The first pass reads every score; the keys in
     * its chosen bucket are copied out, and the other passes count those only.
     */
    static float kthLargest(float[] a, int n, int k) {
        long range = range(a, n);
        int maxKey = (int) (range >>> 32);
        int minKey = (int) range;
        int varying = 32 - Integer.numberOfLeadingZeros(maxKey ^ minKey);
        if (varying == 0) {
            return a[0]; // all equal
        }
        int[] counts = COUNTS.get();
        int width = Math.min(DIGIT_BITS, varying);
        int shift = varying - width;
        int bins = 1 << width;
        // Short rows (Quest's pages) count in one way: clearing and scanning four ways' counters cost more
        // than the chains they avoid.
        int ways = n >= WAYS_FROM ? WAYS : 1;
        java.util.Arrays.fill(counts, 0, ways * bins, 0);
        for (int i = 0; i < n; i++) {
            counts[(i & (ways - 1)) * bins + ((orderKey(a[i]) >>> shift) & (bins - 1))]++;
        }
        long picked = pick(counts, bins, ways, k);
        int digit = (int) (picked >>> 32);
        int left = (int) picked; // rank still to find among the values that match the prefix, from the top
        int inBucket = 0;
        for (int w = 0; w < ways; w++) {
            inBucket += counts[w * bins + digit];
        }
        int[] keys = KEYS.get();
        if (keys.length <= inBucket) {
            // One slot more: the copy below writes every key's slot before it knows whether to keep it.
            keys = new int[Math.max(inBucket + 1, 2 * keys.length)];
            KEYS.set(keys);
        }
        int m = 0;
        for (int i = 0; i < n; i++) {
            int key = orderKey(a[i]);
            keys[m] = key;
            m += ((key >>> shift) & (bins - 1)) == digit ? 1 : 0;
        }
        // The bits above `varying` are the same in every key.
        long above = varying == 32 ? 0 : -1L << varying;
        int prefix = (int) (maxKey & above) | digit << shift;
        int prefixMask = (int) above | (bins - 1) << shift;
        while (shift > 0) {
            width = Math.min(DIGIT_BITS, shift);
            shift -= width;
            bins = 1 << width;
            java.util.Arrays.fill(counts, 0, ways * bins, 0);
            for (int i = 0; i < m; i++) {
                int key = keys[i];
                if ((key & prefixMask) == prefix) {
                    counts[(i & (ways - 1)) * bins + ((key >>> shift) & (bins - 1))]++;
                }
            }
            picked = pick(counts, bins, ways, left);
            left = (int) picked;
            prefix |= (int) (picked >>> 32) << shift;
            prefixMask |= (bins - 1) << shift;
        }
        return fromOrderKey(prefix);
    }

    /** The order keys of the largest and the smallest of a[0..n), n > 0: the largest in the high half. */
    private static long range(float[] a, int n) {
        int bound = F.loopBound(n);
        float max = a[0];
        float min = a[0];
        int i = 0;
        if (bound > 0) {
            FloatVector hi = FloatVector.fromArray(F, a, 0);
            FloatVector lo = hi;
            for (i = F.length(); i < bound; i += F.length()) {
                FloatVector v = FloatVector.fromArray(F, a, i);
                // The fresh vector calls: its class is known, so C2 binds the call without a profile (lo.min(v),
                // a rarely run call site, stayed a virtual call to the non-intrinsic fallback: 2.8% of a 32k step's JFR samples,
                // bench/results/cpu-2026-12-07-session27).
                hi = v.max(hi);
                lo = v.min(lo);
            }
            max = hi.reduceLanes(VectorOperators.MAX);
            min = lo.reduceLanes(VectorOperators.MIN);
        }
        for (; i < n; i++) {
            max = Math.max(max, a[i]);
            min = Math.min(min, a[i]);
        }
        return (long) orderKey(max) << 32 | (orderKey(min) & 0xffffffffL);
    }

    /**
     * The digit whose bucket holds the {@code left}-th largest key (digit 0 when the larger ones run
     * out), in the high half, and the rank left inside that bucket, in the low half.
     */
    private static long pick(int[] counts, int bins, int ways, int left) {
        int digit = bins - 1;
        int here = 0;
        for (; digit >= 0; digit--) {
            here = 0;
            for (int w = 0; w < ways; w++) {
                here += counts[w * bins + digit];
            }
            if (here >= left || digit == 0) {
                break;
            }
            left -= here;
        }
        return (long) digit << 32 | left;
    }

    /** Float order as unsigned int order of the bits (negative floats reversed, below the positive ones). */
    private static int orderKey(float f) {
        int u = Float.floatToRawIntBits(f);
        // Without a branch (signs are random): negative -> all bits flipped, positive -> sign bit set.
        return u ^ ((u >> 31) | 0x80000000);
    }

    /** The float whose {@link #orderKey} is {@code key}. */
    private static float fromOrderKey(int key) {
        return Float.intBitsToFloat(key < 0 ? key & 0x7fffffff : ~key);
    }
}
