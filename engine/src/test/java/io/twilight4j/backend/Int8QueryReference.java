package io.twilight4j.backend;

/**
 * Float64 re-derivation of the 8-bit query the metadata scorers read ({@code kv.Int8Query}), independent
 * of the engine's code: the scale is found by halving and doubling, not from exponent bits.
 */
public final class Int8QueryReference {

    private Int8QueryReference() {
    }

    /** The smallest power of two s with 127 s >= amax (amax >= 2^-100). */
    public static double scale(double amax) {
        double s = 1;
        while (127 * s < amax) {
            s *= 2;
        }
        while (127 * s / 2 >= amax) {
            s /= 2;
        }
        return s;
    }

    /** The dequantized 8-bit copy c * s of the {@code dim} values {@code q[off..]}. */
    static double[] dequantized(float[] q, int off, int dim) {
        double amax = 0;
        for (int c = 0; c < dim; c++) {
            amax = Math.max(amax, Math.abs(q[off + c]));
        }
        double[] out = new double[dim];
        if (amax < 0x1p-100) {
            return out;
        }
        double s = scale(amax);
        for (int c = 0; c < dim; c++) {
            out[c] = Math.rint(q[off + c] / s) * s;
        }
        return out;
    }
}
