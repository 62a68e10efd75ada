package io.twilight4j.sample;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Sampler against a float64 reference distribution built independently here. */
class SamplerTest {

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3})
    void temperatureZeroIsArgmax(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Sampler greedy = new Sampler(0f, 40, 0.9f, seed);
        for (int trial = 0; trial < 100; trial++) {
            float[] logits = randomLogits(rnd, 1 + rnd.nextInt(300));
            int want = IntStream.range(0, logits.length).boxed()
                    .max(Comparator.comparingDouble((Integer i) -> logits[i]).thenComparing(i -> -i)).orElseThrow();
            assertEquals(want, greedy.sample(logits), "seed " + seed);
        }
    }

    /** Reference: sort by logit, keep top-k, softmax at temperature T in float64, keep the minimal top-p prefix, renormalize. */
    private static double[] reference(float[] logits, float t, int topK, float topP) {
        Integer[] order = IntStream.range(0, logits.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -logits[i]).thenComparing(i -> i));
        int k = topK > 0 ? Math.min(topK, logits.length) : logits.length;
        double[] p = new double[k];
        double sum = 0;
        for (int i = 0; i < k; i++) {
            p[i] = Math.exp((double) logits[order[i]] / t);
            sum += p[i];
        }
        int keep = k;
        double acc = 0;
        for (int i = 0; i < k; i++) {
            acc += p[i] / sum;
            if (acc >= topP) {
                keep = i + 1;
                break;
            }
        }
        double kept = 0;
        for (int i = 0; i < keep; i++) {
            kept += p[i];
        }
        double[] dist = new double[logits.length];
        for (int i = 0; i < keep; i++) {
            dist[order[i]] = p[i] / kept;
        }
        return dist;
    }

    @ParameterizedTest(name = "seed {0} T {1} topK {2} topP {3}")
    @CsvSource({"11,1.0,0,1.0", "12,0.7,5,1.0", "13,1.3,0,0.8", "14,1.0,8,0.6", "15,2.0,3,0.95"})
    void frequenciesMatchTheTruncatedDistribution(long seed, float t, int topK, float topP) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] logits = randomLogits(rnd, 20);
        double[] want = reference(logits, t, topK, topP);
        Sampler sampler = new Sampler(t, topK, topP, seed);
        int draws = 40_000;
        int[] counts = new int[logits.length];
        for (int i = 0; i < draws; i++) {
            counts[sampler.sample(logits)]++;
        }
        double chi2 = 0;
        int support = 0;
        for (int i = 0; i < logits.length; i++) {
            if (want[i] == 0) {
                assertEquals(0, counts[i], "token " + i + " was cut by top-k/top-p but drawn (seed " + seed + ")");
            } else {
                support++;
                double expected = want[i] * draws;
                chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
            }
        }
        int df = Math.max(1, support - 1);
        // Mean df, sd sqrt(2 df): 6 sd above is beyond p = 1e-6 for these df.
        double limit = df + 6 * Math.sqrt(2.0 * df) + 10;
        assertTrue(chi2 < limit, "seed " + seed + ": chi2 " + chi2 + " over df " + df + " limit " + limit);
    }

    @Test
    void topPKeepsTheMinimalPrefix() {
        float[] logits = {(float) Math.log(0.15), (float) Math.log(0.5), (float) Math.log(0.05), (float) Math.log(0.3)};
        Sampler s = new Sampler(1f, 0, 0.75f, 5);
        int[] counts = new int[4];
        for (int i = 0; i < 5000; i++) {
            counts[s.sample(logits)]++;
        }
        assertEquals(0, counts[0] + counts[2], "0.5 + 0.3 reaches 0.75; nothing more is kept");
        assertTrue(counts[1] > 0 && counts[3] > 0);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {21, 22, 23})
    void nucleusLengthIsMinimal(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int trial = 0; trial < 200; trial++) {
            float topP = 0.05f + 0.9f * (float) rnd.nextDouble();
            double[] p = rnd.doubles(1 + rnd.nextInt(50), 0, 1).boxed()
                    .sorted(Comparator.reverseOrder()).mapToDouble(Double::doubleValue).toArray();
            double sum = Arrays.stream(p).sum();
            int keep = new Sampler(1f, 0, topP, seed).nucleus(p, sum);
            double before = Arrays.stream(p, 0, keep - 1).sum() / sum;
            double with = Arrays.stream(p, 0, keep).sum() / sum;
            assertTrue(before < topP && (with >= topP - 1e-12 || keep == p.length),
                    "seed " + seed + ": keep " + keep + " mass " + before + ".." + with + " topP " + topP);
        }
    }

    @Test
    void sameSeedSameSequence() {
        float[] logits = randomLogits(new SplittableRandom(3), 50);
        Sampler a = new Sampler(0.9f, 10, 0.9f, 77);
        Sampler b = new Sampler(0.9f, 10, 0.9f, 77);
        for (int i = 0; i < 100; i++) {
            assertEquals(a.sample(logits), b.sample(logits));
        }
    }

    @Test
    void badSettingsNameTheFlag() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampler(-1f, 0, 1f, 0)).getMessage().contains("--temperature"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampler(1f, -2, 1f, 0)).getMessage().contains("--top-k"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampler(1f, 0, 0f, 0)).getMessage().contains("--top-p"));
    }

    private static float[] randomLogits(SplittableRandom rnd, int n) {
        float[] l = new float[n];
        for (int i = 0; i < n; i++) {
            l[i] = (float) (rnd.nextGaussian() * 2);
        }
        return l;
    }
}
