package io.twilight4j.prune;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** fp32 softmax in place, max subtracted first (TWILIGHT.md section 4). */
public final class Softmax {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private Softmax() {
    }

    /** Replaces {@code x[off..off+n)} by its softmax. */
    public static void inPlace(float[] x, int off, int n) {
        if (n == 0) {
            return;
        }
        FloatVector maxV = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int bound = off + F.loopBound(n);
        int i = off;
        for (; i < bound; i += F.length()) {
            maxV = maxV.max(FloatVector.fromArray(F, x, i));
        }
        float max = maxV.reduceLanes(VectorOperators.MAX);
        for (; i < off + n; i++) {
            max = Math.max(max, x[i]);
        }
        FloatVector sumV = FloatVector.zero(F);
        i = off;
        for (; i < bound; i += F.length()) {
            FloatVector e = FloatVector.fromArray(F, x, i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(x, i);
            sumV = sumV.add(e);
        }
        float sum = sumV.reduceLanes(VectorOperators.ADD);
        for (; i < off + n; i++) {
            x[i] = (float) Math.exp(x[i] - max);
            sum += x[i];
        }
        float inv = 1f / sum;
        i = off;
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, i).mul(inv).intoArray(x, i);
        }
        for (; i < off + n; i++) {
            x[i] *= inv;
        }
    }
}
