package io.twilight4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import static io.twilight4j.tensor.VectorDot.F;

/**
 * The input vector of one product as its matrices read it: the floats, and for Q8_0 matrices the
 * same vector quantized to Q8_0 blocks of its own (llama.cpp's q8_0 activations), so a Q8_0 row
 * dot is an integer dot per block and one float multiply. Quantized once per product on the
 * calling thread, then read by every worker; sized once, so a product allocates nothing.
 */
final class MatvecInput {

    private static final float ROUNDER = 0x1.8p23f;
    /** One short lane per float lane, for storing the rounded quants. */
    private static final VectorSpecies<Short> QUANTS = VectorSpecies.of(short.class, VectorShape.forBitSize(F.length() * Short.SIZE));

    private final int cols;
    // Per block of 32 elements: scale d = max|x| / 127 and quants q = round(x / d) in [-127, 127],
    // stored widened to shorts because the dot multiplies them in 16-bit lanes.
    private final short[] quants;
    private final float[] scales;
    private float[] floats;

    /** An input of {@code cols} elements; {@code int8} also keeps the Q8_0 form (cols a multiple of 32). */
    MatvecInput(int cols, boolean int8) {
        if (int8 && cols % Q8_0Matrix.BLOCK_ELEMENTS != 0) {
            throw new IllegalArgumentException("matvec input: " + cols + " elements are not whole Q8_0 blocks");
        }
        this.cols = cols;
        this.quants = int8 ? new short[cols] : null;
        this.scales = int8 ? new float[cols / Q8_0Matrix.BLOCK_ELEMENTS] : null;
    }

    /** Uses {@code x[0, cols)} as the input from now on, quantizing it when the Q8_0 form is kept. */
    void set(float[] x) {
        floats = x;
        if (quants == null) {
            return;
        }
        int parts = Q8_0Matrix.BLOCK_ELEMENTS / F.length();
        for (int b = 0, from = 0; from < cols; b++, from += Q8_0Matrix.BLOCK_ELEMENTS) {
            FloatVector amax = FloatVector.fromArray(F, x, from).abs();
            for (int p = 1; p < parts; p++) {
                amax = amax.max(FloatVector.fromArray(F, x, from + p * F.length()).abs());
            }
            float d = amax.reduceLanes(VectorOperators.MAX) / 127f;
            scales[b] = d;
            // |x| <= max|x| keeps |x / d| <= 127 (+ rounding far below 0.5), so no quant reaches -128.
            float inv = d == 0 ? 0 : 1 / d;
            for (int p = 0; p < parts; p++) {
                int i = from + p * F.length();
                // Adding and subtracting 1.5 * 2^23 rounds |v| < 2^22 to the nearest integer in float.
                FloatVector v = FloatVector.fromArray(F, x, i).mul(inv).add(ROUNDER).sub(ROUNDER);
                ((ShortVector) v.convertShape(VectorOperators.F2S, QUANTS, 0)).intoArray(quants, i);
            }
        }
    }

    /** The input as floats. */
    float[] floats() {
        return floats;
    }

    /** Q8_0 quants of the input, one per element. */
    short[] quants() {
        return quants;
    }

    /** Q8_0 scales of the input, one per 32 elements. */
    float[] scales() {
        return scales;
    }
}
