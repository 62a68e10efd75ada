package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.*;

import io.twilight4j.backend.DecodeShape;
import io.twilight4j.backend.StepStats;
import io.twilight4j.kv.Int8Query;
import io.twilight4j.kv.KvShape;
import io.twilight4j.kv.Nibbles;
import io.twilight4j.kv.PageBounds;
import io.twilight4j.policy.AttentionPolicy;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lwjgl.system.MemoryUtil;

/** Decode attention on the device against a float64 reference over the fp16-rounded K/V. */
class OpenClDecodeAttentionTest extends OpenClTestSupport {

    private record Setup(OpenClKvCache cache, int[] seqs, float[][][] keys, float[][][] values) {
    }

    /** Ragged batch (54, 97, 1 tokens), MHA and GQA, head_dim 64 and 12. */
    private static Setup setup(long seed, int kvHeads, int headDim) {
        return setup(seed, kvHeads, headDim, false);
    }

    /** As above; with {@code smoothed}, random key smoothing exponents. */
    private static Setup setup(long seed, int kvHeads, int headDim, boolean smoothed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        KvShape shape = new KvShape(1, kvHeads, headDim, 16, 64, 0);
        OpenClKvCache cache = new OpenClKvCache(cl, shape, null,
                smoothed ? OpenClKvCacheTest.randomSmoothing(shape, new SplittableRandom(seed + 1)) : null);
        int[] lens = {54, 97, 1};
        int[] seqs = new int[lens.length];
        int row = kvHeads * headDim;
        float[][][] keys = new float[lens.length][][];
        float[][][] values = new float[lens.length][][];
        for (int s = 0; s < lens.length; s++) {
            seqs[s] = cache.pager().newSequence();
            cache.pager().append(seqs[s], lens[s]);
            float[] k = new float[lens[s] * row], v = new float[lens[s] * row];
            for (int i = 0; i < k.length; i++) {
                k[i] = (float) rnd.nextGaussian() * 1.5f;
                v[i] = (float) rnd.nextGaussian();
            }
            cache.write(0, seqs[s], 0, k, v, lens[s]);
            keys[s] = rows(k, lens[s], row);
            values[s] = rows(v, lens[s], row);
        }
        return new Setup(cache, seqs, keys, values);
    }

