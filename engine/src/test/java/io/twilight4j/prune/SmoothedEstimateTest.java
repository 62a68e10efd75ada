package io.twilight4j.prune;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.Int8Query;
import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.kv.KvShape;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What key smoothing is for: on keys with outlier channels (one in sixteen eight times larger, as real keys
 * have) and queries small there, the 4-bit estimate of q.k / sqrt(d) from a smoothed cache, read with the
 * smoothed 8-bit query, is much closer to the exact logits (double precision, from the fp32 keys) than the
 * unsmoothed one. Where the queries are large on the same channels, smoothing the keys alone made the estimate
 * about twice as noisy (0.17 -> 0.33 rms in a probe); the calibration, which reads sample queries too, must not.
 * On keys without outliers it changes nearly nothing.
 */
class SmoothedEstimateTest {

    @ParameterizedTest(name = "dim {0}, outliers {1}, query leaning on them {2}, seed {3}")
    @CsvSource({"128, true, false, 1", "64, true, false, 2", "128, false, false, 3", "128, true, true, 4", "64, true, true, 5"})
    void smoothingShrinksTheEstimateErrorOnOutlierChannels(int dim, boolean outliers, boolean leaning, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int kvHeads = 2, heads = 4, length = 1024;
        double[] spread = new double[dim];
        for (int c = 0; c < dim; c++) {
            spread[c] = outliers && c % 16 == 7 ? 8 : 0.5 + r.nextDouble();
        }
        float[] k = new float[length * kvHeads * dim];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) (r.nextGaussian() * spread[i % dim]);
        }
        // Logits of a spread ~3 whatever the channel's size, as a trained model's queries give; or queries as
        // large as the keys on each channel, so the outlier channels carry most of the logits.
        double[] querySpread = new double[dim];
        double logitVar = 0;
        for (int c = 0; c < dim; c++) {
            querySpread[c] = leaning ? spread[c] : 1 / spread[c];
            logitVar += Math.pow(querySpread[c] * spread[c], 2);
        }
        double norm = 3 * Math.sqrt(dim / logitVar);
        float[] q = new float[kvHeads * heads * dim];
        float[] sampleQueries = new float[64 * kvHeads * heads * dim];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) (norm * r.nextGaussian() * querySpread[i % dim]);
        }
        for (int i = 0; i < sampleQueries.length; i++) {
            sampleQueries[i] = (float) (norm * r.nextGaussian() * querySpread[i % dim]);
        }
        KvShape shape = new KvShape(1, kvHeads, dim, 16, length / 16, 0);
        KeySmoothing smoothing = KeySmoothing.calibrate(new float[][] {k}, new float[][] {sampleQueries}, kvHeads * heads,
                kvHeads, dim);
        if (!outliers) {
            // Spreads within [0.5, 1.5]: channels at most ~1.5x from the median round to exponent 0 or +-1.
            for (int h = 0; h < kvHeads; h++) {
                for (int e : smoothing.exponentsOf(0, h)) {
                    assertTrue(Math.abs(e) <= 1, "exponent " + e + " without outliers");
                }
            }
        }
        double plain = rmsError(shape, null, k, q, heads);
        double smoothed = rmsError(shape, smoothing, k, q, heads);
        if (outliers && !leaning) {
            assertTrue(smoothed < 0.5 * plain, "rms logit error smoothed " + smoothed + " vs plain " + plain);
        } else {
            assertTrue(smoothed < 1.05 * plain, "rms logit error smoothed " + smoothed + " vs plain " + plain);
        }
    }

    /** RMS over every (head, token) of estimated minus exact q.k / sqrt(d). */
    private static double rmsError(KvShape shape, KeySmoothing smoothing, float[] k, float[] q, int heads) {
        int dim = shape.headDim(), kvHeads = shape.kvHeads();
        int length = k.length / (kvHeads * dim);
        try (HostKvCache cache = new HostKvCache(shape, null, smoothing)) {
            int seq = cache.pager().newSequence();
            cache.pager().append(seq, length);
            cache.write(0, seq, 0, k, k, length);
            int[] pageTable = new int[shape.pages()];
            cache.pager().copyPageTable(seq, pageTable, 0);
            int[] candidates = IntStream.range(0, length).toArray();
            float[] codes = new float[q.length];
            float[] scales = new float[kvHeads * heads];
            for (int row = 0; row < kvHeads * heads; row++) {
                int[] e = smoothing == null ? null : smoothing.exponentsOf(0, row / heads);
                scales[row] = Int8Query.quantize(q, row * dim, dim, e, codes, row * dim);
            }
            double sum = 0;
            for (int h = 0; h < kvHeads; h++) {
                float[] scores = new float[heads * length];
                Int4Estimator.estimate(cache, 0, pageTable, h, candidates, length, codes, scales, h * heads, heads,
                        shape.scoreScale(), new Workspace(dim, heads, length), scores, 0);
                for (int g = 0; g < heads; g++) {
                    for (int t = 0; t < length; t++) {
                        double exact = 0;
                        for (int c = 0; c < dim; c++) {
                            exact += (double) q[(h * heads + g) * dim + c] * k[(t * kvHeads + h) * dim + c];
                        }
                        double err = scores[g * length + t] - exact / Math.sqrt(dim);
                        sum += err * err;
                    }
                }
            }
            return Math.sqrt(sum / (kvHeads * heads * length));
        }
    }
}
