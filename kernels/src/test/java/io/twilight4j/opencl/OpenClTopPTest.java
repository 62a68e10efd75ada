package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.twilight4j.backend.TopPReference;
import io.twilight4j.kv.KvLayout;
import io.twilight4j.kv.KvShape;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lwjgl.system.MemoryUtil;

/**
 * The top_p kernel with the row in local memory and in global memory: the same softmax weights, the same
 * kept sets, each a minimal set of mass p (float64 reference), and the token sets its last work-group
 * per KV head writes (the union of the group's kept candidates, ascending) equal to that union, also on
 * a second step (the done-counters reset themselves). Plans pick a variant by the row size; this runs both.
 */
class OpenClTopPTest extends OpenClTestSupport {

    private static final int KV_HEADS = 2, GROUP = 2, QUERY_HEADS = 4, BATCH = 2, CAP = 1000, WG = 64;
    private static final int ENTRIES = BATCH * KV_HEADS;

    /** What one variant wrote: weights, thresholds, token sets and their sizes. */
    private record Result(float[] weights, float[] thr, int[] sets, int[] setCount) {
    }

    @ParameterizedTest(name = "p = {0}")
    @ValueSource(doubles = {0.5, 0.9, 0.95, 1.0})
    void localAndGlobalRowsAgree(double p) {
        SplittableRandom rnd = new SplittableRandom(Double.doubleToLongBits(p));
        int rows = BATCH * QUERY_HEADS;
        int[] counts = new int[ENTRIES];
        for (int e = 0; e < counts.length; e++) {
            counts[e] = e == 0 ? CAP : 1 + rnd.nextInt(CAP);
        }
        // Scores from sharp to flat, with ties: what the 4-bit estimate hands over.
        float[] scores = new float[rows * CAP];
        for (int r = 0; r < rows; r++) {
            double spread = 0.5 + 4 * r;
            for (int i = 0; i < CAP; i++) {
                scores[r * CAP + i] = rnd.nextInt(10) == 0 ? 1.25f : (float) (rnd.nextGaussian() * spread);
            }
        }
        // Candidate positions: ascending, different per entry.
        int[] cand = new int[ENTRIES * CAP];
        for (int e = 0; e < ENTRIES; e++) {
            for (int i = 0; i < CAP; i++) {
                cand[e * CAP + i] = 3 * i + e;
            }
        }
        Result[] results = {run(1, scores, counts, cand, (float) p), run(0, scores, counts, cand, (float) p)};
        for (int i = 0; i < scores.length; i++) {
            assertEquals(results[0].weights[i], results[1].weights[i], "weight " + i);
        }
        for (int r = 0; r < rows; r++) {
            int n = counts[entryOf(r)];
            double[] exact = softmax(scores, r * CAP, n);
            int[][] kept = new int[2][n];
            int[] k = new int[2];
            for (int v = 0; v < 2; v++) {
                for (int i = 0; i < n; i++) {
                    if (results[v].weights[r * CAP + i] > results[v].thr[r]) {
                        kept[v][k[v]++] = i;
                    }
                }
                TopPReference.assertMinimalTopP(exact, kept[v], k[v], p, "top_p row " + r + " (" + n + " candidates), "
                        + (v == 0 ? "local" : "global") + " row");
            }
            assertArrayEquals(Arrays.copyOf(kept[0], k[0]), Arrays.copyOf(kept[1], k[1]), "row " + r + ": local and global kept sets");
        }
        for (Result res : results) {
            for (int e = 0; e < ENTRIES; e++) {
                int[] union = new int[CAP];
                int u = 0;
                for (int i = 0; i < counts[e]; i++) {
                    boolean keep = false;
                    for (int g = 0; g < GROUP; g++) {
                        int r = (e / KV_HEADS) * QUERY_HEADS + (e % KV_HEADS) * GROUP + g;
                        keep |= res.weights[r * CAP + i] > res.thr[r];
                    }
                    if (keep) {
                        union[u++] = cand[e * CAP + i];
                    }
                }
                assertEquals(u, res.setCount[e], "entry " + e + ": set size");
                assertArrayEquals(Arrays.copyOf(union, u), Arrays.copyOfRange(res.sets, e * CAP, e * CAP + u), "entry " + e + ": token set");
            }
        }
    }

