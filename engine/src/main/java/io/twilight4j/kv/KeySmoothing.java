package io.twilight4j.kv;

import java.util.Arrays;

/**
 * Per-channel smoothing of the keys' 4-bit copies (Twilight's estimate codes and Quest's bound codes). Real
 * keys have a few outlier channels many times larger than the rest, and they stay outliers from token to
 * token; one 4-bit range per token (TWILIGHT.md section 4) then spends its 16 levels on them and rounds every
 * other channel coarsely, which blurs the estimated weights and makes top-p keep less mass than p. So the
 * cache quantizes {@code k_c / 2^e_c} and the scorers read the query as {@code q_c * 2^e_c}: the dot product
 * is unchanged, the ranges are even. Factors are powers of two so that both products are exact on every
 * backend. Channels are only divided, never multiplied ({@link #MIN_EXPONENT} 0): one that calibration saw
 * smaller than it later is would otherwise blow up the range. On stories260K, calibrated on 16 tokens, letting
 * small channels be doubled made its first layers' estimates worse than none at all; on the synthetic workload
 * it helped (bench/results/cpu-2026-12-08-session30). Only the 4-bit keys are smoothed: K, V, Quest's
 * page bounds (exact and 4-bit) and the label cache are stored as they are, and Quest scores the query as it
 * is.
 *
 * <p>Exponents come from {@link #calibrate} on sample keys; {@link #exponentsOf} gives one head's.
 *
 * @param headDim   channels per head
 * @param exponents {@code [layer][kvHead][channel]}, each in [{@link #MIN_EXPONENT}, {@link #MAX_EXPONENT}]
 */
public record KeySmoothing(int headDim, int[][][] exponents) {

    /** Largest exponent: a channel divided by more than 2^8 carries nothing a 4-bit code can keep. */
    public static final int MAX_EXPONENT = 8;
    /** Smallest exponent: channels are only ever divided (see the class comment). */
    public static final int MIN_EXPONENT = 0;

    public KeySmoothing {
        if (exponents.length == 0 || exponents[0].length == 0) {
            throw new IllegalArgumentException("key smoothing: need at least one layer and head");
        }
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

    /** Layers covered. */
    public int layers() {
        return exponents.length;
    }

    /** KV heads per layer. */
    public int kvHeads() {
        return exponents[0].length;
    }

    /** The exponents of (layer, head): channel c is stored divided by {@code 2^e[c]}. */
    public int[] exponentsOf(int layer, int head) {
        return exponents[layer][head];
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
     * Calibrates from sample keys: per layer and head, channel c gets {@code round(log2(rms_c / median))}
     * clamped to [{@link #MIN_EXPONENT}, {@link #MAX_EXPONENT}], where rms_c is the channel's root mean square
     * over the samples and median the median of the head's rms values: channels up to ~1.4 times the median, and
     * one that is always 0, keep 0.
     *
     * @param samples per layer, {@code n x kvHeads x headDim} floats (n sample tokens)
     */
    public static KeySmoothing calibrate(float[][] samples, int kvHeads, int headDim) {
        if (samples.length == 0) {
            throw new IllegalArgumentException("key smoothing calibration: no layers");
        }
        int row = kvHeads * headDim;
        int[][][] exponents = new int[samples.length][kvHeads][headDim];
        for (int l = 0; l < samples.length; l++) {
            float[] s = samples[l];
            if (s.length == 0 || s.length % row != 0) {
                throw new IllegalArgumentException("key smoothing calibration: layer " + l + " has " + s.length
                        + " floats, not a positive multiple of kvHeads x headDim = " + row);
            }
            int n = s.length / row;
            for (int h = 0; h < kvHeads; h++) {
                double[] rms = new double[headDim];
                for (int i = 0; i < n; i++) {
                    for (int c = 0; c < headDim; c++) {
                        double x = s[i * row + h * headDim + c];
                        if (!Double.isFinite(x)) {
                            throw new IllegalArgumentException("key smoothing calibration: layer " + l + " sample " + i
                                    + " head " + h + " channel " + c + " is " + x);
                        }
                        rms[c] += x * x;
                    }
                }
                for (int c = 0; c < headDim; c++) {
                    rms[c] = Math.sqrt(rms[c] / n);
                }
                double[] sorted = rms.clone();
                Arrays.sort(sorted);
                double median = sorted[headDim / 2];
                for (int c = 0; c < headDim; c++) {
                    exponents[l][h][c] = median > 0 && rms[c] > 0 ? (int) Math.max(MIN_EXPONENT,
                            Math.min(MAX_EXPONENT, Math.round(Math.log(rms[c] / median) / Math.log(2)))) : 0;
                }
            }
        }
        return new KeySmoothing(headDim, exponents);
    }
}
