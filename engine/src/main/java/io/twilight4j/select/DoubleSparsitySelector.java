package io.twilight4j.select;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.KvLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Double Sparsity: ranks tokens by q.k over the r calibrated label channels, keys taken from the
 * 2-bit label cache, and takes the best B0 tokens. Each label byte holds four 2-bit codes. The common
 * GQA group of four, with a token's labels whole int lanes that tile a vector (r = 16, 32, 64, ...), is
 * scored by vector FMAs over the codes in place ({@link #groupOfFourVector}); other shapes sum r/4
 * lookups in per-query tables built once per call.
 */
public final class DoubleSparsitySelector extends TokenScoreSelector {

    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LANE_WORD = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** 2-bit codes per int lane. */
    private static final int CODES_PER_INT = 16;
    /** Heads of the vector path's group. */
    private static final int GROUP = 4;

    /** A Double Sparsity selector with budget {@code budgetTokens} (B0). */
    public DoubleSparsitySelector(int budgetTokens) {
        super(budgetTokens);
    }

    @Override
    void scoreTokens(HostKvCache cache, int layer, int[] pageTable, int length, int kvHead,
                     float[] q, int qOff, int heads, Workspace ws, float[] scores) {
        if (cache.labelChannels() == null) {
            throw new IllegalStateException("ds selector: the KV cache has no label cache (create it with label channels)");
        }
        KvLayout layout = cache.layout();
        int dim = layout.shape().headDim();
        int pageTokens = layout.shape().pageTokens();
        int[] channels = cache.labelChannels().of(layer, kvHead);
        int bytes = channels.length / 4;
        int ints = bytes / 4;
        if (heads == GROUP && bytes % 4 == 0 && ints > 0 && I.length() % ints == 0 && F.length() == I.length()
                && GROUP * CODES_PER_INT * F.length() <= ws.table.length) {
            groupOfFourVector(cache, layer, pageTable, length, kvHead, q, qOff, channels, ws, scores);
            return;
        }
        float[] table = ws.table;
        float[] qSum = ws.queryScratch;
        // table[(b * 256 + v) * heads + g]: the group's heads side by side, so one lookup serves the whole
        // group (for four heads, one vector load).
        for (int g = 0; g < heads; g++) {
            float sum = 0;
            for (int b = 0; b < bytes; b++) {
                for (int v = 0; v < 256; v++) {
                    float acc = 0;
                    for (int s = 0; s < 4; s++) {
                        acc += q[qOff + g * dim + channels[4 * b + s]] * ((v >>> (2 * s)) & 3);
                    }
                    table[(b * 256 + v) * heads + g] = acc;
                }
                for (int s = 0; s < 4; s++) {
                    sum += q[qOff + g * dim + channels[4 * b + s]];
                }
            }
            qSum[g] = sum;
        }
        HostKvCache.Layer ly = cache.layer(layer);
        float[] acc = ws.corrections;
        // Page by page: one page-table lookup per page; a page's labels and params are contiguous.
        for (int p = 0, first = 0; first < length; p++, first += pageTokens) {
            int page = pageTable[p];
            int n = Math.min(pageTokens, length - first);
            long labels = layout.labelOffset(page, kvHead, 0);
            long params = 2 * layout.paramOffset(page, kvHead, 0);
            for (int slot = 0; slot < n; slot++, labels += bytes, params += 4) {
                int pair = Fp16.getPair(ly.labelParams(), params);
                float scale = Fp16.first(pair);
                float min = Fp16.second(pair);
                float best;
                if (heads == 4) {
                    best = groupOfFour(ly, labels, bytes, table, scale, min, qSum);
                } else {
                    java.util.Arrays.fill(acc, 0, heads, 0f);
                    for (int b = 0; b < bytes; b++) {
                        int at = (b * 256 + (ly.labels().get(ValueLayout.JAVA_BYTE, labels + b) & 0xff)) * heads;
                        for (int g = 0; g < heads; g++) {
                            acc[g] += table[at + g];
                        }
                    }
                    best = Float.NEGATIVE_INFINITY;
                    for (int g = 0; g < heads; g++) {
                        best = Math.max(best, scale * acc[g] + min * qSum[g]);
                    }
                }
                scores[first + slot] = best;
            }
        }
    }

    /**
     * Scores for a group of four heads, a token's labels being {@code ints} whole int lanes (a power of two
     * dividing the vector): a vector load holds the labels of {@code lanes / ints} tokens, int lane k of a
     * token holding channels {@code channels[16k + i]} at bits 2i. Code i is taken masked in place (code *
     * 4^i; the top one shifted down) and meets a query vector scaled by 4^-i, lane by lane: one mask, one
     * conversion and four FMAs per code position, no table lookups; each token's lanes are then folded.
     * Powers of two keep the products what they were; the sums go in another order than the table path's.
     */
    private static void groupOfFourVector(HostKvCache cache, int layer, int[] pageTable, int length, int kvHead,
                                          float[] q, int qOff, int[] channels, Workspace ws, float[] scores) {
        KvLayout layout = cache.layout();
        int dim = layout.shape().headDim();
        int pageTokens = layout.shape().pageTokens();
        int bytes = channels.length / 4;
        int ints = bytes / 4;
        int lanes = F.length();
        int perVector = lanes / ints;
        // qv[(g * 16 + i) * lanes + L] = q_g[channels[16 (L % ints) + i]] * 4^-i (1 for i = 15).
        float[] qv = ws.table;
        float[] qSum = ws.queryScratch;
        for (int g = 0; g < GROUP; g++) {
            float sum = 0;
            for (int c : channels) {
                sum += q[qOff + g * dim + c];
            }
            qSum[g] = sum;
            for (int i = 0; i < CODES_PER_INT; i++) {
                float factor = i == CODES_PER_INT - 1 ? 1f : Math.scalb(1f, -2 * i);
                for (int l = 0; l < lanes; l++) {
                    qv[(g * CODES_PER_INT + i) * lanes + l] = q[qOff + g * dim + channels[CODES_PER_INT * (l % ints) + i]] * factor;
                }
            }
        }
        // Lane sums of the four heads, [g][lane] (logits holds groupHeads * BLOCK >= 4 * lanes floats).
        float[] sums = ws.logits;
        HostKvCache.Layer ly = cache.layer(layer);
        MemorySegment labelSeg = ly.labels();
        for (int p = 0, first = 0; first < length; p++, first += pageTokens) {
            int page = pageTable[p];
            int n = Math.min(pageTokens, length - first);
            long labels = layout.labelOffset(page, kvHead, 0);
            long params = 2 * layout.paramOffset(page, kvHead, 0);
            int slot = 0;
            for (; slot + perVector <= n; slot += perVector) {
                IntVector w = IntVector.fromMemorySegment(I, labelSeg, labels + (long) slot * bytes, ByteOrder.LITTLE_ENDIAN);
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                int stride = CODES_PER_INT * lanes;
                for (int i = 0; i < CODES_PER_INT; i++) {
                    // Code 15 shifted down (its mask would take the sign bit), the others masked in place.
                    IntVector codes = i == CODES_PER_INT - 1 ? w.lanewise(VectorOperators.LSHR, 2 * i) : w.and(3 << (2 * i));
                    FloatVector x = (FloatVector) codes.convert(VectorOperators.I2F, 0);
                    int at = i * lanes;
                    a0 = x.fma(FloatVector.fromArray(F, qv, at), a0);
                    a1 = x.fma(FloatVector.fromArray(F, qv, stride + at), a1);
                    a2 = x.fma(FloatVector.fromArray(F, qv, 2 * stride + at), a2);
                    a3 = x.fma(FloatVector.fromArray(F, qv, 3 * stride + at), a3);
                }
                // Fold each token's lanes (a butterfly): then every lane of a token holds the token's sum.
                for (int d = ints / 2; d >= 1; d /= 2) {
                    VectorShuffle<Float> swap = SWAP[Integer.numberOfTrailingZeros(d)];
                    a0 = a0.add(a0.rearrange(swap));
                    a1 = a1.add(a1.rearrange(swap));
                    a2 = a2.add(a2.rearrange(swap));
                    a3 = a3.add(a3.rearrange(swap));
                }
                a0.intoArray(sums, 0);
                a1.intoArray(sums, lanes);
                a2.intoArray(sums, 2 * lanes);
                a3.intoArray(sums, 3 * lanes);
                for (int j = 0; j < perVector; j++) {
                    long at = params + 4L * (slot + j);
                    int pair = Fp16.getPair(ly.labelParams(), at);
                    float scale = Fp16.first(pair);
                    float min = Fp16.second(pair);
                    int l = j * ints;
                    scores[first + slot + j] = Math.max(
                            Math.max(scale * sums[l] + min * qSum[0], scale * sums[lanes + l] + min * qSum[1]),
                            Math.max(scale * sums[2 * lanes + l] + min * qSum[2], scale * sums[3 * lanes + l] + min * qSum[3]));
                }
            }
            for (; slot < n; slot++) {
                scores[first + slot] = scalarGroupOfFour(ly, labels + (long) slot * bytes, params + 4L * slot, qv, lanes,
                        ints, qSum);
            }
        }
    }

    /** Lane L to lane L ^ 2^k: the fold's shuffles, k < log2(lanes). */
    private static final VectorShuffle<Float>[] SWAP = swaps();

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static VectorShuffle<Float>[] swaps() {
        int steps = Integer.numberOfTrailingZeros(F.length());
        VectorShuffle<Float>[] s = new VectorShuffle[steps];
        for (int k = 0; k < steps; k++) {
            int d = 1 << k;
            s[k] = VectorShuffle.fromOp(F, l -> l ^ d);
        }
        return s;
    }

    /**
     * One token of {@link #groupOfFourVector} (a page's last tokens that fill no vector), from the same
     * scaled query vectors: its int lane k is lane k of them.
     */
    private static float scalarGroupOfFour(HostKvCache.Layer ly, long labels, long params, float[] qv, int lanes, int ints,
                                           float[] qSum) {
        float best = Float.NEGATIVE_INFINITY;
        int pair = Fp16.getPair(ly.labelParams(), params);
        float scale = Fp16.first(pair);
        float min = Fp16.second(pair);
        for (int g = 0; g < GROUP; g++) {
            float acc = 0;
            for (int k = 0; k < ints; k++) {
                int w = ly.labels().get(LANE_WORD, labels + 4L * k);
                for (int i = 0; i < CODES_PER_INT; i++) {
                    int code = i == CODES_PER_INT - 1 ? w >>> (2 * i) : w & (3 << (2 * i));
                    acc += code * qv[(g * CODES_PER_INT + i) * lanes + k];
                }
            }
            best = Math.max(best, scale * acc + min * qSum[g]);
        }
        return best;
    }

    /**
     * A group of four where the vector path does not apply (r not a multiple of 16, or wider than a
     * vector), in scalar code: labels read eight bytes at a time, and two sets of
     * four sums (even and odd bytes) halve the chains of dependent adds (1.6 instead of 5.6 ms per KV
     * head at 32k tokens, r = 64, on this project's Zen 3 machine). A 4-lane vector version was as fast
     * alone but fell to the Vector API's slow fallback when run after other policies in one JVM (its
     * 128-bit species beside everyone else's 256-bit ones: 44 ms a step).
     */
    private static float groupOfFour(HostKvCache.Layer ly, long labels, int bytes, float[] table, float scale, float min,
                                     float[] qSum) {
        float e0 = 0;
        float e1 = 0;
        float e2 = 0;
        float e3 = 0;
        float o0 = 0;
        float o1 = 0;
        float o2 = 0;
        float o3 = 0;
        int b = 0;
        for (; b + 8 <= bytes; b += 8) {
            long word = ly.labels().get(WORD, labels + b);
            // Byte j of the word is label byte b + j.
            for (int j = 0; j < 8; j += 2) {
                int at = ((b + j) * 256 + ((int) (word >>> (8 * j)) & 0xff)) * 4;
                int bt = ((b + j + 1) * 256 + ((int) (word >>> (8 * j + 8)) & 0xff)) * 4;
                e0 += table[at];
                e1 += table[at + 1];
                e2 += table[at + 2];
                e3 += table[at + 3];
                o0 += table[bt];
                o1 += table[bt + 1];
                o2 += table[bt + 2];
                o3 += table[bt + 3];
            }
        }
        for (; b < bytes; b++) {
            int at = (b * 256 + (ly.labels().get(ValueLayout.JAVA_BYTE, labels + b) & 0xff)) * 4;
            e0 += table[at];
            e1 += table[at + 1];
            e2 += table[at + 2];
            e3 += table[at + 3];
        }
        return Math.max(Math.max(scale * (e0 + o0) + min * qSum[0], scale * (e1 + o1) + min * qSum[1]),
                Math.max(scale * (e2 + o2) + min * qSum[2], scale * (e3 + o3) + min * qSum[3]));
    }
}
