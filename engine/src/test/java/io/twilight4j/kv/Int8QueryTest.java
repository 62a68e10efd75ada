package io.twilight4j.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.twilight4j.backend.Int8QueryReference;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Int8QueryTest {

    @Test
    void scaleIsTheSmallestPowerOfTwoThatHoldsTheLargestValue() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int i = 0; i < 20_000; i++) {
            float amax = (float) Math.scalb(1 + rnd.nextDouble(), rnd.nextInt(-99, 120));
            assertEquals(Int8QueryReference.scale(amax), Int8Query.scaleFor(amax), "amax " + amax);
        }
        // At the boundaries: exactly 127 * 2^k needs 2^k, the next float above it 2^(k+1).
        for (int k = -90; k < 110; k += 7) {
            float edge = Math.scalb(127f, k);
            assertEquals(Math.scalb(1f, k), Int8Query.scaleFor(edge), "amax " + edge);
            assertEquals(Math.scalb(1f, k + 1), Int8Query.scaleFor(Math.nextUp(edge)), "amax above " + edge);
        }
        assertEquals(0f, Int8Query.scaleFor(0f));
        assertEquals(0f, Int8Query.scaleFor(Math.nextDown(Int8Query.SMALLEST_MAX)));
        assertEquals(Math.scalb(1f, -106), Int8Query.scaleFor(Int8Query.SMALLEST_MAX));
    }

    @Test
    void codesRoundToTheNearestStepAndUseTheUpperHalfOfTheRange() {
        SplittableRandom rnd = new SplittableRandom(12);
        int dim = 128;
        float[] q = new float[dim];
        float[] codes = new float[dim + 3];
        for (int trial = 0; trial < 2_000; trial++) {
            double magnitude = Math.scalb(1.0, rnd.nextInt(-30, 30));
            boolean ties = trial % 2 == 0;
            for (int c = 0; c < dim; c++) {
                // Every other trial: largest 100 * magnitude, so the scale is magnitude and the other
                // values sit halfway between two codes (ties go to even, as OpenCL's rint).
                q[c] = ties ? (float) ((c == 5 ? 100 : rnd.nextInt(-100, 100) + 0.5) * magnitude)
                        : (float) (rnd.nextGaussian() * magnitude);
            }
            float scale = Int8Query.quantize(q, 0, dim, codes, 3);
            double amax = 0;
            for (float x : q) {
                amax = Math.max(amax, Math.abs(x));
            }
            assertEquals(Int8QueryReference.scale(amax), scale);
            int largest = 0;
            for (int c = 0; c < dim; c++) {
                float code = codes[3 + c];
                assertEquals(Math.rint(q[c] / (double) scale), code, "trial " + trial + " channel " + c);
                assertTrue(Math.abs(code) <= Int8Query.MAX_CODE);
                assertTrue(Math.abs(q[c] - code * (double) scale) <= scale / 2.0);
                largest = Math.max(largest, (int) Math.abs(code));
            }
            assertTrue(largest >= 64, "largest code " + largest + ": the scale wastes more than one bit");
        }
    }

    /** A smoothed row is quantized as the row q_c * 2^e_c itself, checked against a double reference. */
    @Test
    void smoothedRowsAreTheScaledRowsQuantized() {
        SplittableRandom rnd = new SplittableRandom(13);
        int dim = 64;
        float[] q = new float[dim];
        int[] e = new int[dim];
        float[] codes = new float[dim];
        for (int trial = 0; trial < 2_000; trial++) {
            double magnitude = Math.scalb(1.0, rnd.nextInt(-30, 30));
            for (int c = 0; c < dim; c++) {
                q[c] = (float) (rnd.nextGaussian() * magnitude);
                e[c] = rnd.nextInt(KeySmoothing.MIN_EXPONENT, KeySmoothing.MAX_EXPONENT + 1);
            }
            float scale = Int8Query.quantize(q, 0, dim, e, codes, 0);
            double amax = 0;
            for (int c = 0; c < dim; c++) {
                amax = Math.max(amax, Math.abs(q[c] * Math.pow(2, e[c])));
            }
            assertEquals(Int8QueryReference.scale(amax), scale, "trial " + trial);
            for (int c = 0; c < dim; c++) {
                assertEquals(Math.rint(q[c] * Math.pow(2, e[c]) / scale), codes[c], "trial " + trial + " channel " + c);
            }
        }
    }

    @Test
    void aZeroOrNegligibleQueryHasZeroCodes() {
        float[] q = {0f, -0f, 1e-35f, -3e-31f};
        float[] codes = {9, 9, 9, 9};
        assertEquals(0f, Int8Query.quantize(q, 0, 4, codes, 0));
        for (float c : codes) {
            assertEquals(0f, Math.abs(c));
        }
    }
}
