package io.twilight4j.kv;

import java.util.Arrays;

/**
 * Per-channel smoothing of the keys' 4-bit copies: Twilight's 4-bit keys and Quest's 4-bit page bounds. Real keys
 * have a few outlier channels many times larger than the rest, and they stay outliers from token to token; one
 * 4-bit range per token (TWILIGHT.md section 4), or per page box, then spends its 16 levels on them and rounds every
 * other channel coarsely, which blurs the estimated weights (top-p keeps less mass than p) and Quest's bounds. So the
 * cache quantizes {@code k_c / 2^e_c} and both scorers read the 8-bit query of {@code q_c * 2^e_c}: the dot product
 * is unchanged, the ranges are even. Factors are powers of
 * two so that both products are exact on every backend. Channels are only divided, never multiplied
 * ({@link #MIN_EXPONENT} 0), and none at or below the median: one that calibration saw smaller than it later is
 * would otherwise blow up the range (on stories260K, calibrated on 16 tokens, letting small channels be doubled
 * made its first layers' estimates worse than none at all; bench/results/cpu-2026-12-08-session30). Only the
 * 4-bit copies are smoothed: K, V, the exact fp16 page bounds and the label cache are stored as they are.
 *
 * <p>Exponents come from {@link #calibrate} on sample keys and queries; {@link #exponentsOf} gives one head's.
 *
 * @param headDim   channels per head
 * @param exponents {@code [layer][kvHead][channel]}, each in [{@link #MIN_EXPONENT}, {@link #MAX_EXPONENT}]
 */
public record KeySmoothing(int headDim, int[][][] exponents) {

    /** Largest exponent: a channel divided by more than 2^8 carries nothing a 4-bit code can keep. */
    public static final int MAX_EXPONENT = 8;
    /** Smallest exponent: channels are only ever divided (see the class comment). */
    public static final int MIN_EXPONENT = 0;
    /**
     * The 8-bit query's step is the power of two at or above its largest magnitude / 127 ({@link Int8Query}): for a
     * magnitude spread evenly over the octave, its square is on average 3 / (2 ln 2) times (largest / 127)^2.
     */
    private static final double POWER_OF_TWO_STEP = 3 / (2 * Math.log(2));

    public KeySmoothing {
        if (exponents.length == 0 || exponents[0].length == 0) {
            throw new IllegalArgumentException("key smoothing: need at least one layer and head");
        }
        // A copy: a cache applies the exponents on every append and step (and a device holds its own copy), so a
        // caller changing its array afterwards must not change them under it.
        exponents = copy(exponents);
        for (int l = 0; l < exponents.length; l++) {
            if (exponents[l].length != exponents[0].length) {
                throw new IllegalArgumentException("key smoothing: layer " + l + " has " + exponents[l].length
                        + " heads, layer 0 has " + exponents[0].length);
            }
            for (int h = 0; h < exponents[l].length; h++) {
                int[] e = exponents[l][h];
                if (e.length != headDim) {
                    throw new IllegalArgumentException("key smoothing: layer " + l + " head " + h + " has " + e.length
                            + " exponents, expected headDim = " + headDim);
                }
                for (int c = 0; c < headDim; c++) {
                    if (e[c] < MIN_EXPONENT || e[c] > MAX_EXPONENT) {
                        throw new IllegalArgumentException("key smoothing: layer " + l + " head " + h + " channel " + c
                                + ": exponent " + e[c] + " outside [" + MIN_EXPONENT + ", " + MAX_EXPONENT + "]");
                    }
                }
            }
        }
    }

    private static int[][][] copy(int[][][] exponents) {
        return Arrays.stream(exponents).map(layer -> Arrays.stream(layer).map(int[]::clone).toArray(int[][]::new))
                .toArray(int[][][]::new);
    }

    /** Layers covered. */
    public int layers() {
        return exponents.length;
    }

    /** KV heads per layer. */
    public int kvHeads() {
        return exponents[0].length;
    }

    /**
     * The exponents of (layer, head): channel c is stored divided by {@code 2^e[c]}. The array is this object's own
     * (read on every decode step): do not change it.
     */
    public int[] exponentsOf(int layer, int head) {
        return exponents[layer][head];
    }

    /** All exponents, {@code [layer][kvHead][channel]}: a copy. */
    @Override
    public int[][][] exponents() {
        return copy(exponents);
    }

    /** All exponents in {@code [layer][head][channel]} order, as the OpenCL kernels read them. */
    public int[] flatten() {
        int[] out = new int[layers() * kvHeads() * headDim];
        int i = 0;
        for (int[][] layer : exponents) {
            for (int[] head : layer) {
                System.arraycopy(head, 0, out, i, headDim);
                i += headDim;
            }
        }
        return out;
    }

