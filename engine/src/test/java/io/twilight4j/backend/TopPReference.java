package io.twilight4j.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

/** Sort-based float64 reference for top-p: the kept set must be a minimal set of mass p. */
public final class TopPReference {

    /** Tolerance on mass: covers fp32 softmax and the fp16/4-bit path against float64. */
    static final double MASS_TOLERANCE = 2e-3;

    private TopPReference() {
    }

    /**
     * Asserts that {@code set[0..n)} (indices into {@code weights}) holds mass >= p and is no larger
     * than the smallest set of mass p + tolerance, nor smaller than that of mass p - tolerance.
     */
    public static void assertMinimalTopP(double[] weights, int[] set, int n, double p, String what) {
        double mass = 0;
        for (int i = 0; i < n; i++) {
            mass += weights[set[i]];
        }
        assertTrue(mass >= p - MASS_TOLERANCE, what + ": kept mass " + mass + " < p = " + p);
        int lower = smallestSetSize(weights, p - MASS_TOLERANCE);
        // Near p = 1 the float sums cannot tell the tail from rounding: any set of positive weights fits.
        int upper = p + MASS_TOLERANCE >= 1 ? positive(weights) : smallestSetSize(weights, p + MASS_TOLERANCE);
        assertTrue(n >= lower && n <= upper, what + ": kept " + n + " tokens; a minimal set of mass p holds "
                + lower + " to " + upper);
    }

    private static int positive(double[] weights) {
        int c = 0;
        for (double w : weights) {
            c += w > 0 ? 1 : 0;
        }
        return c;
    }

    /** Size of the smallest set of weights with mass >= p (largest first; ties all taken). */
    static int smallestSetSize(double[] weights, double p) {
        double[] sorted = weights.clone();
        Arrays.sort(sorted);
        double mass = 0;
        int count = 0;
        for (int i = sorted.length - 1; i >= 0; i--) {
            if (mass >= p) {
                // Ties with the last taken weight go together.
                if (sorted[i] == sorted[i + 1]) {
                    count++;
                    continue;
                }
                break;
            }
            mass += sorted[i];
            count++;
        }
        return count;
    }
}
