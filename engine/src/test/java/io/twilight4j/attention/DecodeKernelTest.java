package io.twilight4j.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.twilight4j.backend.Workload;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KvShape;
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

    /**
     * Attention over a sparse set (ascending positions with runs of neighbours that cross pages) and over a
     * position range, against float64 softmax attention over the same tokens: page sizes that are powers of
     * two (page and slot by shifts) and not (by division), pages of two sequences interleaved in the pool; head
     * sizes that the value step covers with four channel vectors, four then two, and with a scalar tail.
     */
    @ParameterizedTest
    @CsvSource({"1, 16, 300, 5, 64", "2, 5, 211, 4, 64", "3, 1, 70, 3, 64", "4, 12, 257, 8, 64", "5, 2, 129, 1, 64",
            "6, 16, 150, 4, 96", "7, 16, 99, 8, 72", "8, 4, 64, 4, 128"})
    void sparseSetsAndRangesMatchFloat64Attention(long seed, int pageTokens, int length, int heads, int dim) {
        SplittableRandom r = new SplittableRandom(seed);
        int kvHeads = 2;
        KvShape shape = new KvShape(1, kvHeads, dim, pageTokens, 2 * ((length + pageTokens - 1) / pageTokens + 1), 0);
        try (HostKvCache cache = new HostKvCache(shape, null)) {
            int other = cache.pager().newSequence();
            int seq = cache.pager().newSequence();
            double[][][] keys = new double[kvHeads][length][dim];
            double[][][] values = new double[kvHeads][length][dim];
            for (int pos = 0; pos < length; ) {
                int n = Math.min(length - pos, 1 + r.nextInt(2 * pageTokens));
                // The other sequence takes pages in between, so this one's page table is not the identity.
                cache.pager().append(other, 1 + r.nextInt(pageTokens));
                cache.pager().append(seq, n);
                float[] k = new float[n * kvHeads * dim];
                float[] v = new float[n * kvHeads * dim];
                for (int t = 0; t < n; t++) {
                    for (int h = 0; h < kvHeads; h++) {
                        for (int c = 0; c < dim; c++) {
                            int i = (t * kvHeads + h) * dim + c;
                            k[i] = (float) (r.nextGaussian() * 2);
                            v[i] = (float) r.nextGaussian();
                            keys[h][pos + t][c] = Fp16.round(k[i]);
                            values[h][pos + t][c] = Fp16.round(v[i]);
                        }
                    }
                }
                cache.write(0, seq, pos, k, v, n);
                pos += n;
            }
            int[] pageTable = new int[cache.pager().pageCount(seq)];
            cache.pager().copyPageTable(seq, pageTable, 0);
            // A set with runs: a token follows a kept one with probability 0.7, else 0.15.
            int[] set = new int[length];
            int count = 0;
            boolean last = false;
            for (int pos = 0; pos < length; pos++) {
                last = r.nextDouble() < (last ? 0.7 : 0.15);
                if (last) {
                    set[count++] = pos;
                }
            }
            int from = Math.min(3, length - 1);
            int to = length - 2;
            int[] range = new int[to - from];
            for (int i = 0; i < range.length; i++) {
                range[i] = from + i;
            }
            float[] q = new float[heads * dim];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) r.nextGaussian();
            }
            // Workload.attention scales by 1/sqrt(d) in float64: exact for d = 64, as the kernel's float scale.
            float scale = shape.scoreScale();
            Workspace ws = new Workspace(dim, heads, length);
            float[] m = new float[heads];
            float[] d = new float[heads];
            float[] o = new float[heads * dim];
            float[] out = new float[dim];
            int kvHead = 1;
            for (boolean sparse : new boolean[] {true, false}) {
                int[] tokens = sparse ? set : range;
                int n = sparse ? count : range.length;
                DecodeKernel.attend(cache.layer(0), cache.layout(), pageTable, kvHead, sparse ? set : null,
                        sparse ? 0 : from, sparse ? count : to, q, 0, heads, scale, ws, m, d, o, 0);
                for (int g = 0; g < heads; g++) {
                    double[] ref = Workload.attention(q, g * dim, keys[kvHead], values[kvHead], tokens, n);
                    AttentionState.finish(d, o, g, dim, out, 0);
                    for (int c = 0; c < dim; c++) {
                        assertEquals(ref[c], out[c], 2e-5, "seed " + seed + (sparse ? " sparse" : " range")
                                + " head " + g + " channel " + c + " of " + n + " tokens");
                    }
                }
            }
        }
    }
}
