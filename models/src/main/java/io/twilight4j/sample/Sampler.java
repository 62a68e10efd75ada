package io.twilight4j.sample;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks a token from logits: temperature 0 is greedy (argmax, lowest id on ties); otherwise the
 * logits are divided by the temperature, cut to the {@code topK} largest (0: no cut), turned into
 * probabilities, cut to the smallest prefix of the sorted tokens whose mass reaches {@code topP}
 * (1: no cut), renormalized and drawn from with a seeded {@link SplittableRandom}.
 */
public final class Sampler {

    private final float temperature;
    private final int topK;
    private final float topP;
    private final SplittableRandom random;

    /** A sampler; bad settings are IllegalArgumentExceptions naming the flag. */
    public Sampler(float temperature, int topK, float topP, long seed) {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature must be >= 0, not " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("--top-k must be >= 0 (0: off), not " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("--top-p must be in (0, 1], not " + topP);
        }
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    /** The next token id; {@code logits} is not modified. */
    public int sample(float[] logits) {
        if (logits.length == 0) {
            throw new IllegalArgumentException("no logits to sample from");
        }
        if (temperature == 0) {
            return argmax(logits);
        }
        int[] order = candidates(logits);
        double[] probs = new double[order.length];
        double max = logits[order[0]] / temperature;
        double sum = 0;
        for (int i = 0; i < order.length; i++) {
            probs[i] = Math.exp(logits[order[i]] / temperature - max);
            sum += probs[i];
        }
        int keep = nucleus(probs, sum);
        double kept = 0;
        for (int i = 0; i < keep; i++) {
            kept += probs[i];
        }
        double u = random.nextDouble() * kept;
        for (int i = 0; i < keep; i++) {
            u -= probs[i];
            if (u < 0) {
                return order[i];
            }
        }
        return order[keep - 1]; // u landed on the rounding slack at the end
    }

    /** Greedy choice: the first index of the largest logit. */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Token ids by descending logit (ties: lower id first), cut to top-k. */
    int[] candidates(float[] logits) {
        // Sort (order-preserving logit bits, inverted id) as longs: no boxing for 128k-entry vocabularies.
        long[] keys = new long[logits.length];
        for (int i = 0; i < logits.length; i++) {
            int bits = Float.floatToIntBits(logits[i]);
            int sortable = bits >= 0 ? bits : bits ^ 0x7FFF_FFFF;
            keys[i] = ((long) sortable << 32) | (0xFFFF_FFFFL & ~i);
        }
        Arrays.sort(keys);
        int n = topK > 0 ? Math.min(topK, logits.length) : logits.length;
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = ~(int) keys[keys.length - 1 - i];
        }
        return order;
    }

    /** Length of the smallest prefix of {@code probs} (sorted descending, summing to {@code sum}) with mass >= topP. */
    int nucleus(double[] probs, double sum) {
        if (topP >= 1) {
            return probs.length;
        }
        double target = topP * sum;
        double acc = 0;
        for (int i = 0; i < probs.length; i++) {
            acc += probs[i];
            if (acc >= target) {
                return i + 1;
            }
        }
        return probs.length;
    }
}
