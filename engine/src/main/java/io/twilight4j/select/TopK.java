package io.twilight4j.select;

/**
 * Unsorted top-k: finds the k-th largest score by a radix select on the float bits (three counting
 * passes over the scores, no sort and no data-dependent branches: the quickselect it replaced
 * mispredicted about half its comparisons) and lists the k largest in ascending index order. Ties at
 * the cut go to the lower indices.
 */
public final class TopK {

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
        int greater = 0;
        for (int i = 0; i < n; i++) {
            if (scores[i] > threshold) {
                greater++;
            }
        }
        int ties = k - greater;
        int c = 0;
        for (int i = 0; i < n; i++) {
            float s = scores[i];
            if (s > threshold || (s == threshold && ties-- > 0)) {
                out[c++] = i;
            }
        }
        return c;
    }

    /** Bits of the order key each counting pass resolves, from the top: 11 + 11 + 10. */
    private static final int[] SHIFTS = {21, 10, 0};
    private static final int[] WIDTHS = {11, 11, 10};
    /** Interleaved counters: equal neighbours (scores cluster in few top digits) would chain their increments. */
    private static final int WAYS = 4;
    private static final ThreadLocal<int[]> COUNTS = ThreadLocal.withInitial(() -> new int[WAYS * ((1 << 11) + 1)]);

    /** The k-th largest (1-based) of a[0..n): the order key's digits from the top, each pass counting only matches so far. */
    static float kthLargest(float[] a, int n, int k) {
        int[] counts = COUNTS.get();
        int prefix = 0;
        int prefixMask = 0;
        int left = k; // rank still to find among the values that match the prefix, from the top
        for (int pass = 0; pass < SHIFTS.length; pass++) {
            int shift = SHIFTS[pass];
            int bins = 1 << WIDTHS[pass];
            java.util.Arrays.fill(counts, 0, WAYS * (bins + 1), 0);
            for (int i = 0; i < n; i++) {
                int key = orderKey(a[i]);
                // Non-matching keys count in a bin past the digit range, so the loop has no branch.
                int bin = (key & prefixMask) == prefix ? (key >>> shift) & (bins - 1) : bins;
                counts[(i & (WAYS - 1)) * (bins + 1) + bin]++;
            }
            int digit = bins - 1;
            int here = 0;
            for (; digit >= 0; digit--) {
                here = 0;
                for (int w = 0; w < WAYS; w++) {
                    here += counts[w * (bins + 1) + digit];
                }
                if (here >= left || digit == 0) {
                    break;
                }
                left -= here;
            }
            prefix |= digit << shift;
            prefixMask |= (bins - 1) << shift;
        }
        return fromOrderKey(prefix);
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
