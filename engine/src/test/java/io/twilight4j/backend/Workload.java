package io.twilight4j.backend;

import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.KvCache;
import io.twilight4j.kv.KvShape;
import io.twilight4j.kv.LabelChannels;
import java.util.SplittableRandom;

/**
 * A seeded test workload: random keys and values for a ragged batch of sequences, written into a
 * backend's cache, with a float64 copy (rounded to fp16, as stored) for the reference. Queries are
 * planted so heads range from focused (a few keys dominate) to diffuse.
 */
public final class Workload {

    public final KvShape shape;
    public final int queryHeads;
    public final int[] lengths;
    public final int[] seqs;
    /** keys[layer][b][kvHead][pos][c] and values alike, fp16-exact. */
    public final double[][][][][] keys;
    public final double[][][][][] values;
    public final long seed;

    /** Builds the data; {@link #writeTo} stores it. */
    public Workload(int kvHeads, int group, int dim, int[] lengths, int labelChannels, long seed) {
        this.seed = seed;
        int total = 0;
        for (int len : lengths) {
            total += (len + 15) / 16;
        }
        this.shape = new KvShape(2, kvHeads, dim, 16, total + 8, labelChannels);
        this.queryHeads = kvHeads * group;
        this.lengths = lengths.clone();
        this.seqs = new int[lengths.length];
        SplittableRandom r = new SplittableRandom(seed);
        keys = new double[2][lengths.length][kvHeads][][];
        values = new double[2][lengths.length][kvHeads][][];
        for (int l = 0; l < 2; l++) {
            for (int b = 0; b < lengths.length; b++) {
                for (int h = 0; h < kvHeads; h++) {
                    keys[l][b][h] = new double[lengths[b]][dim];
                    values[l][b][h] = new double[lengths[b]][dim];
                    for (int t = 0; t < lengths[b]; t++) {
                        for (int c = 0; c < dim; c++) {
                            keys[l][b][h][t][c] = Fp16.round((float) (r.nextGaussian() * (1 + (c % 7) * 0.3)));
                            values[l][b][h][t][c] = Fp16.round((float) r.nextGaussian());
                        }
                    }
                }
            }
        }
    }

    /** Label channels 0, 2, 4, ... (every other channel), as if calibrated. */
    public LabelChannels evenChannels() {
        if (shape.labelChannels() == 0) {
            return null;
        }
        int[][][] ch = new int[shape.layers()][shape.kvHeads()][shape.labelChannels()];
        for (int[][] layer : ch) {
            for (int[] head : layer) {
                for (int j = 0; j < head.length; j++) {
                    head[j] = (2 * j) % shape.headDim() + (2 * j >= shape.headDim() ? 1 : 0);
                }
                java.util.Arrays.sort(head);
            }
        }
        return new LabelChannels(shape.headDim(), ch);
    }

    /** Appends every sequence to {@code cache} and writes both layers, in pieces of varying size. */
    public void writeTo(KvCache cache) {
        int kvHeads = shape.kvHeads();
        int dim = shape.headDim();
        SplittableRandom r = new SplittableRandom(seed ^ 0x5eed);
        for (int b = 0; b < lengths.length; b++) {
            seqs[b] = cache.pager().newSequence();
            int pos = 0;
            while (pos < lengths[b]) {
                int n = Math.min(lengths[b] - pos, 1 + r.nextInt(40));
                cache.pager().append(seqs[b], n);
                for (int l = 0; l < 2; l++) {
                    float[] k = new float[n * kvHeads * dim];
                    float[] v = new float[n * kvHeads * dim];
                    for (int t = 0; t < n; t++) {
                        for (int h = 0; h < kvHeads; h++) {
                            for (int c = 0; c < dim; c++) {
                                k[(t * kvHeads + h) * dim + c] = (float) keys[l][b][h][pos + t][c];
                                v[(t * kvHeads + h) * dim + c] = (float) values[l][b][h][pos + t][c];
                            }
                        }
                    }
                    cache.write(l, seqs[b], pos, k, v, n);
                }
                pos += n;
            }
        }
    }

