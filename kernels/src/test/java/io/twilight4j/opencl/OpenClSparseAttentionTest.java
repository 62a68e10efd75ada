package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.twilight4j.kv.KvShape;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lwjgl.system.MemoryUtil;

/**
 * The sparse attention's work list (attention.cl): the kernel cuts each set into chunks by its size on the
 * device and the groups share them out, so this feeds it sets of every kind of size directly (empty, one
 * token, either side of a chunk's 256 tokens, whole sequences) for more entries than a work-group has
 * work-items (the prefix sums then take several blocks), and compares every output row with attention over
 * the same positions in float64 (an empty set's row is 0). One plan runs two rounds of different sets, and
 * every output row must be written each time (the output buffer holds NaN before each launch); with the
 * merge launch and with the merge inside attend_partial (its arrival counters reset between rounds).
 */
class OpenClSparseAttentionTest extends OpenClTestSupport {

    private static final int KV_HEADS = 4, GQA = 2, QUERY_HEADS = KV_HEADS * GQA, DIM = 64, MAX_LEN = 2000;

    @ParameterizedTest(name = "batch {0}, one set per query head: {1}, merged by attend_partial: {2}, merge work-item per {3} chunks")
    @CsvSource({"40, false, false, 32", "23, true, false, 32", "2, false, false, 32", "40, false, true, 32", "23, true, true, 32",
            "2, false, true, 32", "40, false, false, 2", "23, true, false, 3"})
    void everySetSizeMatchesFloat64Attention(int batch, boolean perHead, boolean fusedMerge, int mergeChunksPerPart) {
        SplittableRandom r = new SplittableRandom(batch * 7919L + (perHead ? 1 : 0));
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) {
            lengths[b] = 1 + r.nextInt(MAX_LEN);
        }
        lengths[0] = MAX_LEN;
        int setsPerSeq = perHead ? QUERY_HEADS : KV_HEADS;
        int headsPerEntry = perHead ? 1 : GQA;
        int entries = batch * setsPerSeq;
        int cap = MAX_LEN;
        int[][][] rounds = new int[2][entries][];
        int[] special = {0, 1, 255, 256, 257, 512, 513};
        for (int[][] sets : rounds) {
            for (int e = 0; e < entries; e++) {
                int len = lengths[e / setsPerSeq];
                int n = Math.min(len, e < special.length ? special[e] : e % 5 == 0 ? len : r.nextInt(len + 1));
                sets[e] = randomSubset(r, len, n);
            }
            int t = special[0]; // the second round moves the special sizes to other entries
            System.arraycopy(special, 1, special, 0, special.length - 1);
            special[special.length - 1] = t;
        }
        float[][] k = new float[batch][], v = new float[batch][];
        float[] q = new float[batch * QUERY_HEADS * DIM];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) (r.nextGaussian() * 1.5);
        }
        long tokens = Arrays.stream(lengths).asLongStream().sum();
        try (OpenClKvCache cache = new OpenClKvCache(cl, KvShape.forTokens(1, KV_HEADS, DIM, tokens + 16L * batch, 0), null)) {
            int maxPages = (MAX_LEN + cache.shape().pageTokens() - 1) / cache.shape().pageTokens();
            int[] pageTables = new int[batch * maxPages];
            for (int b = 0; b < batch; b++) {
                int seq = cache.pager().newSequence();
                cache.pager().append(seq, lengths[b]);
                k[b] = gaussian(r, lengths[b] * KV_HEADS * DIM);
                v[b] = gaussian(r, lengths[b] * KV_HEADS * DIM);
                cache.write(0, seq, 0, k[b], v[b], lengths[b]);
                cache.pager().copyPageTable(seq, pageTables, b * maxPages);
            }
            AttentionTuning d = AttentionTuning.DEFAULT;
            AttentionTuning tuning = new AttentionTuning(d.rowsInFlight(), d.groupThreads(), d.groupsPerUnit(), d.shuffleVec(),
                    mergeChunksPerPart);
            float[][] outs = run(cache, q, lengths, pageTables, maxPages, rounds, cap, setsPerSeq, headsPerEntry, fusedMerge,
                    tuning);
            for (int round = 0; round < rounds.length; round++) {
                int[][] sets = rounds[round];
                float[] out = outs[round];
                for (int e = 0; e < entries; e++) {
                    int b = e / setsPerSeq;
                    for (int g = 0; g < headsPerEntry; g++) {
                        int qh = (e % setsPerSeq) * headsPerEntry + g;
                        double[] expected = reference(q, b, qh, k[b], v[b], sets[e]);
                        for (int c = 0; c < DIM; c++) {
                            assertEquals(expected[c], out[(b * QUERY_HEADS + qh) * DIM + c], 2e-4, "round " + round
                                    + ", entry " + e + " (" + sets[e].length + " tokens), query head " + qh + ", channel " + c);
                        }
                    }
                }
            }
        }
    }

    /** Each round's outputs, the rounds run one after the other by one plan. */
    private static float[][] run(OpenClKvCache cache, float[] q, int[] lengths, int[] pageTables, int maxPages,
                                 int[][][] rounds, int cap, int setsPerSeq, int headsPerEntry, boolean fusedMerge,
                                 AttentionTuning tuning) {
        int entries = rounds[0].length;
        int[] flat = new int[entries * cap];
        int[] counts = new int[entries];
        FloatBuffer qHost = MemoryUtil.memAllocFloat(q.length).put(q).flip();
        FloatBuffer outHost = MemoryUtil.memAllocFloat(q.length);
        IntBuffer ints = MemoryUtil.memAllocInt(flat.length + pageTables.length + lengths.length + counts.length);
        try (AttentionKernels attention = new AttentionKernels(cl, cache.layout().kernelDefines(), QUERY_HEADS, GQA, false,
                entries, headsPerEntry, cap, false, fusedMerge, tuning);
             ClBuffer qBuf = cl.buffer("q", 4L * q.length);
             ClBuffer outBuf = cl.buffer("out", 4L * q.length);
             ClBuffer setBuf = cl.buffer("sets", 4L * flat.length);
             ClBuffer countBuf = cl.buffer("counts", 4L * counts.length);
             ClBuffer tableBuf = cl.buffer("page tables", 4L * pageTables.length);
             ClBuffer lengthBuf = cl.buffer("lengths", 4L * lengths.length)) {
            cl.write(qBuf, 0, qHost);
            cl.write(tableBuf, 0, ints.clear().put(pageTables).flip());
            cl.write(lengthBuf, 0, ints.clear().put(lengths).flip());
            OpenClKvCache.LayerBuffers layer = cache.layer(0);
            float[][] outs = new float[rounds.length][q.length];
            float[] nan = new float[q.length];
            Arrays.fill(nan, Float.NaN);
            for (int round = 0; round < rounds.length; round++) {
                for (int e = 0; e < entries; e++) {
                    System.arraycopy(rounds[round][e], 0, flat, e * cap, rounds[round][e].length);
                    counts[e] = rounds[round][e].length;
                }
                cl.write(setBuf, 0, ints.clear().put(flat).flip());
                cl.write(countBuf, 0, ints.clear().put(counts).flip());
                cl.write(outBuf, 0, outHost.clear().put(nan).flip());
                attention.run(qBuf, layer.k(), layer.v(), tableBuf, maxPages, lengthBuf, setBuf, countBuf, cap, entries,
                        setsPerSeq, cap, outBuf, StepSlice.cut(cl, entries, 1), 1, null);
                cl.read(outBuf, 0, outHost.clear());
                outHost.get(outs[round]);
            }
            return outs;
        } finally {
            MemoryUtil.memFree(qHost);
            MemoryUtil.memFree(outHost);
            MemoryUtil.memFree(ints);
        }
    }

    /** Softmax(q . k / sqrt(d)) . v over the given positions of one sequence, in float64 from the fp16 K and V. */
    private static double[] reference(float[] q, int b, int qh, float[] k, float[] v, int[] positions) {
        double[] out = new double[DIM];
        if (positions.length == 0) {
            return out;
        }
        int kvHead = qh / GQA;
        double[] s = new double[positions.length];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < positions.length; i++) {
            int row = (positions[i] * KV_HEADS + kvHead) * DIM;
            double dot = 0;
            for (int c = 0; c < DIM; c++) {
                dot += (double) q[(b * QUERY_HEADS + qh) * DIM + c] * Fp16Reference.half(k[row + c]);
            }
            s[i] = dot / Math.sqrt(DIM);
            max = Math.max(max, s[i]);
        }
        double sum = 0;
        for (int i = 0; i < positions.length; i++) {
            s[i] = Math.exp(s[i] - max);
            sum += s[i];
        }
        for (int i = 0; i < positions.length; i++) {
            int row = (positions[i] * KV_HEADS + kvHead) * DIM;
            for (int c = 0; c < DIM; c++) {
                out[c] += s[i] / sum * Fp16Reference.half(v[row + c]);
            }
        }
        return out;
    }

    /** n distinct positions below len, ascending. */
    private static int[] randomSubset(SplittableRandom r, int len, int n) {
        int[] all = IntStream.range(0, len).toArray();
        for (int i = 0; i < n; i++) {
            int j = i + r.nextInt(len - i);
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        int[] chosen = Arrays.copyOf(all, n);
        Arrays.sort(chosen);
        return chosen;
    }
}
