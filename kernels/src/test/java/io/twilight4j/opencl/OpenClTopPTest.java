package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.twilight4j.backend.TopPReference;
import io.twilight4j.prune.Softmax;
import io.twilight4j.prune.TopPThreshold;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lwjgl.system.MemoryUtil;

/**
 * The top_p kernel with the row in local memory and in global memory, and with its three searches: the
 * whole row (no histogram), the weights inside the histogram's bracket (1/8-octave buckets), and the
 * whole row from that bracket when more weights lie inside it than the histogram's memory holds (octave
 * buckets: 128). Every variant gives the same softmax weights and the same kept sets, each a minimal set
 * of mass p (float64 reference). Plans pick the row's place by its size and always bucket by 1/8 octave;
 * this runs them all.
 */
class OpenClTopPTest extends OpenClTestSupport {

    private static final int KV_HEADS = 2, GROUP = 2, QUERY_HEADS = 4, BATCH = 2, CAP = 1000, WG = 64;
    /** Words of kept bits per row. */
    private static final int WORDS = (CAP + 31) / 32;

    /** (histogram on, bucket shift): no histogram, 1/8-octave buckets (what plans use), octave buckets. */
    private static final int[][] SEARCHES = {{0, TopPThreshold.BUCKET_SHIFT}, {1, TopPThreshold.BUCKET_SHIFT}, {1, 23}};

    @ParameterizedTest(name = "p = {0}")
    @ValueSource(doubles = {0.5, 0.9, 0.95, 1.0})
    void everySearchAndRowPlaceAgree(double p) {
        Data data = data(p);
        int[] counts = data.counts();
        float[] scores = data.scores();
        int rows = BATCH * QUERY_HEADS;
        int variants = 2 * SEARCHES.length;
        float[][] weights = new float[variants][];
        float[][] thresholds = new float[variants][];
        int[][] bits = new int[variants][];
        for (int v = 0; v < variants; v++) {
            weights[v] = new float[scores.length];
            thresholds[v] = new float[rows];
            bits[v] = new int[rows * WORDS];
            Arrays.fill(bits[v], 0xDEADBEEF); // words the kernel must write are never left as they were
            run(1 - v % 2, SEARCHES[v / 2], scores, counts, (float) p, weights[v], thresholds[v], bits[v]);
        }
        for (int v = 1; v < variants; v++) {
            for (int i = 0; i < scores.length; i++) {
                assertEquals(weights[0][i], weights[v][i], "weight " + i + ", " + describe(v));
            }
        }
        for (int r = 0; r < rows; r++) {
            int n = rowLength(counts, r);
            double[] exact = softmax(scores, r * CAP, n);
            int[][] kept = new int[variants][n];
            int[] k = new int[variants];
            for (int v = 0; v < variants; v++) {
                for (int i = 0; i < n; i++) {
                    boolean above = weights[v][r * CAP + i] > thresholds[v][r];
                    if (above) {
                        kept[v][k[v]++] = i;
                    }
                    assertEquals(above, (bits[v][r * WORDS + i / 32] >>> (i % 32) & 1) == 1,
                            "row " + r + ", candidate " + i + ": kept bit against w > threshold, " + describe(v));
                }
                for (int i = n; i < 32 * ((n + 31) / 32); i++) {
                    assertEquals(0, bits[v][r * WORDS + i / 32] >>> (i % 32) & 1, "row " + r + ": bit " + i + " past the row, " + describe(v));
                }
                TopPReference.assertMinimalTopP(exact, kept[v], k[v], p, "top_p row " + r + " (" + n + " candidates), " + describe(v));
                assertArrayEquals(Arrays.copyOf(kept[0], k[0]), Arrays.copyOf(kept[v], k[v]),
                        "row " + r + ": kept sets of " + describe(0) + " and " + describe(v));
            }
        }
    }

    /**
     * The kernel as plans run it (row in local memory, 1/8-octave histogram) against the CPU's pruner on the
     * same scores (its own softmax, then {@link TopPThreshold}): the same kept sets, but for ties as both
     * searches define them (weights within 1e-6 of the largest weight of the threshold, here 2e-6: the two
     * softmaxes differ by ulps) and weights below the smallest normal float (a device may flush those to zero).
     */
    @ParameterizedTest(name = "p = {0}")
    @ValueSource(doubles = {0.5, 0.9, 0.95, 0.99, 1.0})
    void keptSetsMatchTheCpuPruner(double p) {
        Data data = data(p);
        int[] counts = data.counts();
        float[] scores = data.scores();
        int rows = BATCH * QUERY_HEADS;
        float[] weights = new float[scores.length];
        float[] thresholds = new float[rows];
        int[] bits = new int[rows * WORDS];
        run(1, SEARCHES[1], scores, counts, (float) p, weights, thresholds, bits);
        for (int r = 0; r < rows; r++) {
            int n = rowLength(counts, r);
            float[] cpu = Arrays.copyOfRange(scores, r * CAP, r * CAP + n);
            Softmax.inPlace(cpu, 0, n);
            float t = TopPThreshold.threshold(cpu, 0, n, (float) p, new float[n + TopPThreshold.SCRATCH_EXTRA]);
            float max = 0;
            for (float w : cpu) {
                max = Math.max(max, w);
            }
            int kept = 0;
            for (int i = 0; i < n; i++) {
                boolean onCpu = cpu[i] > t;
                boolean onDevice = weights[r * CAP + i] > thresholds[r];
                kept += onCpu ? 1 : 0;
                boolean rounding = Math.abs(cpu[i] - t) <= 2e-6f * max || Math.abs(weights[r * CAP + i] - thresholds[r]) <= 2e-6f * max
                        || cpu[i] < Float.MIN_NORMAL;
                assertTrue(onCpu == onDevice || rounding, "row " + r + " candidate " + i + " (weight " + cpu[i] + ", CPU threshold "
                        + t + ", device threshold " + thresholds[r] + "): kept on the CPU " + onCpu + ", on the device " + onDevice);
            }
            assertTrue(kept > 0, "row " + r + ": the CPU kept nothing");
        }
    }

