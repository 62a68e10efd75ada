package io.twilight4j.select;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KvShape;
import io.twilight4j.kv.LabelChannels;
import io.twilight4j.kv.LabelKeys;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Double Sparsity's token scores against a float64 sum over the label codes: max over the group's heads
 * of sum_j q[channel_j] * (code_j * scale + min), each key's labels quantized by {@link LabelKeys} on
 * its own. Shapes cover the vector path (groups of four, r a multiple of 16 that tiles the vector),
 * its page tails, and the table path (other groups, r = 8 or r wider than a vector).
 */
class DoubleSparsitySelectorTest {

    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of(64, 16, 4), Arguments.of(128, 32, 4), Arguments.of(128, 64, 4), Arguments.of(128, 128, 4),
                Arguments.of(256, 256, 4), Arguments.of(64, 8, 4), Arguments.of(128, 64, 3), Arguments.of(128, 64, 1),
                Arguments.of(64, 32, 2));
    }

    @ParameterizedTest(name = "d {0}, r {1}, group {2}")
    @MethodSource("shapes")
    void scoresEqualTheFloat64SumOverTheLabels(int dim, int r, int group) {
        SplittableRandom rnd = new SplittableRandom(17L * dim + r + 1000L * group);
        int kvHeads = 2;
        int length = 16 * 5 + 7; // a last page of 7 tokens: tails of every vector width
        int[][][] channels = new int[1][kvHeads][];
        for (int h = 0; h < kvHeads; h++) {
            // r distinct channels, ascending, different per head.
            int[] perm = IntStream.range(0, dim).toArray();
            for (int i = dim - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            channels[0][h] = Arrays.stream(perm, 0, r).sorted().toArray();
        }
        LabelChannels labels = new LabelChannels(dim, channels);
        KvShape shape = new KvShape(1, kvHeads, dim, 16, 64, r);
        float[][] keys = new float[length][kvHeads * dim];
        for (float[] row : keys) {
            for (int i = 0; i < row.length; i++) {
                row[i] = Fp16.round((float) (rnd.nextGaussian() * (1 + (i % 5) * 0.4)));
            }
        }
        try (HostKvCache cache = new HostKvCache(shape, labels)) {
            // Two sequences appended in turns, so the scored one's pages are not consecutive.
            int seq = cache.pager().newSequence();
            int other = cache.pager().newSequence();
            for (int pos = 0; pos < length; ) {
                int n = Math.min(length - pos, 1 + rnd.nextInt(20));
                cache.pager().append(seq, n);
                float[] k = new float[n * kvHeads * dim];
                for (int t = 0; t < n; t++) {
                    System.arraycopy(keys[pos + t], 0, k, t * kvHeads * dim, kvHeads * dim);
                }
                cache.write(0, seq, pos, k, new float[k.length], n);
                cache.pager().append(other, 16);
                pos += n;
            }
            int[] pageTable = new int[cache.pager().pageCount(seq)];
            cache.pager().copyPageTable(seq, pageTable, 0);
            DoubleSparsitySelector ds = new DoubleSparsitySelector(8);
            Workspace ws = new Workspace(dim, group, length);
            float[] q = new float[kvHeads * group * dim];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) rnd.nextGaussian();
            }
            for (int h = 0; h < kvHeads; h++) {
                float[] got = new float[length];
                ds.scoreTokens(cache, 0, pageTable, length, h, q, h * group * dim, group, ws, got);
                int[] ch = labels.of(0, h);
                byte[] codes = new byte[r / 4];
                for (int t = 0; t < length; t++) {
                    int packed = LabelKeys.quantize(keys[t], h * dim, ch, codes, 0);
                    double scale = Float.float16ToFloat((short) (packed >>> 16));
                    double min = Float.float16ToFloat((short) packed);
                    double want = Double.NEGATIVE_INFINITY;
                    double magnitude = 0;
                    for (int g = 0; g < group; g++) {
                        double s = 0;
                        double m = 0;
                        for (int j = 0; j < r; j++) {
                            int code = (codes[j / 4] >> (2 * (j % 4))) & 3;
                            double term = q[(h * group + g) * dim + ch[j]] * (code * scale + min);
                            s += term;
                            m += Math.abs(term);
                        }
                        want = Math.max(want, s);
                        magnitude = Math.max(magnitude, m);
                    }
                    assertEquals(want, got[t], 1e-5 * magnitude + 1e-6,
                            "kv head " + h + ", token " + t + " of " + length + " (d " + dim + ", r " + r + ", group " + group + ")");
                }
            }
        }
    }
}
