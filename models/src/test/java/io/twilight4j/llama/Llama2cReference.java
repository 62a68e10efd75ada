package io.twilight4j.llama;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An independent float64 Llama forward pass over a llama2.c checkpoint (the .bin layout of
 * shared/models/README.md, classifier shared with the embedding), after karpathy/llama2.c run.c.
 * Plain loops, full attention over a growing in-memory cache; slow but obviously right.
 */
public final class Llama2cReference {

    public final int dim, hidden, layers, heads, kvHeads, vocab, seqLen;
    private final double[][] embedding;
    private final double[][] rmsAtt, rmsFfn;
    private final double[][][] wq, wk, wv, wo, w1, w2, w3;
    private final double[] rmsFinal;
    private final double[][][] keyCache, valueCache;
    private int pos;

    public Llama2cReference(Path bin) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(bin)).order(ByteOrder.LITTLE_ENDIAN);
        dim = b.getInt();
        hidden = b.getInt();
        layers = b.getInt();
        heads = b.getInt();
        kvHeads = b.getInt();
        vocab = Math.abs(b.getInt());
        seqLen = b.getInt();
        int kvDim = dim / heads * kvHeads;
        embedding = read(b, vocab, dim);
        rmsAtt = read(b, layers, dim);
        wq = read(b, layers, dim, dim);
        wk = read(b, layers, kvDim, dim);
        wv = read(b, layers, kvDim, dim);
        wo = read(b, layers, dim, dim);
        rmsFfn = read(b, layers, dim);
        w1 = read(b, layers, hidden, dim);
        w2 = read(b, layers, dim, hidden);
        w3 = read(b, layers, hidden, dim);
        rmsFinal = read(b, 1, dim)[0];
        keyCache = new double[layers][seqLen][];
        valueCache = new double[layers][seqLen][];
    }

    private static double[][] read(ByteBuffer b, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (double[] row : m) {
            for (int i = 0; i < cols; i++) {
                row[i] = b.getFloat();
            }
        }
        return m;
    }

    private static double[][][] read(ByteBuffer b, int n, int rows, int cols) {
        double[][][] m = new double[n][][];
        for (int i = 0; i < n; i++) {
            m[i] = read(b, rows, cols);
        }
        return m;
    }

    /** Logits after feeding {@code token} at the next position. */
    public double[] forward(int token) {
        int hs = dim / heads;
        int group = heads / kvHeads;
        double[] x = embedding[token].clone();
        for (int l = 0; l < layers; l++) {
            double[] xb = rmsnorm(x, rmsAtt[l]);
            double[] q = matmul(wq[l], xb);
            double[] k = matmul(wk[l], xb);
            double[] v = matmul(wv[l], xb);
            rotate(q, hs);
            rotate(k, hs);
            keyCache[l][pos] = k;
            valueCache[l][pos] = v;
            double[] out = new double[dim];
            for (int h = 0; h < heads; h++) {
                int kvh = h / group;
                double[] scores = new double[pos + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t <= pos; t++) {
                    double s = 0;
                    for (int i = 0; i < hs; i++) {
                        s += q[h * hs + i] * keyCache[l][t][kvh * hs + i];
                    }
                    scores[t] = s / Math.sqrt(hs);
                    max = Math.max(max, scores[t]);
                }
                double sum = 0;
                for (int t = 0; t <= pos; t++) {
                    scores[t] = Math.exp(scores[t] - max);
                    sum += scores[t];
                }
                for (int t = 0; t <= pos; t++) {
                    for (int i = 0; i < hs; i++) {
                        out[h * hs + i] += scores[t] / sum * valueCache[l][t][kvh * hs + i];
                    }
                }
            }
            double[] o = matmul(wo[l], out);
            for (int i = 0; i < dim; i++) {
                x[i] += o[i];
            }
            xb = rmsnorm(x, rmsFfn[l]);
            double[] g = matmul(w1[l], xb);
            double[] u = matmul(w3[l], xb);
            for (int i = 0; i < hidden; i++) {
                g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
            }
            double[] d = matmul(w2[l], g);
            for (int i = 0; i < dim; i++) {
                x[i] += d[i];
            }
        }
        pos++;
        return matmul(embedding, rmsnorm(x, rmsFinal));
    }

    /** run.c's RoPE: channel pairs (i, i+1) of each head turn by pos / 10000^(i / headSize). */
    private void rotate(double[] vec, int hs) {
        for (int i = 0; i < vec.length; i += 2) {
            double freq = 1.0 / Math.pow(10000.0, (double) (i % hs) / hs);
            double angle = pos * freq;
            double a = vec[i];
            double b = vec[i + 1];
            vec[i] = a * Math.cos(angle) - b * Math.sin(angle);
            vec[i + 1] = a * Math.sin(angle) + b * Math.cos(angle);
        }
    }

    private static double[] rmsnorm(double[] x, double[] w) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double inv = 1 / Math.sqrt(ss / x.length + 1e-5);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = w[i] * x[i] * inv;
        }
        return out;
    }

    private static double[] matmul(double[][] w, double[] x) {
        double[] y = new double[w.length];
        for (int r = 0; r < w.length; r++) {
            double s = 0;
            for (int i = 0; i < x.length; i++) {
                s += w[r][i] * x[i];
            }
            y[r] = s;
        }
        return y;
    }
}
