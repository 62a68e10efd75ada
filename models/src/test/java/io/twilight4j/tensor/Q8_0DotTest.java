package io.twilight4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Q8_0 x Q8_0 product: the input's quantization against its definition, the row dots (vector
 * and scalar) against a float64 product of the reference-decoded weights with the quantized input,
 * and the quants at the ends of their range, where 16-bit lane sums would overflow if the bound broke.
 */
class Q8_0DotTest {

    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A seeded input whose blocks span six orders of magnitude, with one all-zero block. */
    private static float[] input(int cols, Random rnd) {
        float[] x = new float[cols];
        int zeroBlock = rnd.nextInt(cols / 32);
        for (int i = 0; i < cols; i++) {
            int block = i / 32;
            x[i] = block == zeroBlock ? 0 : (float) (rnd.nextGaussian() * Math.pow(10, block % 6 - 3));
        }
        return x;
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4})
    void inputQuantizationRoundsEachElementByAtMostHalfAStep(long seed) {
        Random rnd = new Random(seed);
        int cols = 32 * (2 + rnd.nextInt(11));
        float[] x = input(cols, rnd);
        MatvecInput in = new MatvecInput(cols, true);
        in.set(x);
        for (int b = 0; b < cols / 32; b++) {
            double amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[b * 32 + j]));
            }
            double step = amax / 127;
            assertEquals(step, in.scales()[b], step * 1e-6, "seed " + seed + " block " + b + " scale");
            int largest = 0;
            for (int j = 0; j < 32; j++) {
                int i = b * 32 + j;
                int q = in.quants()[i];
                largest = Math.max(largest, Math.abs(q));
                assertTrue(Math.abs(q) <= 127, "seed " + seed + " element " + i + " quant " + q);
                double err = Math.abs(q * (double) in.scales()[b] - x[i]);
                assertTrue(err <= step / 2 * (1 + 1e-5), "seed " + seed + " element " + i + " error " + err + ", step " + step);
            }
            assertEquals(amax == 0 ? 0 : 127, largest, "seed " + seed + " block " + b + ": the largest element maps to +-127");
        }
    }

    @ParameterizedTest(name = "{0}x{1} seed {2}")
    @CsvSource({"1, 32, 5", "7, 96, 6", "33, 256, 7", "129, 64, 8", "5, 2048, 9"})
    void rowDotsEqualFloat64ProductWithTheQuantizedInput(int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        try (Arena arena = Arena.ofShared()) {
            int blocks = rows * cols / 32;
            MemorySegment seg = arena.allocate((long) blocks * 34);
            // Random quants cover -128, the one value the input never takes.
            QuantMatrixTest.randomBlocks(QuantMatrixTest.Q8_0, seg, blocks, rnd);
            Q8_0Matrix m = new Q8_0Matrix(seg, rows, cols);
            float[] x = input(cols, rnd);
            float[] y = new float[rows];
            m.matvec(x, y);
            MatvecInput in = new MatvecInput(cols, true);
            in.set(x);
            for (int r = 0; r < rows; r++) {
                double expect = 0;
                double magnitude = 0;
                for (int i = 0; i < cols; i++) {
                    long block = ((long) r * cols + i) / 32 * 34;
                    double p = QuantMatrixTest.Q8_0.ref().element(seg, block, i % 32) * in.quants()[i] * (double) in.scales()[i / 32];
                    expect += p;
                    magnitude += Math.abs(p);
                }
                // Integer dots are exact; what remains is float scaling and accumulation.
                double tolerance = magnitude * 1e-6 + 1e-30;
                assertEquals(expect, y[r], tolerance, "seed " + seed + " row " + r + " (matvec)");
                assertEquals(expect, m.scalarDot(r, in), tolerance, "seed " + seed + " row " + r + " (scalar dot)");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(floats = {-1, 1})
    void extremeQuantsDoNotOverflowTheLaneSums(float sign) {
        int cols = 64;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(cols / 32 * 34);
            for (int b = 0; b < cols / 32; b++) {
                seg.set(HALF, b * 34L, Float.floatToFloat16(1));
                seg.asSlice(b * 34L + 2, 32).fill((byte) -128);
            }
            // Every input element is +-1, so every quant is +-127 and every product 128 * 127.
            float[] x = new float[cols];
            Arrays.fill(x, sign);
            float[] y = new float[1];
            new Q8_0Matrix(seg, 1, cols).matvec(x, y);
            assertEquals(-128.0 * cols * sign, y[0], 128.0 * cols * 1e-6);
        }
    }
}
