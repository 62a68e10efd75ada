package io.twilight4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Float dot products with the Vector API, shared by every matrix type. */
final class VectorDot {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private VectorDot() {
    }

    /** Sum of {@code a[i] * b[i]} for i in {@code [0, n)}. */
    static float dot(float[] a, float[] b, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        int step = 2 * F.length();
        // Two accumulators hide the FMA latency.
        for (int upper = n - n % step; i < upper; i += step) {
            acc0 = FloatVector.fromArray(F, a, i).fma(FloatVector.fromArray(F, b, i), acc0);
            acc1 = FloatVector.fromArray(F, a, i + F.length()).fma(FloatVector.fromArray(F, b, i + F.length()), acc1);
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
