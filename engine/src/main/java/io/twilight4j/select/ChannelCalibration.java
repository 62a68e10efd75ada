package io.twilight4j.select;

import io.twilight4j.kv.LabelChannels;

/**
 * Offline calibration of Double Sparsity's label channels (TWILIGHT.md section 3): per layer and KV
 * head, rank the channels by mean |q| over sample queries of the group's query heads and keep the
 * top r. Save the result with {@link LabelChannels#save} and load it with {@link LabelChannels#load}.
 */
public final class ChannelCalibration {

    private ChannelCalibration() {
    }

    /**
     * Calibrates from sample queries.
     *
     * @param samples    per layer, {@code n x queryHeads x headDim} floats (n sample tokens)
     * @param queryHeads query heads per layer
     * @param kvHeads    KV heads per layer (query heads come in groups of queryHeads/kvHeads)
     * @param headDim    channels per head
     * @param r          label channels to keep (a multiple of 4, at most headDim)
     */
    public static LabelChannels calibrate(float[][] samples, int queryHeads, int kvHeads, int headDim, int r) {
        if (r <= 0 || r > headDim || r % 4 != 0) {
            throw new IllegalArgumentException("calibration: r must be a multiple of 4 in (0, " + headDim + "], got " + r);
        }
        if (queryHeads % kvHeads != 0) {
            throw new IllegalArgumentException("calibration: " + queryHeads + " query heads are not a multiple of " + kvHeads + " KV heads");
        }
        int group = queryHeads / kvHeads;
        int[][][] channels = new int[samples.length][kvHeads][];
        for (int l = 0; l < samples.length; l++) {
            float[] s = samples[l];
            int row = queryHeads * headDim;
            if (s.length == 0 || s.length % row != 0) {
                throw new IllegalArgumentException("calibration: layer " + l + " has " + s.length
                        + " floats, not a positive multiple of queryHeads x headDim = " + row);
            }
            int n = s.length / row;
            for (int h = 0; h < kvHeads; h++) {
                double[] mass = new double[headDim];
                for (int i = 0; i < n; i++) {
                    for (int g = 0; g < group; g++) {
                        int off = i * row + (h * group + g) * headDim;
                        for (int c = 0; c < headDim; c++) {
                            mass[c] += Math.abs(s[off + c]);
                        }
                    }
                }
                channels[l][h] = topChannels(mass, r);
            }
        }
        return new LabelChannels(headDim, channels);
    }

    /** The r channels of largest mass, ascending (ties to the lower channel). */
    static int[] topChannels(double[] mass, int r) {
        boolean[] taken = new boolean[mass.length];
        for (int j = 0; j < r; j++) {
            int best = -1;
            for (int c = 0; c < mass.length; c++) {
                if (!taken[c] && (best < 0 || mass[c] > mass[best])) {
                    best = c;
                }
            }
            taken[best] = true;
        }
        int[] out = new int[r];
        int k = 0;
        for (int c = 0; c < mass.length; c++) {
            if (taken[c]) {
                out[k++] = c;
            }
        }
        return out;
    }
}
