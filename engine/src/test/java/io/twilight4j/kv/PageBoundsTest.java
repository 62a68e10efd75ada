package io.twilight4j.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The 4-bit page bounds: a box around the exact one, at most one step wider per side. */
class PageBoundsTest {

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void decodedBoxHoldsTheExactBoundsWithinOneStep(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int dim = 1 + r.nextInt(160);
        float[] mn = new float[dim];
        float[] mx = new float[dim];
        // Mixed magnitudes (outlier channels as in real keys), negative ranges, constant channels,
        // and for some seeds one constant row.
        double spread = seed % 4 == 0 ? 1e-3 : 10;
        for (int c = 0; c < dim; c++) {
            float a = Fp16.round((float) (r.nextGaussian() * spread * (c % 11 == 0 ? 40 : 1) - (seed % 3) * 5));
            float b = c % 5 == 0 ? a : Fp16.round((float) (a + Math.abs(r.nextGaussian()) * spread));
            mn[c] = Math.min(a, b);
            mx[c] = Math.max(a, b);
        }
        if (seed == 7) {
            java.util.Arrays.fill(mn, 1.5f);
            java.util.Arrays.fill(mx, 1.5f);
        }
        byte[] codes = new byte[PageBounds.codeBytes(dim)];
        int range = PageBounds.encode(mn, 0, mx, 0, dim, codes, 0);
        float scale = PageBounds.scale(range);
        float min = PageBounds.min(range);
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < dim; c++) {
            lo = Math.min(lo, mn[c]);
            hi = Math.max(hi, mx[c]);
        }
        assertEquals(lo, min, "range min is the smallest exact min");
        assertTrue(scale >= (hi - lo) / PageBounds.LEVELS, "scale " + scale + " cannot reach " + hi + " from " + lo);
        for (int c = 0; c < dim; c++) {
            // Exact decoded values (double), not the float decode, so containment is checked in real numbers
            // up to one float rounding of the decoder.
            int cl = Nibbles.get(codes, 0, c);
            int ch = Nibbles.get(codes, 0, dim + c);
            assertTrue(cl <= ch, "channel " + c + ": min code " + cl + " above max code " + ch);
            double dl = min + (double) cl * scale;
            double dh = min + (double) ch * scale;
            double slack = 1e-6 * (Math.abs(lo) + Math.abs(hi));
            assertTrue(dl <= mn[c] + slack, "channel " + c + ": decoded min " + dl + " above exact " + mn[c]);
            assertTrue(dh >= mx[c] - slack, "channel " + c + ": decoded max " + dh + " below exact " + mx[c]);
            assertTrue(dl > mn[c] - scale - slack, "channel " + c + ": decoded min " + dl + " more than a step below " + mn[c]);
            assertTrue(dh < mx[c] + scale + slack, "channel " + c + ": decoded max " + dh + " more than a step above " + mx[c]);
        }
    }

    @ParameterizedTest
    @ValueSource(floats = {0f, 1e-9f, 3e-5f, 0.1f, 1f, 1.0009766f, 300.3f, 65504f})
    void roundUpToHalfIsTheSmallestHalfNotBelow(float x) {
        float up = Float.float16ToFloat(PageBounds.roundUpToHalf(x));
        assertTrue(up >= x, up + " below " + x);
        short down = (short) (PageBounds.roundUpToHalf(x) - 1);
        if (up > x && up > 0) {
            assertTrue(Float.float16ToFloat(down) < x, "a smaller half " + Float.float16ToFloat(down) + " is not below " + x);
        }
    }
}
