package io.twilight4j.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DecodeKernelTest {

    /** The tiled score routine against a float64 dot product: head counts around the 4-head tile, odd row counts, dims with tails. */
    @ParameterizedTest
    @CsvSource({"1, 1, 32, 1", "2, 3, 64, 16", "3, 4, 128, 15", "4, 5, 72, 7", "5, 8, 128, 16", "6, 9, 36, 2", "7, 4, 256, 8"})
    void scoresMatchFloat64Dots(long seed, int heads, int dim, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] q = new float[3 + heads * dim];
        float[] k = new float[n * dim];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) r.nextGaussian();
        }
        int stride = n + 5;
        float[] s = new float[2 + heads * stride];
        float scale = 0.125f;
        DecodeKernel.scores(q, 3, heads, dim, k, n, s, 2, stride, scale);
        for (int g = 0; g < heads; g++) {
            for (int t = 0; t < n; t++) {
                double ref = 0;
                double mag = 0;
                for (int c = 0; c < dim; c++) {
                    ref += (double) q[3 + g * dim + c] * k[t * dim + c];
                    mag += Math.abs((double) q[3 + g * dim + c] * k[t * dim + c]);
                }
                assertEquals(ref * scale, s[2 + g * stride + t], 1e-5 * mag * scale + 1e-7,
                        "seed " + seed + " head " + g + " row " + t);
            }
        }
    }
}