    /** Candidate counts per entry (the first full) and scores per row, seeded by p. */
    private record Data(int[] counts, float[] scores) {
    }

    private static Data data(double p) {
        SplittableRandom rnd = new SplittableRandom(Double.doubleToLongBits(p));
        int[] counts = new int[BATCH * KV_HEADS];
        for (int e = 0; e < counts.length; e++) {
            counts[e] = e == 0 ? CAP : 1 + rnd.nextInt(CAP);
        }
        // Scores from sharp to flat, with ties: what the 4-bit estimate hands over.
        float[] scores = new float[BATCH * QUERY_HEADS * CAP];
        for (int r = 0; r < BATCH * QUERY_HEADS; r++) {
            double spread = 0.5 + 4 * r;
            for (int i = 0; i < CAP; i++) {
                scores[r * CAP + i] = rnd.nextInt(10) == 0 ? 1.25f : (float) (rnd.nextGaussian() * spread);
            }
        }
        return new Data(counts, scores);
    }

    /** Candidates of top_p row r (its KV head's entry). */
    private static int rowLength(int[] counts, int r) {
        return counts[(r / QUERY_HEADS) * KV_HEADS + (r % QUERY_HEADS) / GROUP];
    }

    /** Buckets, and floats of histogram memory, for weights below 2. */
    private static int buckets(int shift) {
        return 0x40000000 >> shift;
    }

    /**
     * The test data reaches each search: with octave buckets some rows' brackets hold more weights than
     * the 128 buckets' memory (the whole-row search from the bracket), others fewer (the in-bracket search).
     * Counted in float64 on the data {@link #everySearchAndRowPlaceAgree} runs, as the kernel brackets, so a
     * change of the data cannot silently drop a path.
     */
    @ParameterizedTest(name = "p = {0}")
    @ValueSource(doubles = {0.5, 0.9, 0.95})
    void dataReachesBothBracketSearches(double p) {
        Data data = data(p);
        int fits = 0, overflows = 0;
        for (int r = 0; r < BATCH * QUERY_HEADS; r++) {
            int inside = weightsInCrossingBucket(softmax(data.scores(), r * CAP, rowLength(data.counts(), r)), p, 23);
            fits += inside > 0 && inside <= buckets(23) ? 1 : 0;
            overflows += inside > buckets(23) ? 1 : 0;
        }
        assertTrue(fits > 0 && overflows > 0, "rows with the bracket fitting: " + fits + ", overflowing: " + overflows);
    }

    /** Weights in the bucket (float bits >>> shift) where the mass from the top reaches p. */
    private static int weightsInCrossingBucket(double[] w, double p, int shift) {
        double[] mass = new double[1 << (31 - shift)];
        int[] count = new int[mass.length];
        for (double x : w) {
            int b = Float.floatToRawIntBits((float) x) >>> shift;
            mass[b] += x;
            count[b]++;
        }
        double cum = 0;
        for (int b = mass.length - 1; b > 0; b--) {
            cum += mass[b];
            if (cum >= p) {
                return count[b];
            }
        }
        return 0;
    }

    private static String describe(int v) {
        int[] search = SEARCHES[v / 2];
        return (v % 2 == 0 ? "local" : "global") + " row, " + (search[0] == 0 ? "no histogram" : "bucket shift " + search[1]);
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

    private static void run(int rowLocal, int[] search, float[] scores, int[] counts, float p, float[] weights, float[] thr,
                            int[] bits) {
        Map<String, Integer> d = pruneDefines(KV_HEADS, QUERY_HEADS, GROUP);
        d.put("ROW_LOCAL", rowLocal);
        d.put("TOP_P_HISTOGRAM", search[0]);
        d.put("TOP_P_BUCKET_SHIFT", search[1]);
        int rows = BATCH * QUERY_HEADS;
        FloatBuffer scoreHost = MemoryUtil.memAllocFloat(scores.length).put(scores).flip();
        FloatBuffer thrHost = MemoryUtil.memAllocFloat(rows);
        try (ClKernel topP = cl.kernel("common.cl+prune.cl", d, "top_p");
             ClBuffer s = cl.buffer("scores", 4L * scores.length);
             ClBuffer c = upload("counts", counts);
             ClBuffer t = cl.buffer("thresholds", 4L * rows);
             ClBuffer k = upload("kept bits", bits)) {
            cl.write(s, 0, scoreHost);
            topP.arg(0, s).arg(1, c).arg(2, CAP).arg(3, p).arg(4, t).arg(5, k).arg(6, WORDS)
                    .local(7, rowLocal == 1 ? 4L * CAP : 4).local(8, 4L * Math.max(5 * WG, 64 + 320)).local(9, 4L * buckets(search[1]))
                    .launch(rows, WG);
            cl.read(s, 0, scoreHost.clear());
            cl.read(t, 0, thrHost);
            scoreHost.get(weights);
            thrHost.get(thr);
            System.arraycopy(download(k, bits.length), 0, bits, 0, bits.length);
        } finally {
            MemoryUtil.memFree(scoreHost);
            MemoryUtil.memFree(thrHost);
        }
    }
}
