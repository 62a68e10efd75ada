package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.twilight4j.kv.KvLayout;
import io.twilight4j.kv.KvShape;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lwjgl.system.MemoryUtil;

/**
 * The select_top kernel with its scores and its kept pages in local memory or not (plans pick by the
 * device's local memory: PoCL always has room, so plans in CI never take the global paths), against a
 * brute-force reference: the best k items by score, ties at the cut by position, the sequence's last
 * page always kept for Quest, every kept page expanded to its tokens in ascending order. Scores come
 * from a few levels, so ties at the cut are common. With heads > 0 (Quest under GQA) an entry has a row per
 * query head, and an item scores the largest of its heads' scores relative to each head's best (float, as
 * the CPU's QuestSelector).
 */
class OpenClSelectTopTest extends OpenClTestSupport {

    private static final int KV_HEADS = 2, BATCH = 3, WG = 64, PAGE = 16;

    @ParameterizedTest(name = "unit {0}, k {1}, forceLast {2}, heads {3}")
    @CsvSource({"16, 24, 1, 0", "16, 5, 1, 0", "16, 400, 1, 0", "1, 100, 0, 0", "1, 1, 0, 0", "16, 24, 1, 2", "16, 5, 1, 1",
            "16, 60, 1, 2"})
    void everyPlaceOfScoresAndKeptPagesMatchesTheReference(int unit, int k, int forceLast, int heads) {
        SplittableRandom r = new SplittableRandom(31L * unit + k);
        int[] lengths = new int[BATCH];
        for (int b = 0; b < BATCH; b++) {
            lengths[b] = 1 + r.nextInt(unit * 300); // up to 300 items, the last page often partial
        }
        int rowLen = (Arrays.stream(lengths).max().orElseThrow() + unit - 1) / unit;
        int cap = Math.min(k, rowLen) * unit;
        int rows = Math.max(1, heads);
        float[] scores = new float[BATCH * KV_HEADS * rows * rowLen];
        for (int i = 0; i < scores.length; i++) {
            // Twelve levels (ties), each head's rows shifted by its own offset.
            scores[i] = r.nextInt(12) - 5.5f + (heads > 0 ? 3 * (i / rowLen % rows) : 0);
        }
        int entries = BATCH * KV_HEADS;
        int[][] expected = new int[entries][];
        for (int e = 0; e < entries; e++) {
            int n = (lengths[e / KV_HEADS] + unit - 1) / unit;
            float[] row = heads > 0 ? combined(scores, e * rows * rowLen, rowLen, heads, forceLast == 1 ? n - 1 : n)
                    : Arrays.copyOfRange(scores, e * rowLen, (e + 1) * rowLen);
            expected[e] = reference(row, 0, lengths[e / KV_HEADS], unit, k, forceLast == 1);
        }
        for (int selectLocal = 0; selectLocal <= 1; selectLocal++) {
            for (int keptLocal = 0; keptLocal <= (unit > 1 ? 1 : 0); keptLocal++) {
                int[] cand = new int[entries * cap];
                int[] counts = new int[entries];
                run(selectLocal, keptLocal, scores, rowLen, lengths, unit, k, forceLast, heads, cap, cand, counts);
                for (int e = 0; e < entries; e++) {
                    String where = "entry " + e + ", SELECT_LOCAL " + selectLocal + ", KEPT_LOCAL " + keptLocal;
                    assertEquals(expected[e].length, counts[e], where + ": count");
                    assertArrayEquals(expected[e], Arrays.copyOfRange(cand, e * cap, e * cap + counts[e]), where);
                }
            }
        }
    }

    /** Items [0, n) of an entry's head rows combined: max over heads of score - that head's best over [0, n). */
    private static float[] combined(float[] scores, int off, int rowLen, int heads, int n) {
        float[] out = new float[rowLen];
        Arrays.fill(out, Float.NEGATIVE_INFINITY);
        for (int g = 0; g < heads; g++) {
            float best = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                best = Math.max(best, scores[off + g * rowLen + i]);
            }
            for (int i = 0; i < n; i++) {
                out[i] = Math.max(out[i], scores[off + g * rowLen + i] - best);
            }
        }
        return out;
    }

    /** The kept tokens of one entry, ascending. */
    private static int[] reference(float[] scores, int off, int len, int unit, int k, boolean forceLast) {
        int n = (len + unit - 1) / unit;
        boolean[] kept = new boolean[n];
        if (n <= k) {
            Arrays.fill(kept, true);
        } else {
            int pool = forceLast ? n - 1 : n;
            int want = forceLast ? k - 1 : k;
            IntStream.range(0, pool).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(i -> -scores[off + i]).thenComparingInt(i -> i))
                    .limit(want).forEach(i -> kept[i] = true);
            if (forceLast) {
                kept[n - 1] = true;
            }
        }
        return IntStream.range(0, len).filter(t -> kept[t / unit]).toArray();
    }

    private static void run(int selectLocal, int keptLocal, float[] scores, int rowLen, int[] lengths, int unit, int k,
                            int forceLast, int heads, int cap, int[] cand, int[] counts) {
        Map<String, Integer> d = new LinkedHashMap<>(new KvLayout(new KvShape(1, KV_HEADS, 64, PAGE, 1, 0)).kernelDefines());
        d.put("QUERY_HEADS", 2 * KV_HEADS);
        d.put("GQA_GROUP", 2);
        d.put("HEADS_PER_ENTRY", 2);
        d.put("SCAN_RUN", 4);
        d.put("SELECT_LOCAL", selectLocal);
        d.put("KEPT_LOCAL", keptLocal);
        d.put("QVEC", 4);
        d.put("QSLOTS", 8);
        d.put("QROWS", 4);
        d.put("QSCATTER", 0);
        d.put("INLINE_PTX", 0);
        FloatBuffer scoreHost = MemoryUtil.memAllocFloat(scores.length).put(scores).flip();
        IntBuffer lengthHost = MemoryUtil.memAllocInt(lengths.length).put(lengths).flip();
        IntBuffer candHost = MemoryUtil.memAllocInt(cand.length);
        IntBuffer countHost = MemoryUtil.memAllocInt(counts.length);
        try (ClKernel select = cl.kernel("common.cl+select.cl", d, "select_top");
             ClBuffer s = cl.buffer("scores", 4L * scores.length);
             ClBuffer len = cl.buffer("lengths", 4L * lengths.length);
             ClBuffer c = cl.buffer("candidates", 4L * cand.length);
             ClBuffer n = cl.buffer("counts", 4L * counts.length)) {
            cl.write(s, 0, scoreHost);
            cl.write(len, 0, lengthHost);
            select.arg(0, s).arg(1, rowLen).arg(2, len).arg(3, unit).arg(4, k).arg(5, forceLast).arg(6, cap).arg(7, c)
                    .arg(8, n).local(9, 4L * WG).local(10, selectLocal == 1 ? 4L * rowLen : 4)
                    .local(11, keptLocal == 1 ? 4L * k : 4).arg(12, heads)
                    .launch(counts.length, WG);
            cl.read(c, 0, candHost);
            cl.read(n, 0, countHost);
            candHost.get(cand);
            countHost.get(counts);
        } finally {
            MemoryUtil.memFree(scoreHost);
            MemoryUtil.memFree(lengthHost);
            MemoryUtil.memFree(candHost);
            MemoryUtil.memFree(countHost);
        }
    }
}
