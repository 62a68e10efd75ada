package io.twilight4j.bench.jmh;

import io.twilight4j.attention.DecodeKernel;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.prune.Int4Estimator;
import io.twilight4j.prune.TopPThreshold;
import io.twilight4j.prune.TwilightPruner;
import io.twilight4j.select.DoubleSparsitySelector;
import io.twilight4j.select.QuestSelector;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The CPU hot loops of one decode step for one KV head (GQA group of four query heads), each over
 * the whole context or over Quest's 8192 candidates. Average time per call, in microseconds; divide
 * by ctx (or 8192) for the cost per token.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class HotLoopBench {

    /** Quest's budget in the benchmarked policy. */
    static final int BUDGET_TOKENS = 8192;
    /** Twilight's p in the benchmarked policy. */
    static final float TOP_P = 0.95f;
    private static final TwilightPruner PRUNER = new TwilightPruner(TOP_P);

    /** Quest's candidates and their estimated weights, computed once so each benchmark times one stage. */
    @State(Scope.Thread)
    public static class Candidates {
        int[] tokens;
        int count;
        /** The four heads' softmax weights over the candidates. */
        float[] weights;
        float[] pageScores;
        /** The group's query heads as Quest's page scoring takes them. */
        float[] questQuery;
        /** The four heads' estimated scores, before softmax; {@link #work} and {@link #workTokens}: the prune's copies. */
        float[] scores;
        float[] work;
        int[] workTokens;
        float[] thresholds = new float[KvHeadState.GROUP];
        /** The group's kept set (the union of its heads' top-p sets), ascending positions. */
        int[] kept;
        int keptCount;

        @Setup(Level.Trial)
        public void setUp(KvHeadState s) {
            pageScores = new float[s.ctx];
            questQuery = new float[new QuestSelector(BUDGET_TOKENS).preparedFloats(KvHeadState.GROUP, s.cache.shape().headDim())];
            tokens = new int[s.ctx];
            count = quest(s, tokens);
            scores = new float[KvHeadState.GROUP * count];
            Int4Estimator.estimate(s.cache, 0, s.pageTable, 0, tokens, count, s.queryCodes, s.queryScales, 0, KvHeadState.GROUP, s.scale,
                    s.ws, scores, 0);
            work = new float[scores.length];
            workTokens = new int[count];
            keptCount = prune(s);
            kept = Arrays.copyOf(workTokens, keptCount);
            weights = work.clone();
        }

        /**
         * The top-p stage of the group as the CPU backend runs it, on copies of the scores and tokens: softmax
         * and threshold per head ({@link #work} ends as the weights), then the union of the four sets in
         * {@link #workTokens}; returns its size.
         */
        int prune(KvHeadState s) {
            System.arraycopy(scores, 0, work, 0, scores.length);
            System.arraycopy(tokens, 0, workTokens, 0, count);
            PRUNER.thresholds(work, 0, count, KvHeadState.GROUP, thresholds, 0, s.ws.scratch);
            return TwilightPruner.union(work, 0, count, KvHeadState.GROUP, thresholds, 0, workTokens);
        }
    }

    /** Dense decode kernel: the group's four heads over all ctx tokens (K and V read once). */
    @Benchmark
    public float denseKernel(KvHeadState s) {
        HostKvCache.Layer layer = s.cache.layer(0);
        DecodeKernel.attend(layer, s.cache.layout(), s.pageTable, 0, null, 0, s.ctx, s.q, 0, KvHeadState.GROUP,
                s.scale, s.ws, s.m, s.d, s.o, 0);
        return s.d[0];
    }

    /** Sparse decode kernel: the group's four heads over its kept set (Quest, then Twilight at p 0.95). */
    @Benchmark
    public float sparseKernel(KvHeadState s, Candidates c) {
        HostKvCache.Layer layer = s.cache.layer(0);
        DecodeKernel.attend(layer, s.cache.layout(), s.pageTable, 0, c.kept, 0, c.keptCount, s.q, 0, KvHeadState.GROUP,
                s.scale, s.ws, s.m, s.d, s.o, 0);
        return s.d[0];
    }

    /** The dense kernel over as many consecutive tokens as the sparse kernel's kept set holds. */
    @Benchmark
    public float denseKernelKeptLength(KvHeadState s, Candidates c) {
        HostKvCache.Layer layer = s.cache.layer(0);
        DecodeKernel.attend(layer, s.cache.layout(), s.pageTable, 0, null, 0, c.keptCount, s.q, 0, KvHeadState.GROUP,
                s.scale, s.ws, s.m, s.d, s.o, 0);
        return s.d[0];
    }

    /** Quest page scoring and top-k over ctx / 16 pages. */
    @Benchmark
    public int questSelect(KvHeadState s, Candidates c) {
        return quest(s, c.tokens);
    }

    /** Quest's page scoring alone (the one KV head, its four query heads, their preparation), without the ranking. */
    @Benchmark
    public float questScore(KvHeadState s, Candidates c) {
        QuestSelector quest = new QuestSelector(BUDGET_TOKENS);
        int pageTokens = s.cache.shape().pageTokens();
        float[] shared = c.pageScores;
        quest.prepareQueries(s.queryCodes, 0, KvHeadState.GROUP, s.cache.shape().headDim(), s.ws.codeRow, c.questQuery);
        quest.scorePages(s.cache, 0, s.pageTable, s.ctx, 0, quest.scoredPages(s.ctx, pageTokens), c.questQuery,
                s.queryScales, 0, KvHeadState.GROUP, s.ws, shared);
        return shared[0];
    }

    /** Quest's page scoring (the one KV head) and ranking, as the CPU backend runs them. */
    static int quest(KvHeadState s, int[] out) {
        QuestSelector quest = new QuestSelector(BUDGET_TOKENS);
        int pageTokens = s.cache.shape().pageTokens();
        float[] shared = new float[quest.sharedFloats(s.ctx, 1, KvHeadState.GROUP, pageTokens)];
        float[] prepared = new float[quest.preparedFloats(KvHeadState.GROUP, s.cache.shape().headDim())];
        quest.prepareQueries(s.queryCodes, 0, KvHeadState.GROUP, s.cache.shape().headDim(), s.ws.codeRow, prepared);
        quest.scorePages(s.cache, 0, s.pageTable, s.ctx, 0, quest.scoredPages(s.ctx, pageTokens), prepared,
                s.queryScales, 0, KvHeadState.GROUP, s.ws, shared);
        return quest.select(s.cache, 0, s.pageTable, s.ctx, 0, s.q, 0, KvHeadState.GROUP, s.ws, shared, out);
    }

    /** Double Sparsity's token scoring over ctx tokens (r = 64 label channels) and top-k, as the CPU backend runs them. */
    @Benchmark
    public int dsSelect(KvHeadState s, Candidates c) {
        return new DoubleSparsitySelector(BUDGET_TOKENS).select(s.cache, 0, s.pageTable, s.ctx, 0, s.q, 0, KvHeadState.GROUP,
                s.ws, null, c.tokens);
    }

    /** Twilight's 4-bit estimate of the four heads' scores over Quest's candidates. */
    @Benchmark
    public float int4Estimate(KvHeadState s, Candidates c) {
        float[] out = s.ws.scores;
        Int4Estimator.estimate(s.cache, 0, s.pageTable, 0, c.tokens, c.count, s.queryCodes, s.queryScales, 0, KvHeadState.GROUP, s.scale,
                s.ws, out, 0);
        return out[0];
    }

    /** The top-p stage of one GQA group as the CPU backend runs it (including the copies {@link Candidates#prune} makes). */
    @Benchmark
    public int pruneGroup(KvHeadState s, Candidates c) {
        return c.prune(s);
    }

    /** The top-p bisection for one head over Quest's candidates (weights already softmaxed). */
    @Benchmark
    public float topPThreshold(KvHeadState s, Candidates c) {
        return TopPThreshold.threshold(c.weights, 0, c.count, TOP_P, s.ws.scratch);
    }
}
