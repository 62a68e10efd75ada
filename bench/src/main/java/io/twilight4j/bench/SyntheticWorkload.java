package io.twilight4j.bench;

import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.kv.KvCache;
import io.twilight4j.kv.KvShape;
import io.twilight4j.kv.LabelChannels;
import io.twilight4j.select.ChannelCalibration;
import java.util.SplittableRandom;

/**
 * A synthetic long-context decode workload whose heads range from sharply focused to diffuse, as
 * real budgets do (TWILIGHT.md section 1). Keys are Gaussian with a few outlier channels (as in real
 * LLM keys, which gives Double Sparsity's calibration something to find). The context is cut into
 * segments of 64 tokens; one in five is "about" one of a few topics per KV head and its keys carry
 * that topic's direction. Each query head has a bulk logit spread sigma (2 to 4.5) and attends to one
 * topic with a strength tau (0 to 8): large tau and sigma give focused heads, small ones diffuse heads.
 * Values are a per-head mean plus noise of the same size: real value vectors are not zero-mean, and
 * with zero-mean values a diffuse head's output would be near zero and any relative error huge.
 */
public final class SyntheticWorkload {

    static final int SEGMENT_TOKENS = 64;
    static final int TOPICS = 8;
    /** Tokens whose keys, and query steps whose queries, the key smoothing is calibrated on. */
    static final int SMOOTHING_SAMPLES = 1024;
    static final int SMOOTHING_QUERY_SAMPLES = 64;

    private final BenchConfig config;
    private final float[] channelScale;
    /** topics[kvHead][topic][c]: standard normal directions. */
    private final float[][][] topics;
    /** valueMean[kvHead][c]. */
    private final float[][] valueMean;

    /** A workload for {@code config}'s shape and seed. */
    public SyntheticWorkload(BenchConfig config) {
        this.config = config;
        SplittableRandom r = new SplittableRandom(config.seed());
        int dim = config.headDim();
        channelScale = new float[dim];
        for (int c = 0; c < dim; c++) {
            channelScale[c] = r.nextInt(16) == 0 ? 4f : 0.5f + r.nextFloat();
        }
        valueMean = new float[config.kvHeads()][dim];
        for (float[] m : valueMean) {
            for (int c = 0; c < dim; c++) {
                m[c] = (float) r.nextGaussian();
            }
        }
        topics = new float[config.kvHeads()][TOPICS][dim];
        for (float[][] head : topics) {
            for (float[] t : head) {
                for (int c = 0; c < dim; c++) {
                    t[c] = (float) r.nextGaussian();
                }
            }
        }
    }

    /** The cache shape: {@code config.layers()} layers, room for every sequence. */
    public KvShape shape() {
        long tokens = (long) config.batch() * ((config.ctx() + 15) / 16 * 16);
        return KvShape.forTokens(config.layers(), config.kvHeads(), config.headDim(), tokens, config.labelChannels());
    }

    /** Label channels calibrated on sample queries of this workload (null when no ds policy runs). */
    public LabelChannels labelChannels() {
        int r = config.labelChannels();
        if (r == 0) {
            return null;
        }
        // The same sample for every layer: each layer holds the same workload.
        float[][] samples = new float[config.layers()][];
        java.util.Arrays.fill(samples, queries(config.seed() ^ 0xca11b));
        return ChannelCalibration.calibrate(samples, config.queryHeads(), config.kvHeads(), config.headDim(), r);
    }

    /**
     * The cache's key smoothing calibrated on this workload's keys (positions spread over the context) and on
     * sample queries of another seed than the measured ones (as the label channels are), or null when the
     * configuration turns it off. A sample, as a calibration on a model's prompt would be.
     */
    public KeySmoothing keySmoothing() {
        if (!config.keySmoothing()) {
            return null;
        }
        int row = config.kvHeads() * config.headDim();
        int n = Math.min(SMOOTHING_SAMPLES, config.ctx());
        float[] k = new float[n * row];
        float[] v = new float[n * row];
        for (int i = 0; i < n; i++) {
            token(0, (int) ((long) i * config.ctx() / n), k, v, i * row);
        }
        int rows = config.batch() * config.queryHeads() * config.headDim();
        float[] q = new float[SMOOTHING_QUERY_SAMPLES * rows];
        for (int i = 0; i < SMOOTHING_QUERY_SAMPLES; i++) {
            System.arraycopy(queries((config.seed() ^ 0xca11b) + 1 + i), 0, q, i * rows, rows);
        }
        float[][] keys = new float[config.layers()][];
        float[][] queries = new float[config.layers()][];
        java.util.Arrays.fill(keys, k);
        java.util.Arrays.fill(queries, q);
        return KeySmoothing.calibrate(keys, queries, config.queryHeads(), config.kvHeads(), config.headDim());
    }

