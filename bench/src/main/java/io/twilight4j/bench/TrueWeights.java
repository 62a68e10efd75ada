package io.twilight4j.bench;

import io.twilight4j.backend.DecodeAttention;
import io.twilight4j.kv.Fp16;
import java.util.stream.IntStream;

/**
 * The exact attention weights of one sequence's query heads over its whole context, in float64 from the keys
 * as the cache holds them (the workload's keys rounded to fp16): the reference against which the tokens a
 * policy attended are weighed. A policy's <em>kept mass</em> for a query head is the sum of these weights
 * over its attended tokens. Top-p promises {@code p} of its candidates' mass; the kept mass shows what a
 * policy really kept, and so whether an output error comes from the selection (what the selector's
 * candidates hold) or from the pruning (the 4-bit estimate's weights against the true ones).
 */
public final class TrueWeights {

    /** Positions generated together by one task (each allocates its own key rows). */
    private static final int CHUNK = 256;

    private final int ctx;
    /** weights[qh][pos], summing to 1 per query head. */
    private final double[][] weights;

    private TrueWeights(double[][] weights) {
        this.weights = weights;
        this.ctx = weights.length == 0 ? 0 : weights[0].length;
    }

    /**
     * The weights of sequence {@code slot}'s query heads (rows of {@code q}, laid out as {@code bench
     * attention} passes them) over the workload's {@code ctx} tokens, scores scaled by {@code scale}.
     */
    public static TrueWeights of(SyntheticWorkload workload, int slot, float[] q, float scale) {
        BenchConfig c = workload.config();
        int ctx = c.ctx();
        int hq = c.queryHeads();
        int kvHeads = c.kvHeads();
        int dim = c.headDim();
        int group = hq / kvHeads;
        double[][] scores = new double[hq][ctx];
        IntStream.range(0, (ctx + CHUNK - 1) / CHUNK).parallel().forEach(chunk -> {
            float[] k = new float[kvHeads * dim];
            float[] v = new float[kvHeads * dim];
            for (int pos = chunk * CHUNK; pos < Math.min(ctx, (chunk + 1) * CHUNK); pos++) {
                workload.token(slot, pos, k, v, 0);
                for (int i = 0; i < k.length; i++) {
                    k[i] = Fp16.round(k[i]);
                }
                for (int qh = 0; qh < hq; qh++) {
                    int qOff = (slot * hq + qh) * dim;
                    int kOff = (qh / group) * dim;
                    double dot = 0;
                    for (int i = 0; i < dim; i++) {
                        dot += (double) q[qOff + i] * k[kOff + i];
                    }
                    scores[qh][pos] = dot * scale;
                }
            }
        });
        for (double[] row : scores) {
            softmaxInPlace(row);
        }
        return new TrueWeights(scores);
    }

    /** x = softmax(x), in float64. */
    static void softmaxInPlace(double[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (double s : x) {
            max = Math.max(max, s);
        }
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            x[i] = Math.exp(x[i] - max);
            sum += x[i];
        }
        for (int i = 0; i < x.length; i++) {
            x[i] /= sum;
        }
    }

    /** The weight of query head {@code qh} on position {@code pos}. */
    public double weight(int qh, int pos) {
        return weights[qh][pos];
    }

    /** The true weight of positions {@code tokens[0..n)} for query head {@code qh}. */
    public double mass(int qh, int[] tokens, int n) {
        double m = 0;
        for (int i = 0; i < n; i++) {
            m += weights[qh][tokens[i]];
        }
        return m;
    }

    /**
     * The kept mass of every query head for the tokens {@code plan}'s last step attended in batch slot
     * {@code slot} (the slot these weights were computed for).
     */
    public double[] keptMass(DecodeAttention plan, int slot) {
        double[] masses = new double[weights.length];
        int[] tokens = new int[ctx];
        for (int qh = 0; qh < weights.length; qh++) {
            masses[qh] = mass(qh, tokens, plan.keptTokens(slot, qh, tokens));
        }
        return masses;
    }
}
