package io.twilight4j.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class KeySmoothingTest {

    private static final int DIM = 32;

    /** n samples of {@code heads} rows, channel c of head h drawn with spread {@code spread[h][c]}. */
    private static float[] samples(SplittableRandom r, int n, double[][] spread) {
        int heads = spread.length;
        float[] s = new float[n * heads * DIM];
        for (int i = 0; i < n; i++) {
            for (int h = 0; h < heads; h++) {
                for (int c = 0; c < DIM; c++) {
                    s[(i * heads + h) * DIM + c] = (float) (r.nextGaussian() * spread[h][c]);
                }
            }
        }
        return s;
    }

    /**
     * Keys with outlier channels (8x and 32x) met by a query that is small there (as a trained model's logits
     * spread over all channels): the outliers are divided, every other channel keeps 0, and the model's predicted
     * error falls well below no smoothing's. Where the query is large on the same channels (its logits lean on
     * them), nothing is divided. Each layer and KV head is calibrated on its own keys and its own group's queries.
     */
    @Test
    void outliersAreDividedUnlessTheQueryLeansOnThem() {
        SplittableRandom r = new SplittableRandom(5);
        int kvHeads = 2, group = 2;
        int[] outlier = {5, 17};
        double[][] keySpread = new double[kvHeads][DIM];
        double[][] balanced = new double[kvHeads * group][DIM];
        double[][] leaning = new double[kvHeads * group][DIM];
        for (int h = 0; h < kvHeads; h++) {
            Arrays.fill(keySpread[h], 1);
            keySpread[h][outlier[h]] = 8;
            keySpread[h][outlier[h] + 1] = 32;
            for (int g = 0; g < group; g++) {
                for (int c = 0; c < DIM; c++) {
                    balanced[h * group + g][c] = 1 / keySpread[h][c];
                    leaning[h * group + g][c] = keySpread[h][c] * keySpread[h][c];
                }
            }
        }
        float[] keys = samples(r, 2000, keySpread);
        KeySmoothing s = KeySmoothing.calibrate(new float[][] {keys, keys}, new float[][] {samples(r, 500, balanced),
                samples(r, 500, leaning)}, kvHeads * group, kvHeads, DIM);
        for (int h = 0; h < kvHeads; h++) {
            int[] e = s.exponentsOf(0, h);
            for (int c = 0; c < DIM; c++) {
                if (c == outlier[h] || c == outlier[h] + 1) {
                    assertTrue(e[c] >= 2, "head " + h + " outlier channel " + c + ": exponent " + e[c]);
                } else {
                    assertEquals(0, e[c], "head " + h + " channel " + c);
                }
            }
            assertTrue(e[outlier[h] + 1] > e[outlier[h]], "the larger outlier is divided more: " + Arrays.toString(e));
            assertArrayEquals(new int[DIM], s.exponentsOf(1, h), "layer 1 (a leaning query) head " + h);
        }
    }

    /**
     * For random key and query spreads (outliers on either side or both): exponents in [0, 8], none on channels at
     * or below the median key spread, and never more predicted error than no smoothing.
     */
    @Test
    void theChoiceIsNeverPredictedWorseThanNone() {
        SplittableRandom r = new SplittableRandom(6);
        for (int trial = 0; trial < 500; trial++) {
            double[] a = new double[DIM];
            double[] b = new double[DIM];
            for (int c = 0; c < DIM; c++) {
                a[c] = Math.exp(r.nextGaussian()) * (r.nextInt(8) == 0 ? Math.exp(4 * r.nextDouble()) : 1);
                b[c] = Math.exp(r.nextGaussian()) * (r.nextInt(8) == 0 ? Math.exp(4 * r.nextDouble()) : 1);
            }
            int[] e = KeySmoothing.bestExponents(a, b);
            double[] sorted = a.clone();
            Arrays.sort(sorted);
            for (int c = 0; c < DIM; c++) {
                assertTrue(e[c] >= KeySmoothing.MIN_EXPONENT && e[c] <= KeySmoothing.MAX_EXPONENT, "trial " + trial);
                if (a[c] <= sorted[DIM / 2]) {
                    assertEquals(0, e[c], "trial " + trial + ": channel " + c + " at or below the median");
                }
            }
            assertTrue(KeySmoothing.predictedError(a, b, e) <= KeySmoothing.predictedError(a, b, new int[DIM]), "trial " + trial);
        }
    }

    /** The model's error, computed here term by term, for one small case (the query term with its power-of-two factor). */
    @Test
    void predictedErrorIsTheKeysRoundingMetByTheQueryPlusTheQuerysMetByTheKeys() {
        double[] a = {1, 2, 8, 0.5};
        double[] b = {1, 1, 0.25, 3};
        int[] e = {0, 1, 3, 0};
        // Smoothed: keys 1, 1, 1, 0.5 (range 1); queries 1, 2, 2, 3 (range 3).
        double keyTerm = Math.pow(1.0 / 15, 2) * (1 + 4 + 4 + 9);
        double queryTerm = 3 / (2 * Math.log(2)) * Math.pow(3.0 / 127, 2) * (1 + 1 + 1 + 0.25);
        assertEquals(keyTerm + queryTerm, KeySmoothing.predictedError(a, b, e), 1e-15);
    }

    @Test
    void badExponentsAndSamplesAreRejectedByName() {
        int[][][] e = new int[1][2][4];
        e[0][1][3] = KeySmoothing.MAX_EXPONENT + 1;
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> new KeySmoothing(4, e));
        assertTrue(x.getMessage().contains("head 1 channel 3"), x.getMessage());
        e[0][1][3] = KeySmoothing.MIN_EXPONENT - 1;
        assertThrows(IllegalArgumentException.class, () -> new KeySmoothing(4, e));
        x = assertThrows(IllegalArgumentException.class, () -> new KeySmoothing(4, new int[][][] {{new int[4], new int[3]}}));
        assertTrue(x.getMessage().contains("expected headDim = 4"), x.getMessage());
        float[][] keys = {new float[2 * 4]};
        float[][] queries = {new float[4 * 4]};
        keys[0][6] = Float.NaN;
        x = assertThrows(IllegalArgumentException.class, () -> KeySmoothing.calibrate(keys, queries, 4, 2, 4));
        assertTrue(x.getMessage().contains("keys, head 1 channel 2 is NaN"), x.getMessage());
        keys[0][6] = 0;
        queries[0][13] = Float.POSITIVE_INFINITY;
        x = assertThrows(IllegalArgumentException.class, () -> KeySmoothing.calibrate(keys, queries, 4, 2, 4));
        assertTrue(x.getMessage().contains("queries, head 3 channel 1 is Infinity"), x.getMessage());
        x = assertThrows(IllegalArgumentException.class,
                () -> KeySmoothing.calibrate(new float[][] {new float[7]}, new float[][] {new float[16]}, 4, 2, 4));
        assertTrue(x.getMessage().contains("7 floats of keys"), x.getMessage());
        x = assertThrows(IllegalArgumentException.class,
                () -> KeySmoothing.calibrate(new float[][] {new float[8]}, new float[0][], 4, 2, 4));
        assertTrue(x.getMessage().contains("1 layers of keys, 0 of queries"), x.getMessage());
        x = assertThrows(IllegalArgumentException.class,
                () -> KeySmoothing.calibrate(new float[][] {new float[8]}, new float[][] {new float[12]}, 3, 2, 4));
        assertTrue(x.getMessage().contains("3 query heads"), x.getMessage());
    }

    @Test
    void flattenIsLayerThenHeadThenChannel() {
        int[][][] e = new int[2][3][4];
        for (int l = 0; l < 2; l++) {
            for (int h = 0; h < 3; h++) {
                for (int c = 0; c < 4; c++) {
                    e[l][h][c] = (l * 3 + h + c) % (KeySmoothing.MAX_EXPONENT + 1);
                }
            }
        }
        int[] flat = new KeySmoothing(4, e).flatten();
        for (int l = 0; l < 2; l++) {
            for (int h = 0; h < 3; h++) {
                for (int c = 0; c < 4; c++) {
                    assertEquals(e[l][h][c], flat[(l * 3 + h) * 4 + c]);
                }
            }
        }
    }

    /** The exponents a cache applies cannot change under it: the record keeps its own copy and hands out copies. */
    @Test
    void theExponentsAreTheRecordsOwn() {
        int[][][] e = new int[1][1][4];
        e[0][0][2] = 3;
        KeySmoothing s = new KeySmoothing(4, e);
        e[0][0][2] = 5;
        s.exponents()[0][0][2] = 6;
        assertArrayEquals(new int[] {0, 0, 3, 0}, s.exponentsOf(0, 0));
    }

    @Test
    void aCacheRejectsSmoothingOfAnotherShape() {
        KvShape shape = new KvShape(2, 2, 8, 16, 4, 0);
        KeySmoothing oneLayer = new KeySmoothing(8, new int[1][2][8]);
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> new HostKvCache(shape, null, oneLayer));
        assertTrue(x.getMessage().contains("1 layers"), x.getMessage());
        try (HostKvCache cache = new HostKvCache(shape, null, new KeySmoothing(8, new int[2][2][8]))) {
            assertArrayEquals(new int[8], cache.keySmoothing().exponentsOf(1, 1));
        }
    }
}
