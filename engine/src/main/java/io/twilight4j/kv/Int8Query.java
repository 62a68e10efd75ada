package io.twilight4j.kv;

/**
 * The 8-bit copy of a query row that the metadata scorers read (Quest's page bounds, Twilight's 4-bit
 * estimate): codes c in [-127, 127] and one scale s per (sequence, query head), q ~ c * s. The scorers
 * only rank pages and estimate weights, and the 4-bit keys they read are far coarser than this, so an
 * 8-bit query costs them nothing in quality; in return every dot product with the integer key codes is
 * an exact integer. A GPU adds up those integers with 4-way byte dot-product instructions, and a CPU
 * with float arithmetic (integers below 2^24 add up exactly in any order): both backends get the same
 * sums, and scale them with the same float operations in the same order.
 *
 * <p>The scale is the smallest power of two with 127 s >= max|q|: dividing by it is exact, so the
 * OpenCL kernel ({@code query.cl}) derives the same codes from exponent bits and no backend depends on
 * how its division rounds. The largest code is then at least 64: 7 to 8 significant bits.
 */
public final class Int8Query {

    /** Largest code magnitude. */
    public static final int MAX_CODE = 127;
    /** Rows whose largest magnitude is below this (2^-100) count as zero: codes 0, scale 0. */
    public static final float SMALLEST_MAX = 0x1p-100f;

    private Int8Query() {
    }

    /**
     * The scale of a row whose largest magnitude is {@code amax}: the smallest power of two s with
     * {@code 127 s >= amax}, or 0 when {@code amax < 2^-100}.
     */
    public static float scaleFor(float amax) {
        if (!(amax >= SMALLEST_MAX)) {
            return 0f;
        }
        // amax lies in [2^x, 2^(x+1)): 127 * 2^(x-7) < 2^x is too small, 127 * 2^(x-5) > 2^(x+1) always fits.
        int x = Math.getExponent(amax);
        int e = amax <= Math.scalb((float) MAX_CODE, x - 6) ? x - 6 : x - 5;
        return Math.scalb(1f, e);
    }

    /**
     * Writes the codes of {@code q[off, off + dim)} to {@code codes[codesOff, codesOff + dim)} (integer
     * values, as floats for the CPU scorers' float arithmetic) and returns the row's scale.
     */
    public static float quantize(float[] q, int off, int dim, float[] codes, int codesOff) {
        return quantize(q, off, dim, null, codes, codesOff);
    }

    /**
     * As above for the row {@code q_c * 2^e_c} that a cache with {@link KeySmoothing} is scored with
     * ({@code exponents} null: the row as it is). The products are exact: the same codes as the OpenCL kernels'.
     */
    public static float quantize(float[] q, int off, int dim, int[] exponents, float[] codes, int codesOff) {
        float amax = 0f;
        for (int c = 0; c < dim; c++) {
            amax = Math.max(amax, Math.abs(smoothed(q[off + c], exponents, c)));
        }
        float scale = scaleFor(amax);
        // 1 / scale is a power of two as well: the product is exact, and rint rounds half to even as
        // OpenCL's rint does.
        float inverse = scale == 0f ? 0f : Math.scalb(1f, -Math.getExponent(scale));
        for (int c = 0; c < dim; c++) {
            codes[codesOff + c] = (float) Math.rint(smoothed(q[off + c], exponents, c) * inverse);
        }
        return scale;
    }

    private static float smoothed(float x, int[] exponents, int c) {
        return exponents == null ? x : Math.scalb(x, exponents[c]);
    }
}
