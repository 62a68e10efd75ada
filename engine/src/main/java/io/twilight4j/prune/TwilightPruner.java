package io.twilight4j.prune;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Twilight's top-p stage for one GQA group: softmax of each query head's estimated scores over the
 * group's candidates (p is a share of the candidate mass), the bisection threshold, then either the
 * union over the group's heads or one set per head.
 */
public final class TwilightPruner {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private final float topP;

    /** A pruner keeping mass {@code topP} in (0, 1]. */
    public TwilightPruner(double topP) {
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
        this.topP = (float) topP;
    }

    /**
     * Turns scores {@code [heads][n]} (at {@code off}) into weights in place and returns each head's
     * threshold in {@code thresholds[thOff + g]}: head g keeps candidate i iff its weight is above it.
     * {@code scratch} (n + {@link TopPThreshold#SCRATCH_EXTRA} floats) is clobbered.
     */
    public void thresholds(float[] scores, int off, int n, int heads, float[] thresholds, int thOff, float[] scratch) {
        for (int g = 0; g < heads; g++) {
            Softmax.inPlace(scores, off + g * n, n);
            thresholds[thOff + g] = TopPThreshold.threshold(scores, off + g * n, n, topP, scratch);
        }
    }

    /**
     * GQA group mode: compacts {@code tokens[0..n)} in place to the union of the heads' kept sets
     * (ascending order is preserved) and returns its size.
     */
    public static int union(float[] weights, int off, int n, int heads, float[] thresholds, int thOff, int[] tokens) {
        // Most candidates are dropped: test eight at a time against every head and walk only set bits.
        int c = 0;
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            VectorMask<Float> keep = F.maskAll(false);
            for (int g = 0; g < heads; g++) {
                keep = keep.or(FloatVector.fromArray(F, weights, off + g * n + i).compare(VectorOperators.GT, thresholds[thOff + g]));
            }
            for (long bits = keep.toLong(); bits != 0; bits &= bits - 1) {
                tokens[c++] = tokens[i + Long.numberOfTrailingZeros(bits)];
            }
        }
        for (; i < n; i++) {
            boolean keep = false;
            for (int g = 0; g < heads && !keep; g++) {
                keep = weights[off + g * n + i] > thresholds[thOff + g];
            }
            if (keep) {
                tokens[c++] = tokens[i];
            }
        }
        return c;
    }

    /** Per-head mode: writes head g's kept tokens (ascending) to {@code out} and returns their count. */
    public static int keptByHead(float[] weights, int off, int n, int g, float threshold, int[] tokens, int[] out) {
        // As union: eight compares at a time, a branch per kept token only.
        int c = 0;
        int i = 0;
        int bound = F.loopBound(n);
        int row = off + g * n;
        for (; i < bound; i += F.length()) {
            for (long bits = FloatVector.fromArray(F, weights, row + i).compare(VectorOperators.GT, threshold).toLong();
                 bits != 0; bits &= bits - 1) {
                out[c++] = tokens[i + Long.numberOfTrailingZeros(bits)];
            }
        }
        for (; i < n; i++) {
            if (weights[row + i] > threshold) {
                out[c++] = tokens[i];
            }
        }
        return c;
    }
}