    /**
     * Queries {@code [batch][queryHeads][dim]}: head i of a sequence is a mix of a few planted keys
     * (sharpness growing with i) and noise, so budgets differ across heads.
     */
    public float[] queries(int layer, long querySeed) {
        SplittableRandom r = new SplittableRandom(querySeed);
        int dim = shape.headDim();
        int group = queryHeads / shape.kvHeads();
        float[] q = new float[lengths.length * queryHeads * dim];
        for (int b = 0; b < lengths.length; b++) {
            for (int qh = 0; qh < queryHeads; qh++) {
                int h = qh / group;
                double sharp = 0.05 + 1.5 * qh / Math.max(1, queryHeads - 1);
                int planted = 1 + r.nextInt(3);
                int off = (b * queryHeads + qh) * dim;
                for (int c = 0; c < dim; c++) {
                    q[off + c] = (float) (r.nextGaussian() * 0.3);
                }
                for (int p = 0; p < planted; p++) {
                    double[] key = keys[layer][b][h][r.nextInt(lengths[b])];
                    for (int c = 0; c < dim; c++) {
                        q[off + c] += (float) (sharp * key[c] / Math.sqrt(dim) * 3);
                    }
                }
            }
        }
        return q;
    }

    /** Float64 softmax attention of query row {@code qOff} over {@code set} (positions) of (layer, b, kvHead). */
    public double[] reference(int layer, int b, int kvHead, float[] q, int qOff, int[] set, int n) {
        return attention(q, qOff, keys[layer][b][kvHead], values[layer][b][kvHead], set, n);
    }

    /** Float64 softmax attention (scale 1/sqrt(d)) of one query row over rows {@code set[0..n)} of k and v. */
    public static double[] attention(float[] q, int qOff, double[][] k, double[][] v, int[] set, int n) {
        int dim = k[set[0]].length;
        double[] logits = new double[n];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int c = 0; c < dim; c++) {
                s += q[qOff + c] * k[set[i]][c];
            }
            logits[i] = s / Math.sqrt(dim);
            max = Math.max(max, logits[i]);
        }
        double z = 0;
        double[] o = new double[dim];
        for (int i = 0; i < n; i++) {
            double p = Math.exp(logits[i] - max);
            z += p;
            for (int c = 0; c < dim; c++) {
                o[c] += p * v[set[i]][c];
            }
        }
        for (int c = 0; c < dim; c++) {
            o[c] /= z;
        }
        return o;
    }

    /** Float64 softmax weights (scale 1/sqrt(d)) of query head {@code qh} of slot {@code b} over all its tokens. */
    public double[] trueWeights(int layer, int b, int qh, float[] q) {
        int dim = shape.headDim();
        double[][] k = keys[layer][b][qh / (queryHeads / shape.kvHeads())];
        int qOff = (b * queryHeads + qh) * dim;
        double[] s = new double[lengths[b]];
        for (int t = 0; t < s.length; t++) {
            double dot = 0;
            for (int c = 0; c < dim; c++) {
                dot += q[qOff + c] * k[t][c];
            }
            s[t] = dot / Math.sqrt(dim);
        }
        return softmax(s);
    }

    /** Softmax of {@code logits} in place (float64); returns them. */
    public static double[] softmax(double[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (double x : logits) {
            max = Math.max(max, x);
        }
        double z = 0;
        for (int i = 0; i < logits.length; i++) {
            logits[i] = Math.exp(logits[i] - max);
            z += logits[i];
        }
        for (int i = 0; i < logits.length; i++) {
            logits[i] /= z;
        }
        return logits;
    }

    /** Every position of sequence b. */
    public int[] all(int b) {
        int[] s = new int[lengths[b]];
        for (int i = 0; i < s.length; i++) {
            s[i] = i;
        }
        return s;
    }
}
