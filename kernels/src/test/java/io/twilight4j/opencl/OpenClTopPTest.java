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
 * kept sets, and each a minimal set of mass p (float64 reference). Plans pick one by the row size; this
 * runs both.
 */
class OpenClTopPTest extends OpenClTestSupport {

    private static final int KV_HEADS = 2, GROUP = 2, QUERY_HEADS = 4, BATCH = 2, CAP = 1000, WG = 64;

    @ParameterizedTest(name = "p = {0}")
    @ValueSource(doubles = {0.5, 0.9, 0.95, 1.0})
    void localAndGlobalRowsAgree(double p) {
        SplittableRandom rnd = new SplittableRandom(Double.doubleToLongBits(p));
        int rows = BATCH * QUERY_HEADS;
        int[] counts = new int[BATCH * KV_HEADS];
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
        float[][] weights = new float[2][];
        float[][] thresholds = new float[2][];
        for (int v = 0; v < 2; v++) {
            weights[v] = new float[scores.length];
            thresholds[v] = new float[rows];
            run(1 - v, scores, counts, (float) p, weights[v], thresholds[v]);
        }
        for (int i = 0; i < scores.length; i++) {
            assertEquals(weights[0][i], weights[1][i], "weight " + i);
        }
        for (int r = 0; r < rows; r++) {
            int n = counts[(r / QUERY_HEADS) * KV_HEADS + (r % QUERY_HEADS) / GROUP];
            double[] exact = softmax(scores, r * CAP, n);
            int[][] kept = new int[2][n];
            int[] k = new int[2];
            for (int v = 0; v < 2; v++) {
                for (int i = 0; i < n; i++) {
                    if (weights[v][r * CAP + i] > thresholds[v][r]) {
                        kept[v][k[v]++] = i;
                    }
                }
                TopPReference.assertMinimalTopP(exact, kept[v], k[v], p, "top_p row " + r + " (" + n + " candidates), "
                        + (v == 0 ? "local" : "global") + " row");
            }
            assertArrayEquals(Arrays.copyOf(kept[0], k[0]), Arrays.copyOf(kept[1], k[1]), "row " + r + ": local and global kept sets");
        }
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

    private static void run(int rowLocal, float[] scores, int[] counts, float p, float[] weights, float[] thr) {
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
        FloatBuffer scoreHost = MemoryUtil.memAllocFloat(scores.length).put(scores).flip();
        IntBuffer countHost = MemoryUtil.memAllocInt(counts.length).put(counts).flip();
        FloatBuffer thrHost = MemoryUtil.memAllocFloat(rows);
        try (ClKernel topP = cl.kernel("common.cl+prune.cl", d, "top_p");
             ClBuffer s = cl.buffer("scores", 4L * scores.length);
             ClBuffer c = cl.buffer("counts", 4L * counts.length);
             ClBuffer t = cl.buffer("thresholds", 4L * rows)) {
            cl.write(s, 0, scoreHost);
            cl.write(c, 0, countHost);
            topP.arg(0, s).arg(1, c).arg(2, CAP).arg(3, p).arg(4, t).local(5, rowLocal == 1 ? 4L * CAP : 4).local(6, 4L * Math.max(5 * WG, 64 + 320))
                    .launch(rows, WG);
            cl.read(s, 0, scoreHost.clear());
            cl.read(t, 0, thrHost);
            scoreHost.get(weights);
            thrHost.get(thr);
        } finally {
            MemoryUtil.memFree(scoreHost);
            MemoryUtil.memFree(countHost);
            MemoryUtil.memFree(thrHost);
        }
    }
}
