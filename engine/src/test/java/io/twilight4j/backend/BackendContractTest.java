package io.twilight4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.kv.KvCache;
import io.twilight4j.kv.KvShape;
import io.twilight4j.policy.AttentionPolicy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The contract every backend meets, checked against float64 references on seeded workloads. Each
 * backend's test class extends this once and says how to open the backend.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackendContractTest {

    /** Opens the backend under test. */
    protected abstract AttentionBackend openBackend();

    protected AttentionBackend backend;

    @BeforeAll
    void open() {
        backend = openBackend();
    }

    @AfterAll
    void close() {
        if (backend != null) {
            backend.close();
        }
    }

    /** Shapes: MHA and GQA, one KV head, head_dim 24 to 128, odd lengths, ragged batches. */
    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of(2, 1, 64, new int[] {97}, 11L),
                Arguments.of(2, 4, 128, new int[] {54, 300, 17}, 12L),
                Arguments.of(1, 8, 64, new int[] {1, 129}, 13L),
                Arguments.of(4, 2, 32, new int[] {400, 33}, 14L),
                // A head size that is not a multiple of the vector widths: the scalar tails and fallbacks.
                Arguments.of(2, 3, 24, new int[] {90, 41}, 15L));
    }

    static Stream<Arguments> policies() {
        String[] ps = {"full", "quest:64", "quest:64+twilight:0.9", "full+twilight:0.95", "full+twilight:0.8:head",
                "oracle:40", "ds:48:16", "ds:64:16+twilight:0.9", "ds:40:32", "quest:16+twilight:0.5", "window:40",
                "window:100:0+twilight:0.9", "window:8:16+twilight:0.95:head", "quest:64+topp:0.9", "full+topp:0.8:head"};
        // A label cache holds at most headDim channels: ds:B:r runs where r <= head_dim.
        return shapes().flatMap(a -> Arrays.stream(ps)
                .filter(p -> !p.startsWith("ds:") || Integer.parseInt(p.split("[:+]")[2]) <= (int) a.get()[2])
                .map(p -> Arguments.of(p, a.get()[0], a.get()[1], a.get()[2], a.get()[3], a.get()[4])));
    }

    private static String describe(Workload w, String policy) {
        return "policy " + policy + ", shape " + w.shape + ", query heads " + w.queryHeads + ", lengths "
                + Arrays.toString(w.lengths) + ", seed " + w.seed;
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void denseMatchesFloat64Reference(int kvHeads, int group, int dim, int[] lengths, long seed) {
        Workload w = new Workload(kvHeads, group, dim, lengths, 0, seed);
        try (KvCache cache = backend.createCache(w.shape, null);
             DecodeAttention plan = backend.plan(cache, AttentionPolicy.dense(), new DecodeShape(w.queryHeads, lengths.length, 512))) {
            w.writeTo(cache);
            for (int layer = 0; layer < 2; layer++) {
                float[] q = w.queries(layer, seed + layer);
                float[] out = new float[q.length];
                plan.run(layer, w.seqs, q, out);
                checkOutputs(w, layer, q, out, plan, describe(w, "dense") + ", layer " + layer);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("policies")
    void sparsePoliciesAttendExactlyOverTheirSets(String policy, int kvHeads, int group, int dim, int[] lengths, long seed) {
        AttentionPolicy p = AttentionPolicy.parse(policy);
        int r = p.selector() == io.twilight4j.policy.SelectorKind.DS ? p.labelChannelsFor(dim) : 0;
        Workload w = new Workload(kvHeads, group, dim, lengths, r, seed);
        try (KvCache cache = backend.createCache(w.shape, w.evenChannels());
             DecodeAttention plan = backend.plan(cache, p, new DecodeShape(w.queryHeads, lengths.length, 512))) {
            w.writeTo(cache);
            float[] q = w.queries(1, seed * 31);
            float[] out = new float[q.length];
            StepStats stats = plan.run(1, w.seqs, q, out);
            String what = describe(w, policy);
            checkOutputs(w, 1, q, out, plan, what);
            int[] set = new int[512];
            for (int b = 0; b < lengths.length; b++) {
                for (int qh = 0; qh < w.queryHeads; qh++) {
                    int n = plan.keptTokens(b, qh, set);
                    int e = b * w.queryHeads + qh;
                    assertEquals(n, stats.kept(e), what + ": stats disagree with the kept set");
                    assertTrue(n <= stats.candidates(e), what + ": kept more than the selector proposed");
                    int limit = switch (p.selector()) {
                        case QUEST -> Math.max(p.budgetTokens(), 16) / 16 * 16 + 16;
                        case DS, ORACLE -> p.budgetTokens();
                        case WINDOW -> p.budgetTokens() + p.sinkTokens();
                        default -> lengths[b];
                    };
                    assertTrue(stats.candidates(e) <= Math.min(limit, lengths[b]),
                            what + ": selector exceeded its budget: " + stats.candidates(e));
                    assertTrue(n >= 1, what + ": empty set for slot " + b + " head " + qh);
                }
            }
        }
    }

    /** StreamingLLM's window keeps exactly the first S and the last W tokens of every sequence, for every head. */
    @ParameterizedTest
    @MethodSource("shapes")
    void windowKeepsTheSinksAndTheLastTokens(int kvHeads, int group, int dim, int[] lengths, long seed) {
        Workload w = new Workload(kvHeads, group, dim, lengths, 0, seed);
        for (String policy : new String[] {"window:37:4", "window:1:0", "window:300:9"}) {
            AttentionPolicy p = AttentionPolicy.parse(policy);
            try (KvCache cache = backend.createCache(w.shape, null);
                 DecodeAttention plan = backend.plan(cache, p, new DecodeShape(w.queryHeads, lengths.length, 512))) {
                w.writeTo(cache);
                float[] q = w.queries(1, seed * 17);
                float[] out = new float[q.length];
                plan.run(1, w.seqs, q, out);
                checkOutputs(w, 1, q, out, plan, describe(w, policy));
                int[] set = new int[512];
                for (int b = 0; b < lengths.length; b++) {
                    int len = lengths[b];
                    int[] expected = java.util.stream.IntStream.range(0, len)
                            .filter(i -> i < p.sinkTokens() || i >= len - p.budgetTokens()).toArray();
                    for (int qh = 0; qh < w.queryHeads; qh++) {
                        int n = plan.keptTokens(b, qh, set);
                        assertEquals(Arrays.toString(expected), Arrays.toString(Arrays.copyOf(set, n)),
                                describe(w, policy) + ": slot " + b + " head " + qh);
                    }
                }
            }
        }
    }

    /** Each output row equals float64 attention over exactly the tokens the plan says it kept. */
    static void checkOutputs(Workload w, int layer, float[] q, float[] out, DecodeAttention plan, String what) {
        int dim = w.shape.headDim();
        int group = w.queryHeads / w.shape.kvHeads();
        int[] set = new int[4096];
        for (int b = 0; b < w.lengths.length; b++) {
            for (int qh = 0; qh < w.queryHeads; qh++) {
                int n = plan.keptTokens(b, qh, set);
                for (int i = 0; i < n; i++) {
                    assertTrue(set[i] >= 0 && set[i] < w.lengths[b] && (i == 0 || set[i] > set[i - 1]),
                            what + ": kept tokens must be distinct, ascending, in range");
                }
                int off = (b * w.queryHeads + qh) * dim;
                double[] ref = w.reference(layer, b, qh / group, q, off, set, n);
                for (int c = 0; c < dim; c++) {
                    if (Math.abs(ref[c] - out[off + c]) > 2e-3 + 2e-3 * Math.abs(ref[c])) {
                        fail(what + ": slot " + b + " head " + qh + " channel " + c + ": got " + out[off + c]
                                + ", float64 reference " + ref[c]);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void fullTwilightWithPOneIsDense(int kvHeads, int group, int dim, int[] lengths, long seed) {
        Workload w = new Workload(kvHeads, group, dim, lengths, 0, seed);
        try (KvCache cache = backend.createCache(w.shape, null);
             DecodeAttention dense = backend.plan(cache, AttentionPolicy.dense(), new DecodeShape(w.queryHeads, lengths.length, 512));
             DecodeAttention sparse = backend.plan(cache, AttentionPolicy.parse("full+twilight:1"), new DecodeShape(w.queryHeads, lengths.length, 512))) {
            w.writeTo(cache);
            float[] q = w.queries(0, seed);
            float[] a = new float[q.length];
            float[] b = new float[q.length];
            dense.run(0, w.seqs, q, a);
            sparse.run(0, w.seqs, q, b);
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-4 + 1e-4 * Math.abs(a[i]), describe(w, "full+twilight:1") + ": index " + i);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void twilightKeepsTheSmallestSetWithMassP(int kvHeads, int group, int dim, int[] lengths, long seed) {
        Workload w = new Workload(kvHeads, group, dim, lengths, 0, seed);
        assertMinimalSetsAndUnions(w, null, "twilight", seed + 7, (b, qh, q) -> Int4Reference.estimatedWeights(w, 1, b, qh, q));
    }

    /**
     * On a cache with key smoothing (random exponents, another set per layer and head), the sets are minimal by
     * the estimate of the smoothed keys and query: both scorers' query codes and the stored codes agree.
     */
    @ParameterizedTest
    @MethodSource("shapes")
    void twilightOnASmoothedCacheKeepsTheSmallestSetWithMassPOfItsEstimate(int kvHeads, int group, int dim, int[] lengths,
                                                                          long seed) {
        Workload w = new Workload(kvHeads, group, dim, lengths, 0, seed);
        SplittableRandom r = new SplittableRandom(seed + 3);
        int[][][] e = new int[w.shape.layers()][kvHeads][dim];
        for (int[][] layer : e) {
            for (int[] head : layer) {
                for (int c = 0; c < dim; c++) {
                    head[c] = r.nextInt(KeySmoothing.MIN_EXPONENT, KeySmoothing.MAX_EXPONENT + 1);
                }
            }
        }
        KeySmoothing smoothing = new KeySmoothing(dim, e);
        assertMinimalSetsAndUnions(w, smoothing, "twilight", seed + 9,
                (b, qh, q) -> Int4Reference.estimatedWeights(w, 1, b, qh, q, smoothing));
    }

    /**
     * {@code +topp:P}: each head keeps the smallest set whose true weights (float64 softmax of the fp16 keys, not
     * the 4-bit estimate) reach p, and the group's union holds every head's set.
     */
    @ParameterizedTest
    @MethodSource("shapes")
    void exactTopPKeepsTheSmallestSetWithTrueMassP(int kvHeads, int group, int dim, int[] lengths, long seed) {
        Workload w = new Workload(kvHeads, group, dim, lengths, 0, seed);
        assertMinimalSetsAndUnions(w, null, "topp", seed + 5, (b, qh, q) -> w.trueWeights(1, b, qh, q));
    }

    /** The weights a pruner's sets are checked against: of query head qh of slot b, over all its tokens. */
    private interface HeadWeights {
        double[] of(int b, int qh, float[] q);
    }

    /**
     * For p in {0.5, 0.9, 0.99}, {@code full+STAGE:p:head} keeps per head a minimal set of mass p by {@code weights}
     * (layer 1), and {@code full+STAGE:p}'s group union holds each of them; on a cache with {@code smoothing}
     * (may be null).
     */
    private void assertMinimalSetsAndUnions(Workload w, KeySmoothing smoothing, String stage, long querySeed,
                                            HeadWeights weights) {
        for (double p : new double[] {0.5, 0.9, 0.99}) {
            String policy = "full+" + stage + ":" + p;
            try (KvCache cache = backend.createCache(w.shape, null, smoothing);
                 DecodeAttention plan = backend.plan(cache, AttentionPolicy.parse(policy + ":head"),
                         new DecodeShape(w.queryHeads, w.lengths.length, 512));
                 DecodeAttention grouped = backend.plan(cache, AttentionPolicy.parse(policy),
                         new DecodeShape(w.queryHeads, w.lengths.length, 512))) {
                w.writeTo(cache);
                float[] q = w.queries(1, querySeed);
                plan.run(1, w.seqs, q, new float[q.length]);
                grouped.run(1, w.seqs, q, new float[q.length]);
                int[] set = new int[512];
                int[] union = new int[512];
                for (int b = 0; b < w.lengths.length; b++) {
                    for (int qh = 0; qh < w.queryHeads; qh++) {
                        String what = describe(w, policy) + " slot " + b + " head " + qh;
                        int n = plan.keptTokens(b, qh, set);
                        TopPReference.assertMinimalTopP(weights.of(b, qh, q), set, n, p, what);
                        int u = grouped.keptTokens(b, qh, union);
                        for (int i = 0; i < n; i++) {
                            assertTrue(Arrays.binarySearch(union, 0, u, set[i]) >= 0,
                                    what + ": token " + set[i] + " missing from its group's union");
                        }
                    }
                }
            }
        }
    }

    /**
     * Twilight behind Quest: each head keeps, of Quest's candidates (a quest-only plan of the same budget),
     * the smallest set whose estimated weights, softmaxed over those candidates, reach p. Checks the estimate
     * a Quest plan runs (its query codes may come from another kernel than a full plan's).
     */
    @ParameterizedTest
    @MethodSource("shapes")
    void questTwilightKeepsTheSmallestSetWithMassPOfQuestsCandidates(int kvHeads, int group, int dim, int[] lengths,
                                                                      long seed) {
        Workload w = new Workload(kvHeads, group, dim, lengths, 0, seed);
        int budget = 64;
        double p = 0.9;
        try (KvCache cache = backend.createCache(w.shape, null);
             DecodeAttention quest = backend.plan(cache, AttentionPolicy.parse("quest:" + budget),
                     new DecodeShape(w.queryHeads, lengths.length, 512));
             DecodeAttention pruned = backend.plan(cache, AttentionPolicy.parse("quest:" + budget + "+twilight:" + p + ":head"),
                     new DecodeShape(w.queryHeads, lengths.length, 512))) {
            w.writeTo(cache);
            float[] q = w.queries(1, seed + 11);
            quest.run(1, w.seqs, q, new float[q.length]);
            pruned.run(1, w.seqs, q, new float[q.length]);
            int[] candidates = new int[512];
            int[] set = new int[512];
            for (int b = 0; b < lengths.length; b++) {
                for (int qh = 0; qh < w.queryHeads; qh++) {
                    int c = quest.keptTokens(b, qh, candidates);
                    int n = pruned.keptTokens(b, qh, set);
                    String what = describe(w, "quest:" + budget + "+twilight:" + p + ":head") + " slot " + b + " head " + qh;
                    double[] all = Int4Reference.estimatedWeights(w, 1, b, qh, q);
                    double z = 0;
                    for (int i = 0; i < c; i++) {
                        z += all[candidates[i]];
                    }
                    double[] weights = new double[all.length];
                    for (int i = 0; i < c; i++) {
                        weights[candidates[i]] = all[candidates[i]] / z;
                    }
                    for (int i = 0; i < n; i++) {
                        assertTrue(Arrays.binarySearch(candidates, 0, c, set[i]) >= 0,
                                what + ": kept token " + set[i] + " is not one of Quest's candidates");
                    }
                    TopPReference.assertMinimalTopP(weights, set, n, p, what);
                }
            }
        }
    }

    /**
     * Quest takes the last page and the best others, a page ranking by the largest of its heads' bounds relative to
     * each head's best page; on a smoothed cache (random exponents, as for the estimate) the bounds are of the smoothed
     * keys, scored with the smoothed query.
     */
    @ParameterizedTest
    @MethodSource("shapes")
    void questTakesTheBestPagesAndTheLastOne(int kvHeads, int group, int dim, int[] lengths, long seed) {
        questTakesTheBestPages(kvHeads, group, dim, lengths, seed, null);
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void questOnASmoothedCacheTakesTheBestPages(int kvHeads, int group, int dim, int[] lengths, long seed) {
        SplittableRandom r = new SplittableRandom(seed + 13);
        int[][][] e = new int[2][kvHeads][dim];
        for (int[][] layer : e) {
            for (int[] head : layer) {
                for (int c = 0; c < dim; c++) {
                    head[c] = r.nextInt(KeySmoothing.MIN_EXPONENT, KeySmoothing.MAX_EXPONENT + 1);
                }
            }
        }
        questTakesTheBestPages(kvHeads, group, dim, lengths, seed, new KeySmoothing(dim, e));
    }

    private void questTakesTheBestPages(int kvHeads, int group, int dim, int[] lengths, long seed, KeySmoothing smoothing) {
        Workload w = new Workload(kvHeads, group, dim, lengths, 0, seed);
        int budget = 48;
        try (KvCache cache = backend.createCache(w.shape, null, smoothing);
             DecodeAttention plan = backend.plan(cache, AttentionPolicy.parse("quest:" + budget), new DecodeShape(w.queryHeads, lengths.length, 512))) {
            w.writeTo(cache);
            float[] q = w.queries(0, seed + 3);
            plan.run(0, w.seqs, q, new float[q.length]);
            int[] set = new int[512];
            for (int b = 0; b < lengths.length; b++) {
                for (int h = 0; h < kvHeads; h++) {
                    int n = plan.keptTokens(b, h * group, set);
                    QuestReference.assertBestPages(w, 0, b, h, q, budget, set, n, smoothing,
                            describe(w, "quest:" + budget) + (smoothing == null ? "" : ", smoothed"));
                }
            }
        }
    }

    /** Every full page holds the same 16 keys, so every page bound ties: the budget is still filled exactly. */
    @Test
    void questWithEveryPageTiedTakesItsBudget() {
        Workload w = new Workload(2, 2, 64, new int[] {200, 77}, 0, 31);
        for (double[][][] seq : w.keys[0]) {
            for (double[][] head : seq) {
                for (int t = 16; t < head.length; t++) {
                    head[t] = head[t % 16].clone();
                }
            }
        }
        int budget = 48;
        try (KvCache cache = backend.createCache(w.shape, null);
             DecodeAttention plan = backend.plan(cache, AttentionPolicy.parse("quest:" + budget), new DecodeShape(w.queryHeads, 2, 512))) {
            w.writeTo(cache);
            float[] q = w.queries(0, 32);
            plan.run(0, w.seqs, q, new float[q.length]);
            int[] set = new int[512];
            for (int b = 0; b < 2; b++) {
                for (int h = 0; h < 2; h++) {
                    int n = plan.keptTokens(b, h * 2, set);
                    QuestReference.assertBestPages(w, 0, b, h, q, budget, set, n, describe(w, "quest:" + budget) + ", tied pages");
                }
            }
        }
    }

    @Test
    void badInputIsRejectedWithTheValueNamed() {
        Workload w = new Workload(2, 2, 64, new int[] {40}, 0, 5);
        try (KvCache cache = backend.createCache(w.shape, null);
             DecodeAttention plan = backend.plan(cache, AttentionPolicy.parse("quest:32+twilight:0.9"), new DecodeShape(4, 1, 512))) {
            w.writeTo(cache);
            float[] q = w.queries(0, 1);
            float[] out = new float[q.length];
            q[5] = Float.NaN;
            assertTrue(assertThrows(IllegalArgumentException.class, () -> plan.run(0, w.seqs, q, out)).getMessage().contains("q[5]"));
            q[5] = 0;
            assertTrue(assertThrows(IllegalArgumentException.class, () -> plan.run(0, w.seqs, q, new float[3])).getMessage().contains("3"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> plan.run(2, w.seqs, q, out)).getMessage().contains("layer 2"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> plan.run(0, new int[] {9}, q, out)).getMessage().contains("9"));
            float[] k = new float[2 * 64];
            k[3] = Float.POSITIVE_INFINITY;
            cache.pager().append(w.seqs[0], 1);
            assertTrue(assertThrows(IllegalArgumentException.class, () -> cache.write(0, w.seqs[0], 40, k, new float[2 * 64], 1))
                    .getMessage().contains("K[3]"));
            assertThrows(IllegalArgumentException.class, () -> cache.write(0, w.seqs[0], 41, new float[128], new float[128], 1));
        }
        assertThrows(IllegalArgumentException.class, () -> backend.plan(backend.createCache(w.shape, null),
                AttentionPolicy.dense(), new DecodeShape(3, 1, 64)));
    }

    @Test
    void freedPagesAreReusedWithoutAliasing() {
        Workload first = new Workload(2, 2, 64, new int[] {70, 50}, 0, 21);
        Workload second = new Workload(2, 2, 64, new int[] {70, 66}, 0, 22);
        try (KvCache cache = backend.createCache(first.shape, null);
             DecodeAttention plan = backend.plan(cache, AttentionPolicy.parse("quest:32+twilight:0.95"), new DecodeShape(4, 2, 512))) {
            first.writeTo(cache);
            cache.pager().free(first.seqs[1]);
            int free = cache.pager().freePages();
            // The second workload's first sequence reuses the freed pages; the first sequence stays intact.
            Workload mixed = second;
            int s = cache.pager().newSequence();
            cache.pager().append(s, 66);
            float[] k = new float[66 * 2 * 64];
            float[] v = new float[66 * 2 * 64];
            for (int t = 0; t < 66; t++) {
                for (int h = 0; h < 2; h++) {
                    for (int c = 0; c < 64; c++) {
                        k[(t * 2 + h) * 64 + c] = (float) mixed.keys[1][1][h][t][c];
                        v[(t * 2 + h) * 64 + c] = (float) mixed.values[1][1][h][t][c];
                    }
                }
            }
            cache.write(1, s, 0, k, v, 66);
            assertTrue(cache.pager().freePages() < free, "the new sequence must take pages");
            // Check attention of both sequences: the old one against its own data, the new one against the new data.
            float[] q = first.queries(1, 99);
            float[] out = new float[q.length];
            DecodeAttention dense = backend.plan(cache, AttentionPolicy.dense(), new DecodeShape(4, 2, 512));
            dense.run(1, new int[] {first.seqs[0], s}, q, out);
            int[] set = new int[128];
            for (int qh = 0; qh < 4; qh++) {
                int n = dense.keptTokens(0, qh, set);
                double[] ref = first.reference(1, 0, qh / 2, q, qh * 64, set, n);
                double[] ref2 = mixed.reference(1, 1, qh / 2, q, (4 + qh) * 64, second.all(1), 66);
                for (int c = 0; c < 64; c++) {
                    assertEquals(ref[c], out[qh * 64 + c], 2e-3 + 2e-3 * Math.abs(ref[c]), "old sequence, head " + qh);
                    assertEquals(ref2[c], out[(4 + qh) * 64 + c], 2e-3 + 2e-3 * Math.abs(ref2[c]), "reused pages, head " + qh);
                }
            }
            dense.close();
        }
    }

    /**
     * One plan over many steps while its sequences grow across page boundaries, one is freed and a new
     * one takes its pages and its batch slot: every step must attend over the current tokens (a
     * backend that keeps page tables between steps must notice every change).
     */
    @ParameterizedTest
    @MethodSource("policiesOverEveryToken")
    void onePlanFollowsSequencesThatGrowAndAreReplaced(String policy) {
        int kvHeads = 2, group = 2, dim = 32, queryHeads = kvHeads * group;
        SplittableRandom r = new SplittableRandom(31);
        Map<Integer, List<float[]>> keys = new HashMap<>();
        Map<Integer, List<float[]>> values = new HashMap<>();
        try (KvCache cache = backend.createCache(KvShape.forTokens(1, kvHeads, dim, 300, 0), null);
             DecodeAttention plan = backend.plan(cache, AttentionPolicy.parse(policy), new DecodeShape(queryHeads, 2, 256))) {
            int[] seqs = {cache.pager().newSequence(), cache.pager().newSequence()};
            grow(cache, seqs[0], 20, r, keys, values);
            grow(cache, seqs[1], 5, r, keys, values);
            for (int step = 0; step < 6; step++) {
                if (step == 3) {
                    cache.pager().free(seqs[0]);
                    keys.remove(seqs[0]);
                    values.remove(seqs[0]);
                    seqs[0] = cache.pager().newSequence();
                    grow(cache, seqs[0], 30, r, keys, values);
                }
                grow(cache, seqs[0], 7, r, keys, values);
                grow(cache, seqs[1], 11, r, keys, values);
                float[] q = new float[2 * queryHeads * dim];
                for (int i = 0; i < q.length; i++) {
                    q[i] = (float) r.nextGaussian();
                }
                float[] out = new float[q.length];
                plan.run(0, seqs, q, out);
                for (int b = 0; b < 2; b++) {
                    for (int qh = 0; qh < queryHeads; qh++) {
                        int n = keys.get(seqs[b]).size();
                        double[] ref = Workload.attention(q, (b * queryHeads + qh) * dim, head(keys.get(seqs[b]), qh / group, dim),
                                head(values.get(seqs[b]), qh / group, dim), java.util.stream.IntStream.range(0, n).toArray(), n);
                        for (int c = 0; c < dim; c++) {
                            assertEquals(ref[c], out[(b * queryHeads + qh) * dim + c], 2e-3 + 2e-3 * Math.abs(ref[c]),
                                    policy + ": step " + step + ", slot " + b + ", head " + qh + ", channel " + c);
                        }
                    }
                }
            }
        }
    }

    static Stream<String> policiesOverEveryToken() {
        return Stream.of("dense", "full");
    }

    /** One KV head's rows, as float64, of rows that hold every KV head. */
    private static double[][] head(List<float[]> rows, int kvHead, int dim) {
        double[][] h = new double[rows.size()][dim];
        for (int t = 0; t < rows.size(); t++) {
            for (int c = 0; c < dim; c++) {
                h[t][c] = rows.get(t)[kvHead * dim + c];
            }
        }
        return h;
    }

    /** Appends {@code n} random tokens to {@code seq}, keeping fp16-exact copies for the reference. */
    private static void grow(KvCache cache, int seq, int n, SplittableRandom r, Map<Integer, List<float[]>> keys,
                             Map<Integer, List<float[]>> values) {
        int row = cache.shape().kvHeads() * cache.shape().headDim();
        int pos = cache.pager().append(seq, n);
        float[] k = new float[n * row];
        float[] v = new float[n * row];
        for (int i = 0; i < k.length; i++) {
            k[i] = Fp16.round((float) r.nextGaussian());
            v[i] = Fp16.round((float) r.nextGaussian());
        }
        cache.write(0, seq, pos, k, v, n);
        for (int t = 0; t < n; t++) {
            keys.computeIfAbsent(seq, s -> new ArrayList<>()).add(Arrays.copyOfRange(k, t * row, (t + 1) * row));
            values.computeIfAbsent(seq, s -> new ArrayList<>()).add(Arrays.copyOfRange(v, t * row, (t + 1) * row));
        }
    }
}
