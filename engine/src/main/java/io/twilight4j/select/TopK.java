package io.twilight4j.select;

/**
 * Unsorted top-k: finds the k-th largest score by quickselect (expected O(n), no sort) and lists
 * the k largest in ascending index order. Ties at the cut go to the lower indices.
 */
public final class TopK {

    private TopK() {
    }

    /**
     * Writes to {@code out} the indices of the {@code k} largest of {@code scores[0..n)}, ascending;
     * {@code tmp} (length >= n) is clobbered. Returns min(k, n).
     */
    public static int largest(float[] scores, int n, int k, float[] tmp, int[] out) {
        if (k >= n) {
            for (int i = 0; i < n; i++) {
                out[i] = i;
            }
            return n;
        }
        if (k <= 0) {
            return 0;
        }
        System.arraycopy(scores, 0, tmp, 0, n);
        float threshold = kthLargest(tmp, n, k);
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

    /** The k-th largest (1-based) of a[0..n), by iterative quickselect; reorders a. */
    static float kthLargest(float[] a, int n, int k) {
        int target = n - k; // index in ascending order
        int lo = 0;
        int hi = n - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            float pivot = median(a[lo], a[mid], a[hi]);
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < pivot) {
                    i++;
                }
                while (a[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    float t = a[i];
                    a[i] = a[j];
                    a[j] = t;
                    i++;
                    j--;
                }
            }
            if (target <= j) {
                hi = j;
            } else if (target >= i) {
                lo = i;
            } else {
                return a[target];
            }
        }
        return a[target];
    }

    private static float median(float x, float y, float z) {
        return Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    }
}
