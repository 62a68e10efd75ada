package io.twilight4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The fused products against a float64 product over dequantized rows, and the pool's hand-out of items. */
class MatvecGroupTest {

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void groupMatchesFloat64ProductOfEachMatrix(long seed) {
        Random rnd = new Random(seed);
        // Odd row counts: 1 row, fewer rows than a chunk, not a multiple of the chunk count.
        int[] rows = {1 + rnd.nextInt(3), 7 + rnd.nextInt(9), 300 + rnd.nextInt(200)};
        int cols = 32 * (1 + rnd.nextInt(8));
        try (Arena arena = Arena.ofShared()) {
            QuantMatrix[] ms = new QuantMatrix[rows.length];
            float[][] ys = new float[rows.length][];
            for (int m = 0; m < rows.length; m++) {
                ms[m] = Q8_0Matrix.random(rows[m], cols, 1, seed * 31 + m, arena);
                ys[m] = new float[rows[m]];
            }
            float[] x = new float[cols];
            for (int i = 0; i < cols; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            MatvecGroup g = new MatvecGroup(ms, ys);
            for (int run = 0; run < 3; run++) {
                g.matvec(x);
                for (int m = 0; m < rows.length; m++) {
                    float[] w = new float[cols];
                    double[] w64 = new double[cols];
                    for (int r = 0; r < rows[m]; r++) {
                        ms[m].dequantizeRow(r, w);
                        double ref = 0;
                        double mag = 0;
                        for (int i = 0; i < cols; i++) {
                            w64[i] = w[i];
                            ref += (double) w[i] * x[i];
                            mag += Math.abs((double) w[i] * x[i]);
                        }
                        // Q8_0 matrices read the input rounded to Q8_0 (bound: QuantMatrixTest).
                        double tolerance = 1e-5 * mag + 1e-6 + QuantMatrixTest.inputRoundingBound(w64, x);
                        assertEquals(ref, ys[m][r], tolerance, "seed " + seed + " matrix " + m + " row " + r);
                    }
                }
            }
        }
    }

    @Test
    void mismatchedRowLengthsAreRejected() {
        try (Arena arena = Arena.ofShared()) {
            QuantMatrix a = Q8_0Matrix.random(4, 64, 1, 1, arena);
            QuantMatrix b = Q8_0Matrix.random(4, 32, 1, 2, arena);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new MatvecGroup(new QuantMatrix[] {a, b}, new float[][] {new float[4], new float[4]}));
            assertEquals("matvec group: matrix 1 has rows of 32 elements, matrix 0 of 64", e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 5, 1000})
    void poolRunsEveryItemExactlyOnceRunAfterRun(int items) {
        for (int run = 0; run < 200; run++) {
            AtomicIntegerArray count = new AtomicIntegerArray(Math.max(items, 1));
            RowPool.forItems(items, i -> count.incrementAndGet(i));
            for (int i = 0; i < items; i++) {
                assertEquals(1, count.get(i), "run " + run + " item " + i);
            }
        }
    }

    @Test
    void poolRethrowsAFailureOfAnyItem() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> RowPool.forItems(64, i -> {
            if (i == 37) {
                throw new IllegalStateException("item 37");
            }
        }));
        assertEquals("item 37", e.getMessage());
        // The pool still works afterwards.
        AtomicIntegerArray count = new AtomicIntegerArray(8);
        RowPool.forItems(8, count::incrementAndGet);
        assertEquals(8, java.util.stream.IntStream.range(0, 8).map(count::get).sum());
    }
}
