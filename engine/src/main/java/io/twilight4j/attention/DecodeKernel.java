package io.twilight4j.attention;

import io.twilight4j.kv.CacheLines;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KvLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The CPU decode-attention kernel: exact softmax attention of the query heads of one GQA group over
 * a chunk of one sequence's tokens, K and V read once for the whole group. Dense decode passes a
 * position range, sparse decode an index list; both produce partial {@link AttentionState}s.
 * Per block of {@link Workspace#BLOCK} tokens, the K and V rows are converted to floats a few tokens at a time,
 * each piece scored at once while rows further on are prefetched (runs of adjacent rows converted in place,
 * scattered rows gathered first), and query heads go four at a time, so each K and V vector loaded from L1
 * feeds four FMAs.
 */
public final class DecodeKernel {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /** Tokens per piece of {@link #scoreRange}: 2 was slower, 8 no faster (JMH, 256k tokens from memory). */
    private static final int PIECE_TOKENS = 4;
    /**
     * How far ahead {@link #scoreRange} asks for rows: about a memory latency of its work (~30 ns a token);
     * 4 left misses, 8-16 were even.
     */
    private static final int AHEAD_TOKENS = 12;
    /** How far ahead {@link #gatherRange} asks for scattered rows: 8, 12 and 24 were even (ds:8192 at 32k). */
    private static final int GATHER_AHEAD_TOKENS = 16;

    /**
     * Whether the vector unit has 32 registers (AVX-512; 512-bit vectors are taken as the sign), room for the
     * 16 accumulators of the four-by-four loops below. AVX2's 16 registers would spill them, so it keeps the pairs.
     */
    private static final boolean MANY_REGISTERS = F.vectorBitSize() >= 512;

    private DecodeKernel() {
    }

    /**
     * Attends query heads {@code 0..heads-1} (rows of {@code dim} floats at {@code qOff} in {@code q})
     * over the tokens of KV head {@code kvHead}: positions {@code tokens[from..to)}, or positions
     * {@code from..to} when {@code tokens} is null. Writes states {@code stateBase + g}.
     */
    public static void attend(HostKvCache.Layer layer, KvLayout layout, int[] pageTable, int kvHead,
                              int[] tokens, int from, int to, float[] q, int qOff, int heads, float scale,
                              Workspace ws, float[] m, float[] d, float[] o, int stateBase) {
        int dim = layout.shape().headDim();
        for (int g = 0; g < heads; g++) {
            AttentionState.clear(m, d, o, stateBase + g, dim);
        }
        for (int b = from; b < to; b += Workspace.BLOCK) {
            int n = Math.min(Workspace.BLOCK, to - b);
            if (tokens == null || mostlyRuns(tokens, b, n)) {
                scoreRange(layer, layout, pageTable, kvHead, tokens, b, n, to, q, qOff, heads, dim, scale, ws);
            } else {
                gatherRange(layer, layout, pageTable, kvHead, tokens, b, n, to, q, qOff, heads, dim, scale, ws);
            }
            attendScored(heads, dim, n, ws, m, d, o, stateBase);
        }
    }

    /**
     * Dense decode over positions {@code from..to} of every KV head: query heads {@code 0..kvHeads *
     * group - 1} at {@code qOff}, states {@code stateBase + head}. Blocks go in storage order (per
     * block of tokens, KV head 0, 1, ...), so a worker streams contiguous memory, a page of all heads
     * at a time, instead of one head's rows a page apart.
     */
    public static void attendAllHeads(HostKvCache.Layer layer, KvLayout layout, int[] pageTable, int from, int to,
                                      float[] q, int qOff, int group, float scale, Workspace ws,
                                      float[] m, float[] d, float[] o, int stateBase) {
        int dim = layout.shape().headDim();
        int kvHeads = layout.shape().kvHeads();
        for (int g = 0; g < kvHeads * group; g++) {
            AttentionState.clear(m, d, o, stateBase + g, dim);
        }
        for (int b = from; b < to; b += Workspace.BLOCK) {
            int n = Math.min(Workspace.BLOCK, to - b);
            for (int h = 0; h < kvHeads; h++) {
                int hq = qOff + h * group * dim;
                scoreRange(layer, layout, pageTable, h, null, b, n, to, q, hq, group, dim, scale, ws);
                attendScored(group, dim, n, ws, m, d, o, stateBase + h * group);
            }
        }
    }

    /**
     * The softmax and value steps of one block of {@code n} tokens whose K and V rows are in the workspace and
     * whose logits are in {@code ws.logits}, for heads {@code 0..heads-1}.
     */
    private static void attendScored(int heads, int dim, int n, Workspace ws, float[] m, float[] d, float[] o,
                                     int stateBase) {
        float[] s = ws.logits;
        float[] correction = ws.corrections;
        for (int g = 0; g < heads; g++) {
            correction[g] = softmaxUpdate(m, d, stateBase + g, s, g * Workspace.BLOCK, n);
        }
        int g = 0;
        for (; g + 4 <= heads; g += 4) {
            accumulate4(o, (stateBase + g) * dim, correction, g, s, g * Workspace.BLOCK, ws.valueBlock, n, dim);
        }
        for (; g < heads; g++) {
            accumulate(o, (stateBase + g) * dim, correction[g], s, g * Workspace.BLOCK, ws.valueBlock, n, dim);
        }
    }

    /**
     * The load and scores of positions {@code b..b+n)} (dense decode, {@code tokens} null) or of tokens
     * {@code tokens[b..b+n)} (runs of whole pages, as Quest's) of KV head {@code kvHead}, a few tokens at a time:
     * each piece's K and V rows (adjacent in the cache) are converted into the workspace and scored at once, and
     * the rows {@link #AHEAD_TOKENS} further on (within the chunk, which ends at {@code to}) are asked for.
     * <p>
     * Why pieces: converting a whole block first asks for 16 KB in one burst and then computes for ~1 us
     * without a load, so the hardware prefetchers never run far enough ahead and the bursts wait on memory;
     * a dense 32k step took twice its cache-hot time. Spread over the block and prefetched a little ahead
     * in requests of a few lines, the loads overlap the computation (JMH denseKernel over 256k tokens from
     * memory, one thread: 72 -> 35 ns per token on Zen 5; bench/results/cpu-2026-12-07-session28).
     */
    private static void scoreRange(HostKvCache.Layer layer, KvLayout layout, int[] pageTable, int kvHead, int[] tokens,
                                   int b, int n, int to, float[] q, int qOff, int heads, int dim, float scale, Workspace ws) {
        long rowBytes = 2L * dim;
        int t = 0;
        while (t < n) {
            int pos = tokens == null ? b + t : tokens[b + t];
            int run = rowRun(layout, tokens, b + t, pos, Math.min(PIECE_TOKENS, n - t));
            int ahead = b + t + AHEAD_TOKENS;
            if (ahead < to) {
                int aheadPos = tokens == null ? ahead : tokens[ahead];
                int aheadRun = rowRun(layout, tokens, ahead, aheadPos, Math.min(run, to - ahead));
                long[] rows = ws.aheadParams;
                rows[0] = 2 * layout.kvOffset(pageTable, kvHead, aheadPos);
                CacheLines.prefetchRows(layer.keys(), layer.values(), rows, 1, aheadRun * rowBytes, ws.aheadOffsets);
            }
            long off = 2 * layout.kvOffset(pageTable, kvHead, pos);
            Fp16.toFloat(layer.keys(), layer.values(), off, ws.keyBlock, ws.valueBlock, t * dim, run * dim);
            scores(q, qOff, heads, dim, ws.keyBlock, t * dim, run, ws.logits, t, Workspace.BLOCK, scale);
            t += run;
        }
    }

    /**
     * Rows adjacent in the cache from index {@code i} (position {@code pos}), at most {@code max}: up to the end of
     * the page and, for a token list, of the run of consecutive positions.
     */
    private static int rowRun(KvLayout layout, int[] tokens, int i, int pos, int max) {
        int run = Math.min(max, layout.shape().pageTokens() - layout.slotOf(pos));
        if (tokens != null) {
            int k = 1;
            while (k < run && tokens[i + k] == pos + k) {
                k++;
            }
            run = k;
        }
        return run;
    }

    /**
     * Whether tokens {@code tokens[b..b+n)} come in runs of consecutive positions {@link #PIECE_TOKENS} long on
     * average (Quest's whole pages), which {@link #scoreRange} converts in place; scattered rows are gathered
     * first ({@link #gatherRange}), where a conversion call per row would cost three times its share of a run.
     */
    private static boolean mostlyRuns(int[] tokens, int b, int n) {
        int breaks = 0;
        for (int i = b + 1; i < b + n; i++) {
            breaks += tokens[i] != tokens[i - 1] + 1 ? 1 : 0;
        }
        return breaks * PIECE_TOKENS < n;
    }

    /**
     * {@link #scoreRange} for scattered tokens {@code tokens[b..b+n)} (a pruned set): each piece's rows are first
     * copied as stored, then converted as one run (a conversion call per 128-half row cost about three times the
     * row's share of one long run), and the rows {@link #GATHER_AHEAD_TOKENS} further on are asked for, each
     * piece's misses in flight while the pieces before are computed. The whole next block's rows asked for in one
     * burst, as before, left most of them waiting: at 32k, attention per step 3.64 -> 2.29-2.49 ms for ds:8192 and
     * 1.16 -> 0.76 ms for full+twilight:0.95; quest+twilight's small sets 0.25 -> 0.21-0.24 ms with four cache
     * layers (rows from memory) but 0.135 -> 0.152 ms with one, where they stay in the L3 between steps
     * (bench/results/cpu-2026-12-07-session28).
     */
    private static void gatherRange(HostKvCache.Layer layer, KvLayout layout, int[] pageTable, int kvHead, int[] tokens,
                                    int b, int n, int to, float[] q, int qOff, int heads, int dim, float scale,
                                    Workspace ws) {
        long rowBytes = 2L * dim;
        long[] rows = ws.aheadParams;
        for (int t = 0; t < n; t += PIECE_TOKENS) {
            int run = Math.min(PIECE_TOKENS, n - t);
            int ahead = b + t + GATHER_AHEAD_TOKENS;
            int count = Math.min(run, to - ahead);
            for (int i = 0; i < count; i++) {
                rows[i] = 2 * layout.kvOffset(pageTable, kvHead, tokens[ahead + i]);
            }
            CacheLines.prefetchRows(layer.keys(), layer.values(), rows, Math.max(count, 0), rowBytes, ws.aheadOffsets);
            for (int i = t; i < t + run; i++) {
                long off = 2 * layout.kvOffset(pageTable, kvHead, tokens[b + i]);
                Fp16.copy(layer.keys(), off, ws.keyHalves, i * dim, dim);
                Fp16.copy(layer.values(), off, ws.valueHalves, i * dim, dim);
            }
            Fp16.toFloat(ws.keyHalves, t * dim, ws.keyBlock, t * dim, run * dim);
            Fp16.toFloat(ws.valueHalves, t * dim, ws.valueBlock, t * dim, run * dim);
            scores(q, qOff, heads, dim, ws.keyBlock, t * dim, run, ws.logits, t, Workspace.BLOCK, scale);
        }
    }

    /**
     * Scores of query rows against key rows: {@code s[sOff + g * sStride + t] = scale * q_g . k_t} for
     * heads {@code g < heads} (rows of {@code dim} floats at {@code qOff}) and rows {@code t < n} of
     * {@code k} (row t at {@code t * dim}). Shared by attention, the 4-bit estimate and Quest's bounds.
     */
    public static void scores(float[] q, int qOff, int heads, int dim, float[] k, int n, float[] s, int sOff,
                              int sStride, float scale) {
        scores(q, qOff, heads, dim, k, 0, n, s, sOff, sStride, scale);
    }

    /** {@link #scores} with key row t at {@code kOff + t * dim}. */
    public static void scores(float[] q, int qOff, int heads, int dim, float[] k, int kOff, int n, float[] s, int sOff,
                              int sStride, float scale) {
        int g = 0;
        for (; g + 4 <= heads; g += 4) {
            scores4(q, qOff + g * dim, dim, k, kOff, n, s, sOff + g * sStride, sStride, scale);
        }
        for (; g < heads; g++) {
            for (int t = 0; t < n; t++) {
                s[sOff + g * sStride + t] = dot(q, qOff + g * dim, k, kOff + t * dim, dim) * scale;
            }
        }
    }

    /**
     * {@link #scores} for four heads.
     * Tokens go in fours where the CPU has 32 vector registers and the head size is a multiple of the vector (16
     * accumulators, eight loads per 16 FMAs), else in pairs (eight accumulators, six loads per eight FMAs; five per
     * four one token at a time).
     */
    private static void scores4(float[] q, int qOff, int dim, float[] k, int kOff, int n, float[] s, int sOff, int b,
                                float scale) {
        int bound = F.loopBound(dim);
        int t = 0;
        for (; MANY_REGISTERS && bound == dim && t + 4 <= n; t += 4) {
            int k0 = kOff + t * dim;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector b0 = a0;
            FloatVector b1 = a0;
            FloatVector b2 = a0;
            FloatVector b3 = a0;
            FloatVector c0 = a0;
            FloatVector c1 = a0;
            FloatVector c2 = a0;
            FloatVector c3 = a0;
            FloatVector d0 = a0;
            FloatVector d1 = a0;
            FloatVector d2 = a0;
            FloatVector d3 = a0;
            for (int c = 0; c < dim; c += F.length()) {
                FloatVector w = FloatVector.fromArray(F, k, k0 + c);
                FloatVector x = FloatVector.fromArray(F, k, k0 + dim + c);
                FloatVector y = FloatVector.fromArray(F, k, k0 + 2 * dim + c);
                FloatVector z = FloatVector.fromArray(F, k, k0 + 3 * dim + c);
                FloatVector q0 = FloatVector.fromArray(F, q, qOff + c);
                a0 = q0.fma(w, a0);
                b0 = q0.fma(x, b0);
                c0 = q0.fma(y, c0);
                d0 = q0.fma(z, d0);
                FloatVector q1 = FloatVector.fromArray(F, q, qOff + dim + c);
                a1 = q1.fma(w, a1);
                b1 = q1.fma(x, b1);
                c1 = q1.fma(y, c1);
                d1 = q1.fma(z, d1);
                FloatVector q2 = FloatVector.fromArray(F, q, qOff + 2 * dim + c);
                a2 = q2.fma(w, a2);
                b2 = q2.fma(x, b2);
                c2 = q2.fma(y, c2);
                d2 = q2.fma(z, d2);
                FloatVector q3 = FloatVector.fromArray(F, q, qOff + 3 * dim + c);
                a3 = q3.fma(w, a3);
                b3 = q3.fma(x, b3);
                c3 = q3.fma(y, c3);
                d3 = q3.fma(z, d3);
            }
            // Written out, not in a helper: C2 left such a helper un-inlined (a cold call site), and passing it the
            // vectors boxed them (the dense kernel 5x slower); passing the sums cost ~4%.
            s[sOff + t] = a0.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + b] = a1.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + 2 * b] = a2.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + 3 * b] = a3.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + 1] = b0.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + 1 + b] = b1.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + 1 + 2 * b] = b2.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + 1 + 3 * b] = b3.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + 2] = c0.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + 2 + b] = c1.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + 2 + 2 * b] = c2.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + 2 + 3 * b] = c3.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + 3] = d0.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + 3 + b] = d1.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + 3 + 2 * b] = d2.reduceLanes(VectorOperators.ADD) * scale;
            s[sOff + t + 3 + 3 * b] = d3.reduceLanes(VectorOperators.ADD) * scale;
        }
        for (; t + 2 <= n; t += 2) {
            int k0 = kOff + t * dim;
            int k1 = k0 + dim;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector b0 = a0;
            FloatVector b1 = a0;
            FloatVector b2 = a0;
            FloatVector b3 = a0;
            int c = 0;
            for (; c < bound; c += F.length()) {
                FloatVector x = FloatVector.fromArray(F, k, k0 + c);
                FloatVector y = FloatVector.fromArray(F, k, k1 + c);
                FloatVector q0 = FloatVector.fromArray(F, q, qOff + c);
                a0 = q0.fma(x, a0);
                b0 = q0.fma(y, b0);
                FloatVector q1 = FloatVector.fromArray(F, q, qOff + dim + c);
                a1 = q1.fma(x, a1);
                b1 = q1.fma(y, b1);
                FloatVector q2 = FloatVector.fromArray(F, q, qOff + 2 * dim + c);
                a2 = q2.fma(x, a2);
                b2 = q2.fma(y, b2);
                FloatVector q3 = FloatVector.fromArray(F, q, qOff + 3 * dim + c);
                a3 = q3.fma(x, a3);
                b3 = q3.fma(y, b3);
            }
            s[sOff + t] = (a0.reduceLanes(VectorOperators.ADD) + tailDot(q, qOff, k, k0, c, dim)) * scale;
            s[sOff + b + t] = (a1.reduceLanes(VectorOperators.ADD) + tailDot(q, qOff + dim, k, k0, c, dim)) * scale;
            s[sOff + 2 * b + t] = (a2.reduceLanes(VectorOperators.ADD) + tailDot(q, qOff + 2 * dim, k, k0, c, dim)) * scale;
            s[sOff + 3 * b + t] = (a3.reduceLanes(VectorOperators.ADD) + tailDot(q, qOff + 3 * dim, k, k0, c, dim)) * scale;
            s[sOff + t + 1] = (b0.reduceLanes(VectorOperators.ADD) + tailDot(q, qOff, k, k1, c, dim)) * scale;
            s[sOff + b + t + 1] = (b1.reduceLanes(VectorOperators.ADD) + tailDot(q, qOff + dim, k, k1, c, dim)) * scale;
            s[sOff + 2 * b + t + 1] = (b2.reduceLanes(VectorOperators.ADD) + tailDot(q, qOff + 2 * dim, k, k1, c, dim)) * scale;
            s[sOff + 3 * b + t + 1] = (b3.reduceLanes(VectorOperators.ADD) + tailDot(q, qOff + 3 * dim, k, k1, c, dim)) * scale;
        }
        for (; t < n; t++) {
            for (int h = 0; h < 4; h++) {
                s[sOff + h * b + t] = dot(q, qOff + h * dim, k, kOff + t * dim, dim) * scale;
            }
        }
    }

    /** Channels {@code from..dim} of q . k, for head sizes that are not a multiple of the vector. */
    private static float tailDot(float[] q, int qOff, float[] k, int kOff, int from, int dim) {
        float r = 0;
        for (int c = from; c < dim; c++) {
            r += q[qOff + c] * k[kOff + c];
        }
        return r;
    }

    /**
     * Online softmax step of state {@code st} over logits {@code s[off..off+n)}: replaces them by
     * exp(s - m_new), updates m and d, and returns the factor exp(m_old - m_new) for the old output.
     */
    private static float softmaxUpdate(float[] m, float[] d, int st, float[] s, int off, int n) {
        // Lane-wise max, one reduction: a scalar max chain over the block is latency-bound.
        int bound = F.loopBound(n);
        FloatVector lanesMax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int t = 0;
        for (; t < bound; t += F.length()) {
            lanesMax = lanesMax.max(FloatVector.fromArray(F, s, off + t));
        }
        float blockMax = lanesMax.reduceLanes(VectorOperators.MAX);
        for (; t < n; t++) {
            blockMax = Math.max(blockMax, s[off + t]);
        }
        float mNew = Math.max(m[st], blockMax);
        // exp(-inf - finite) = 0: an empty state contributes nothing.
        float correction = (float) Math.exp(m[st] - mNew);
        d[st] = d[st] * correction + expInPlace(s, off, n, mNew);
        m[st] = mNew;
        return correction;
    }

    /** x[off..off+n) = exp(x - max); returns their sum. */
    private static float expInPlace(float[] x, int off, int n, float max) {
        int t = 0;
        int bound = F.loopBound(n);
        FloatVector lanesSum = FloatVector.zero(F);
        for (; t < bound; t += F.length()) {
            FloatVector e = FloatVector.fromArray(F, x, off + t).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(x, off + t);
            lanesSum = lanesSum.add(e);
        }
        float sum = lanesSum.reduceLanes(VectorOperators.ADD);
        for (; t < n; t++) {
            x[off + t] = (float) Math.exp(x[off + t] - max);
            sum += x[off + t];
        }
        return sum;
    }

    /**
     * For heads h = 0..3 at {@code oOff + h * dim}: o_h = o_h * correction[g + h] + sum_t p_h[t] * v[t].
     * Four channel vectors at a time where there are 32 vector registers (16 accumulators, eight loads per 16
     * FMAs), then two (eight accumulators, six loads per eight FMAs).
     */
    private static void accumulate4(float[] o, int oOff, float[] correction, int g, float[] p, int pOff,
                                    float[] v, int n, int dim) {
        int c = 0;
        int lanes = F.length();
        int b = Workspace.BLOCK;
        for (; MANY_REGISTERS && c + 4 * lanes <= dim; c += 4 * lanes) {
            int c1 = c + lanes;
            int c2 = c1 + lanes;
            int c3 = c2 + lanes;
            FloatVector a0 = FloatVector.fromArray(F, o, oOff + c).mul(correction[g]);
            FloatVector a1 = FloatVector.fromArray(F, o, oOff + dim + c).mul(correction[g + 1]);
            FloatVector a2 = FloatVector.fromArray(F, o, oOff + 2 * dim + c).mul(correction[g + 2]);
            FloatVector a3 = FloatVector.fromArray(F, o, oOff + 3 * dim + c).mul(correction[g + 3]);
            FloatVector b0 = FloatVector.fromArray(F, o, oOff + c1).mul(correction[g]);
            FloatVector b1 = FloatVector.fromArray(F, o, oOff + dim + c1).mul(correction[g + 1]);
            FloatVector b2 = FloatVector.fromArray(F, o, oOff + 2 * dim + c1).mul(correction[g + 2]);
            FloatVector b3 = FloatVector.fromArray(F, o, oOff + 3 * dim + c1).mul(correction[g + 3]);
            FloatVector e0 = FloatVector.fromArray(F, o, oOff + c2).mul(correction[g]);
            FloatVector e1 = FloatVector.fromArray(F, o, oOff + dim + c2).mul(correction[g + 1]);
            FloatVector e2 = FloatVector.fromArray(F, o, oOff + 2 * dim + c2).mul(correction[g + 2]);
            FloatVector e3 = FloatVector.fromArray(F, o, oOff + 3 * dim + c2).mul(correction[g + 3]);
            FloatVector f0 = FloatVector.fromArray(F, o, oOff + c3).mul(correction[g]);
            FloatVector f1 = FloatVector.fromArray(F, o, oOff + dim + c3).mul(correction[g + 1]);
            FloatVector f2 = FloatVector.fromArray(F, o, oOff + 2 * dim + c3).mul(correction[g + 2]);
            FloatVector f3 = FloatVector.fromArray(F, o, oOff + 3 * dim + c3).mul(correction[g + 3]);
            for (int t = 0; t < n; t++) {
                FloatVector w = FloatVector.fromArray(F, v, t * dim + c);
                FloatVector x = FloatVector.fromArray(F, v, t * dim + c1);
                FloatVector y = FloatVector.fromArray(F, v, t * dim + c2);
                FloatVector z = FloatVector.fromArray(F, v, t * dim + c3);
                FloatVector p0 = FloatVector.broadcast(F, p[pOff + t]);
                a0 = w.fma(p0, a0);
                b0 = x.fma(p0, b0);
                e0 = y.fma(p0, e0);
                f0 = z.fma(p0, f0);
                FloatVector p1 = FloatVector.broadcast(F, p[pOff + b + t]);
                a1 = w.fma(p1, a1);
                b1 = x.fma(p1, b1);
                e1 = y.fma(p1, e1);
                f1 = z.fma(p1, f1);
                FloatVector p2 = FloatVector.broadcast(F, p[pOff + 2 * b + t]);
                a2 = w.fma(p2, a2);
                b2 = x.fma(p2, b2);
                e2 = y.fma(p2, e2);
                f2 = z.fma(p2, f2);
                FloatVector p3 = FloatVector.broadcast(F, p[pOff + 3 * b + t]);
                a3 = w.fma(p3, a3);
                b3 = x.fma(p3, b3);
                e3 = y.fma(p3, e3);
                f3 = z.fma(p3, f3);
            }
            a0.intoArray(o, oOff + c);
            a1.intoArray(o, oOff + dim + c);
            a2.intoArray(o, oOff + 2 * dim + c);
            a3.intoArray(o, oOff + 3 * dim + c);
            b0.intoArray(o, oOff + c1);
            b1.intoArray(o, oOff + dim + c1);
            b2.intoArray(o, oOff + 2 * dim + c1);
            b3.intoArray(o, oOff + 3 * dim + c1);
            e0.intoArray(o, oOff + c2);
            e1.intoArray(o, oOff + dim + c2);
            e2.intoArray(o, oOff + 2 * dim + c2);
            e3.intoArray(o, oOff + 3 * dim + c2);
            f0.intoArray(o, oOff + c3);
            f1.intoArray(o, oOff + dim + c3);
            f2.intoArray(o, oOff + 2 * dim + c3);
            f3.intoArray(o, oOff + 3 * dim + c3);
        }
        int bound = dim - 2 * lanes + 1;
        for (; c < bound; c += 2 * lanes) {
            int d = c + lanes;
            FloatVector a0 = FloatVector.fromArray(F, o, oOff + c).mul(correction[g]);
            FloatVector a1 = FloatVector.fromArray(F, o, oOff + dim + c).mul(correction[g + 1]);
            FloatVector a2 = FloatVector.fromArray(F, o, oOff + 2 * dim + c).mul(correction[g + 2]);
            FloatVector a3 = FloatVector.fromArray(F, o, oOff + 3 * dim + c).mul(correction[g + 3]);
            FloatVector b0 = FloatVector.fromArray(F, o, oOff + d).mul(correction[g]);
            FloatVector b1 = FloatVector.fromArray(F, o, oOff + dim + d).mul(correction[g + 1]);
            FloatVector b2 = FloatVector.fromArray(F, o, oOff + 2 * dim + d).mul(correction[g + 2]);
            FloatVector b3 = FloatVector.fromArray(F, o, oOff + 3 * dim + d).mul(correction[g + 3]);
            for (int t = 0; t < n; t++) {
                FloatVector x = FloatVector.fromArray(F, v, t * dim + c);
                FloatVector y = FloatVector.fromArray(F, v, t * dim + d);
                FloatVector p0 = FloatVector.broadcast(F, p[pOff + t]);
                a0 = x.fma(p0, a0);
                b0 = y.fma(p0, b0);
                FloatVector p1 = FloatVector.broadcast(F, p[pOff + b + t]);
                a1 = x.fma(p1, a1);
                b1 = y.fma(p1, b1);
                FloatVector p2 = FloatVector.broadcast(F, p[pOff + 2 * b + t]);
                a2 = x.fma(p2, a2);
                b2 = y.fma(p2, b2);
                FloatVector p3 = FloatVector.broadcast(F, p[pOff + 3 * b + t]);
                a3 = x.fma(p3, a3);
                b3 = y.fma(p3, b3);
            }
            a0.intoArray(o, oOff + c);
            a1.intoArray(o, oOff + dim + c);
            a2.intoArray(o, oOff + 2 * dim + c);
            a3.intoArray(o, oOff + 3 * dim + c);
            b0.intoArray(o, oOff + d);
            b1.intoArray(o, oOff + dim + d);
            b2.intoArray(o, oOff + 2 * dim + d);
            b3.intoArray(o, oOff + 3 * dim + d);
        }
        for (int h = 0; h < 4; h++) {
            scalarTail(o, oOff + h * dim, correction[g + h], p, pOff + h * b, v, n, dim, c);
        }
    }

    /** o = o * correction + sum_t p[t] * v[t]. */
    private static void accumulate(float[] o, int oOff, float correction, float[] p, int pOff, float[] v, int n, int dim) {
        int c = 0;
        int bound = F.loopBound(dim);
        for (; c < bound; c += F.length()) {
            FloatVector acc = FloatVector.fromArray(F, o, oOff + c).mul(correction);
            for (int t = 0; t < n; t++) {
                acc = FloatVector.fromArray(F, v, t * dim + c).fma(FloatVector.broadcast(F, p[pOff + t]), acc);
            }
            acc.intoArray(o, oOff + c);
        }
        scalarTail(o, oOff, correction, p, pOff, v, n, dim, c);
    }

    /** Channels {@code from..dim} of {@link #accumulate}, for head sizes that are not a multiple of the vector. */
    private static void scalarTail(float[] o, int oOff, float correction, float[] p, int pOff, float[] v, int n,
                                   int dim, int from) {
        for (int c = from; c < dim; c++) {
            float acc = o[oOff + c] * correction;
            for (int t = 0; t < n; t++) {
                acc += p[pOff + t] * v[t * dim + c];
            }
            o[oOff + c] = acc;
        }
    }

    /** Dot product of {@code n} floats. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int c = 0;
        int bound = F.loopBound(n);
        FloatVector acc = FloatVector.zero(F);
        for (; c < bound; c += F.length()) {
            acc = FloatVector.fromArray(F, a, aOff + c).fma(FloatVector.fromArray(F, b, bOff + c), acc);
        }
        float r = acc.reduceLanes(VectorOperators.ADD);
        for (; c < n; c++) {
            r += a[aOff + c] * b[bOff + c];
        }
        return r;
    }
}
