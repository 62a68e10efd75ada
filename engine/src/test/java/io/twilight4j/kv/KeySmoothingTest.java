package io.twilight4j.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class KeySmoothingTest {

    /**
     * Channels drawn with known powers of two as their spread: calibration recovers each power relative to
     * the median channel (spread 1), clamped to the allowed range; a channel that is always 0 keeps 0.
     */
    @Test
    void calibrationFindsEachChannelsPowerOfTwoAgainstTheMedian() {
        int layers = 2, heads = 3, dim = 32, n = 4000;
        SplittableRandom rnd = new SplittableRandom(5);
        int[][][] power = new int[layers][heads][dim];
        float[][] samples = new float[layers][n * heads * dim];
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                for (int c = 0; c < dim; c++) {
                    // Most channels at 1, a few outliers up to 2^11 and small ones down to 2^-5.
                    int p = c % 4 == 0 ? rnd.nextInt(-5, 12) : 0;
                    power[l][h][c] = p;
                }
            }
            for (int i = 0; i < n; i++) {
                for (int h = 0; h < heads; h++) {
                    for (int c = 0; c < dim; c++) {
                        boolean dead = l == 1 && h == 2 && c == 5;
                        samples[l][(i * heads + h) * dim + c] = dead ? 0f : (float) (rnd.nextGaussian() * Math.scalb(1.0, power[l][h][c]));
                    }
                }
            }
        }
        KeySmoothing s = KeySmoothing.calibrate(samples, heads, dim);
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                for (int c = 0; c < dim; c++) {
                    int want = l == 1 && h == 2 && c == 5 ? 0
                            : Math.max(KeySmoothing.MIN_EXPONENT, Math.min(KeySmoothing.MAX_EXPONENT, power[l][h][c]));
                    assertEquals(want, s.exponentsOf(l, h)[c], "layer " + l + " head " + h + " channel " + c);
                }
            }
        }
        int[] flat = s.flatten();
        assertEquals(layers * heads * dim, flat.length);
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                for (int c = 0; c < dim; c++) {
                    assertEquals(s.exponentsOf(l, h)[c], flat[(l * heads + h) * dim + c]);
                }
            }
        }
    }

    @Test
    void badExponentsAndSamplesAreRejectedByName() {
        int[][][] e = new int[1][2][4];
        e[0][1][3] = KeySmoothing.MAX_EXPONENT + 1;
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> new KeySmoothing(4, e));
        assertTrue(x.getMessage().contains("head 1 channel 3"), x.getMessage());
        e[0][1][3] = KeySmoothing.MIN_EXPONENT - 1;
        assertThrows(IllegalArgumentException.class, () -> new KeySmoothing(4, e));
        x = assertThrows(IllegalArgumentException.class, () -> new KeySmoothing(4, new int[][][] {{new int[4], new int[3]}}));
        assertTrue(x.getMessage().contains("expected headDim = 4"), x.getMessage());
        float[][] samples = {new float[2 * 4]};
        samples[0][6] = Float.NaN;
        x = assertThrows(IllegalArgumentException.class, () -> KeySmoothing.calibrate(samples, 2, 4));
        assertTrue(x.getMessage().contains("head 1 channel 2 is NaN"), x.getMessage());
        x = assertThrows(IllegalArgumentException.class, () -> KeySmoothing.calibrate(new float[][] {new float[7]}, 2, 4));
        assertTrue(x.getMessage().contains("7 floats"), x.getMessage());
    }

    @Test
    void aCacheRejectsSmoothingOfAnotherShape() {
        KvShape shape = new KvShape(2, 2, 8, 16, 4, 0);
        KeySmoothing oneLayer = new KeySmoothing(8, new int[1][2][8]);
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> new HostKvCache(shape, null, oneLayer));
        assertTrue(x.getMessage().contains("1 layers"), x.getMessage());
        try (HostKvCache cache = new HostKvCache(shape, null, new KeySmoothing(8, new int[2][2][8]))) {
            assertArrayEquals(new int[8], cache.keySmoothing().exponentsOf(1, 1));
        }
    }
}