    /**
     * Calibrates from sample keys and queries. Per layer and KV head, with a_c and b_c the root mean squares of
     * channel c over the key samples and over the query samples of the head's group, the exponents minimize the
     * predicted variance of the estimate's logit error,
     * {@code (R_k / 15)^2 sum_c b_c^2 s_c^2 + 2.16 (R_q / 127)^2 sum_c a_c^2 / s_c^2} with {@code s_c = 2^e_c},
     * {@code R_k = max_c a_c / s_c} and {@code R_q = max_c b_c s_c}: the 4-bit keys' rounding (one range per token,
     * 15 steps) met by the query, and the 8-bit query's (127 steps, its power-of-two scale 2.16 times coarser on
     * average squared) met by the keys. Dividing outlier key channels shrinks the first term, but where the query
     * is large on the same channels it grows the second, and the logits lean on those channels: smoothing by the keys
     * alone made such an estimate twice as noisy, and without the 2.16 the model still chose smoothings that measured
     * worse than none there (SmoothedEstimateTest). The search tries thresholds m from the largest a_c down to the median in steps of 2^(1/4), each channel above
     * m divided until it is at most m ({@code e_c = ceil(log2(a_c / m))}, at most {@link #MAX_EXPONENT}), and keeps
     * the best; no smoothing (m = the largest) is one of them. Channels at or below the median keep 0.
     *
     * @param keys       per layer, {@code n x kvHeads x headDim} floats (n sample tokens' keys)
     * @param queries    per layer, {@code m x queryHeads x headDim} floats (m sample tokens' queries)
     * @param queryHeads query heads per layer (groups of queryHeads / kvHeads per KV head)
     */
    public static KeySmoothing calibrate(float[][] keys, float[][] queries, int queryHeads, int kvHeads, int headDim) {
        if (keys.length == 0 || queries.length != keys.length) {
            throw new IllegalArgumentException("key smoothing calibration: " + keys.length + " layers of keys, "
                    + queries.length + " of queries");
        }
        if (queryHeads % kvHeads != 0) {
            throw new IllegalArgumentException("key smoothing calibration: " + queryHeads + " query heads are not a multiple of "
                    + kvHeads + " KV heads");
        }
        int group = queryHeads / kvHeads;
        int[][][] exponents = new int[keys.length][kvHeads][];
        for (int l = 0; l < keys.length; l++) {
            for (int h = 0; h < kvHeads; h++) {
                double[] a = rms(keys[l], l, "keys", kvHeads, h, 1, headDim);
                double[] b = rms(queries[l], l, "queries", queryHeads, h * group, group, headDim);
                exponents[l][h] = bestExponents(a, b);
            }
        }
        return new KeySmoothing(headDim, exponents);
    }

    /** Root mean square per channel of heads {@code [first, first + count)} of rows of {@code heads x dim} samples. */
    private static double[] rms(float[] samples, int layer, String what, int heads, int first, int count, int dim) {
        int row = heads * dim;
        if (samples.length == 0 || samples.length % row != 0) {
            throw new IllegalArgumentException("key smoothing calibration: layer " + layer + " has " + samples.length
                    + " floats of " + what + ", not a positive multiple of " + heads + " heads x " + dim + " channels");
        }
        int n = samples.length / row;
        double[] sum = new double[dim];
        for (int i = 0; i < n; i++) {
            for (int g = first; g < first + count; g++) {
                for (int c = 0; c < dim; c++) {
                    double x = samples[i * row + g * dim + c];
                    if (!Double.isFinite(x)) {
                        throw new IllegalArgumentException("key smoothing calibration: layer " + layer + " sample " + i + " of "
                                + what + ", head " + g + " channel " + c + " is " + x);
                    }
                    sum[c] += x * x;
                }
            }
        }
        for (int c = 0; c < dim; c++) {
            sum[c] = Math.sqrt(sum[c] / ((double) n * count));
        }
        return sum;
    }

    /** The exponents of the best threshold for key rms {@code a} and query rms {@code b} (see {@link #calibrate}). */
    static int[] bestExponents(double[] a, double[] b) {
        double[] sorted = a.clone();
        Arrays.sort(sorted);
        double largest = sorted[a.length - 1];
        double median = sorted[a.length / 2];
        int[] best = new int[a.length];
        double bestError = predictedError(a, b, best);
        for (int j = 1; largest * Math.pow(2, -j / 4.0) >= median && median > 0; j++) {
            double m = largest * Math.pow(2, -j / 4.0);
            int[] e = new int[a.length];
            for (int c = 0; c < a.length; c++) {
                // 1e-9: a channel exactly a power of two above m needs that power, not one more.
                e[c] = a[c] > m ? (int) Math.min(MAX_EXPONENT, Math.ceil(Math.log(a[c] / m) / Math.log(2) - 1e-9)) : 0;
            }
            double error = predictedError(a, b, e);
            if (error < bestError) {
                bestError = error;
                best = e;
            }
        }
        return best;
    }

    /** The predicted logit error variance of {@link #calibrate}'s model (up to a constant factor). */
    static double predictedError(double[] a, double[] b, int[] e) {
        double keyRange = 0, queryRange = 0, queryPower = 0, keyPower = 0;
        for (int c = 0; c < a.length; c++) {
            double s = Math.scalb(1.0, e[c]);
            keyRange = Math.max(keyRange, a[c] / s);
            queryRange = Math.max(queryRange, b[c] * s);
            queryPower += b[c] * b[c] * s * s;
            keyPower += a[c] * a[c] / (s * s);
        }
        double keyStep = keyRange / Int4Keys.LEVELS;
        double queryStep = queryRange / Int8Query.MAX_CODE;
        return keyStep * keyStep * queryPower + POWER_OF_TWO_STEP * queryStep * queryStep * keyPower;
    }
}