    /** Topic of the segment holding {@code pos} in (sequence b, KV head h), or -1 for none. */
    private int topic(int b, int h, int pos) {
        long x = config.seed() * 0x9E3779B97F4A7C15L + ((long) b << 40) + ((long) h << 32) + pos / SEGMENT_TOKENS;
        x = (x ^ (x >>> 31)) * 0xBF58476D1CE4E5B9L;
        x = (x ^ (x >>> 29)) * 0x94D049BB133111EBL;
        int v = (int) ((x ^ (x >>> 32)) & 0x7fffffff);
        return v % 5 == 0 ? (v / 5) % TOPICS : -1;
    }

    /**
     * Creates the sequences and writes their keys and values, the same to every layer; returns the
     * sequence ids. Each token's values come from its own seeded stream, so chunks are generated in
     * parallel and the result does not depend on the thread count.
     */
    public int[] fill(KvCache cache, java.util.function.IntConsumer progress) {
        int kvHeads = config.kvHeads();
        int dim = config.headDim();
        int chunk = 2048;
        float[] k = new float[chunk * kvHeads * dim];
        float[] v = new float[chunk * kvHeads * dim];
        int[] seqs = new int[config.batch()];
        for (int b = 0; b < config.batch(); b++) {
            int seq = b;
            seqs[b] = cache.pager().newSequence();
            for (int pos = 0; pos < config.ctx(); pos += chunk) {
                int first = pos;
                int n = Math.min(chunk, config.ctx() - pos);
                java.util.stream.IntStream.range(0, n).parallel().forEach(t -> token(seq, first + t, k, v, t * kvHeads * dim));
                cache.pager().append(seqs[b], n);
                for (int layer = 0; layer < config.layers(); layer++) {
                    cache.write(layer, seqs[b], pos, k, v, n);
                }
                progress.accept(n);
            }
        }
        return seqs;
    }

    /** The configuration this workload was built for. */
    public BenchConfig config() {
        return config;
    }

    /** Keys and values of (sequence b, position) for every KV head, into k and v at {@code off}. */
    void token(int b, int pos, float[] k, float[] v, int off) {
        int dim = config.headDim();
        SplittableRandom r = new SplittableRandom(config.seed() * 0x9E3779B97F4A7C15L + ((long) b << 32) + pos);
        for (int h = 0; h < config.kvHeads(); h++) {
            int topic = topic(b, h, pos);
            for (int c = 0; c < dim; c++) {
                float x = (float) r.nextGaussian();
                if (topic >= 0) {
                    x += topics[h][topic][c];
                }
                k[off + h * dim + c] = x * channelScale[c];
                v[off + h * dim + c] = valueMean[h][c] + (float) r.nextGaussian();
            }
        }
    }

    /**
     * Queries {@code [batch][queryHeads][headDim]}. With q_c = (sigma g_c + tau u_c / sqrt(d)) / scale_c,
     * the logit q.k/sqrt(d) has a bulk spread of about sigma and a boost of about tau on the tokens of
     * topic u.
     */
    public float[] queries(long querySeed) {
        int dim = config.headDim();
        int hq = config.queryHeads();
        int group = hq / config.kvHeads();
        float[] q = new float[config.batch() * hq * dim];
        SplittableRandom r = new SplittableRandom(querySeed);
        double root = Math.sqrt(dim);
        for (int b = 0; b < config.batch(); b++) {
            for (int qh = 0; qh < hq; qh++) {
                int off = (b * hq + qh) * dim;
                double focus = (double) ((qh * 7 + b * 3) % hq) / Math.max(1, hq - 1);
                double sigma = 2 + 2.5 * focus;
                double tau = 8 * r.nextDouble();
                float[] u = topics[qh / group][r.nextInt(TOPICS)];
                for (int c = 0; c < dim; c++) {
                    q[off + c] = (float) ((sigma * r.nextGaussian() + tau * u[c] / root) / channelScale[c]);
                }
            }
        }
        return q;
    }
}