    private static float[][] rows(float[] x, int n, int row) {
        float[][] r = new float[n][row];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < row; i++) {
                r[t][i] = Fp16Reference.half(x[t * row + i]);
            }
        }
        return r;
    }

    private static double[] exactAttention(float[] q, int qOff, float[][] k, float[][] v, int kvHead, int d, List<Integer> set) {
        double[] s = new double[set.size()];
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < set.size(); i++) {
            double dot = 0;
            for (int c = 0; c < d; c++) {
                dot += (double) q[qOff + c] * k[set.get(i)][kvHead * d + c];
            }
            s[i] = dot / Math.sqrt(d);
            m = Math.max(m, s[i]);
        }
        double[] o = new double[d];
        double sum = 0;
        for (int i = 0; i < set.size(); i++) {
            double w = Math.exp(s[i] - m);
            sum += w;
            for (int c = 0; c < d; c++) {
                o[c] += w * v[set.get(i)][kvHead * d + c];
            }
        }
        for (int c = 0; c < d; c++) {
            o[c] /= sum;
        }
        return o;
    }

    @ParameterizedTest(name = "{0} seed {1}: kvHeads {2}, queryHeads {3}, headDim {4}")
    @CsvSource({"dense, 1, 2, 2, 64", "dense, 2, 2, 8, 64", "dense, 3, 1, 4, 12",
            "full+twilight:1, 4, 2, 8, 64", "full+twilight:1:head, 5, 1, 2, 12"})
    void matchesExactAttentionOverAllTokens(String policy, long seed, int kvHeads, int queryHeads, int headDim) {
        Setup s = setup(seed, kvHeads, headDim);
        try (OpenClKvCache cache = s.cache(); OpenClDecodeAttention plan = new OpenClDecodeAttention(cache, AttentionPolicy.parse(policy),
                new DecodeShape(queryHeads, 4, 128), false, true)) {
            SplittableRandom rnd = new SplittableRandom(seed * 31);
            float[] q = gaussian(rnd, 3 * queryHeads * headDim);
            float[] out = new float[q.length];
            StepStats stats = plan.run(0, s.seqs(), q, out);
            int g = queryHeads / kvHeads;
            for (int b = 0; b < 3; b++) {
                List<Integer> all = new ArrayList<>();
                for (int t = 0; t < s.keys()[b].length; t++) {
                    all.add(t);
                }
                for (int h = 0; h < queryHeads; h++) {
                    int off = (b * queryHeads + h) * headDim;
                    double[] ref = exactAttention(q, off, s.keys()[b], s.values()[b], h / g, headDim, all);
                    for (int c = 0; c < headDim; c++) {
                        assertEquals(ref[c], out[off + c], 2e-3, "seed " + seed + " seq " + b + " head " + h + " channel " + c);
                    }
                    assertEquals(all.size(), stats.kept(b * queryHeads + h));
                }
            }
        }
    }

    /**
     * Quest scoring quantizes the queries itself and stores them for the estimate: every row's codes and
     * scale equal the host encoder's ({@link Int8Query}) bit for bit, rounding ties included; on a cache
     * with key smoothing, those of the row smoothed with its KV head's exponents.
     */
    @ParameterizedTest(name = "seed {0}: kvHeads {1}, queryHeads {2}, headDim {3}, smoothed {4}")
    @CsvSource({"9, 2, 8, 64, false", "10, 1, 4, 64, false", "11, 2, 2, 12, false", "12, 2, 8, 64, true", "13, 2, 2, 12, true"})
    void questScoringStoresTheHostQueryCodes(long seed, int kvHeads, int queryHeads, int d, boolean smoothed) {
        Setup s = setup(seed, kvHeads, d, smoothed);
        try (OpenClKvCache cache = s.cache(); OpenClDecodeAttention plan = new OpenClDecodeAttention(cache,
                AttentionPolicy.parse("quest:48+twilight:0.9"), new DecodeShape(queryHeads, 4, 128), false, true)) {
            SplittableRandom rnd = new SplittableRandom(seed);
            int rows = 3 * queryHeads;
            float[] q = new float[rows * d];
            for (int r = 0; r < rows; r++) {
                double magnitude = Math.scalb(1.0, rnd.nextInt(-30, 30));
                for (int c = 0; c < d; c++) {
                    // Every other row: the largest value 100 * magnitude pins the scale to magnitude, the
                    // others lie halfway between two codes (ties to even on both sides).
                    q[r * d + c] = (float) (r % 2 == 0 ? (c == 0 ? 100 : rnd.nextInt(-100, 100) + 0.5) * magnitude
                            : rnd.nextGaussian() * magnitude);
                }
            }
            plan.run(0, s.seqs(), q, new float[q.length]);
            ByteBuffer codes = MemoryUtil.memAlloc(rows * d);
            FloatBuffer scales = MemoryUtil.memAllocFloat(rows);
            try {
                cl.read(plan.sparsePipeline().queryCodes(), 0, codes);
                cl.read(plan.sparsePipeline().queryScales(), 0, scales);
                float[] expected = new float[d];
                for (int r = 0; r < rows; r++) {
                    int[] e = smoothed ? s.cache().keySmoothing().exponentsOf(0, r % queryHeads / (queryHeads / kvHeads)) : null;
                    float scale = Int8Query.quantize(q, r * d, d, e, expected, 0);
                    assertEquals(scale, scales.get(r), "row " + r + " scale");
                    for (int c = 0; c < d; c++) {
                        assertEquals((int) expected[c], codes.get(r * d + c), "row " + r + " channel " + c);
                    }
                }
            } finally {
                MemoryUtil.memFree(codes);
                MemoryUtil.memFree(scales);
            }
        }
    }

    /**
     * Quest keeps the last page plus the best pages by the bound of its 4-bit box; outputs equal exact attention
     * over them. Key smoothing changes none of that: Quest reads unsmoothed bounds with the query as it is.
     */
    @ParameterizedTest(name = "quest seed {0}: kvHeads {1}, queryHeads {2}, smoothed {3}")
    @CsvSource({"6, 1, 1, false", "7, 2, 8, false", "8, 1, 4, false", "7, 2, 8, true"})
    void questMatchesReferenceSelection(long seed, int kvHeads, int queryHeads, boolean smoothed) {
        int d = 64, budget = 48;
        Setup s = setup(seed, kvHeads, d, smoothed);
        try (OpenClKvCache cache = s.cache(); OpenClDecodeAttention plan = new OpenClDecodeAttention(cache, AttentionPolicy.parse("quest:" + budget),
                new DecodeShape(queryHeads, 4, 128), false, true)) {
            float[] q = gaussian(new SplittableRandom(seed), 3 * queryHeads * d);
            float[] out = new float[q.length];
            StepStats stats = plan.run(0, s.seqs(), q, out);
            int g = queryHeads / kvHeads;
            for (int b = 0; b < 3; b++) {
                float[][] k = s.keys()[b];
                int pages = (k.length + 15) / 16;
                for (int h = 0; h < kvHeads; h++) {
                    // Float64 scores of the 4-bit box the cache stores (PageBounds, tested on its own; of k / 2^e on a
                    // smoothed cache) for the 8-bit query the kernels read (Int8Query, of q * 2^e): the ranking the
                    // kernels must reproduce, a page by the largest of its heads' bounds relative to each head's best.
                    int[] e = smoothed ? cache.keySmoothing().exponentsOf(0, h) : new int[d];
                    double[][] headScore = new double[g][pages - 1];
                    for (int p = 0; p < pages - 1; p++) {
                        float[] mn = new float[d], mx = new float[d];
                        Arrays.fill(mn, Float.POSITIVE_INFINITY);
                        Arrays.fill(mx, Float.NEGATIVE_INFINITY);
                        for (int c = 0; c < d; c++) {
                            for (int t = p * 16; t < Math.min(k.length, p * 16 + 16); t++) {
                                mn[c] = Math.min(mn[c], Math.scalb(Fp16Reference.half(k[t][h * d + c]), -e[c]));
                                mx[c] = Math.max(mx[c], Math.scalb(Fp16Reference.half(k[t][h * d + c]), -e[c]));
                            }
                        }
                        byte[] box = new byte[PageBounds.codeBytes(d)];
                        int range = PageBounds.encode(mn, 0, mx, 0, d, box, 0);
                        for (int qh = h * g; qh < (h + 1) * g; qh++) {
                            float[] codes = new float[d];
                            double qs = Int8Query.quantize(q, (b * queryHeads + qh) * d, d, smoothed ? e : null, codes, 0);
                            double sum = 0;
                            for (int c = 0; c < d; c++) {
                                double lo = PageBounds.min(range) + (double) Nibbles.get(box, 0, c) * PageBounds.scale(range);
                                double hi = PageBounds.min(range) + (double) Nibbles.get(box, 0, d + c) * PageBounds.scale(range);
                                double qc = codes[c] * qs;
                                sum += Math.max(qc * lo, qc * hi);
                            }
                            headScore[qh - h * g][p] = sum;
                        }
                    }
                    double[] score = new double[pages];
                    Arrays.fill(score, Double.NEGATIVE_INFINITY);
                    for (double[] head : headScore) {
                        double best = Arrays.stream(head).max().orElse(0);
                        for (int p = 0; p < pages - 1; p++) {
                            score[p] = Math.max(score[p], head[p] - best);
                        }
                    }
                    int keep = Math.max(1, budget / 16);
                    List<Integer> chosen = new ArrayList<>();
                    chosen.add(pages - 1);
                    List<Integer> others = new ArrayList<>();
                    for (int p = 0; p < pages - 1; p++) {
                        others.add(p);
                    }
                    others.sort((x, y) -> Double.compare(score[y], score[x]));
                    chosen.addAll(others.subList(0, Math.min(others.size(), keep - 1)));
                    List<Integer> set = new ArrayList<>();
                    for (int t = 0; t < k.length; t++) {
                        if (chosen.contains(t / 16)) {
                            set.add(t);
                        }
                    }
                    for (int qh = h * g; qh < (h + 1) * g; qh++) {
                        int off = (b * queryHeads + qh) * d;
                        assertEquals(set.size(), stats.kept(b * queryHeads + qh), "seed " + seed + " seq " + b + " head " + qh);
                        double[] ref = exactAttention(q, off, k, s.values()[b], h, d, set);
                        for (int c = 0; c < d; c++) {
                            assertEquals(ref[c], out[off + c], 2e-3, "seed " + seed + " seq " + b + " head " + qh + " channel " + c);
                        }
                    }
                }
            }
        }
    }

    /**
     * A step cut into slices of its (sequence, KV head) entries, each on its own queue, computes every
     * entry as the uncut step does: the same outputs bit for bit and the same kept tokens, for 2, 3 and
     * more slices than entries (6 here), with the slices' queues joined around the step.
     */
    @ParameterizedTest(name = "{0}: {1} slices")
    @CsvSource({"dense, 2", "quest:48+twilight:0.9, 2", "quest:48+twilight:0.9, 3", "quest:48, 8",
            "full+twilight:0.8:head, 3", "oracle:40+twilight:0.9, 8"})
    void slicedStepsEqualTheUncutStep(String policy, int slices) {
        int kvHeads = 2, queryHeads = 8, d = 64;
        Setup s = setup(12, kvHeads, d);
        float[] q = gaussian(new SplittableRandom(slices), 3 * queryHeads * d);
        try (OpenClKvCache cache = s.cache();
             OpenClDecodeAttention whole = new OpenClDecodeAttention(cache, AttentionPolicy.parse(policy),
                     new DecodeShape(queryHeads, 4, 128), false, true, AttentionTuning.DEFAULT, 1);
             OpenClDecodeAttention cut = new OpenClDecodeAttention(cache, AttentionPolicy.parse(policy),
                     new DecodeShape(queryHeads, 4, 128), false, true, AttentionTuning.DEFAULT, slices)) {
            float[] expected = new float[q.length], out = new float[q.length];
            int[] want = new int[128], got = new int[128];
            // Twice: the second step reuses the side queues and the plans' buffers.
            for (int step = 0; step < 2; step++) {
                StepStats ref = whole.run(0, s.seqs(), q, expected);
                int[] kept = new int[3 * queryHeads];
                for (int r = 0; r < kept.length; r++) {
                    kept[r] = ref.kept(r);
                }
                StepStats stats = cut.run(0, s.seqs(), q, out);
                assertArrayEquals(expected, out, policy + ", " + slices + " slices, step " + step);
                for (int b = 0; b < 3; b++) {
                    for (int h = 0; h < queryHeads; h++) {
                        assertEquals(kept[b * queryHeads + h], stats.kept(b * queryHeads + h), "seq " + b + " head " + h);
                        int n = whole.keptTokens(b, h, want);
                        assertEquals(n, cut.keptTokens(b, h, got));
                        assertArrayEquals(Arrays.copyOf(want, n), Arrays.copyOf(got, n), "seq " + b + " head " + h);
                    }
                }
                q = gaussian(new SplittableRandom(step + 100), q.length);
            }
        }
    }

    /**
     * The estimate and top-p fused in one launch (estimate_top_p: top-p rows wait for their entry's
     * estimate blocks through counters the kernel resets) give what the two launches give, bit for bit:
     * outputs and kept tokens over several steps (the counters' reset), with and without slices (a ticket
     * counter per slice), GQA groups and per-head sets.
     */
    @ParameterizedTest(name = "{0}: {1} slices")
    @CsvSource({"quest:48+twilight:0.9, 1", "quest:48+twilight:0.9, 3", "full+twilight:0.8:head, 2",
            "oracle:40+twilight:0.9, 1", "quest:64+twilight:0.5, 8"})
    void fusedEstimateAndTopPEqualTwoLaunches(String policy, int slices) {
        int kvHeads = 2, queryHeads = 8, d = 64;
        Setup s = setup(14, kvHeads, d);
        float[] q = gaussian(new SplittableRandom(slices + 7), 3 * queryHeads * d);
        DecodeShape shape = new DecodeShape(queryHeads, 4, 128);
        try (OpenClKvCache cache = s.cache();
             OpenClDecodeAttention apart = new OpenClDecodeAttention(cache, AttentionPolicy.parse(policy), shape, false, true,
                     AttentionTuning.DEFAULT, slices, false);
             OpenClDecodeAttention fused = new OpenClDecodeAttention(cache, AttentionPolicy.parse(policy), shape, false, true,
                     AttentionTuning.DEFAULT, slices, true)) {
            assertFalse(apart.fusedTopP());
            assertTrue(fused.fusedTopP(), "the device should run " + policy + " fused");
            float[] expected = new float[q.length], out = new float[q.length];
            int[] want = new int[128], got = new int[128];
            for (int step = 0; step < 3; step++) {
                apart.run(0, s.seqs(), q, expected);
                fused.run(0, s.seqs(), q, out);
                assertArrayEquals(expected, out, policy + ", step " + step);
                for (int b = 0; b < 3; b++) {
                    for (int h = 0; h < queryHeads; h++) {
                        int n = apart.keptTokens(b, h, want);
                        assertEquals(n, fused.keptTokens(b, h, got), "seq " + b + " head " + h);
                        assertArrayEquals(Arrays.copyOf(want, n), Arrays.copyOf(got, n), "seq " + b + " head " + h);
                    }
                }
                q = gaussian(new SplittableRandom(step + 200), q.length);
            }
        }
    }

    /**
     * Stage and step times put the context's queues in profiling mode and back (each switch finishes the
     * queues in use): the steps before, during and after compute the same outputs bit for bit on the other
     * queues, sliced steps included; only the timed steps carry device times, the stages only with stage times.
     */
    @ParameterizedTest(name = "{0}: {1} slices")
    @CsvSource({"dense, 1", "quest:48+twilight:0.9, 1", "quest:48+twilight:0.9, 3"})
    void stageTimesSwitchQueuesWithoutChangingTheStep(String policy, int slices) {
        int kvHeads = 2, queryHeads = 8, d = 64;
        Setup s = setup(15, kvHeads, d);
        float[] q = gaussian(new SplittableRandom(slices + 40), 3 * queryHeads * d);
        try (OpenClKvCache cache = s.cache();
             OpenClDecodeAttention plan = new OpenClDecodeAttention(cache, AttentionPolicy.parse(policy),
                     new DecodeShape(queryHeads, 4, 128), false, true, AttentionTuning.DEFAULT, slices)) {
            assertFalse(cl.profiling(), "a context starts on queues without profiling");
            float[] expected = new float[q.length], out = new float[q.length];
            assertEquals(0, plan.run(0, s.seqs(), q, expected).stepNanos);
            plan.recordStageTimes(true);
            assertTrue(cl.profiling());
            StepStats timed = plan.run(0, s.seqs(), q, out);
            assertArrayEquals(expected, out, policy + " on the profiling queues");
            assertTrue(timed.stepNanos > 0 && timed.attentionNanos > 0, "device times of the timed step");
            if (!policy.equals("dense")) {
                assertTrue(timed.selectNanos > 0, "the selection's device time");
            }
            plan.recordStageTimes(false);
            plan.recordStepTimes(true);
            assertTrue(cl.profiling(), "step times need the profiling queues too");
            Arrays.fill(out, 0);
            StepStats spanned = plan.run(0, s.seqs(), q, out);
            assertArrayEquals(expected, out, policy + " between markers");
            assertTrue(spanned.stepNanos > 0, "the step's span between its markers");
            assertEquals(0, spanned.selectNanos + spanned.estimateNanos + spanned.topPNanos + spanned.attentionNanos,
                    "no stage times without kernel events");
            plan.recordStepTimes(false);
            assertFalse(cl.profiling());
            Arrays.fill(out, 0);
            assertEquals(0, plan.run(0, s.seqs(), q, out).stepNanos);
            assertArrayEquals(expected, out, policy + " back on the plain queues");
        } finally {
            cl.profiling(false);
        }
    }

    /**
     * Two plans on one context, one timing its stages and one not: each step runs on the queues its own
     * plan needs, whichever plan ran before it (the untimed plan used to stay on the profiling queues the
     * timed one had switched to), with the same outputs on either.
     */
    @org.junit.jupiter.api.Test
    void eachPlanRunsOnTheQueuesItsOwnTimesNeed() {
        int kvHeads = 2, queryHeads = 8, d = 64;
        Setup s = setup(17, kvHeads, d);
        float[] q = gaussian(new SplittableRandom(77), 3 * queryHeads * d);
        DecodeShape shape = new DecodeShape(queryHeads, 4, 128);
        try (OpenClKvCache cache = s.cache();
             OpenClDecodeAttention timed = new OpenClDecodeAttention(cache, AttentionPolicy.parse("quest:48+twilight:0.9"),
                     shape, true, true, AttentionTuning.DEFAULT, 1);
             OpenClDecodeAttention plain = new OpenClDecodeAttention(cache, AttentionPolicy.parse("quest:48+twilight:0.9"),
                     shape, false, true, AttentionTuning.DEFAULT, 1)) {
            float[] first = new float[q.length], out = new float[q.length];
            assertTrue(timed.run(0, s.seqs(), q, first).attentionNanos > 0, "the timed plan's stage times");
            for (int round = 0; round < 2; round++) {
                assertEquals(0, plain.run(0, s.seqs(), q, out).stepNanos);
                assertFalse(cl.profiling(), "round " + round + ": the untimed plan back on the plain queues");
                assertArrayEquals(first, out, "round " + round + ": the untimed plan's output");
                Arrays.fill(out, 0);
                assertTrue(timed.run(0, s.seqs(), q, out).attentionNanos > 0, "round " + round + ": stage times again");
                assertTrue(cl.profiling());
                assertArrayEquals(first, out, "round " + round + ": the timed plan's output");
            }
        } finally {
            cl.profiling(false);
        }
    }

    @org.junit.jupiter.api.Test
    void refusesNegativeSlices() {
        Setup s = setup(13, 1, 64);
        try (OpenClKvCache cache = s.cache()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new OpenClDecodeAttention(cache,
                    AttentionPolicy.dense(), new DecodeShape(1, 4, 128), false, true, AttentionTuning.DEFAULT, -1));
            assertTrue(e.getMessage().contains("slices") && e.getMessage().contains("-1"), e.getMessage());
        }
    }

    /** Steps are cut in two from {@link StepSlice#TWO_SLICES_FROM} entries unless the plan names a count. */
    @org.junit.jupiter.api.Test
    void sliceCountFollowsTheStepSize() {
        assertEquals(1, StepSlice.count(0, StepSlice.TWO_SLICES_FROM - 1));
        assertEquals(2, StepSlice.count(0, StepSlice.TWO_SLICES_FROM));
        assertEquals(3, StepSlice.count(3, 1));
        assertEquals(1, StepSlice.cut(cl, 1, 3).length); // never more slices than entries
        assertEquals(StepSlice.MAX_SLICES, StepSlice.cut(cl, 100, 50).length);
    }
}
