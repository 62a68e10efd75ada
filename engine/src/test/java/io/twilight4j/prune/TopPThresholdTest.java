package io.twilight4j.prune;

import io.twilight4j.backend.TopPReference;
import java.util.SplittableRandom;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TopPThresholdTest {

    /** Softmax of random logits of varied sharpness and ties: the kept set is a minimal set of mass p. */
    @ParameterizedTest
    @CsvSource({"1, 7, 0.5", "2, 100, 0.9", "3, 1000, 0.95", "4, 8192, 0.95", "5, 333, 0.99", "6, 50, 1", "7, 4096, 0.8",
            "8, 1, 0.9", "9, 2, 0.5", "10, 9001, 0.99", "11, 17, 0.3"})
    void keepsAMinimalSetOfMassP(long seed, int n, double p) {
        SplittableRandom r = new SplittableRandom(seed);
        for (int trial = 0; trial < 20; trial++) {
            double sigma = 0.1 + 6 * r.nextDouble();
            float[] w = new float[n];
            for (int i = 0; i < n; i++) {
                // Every fifth trial rounds logits, so ties at the threshold occur.
                double x = sigma * r.nextGaussian();
                w[i] = (float) (trial % 5 == 0 ? Math.round(x) : x);
            }
            Softmax.inPlace(w, 0, n);
            float t = TopPThreshold.threshold(w, 0, n, (float) p, new float[n + TopPThreshold.SCRATCH_EXTRA]);
            int[] kept = new int[n];
            int c = 0;
            double[] wd = new double[n];
            for (int i = 0; i < n; i++) {
                wd[i] = w[i];
                if (w[i] > t) {
                    kept[c++] = i;
                }
            }
            TopPReference.assertMinimalTopP(wd, kept, c, p, "seed " + seed + " trial " + trial + " n " + n + " p " + p);
        }
    }

    /**
     * p = 1 keeps every positive weight, as the OpenCL kernel does: not the set where the float sums of the
     * weights first reach 1, which drops tiny weights by rounding (a search kept 3358 of 3531 here and there).
     */
    @ParameterizedTest
    @CsvSource({"21, 3531", "22, 4756", "23, 94", "24, 7400", "25, 1"})
    void pOneKeepsEveryPositiveWeight(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        for (int trial = 0; trial < 10; trial++) {
            double sigma = 1 + 7 * r.nextDouble();
            float[] w = new float[n];
            for (int i = 0; i < n; i++) {
                w[i] = (float) (sigma * r.nextGaussian());
            }
            Softmax.inPlace(w, 0, n);
            int positive = 0;
            for (float x : w) {
                positive += x > 0 ? 1 : 0;
            }
            float t = TopPThreshold.threshold(w, 0, n, 1f, new float[n + TopPThreshold.SCRATCH_EXTRA]);
            int kept = 0;
            for (float x : w) {
                kept += x > t ? 1 : 0;
            }
            assertEquals(positive, kept, "seed " + seed + " trial " + trial + " n " + n + " sigma " + sigma);
        }
    }
}