    private static int entryOf(int row) {
        return (row / QUERY_HEADS) * KV_HEADS + (row % QUERY_HEADS) / GROUP;
    }

    private static double[] softmax(float[] s, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, s[off + i]);
        }
        double[] w = new double[n];
        double z = 0;
        for (int i = 0; i < n; i++) {
            w[i] = Math.exp(s[off + i] - max);
            z += w[i];
        }
        for (int i = 0; i < n; i++) {
            w[i] /= z;
        }
        return w;
    }

    /** Two steps of top_p on the same scores (sets cleared in between); returns what the second wrote. */
    private static Result run(int rowLocal, float[] scores, int[] counts, int[] cand, float p) {
        Map<String, Integer> d = new LinkedHashMap<>(new KvLayout(new KvShape(1, KV_HEADS, 64, 16, 1, 0)).kernelDefines());
        d.put("QUERY_HEADS", QUERY_HEADS);
        d.put("GQA_GROUP", GROUP);
        d.put("HEADS_PER_ENTRY", GROUP);
        d.put("SCAN_RUN", 4);
        d.put("ROW_LOCAL", rowLocal);
        d.put("INLINE_PTX", 0);
        d.put("EST_SHUFFLE", 0);
        d.put("EST_LANES", 4);
        d.put("EST_UNROLL", 4);
        int rows = BATCH * QUERY_HEADS;
        FloatBuffer scoreHost = MemoryUtil.memAllocFloat(scores.length);
        IntBuffer countHost = MemoryUtil.memAllocInt(counts.length).put(counts).flip();
        IntBuffer candHost = MemoryUtil.memAllocInt(cand.length).put(cand).flip();
        IntBuffer setHost = MemoryUtil.memAllocInt(cand.length);
        IntBuffer setCountHost = MemoryUtil.memAllocInt(ENTRIES);
        IntBuffer zeros = MemoryUtil.memCallocInt(ENTRIES);
        FloatBuffer thrHost = MemoryUtil.memAllocFloat(rows);
        try (ClKernel topP = cl.kernel("common.cl+prune.cl", d, "top_p");
             ClBuffer s = cl.buffer("scores", 4L * scores.length);
             ClBuffer c = cl.buffer("counts", 4L * counts.length);
             ClBuffer t = cl.buffer("thresholds", 4L * rows);
             ClBuffer candidates = cl.buffer("candidates", 4L * cand.length);
             ClBuffer sets = cl.buffer("sets", 4L * cand.length);
             ClBuffer setCount = cl.buffer("set counts", 4L * ENTRIES);
             ClBuffer done = cl.buffer("done", 4L * ENTRIES)) {
            cl.write(c, 0, countHost);
            cl.write(candidates, 0, candHost);
            cl.write(done, 0, zeros);
            topP.arg(1, c).arg(2, CAP).arg(3, p).arg(4, t).arg(5, candidates).arg(6, KV_HEADS).arg(7, sets)
                    .arg(8, setCount).arg(9, done).local(10, rowLocal == 1 ? 4L * CAP : 4)
                    .local(11, 4L * Math.max(5 * WG, 64 + 320));
            for (int step = 0; step < 2; step++) {
                cl.write(s, 0, scoreHost.clear().put(scores).flip());
                cl.write(setCount, 0, zeros.clear());
                topP.arg(0, s).launch(rows, WG);
            }
            cl.read(s, 0, scoreHost.clear());
            cl.read(t, 0, thrHost);
            cl.read(sets, 0, setHost);
            cl.read(setCount, 0, setCountHost);
            Result r = new Result(new float[scores.length], new float[rows], new int[cand.length], new int[ENTRIES]);
            scoreHost.get(r.weights);
            thrHost.get(r.thr);
            setHost.get(r.sets);
            setCountHost.get(r.setCount);
            return r;
        } finally {
            MemoryUtil.memFree(scoreHost);
            MemoryUtil.memFree(countHost);
            MemoryUtil.memFree(candHost);
            MemoryUtil.memFree(setHost);
            MemoryUtil.memFree(setCountHost);
            MemoryUtil.memFree(zeros);
            MemoryUtil.memFree(thrHost);
        }
    }
}
