package io.twilight4j.backend;

/**
 * How far one attention output is from another: the error measure of {@code bench attention} and of the
 * model accuracy harness, so both report the same quantity.
 */
public final class OutputError {

    private OutputError() {
    }

    /**
     * ||a - b|| / ||b|| over the first {@code n} floats (double precision), 0 when b is all zeros; {@code b}
     * is the reference (dense attention).
     */
    public static double relative(float[] a, float[] b, int n) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < n; i++) {
            double d = (double) a[i] - b[i];
            num += d * d;
            den += (double) b[i] * b[i];
        }
        return den == 0 ? 0 : Math.sqrt(num / den);
    }
}
