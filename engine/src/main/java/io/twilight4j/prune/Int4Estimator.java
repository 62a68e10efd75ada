package io.twilight4j.prune;

import io.twilight4j.attention.DecodeKernel;
import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.Fp16;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.Int8Query;
import io.twilight4j.kv.KvLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Twilight's score estimate (the SpGEMV): q.k^ / sqrt(d) over the candidates, with k^ the 4-bit key
 * and q the 8-bit query ({@link Int8Query}: q = c * qs). Since k^_i = code_i * scale + min, q.k^ =
 * qs * (scale * (c . code) + min * sum(c)): the codes are unpacked once per token and dotted with every
 * query head of the group. The dot products are sums of integers below 2^24, exact in float arithmetic
 * in any order: the same sums the OpenCL kernel gets from integer dot-product instructions, scaled by
 * the same float operations in the same order.
 */
public final class Int4Estimator {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.length() * 8));

    private Int4Estimator() {
    }

    /**
     * Writes the estimated scores of the group's {@code heads} query heads for candidates
     * {@code tokens[0..n)} to {@code scores[g * n + i]}; query head g's codes are at
     * {@code queryCodes[(firstHead + g) * headDim..]}, its scale at {@code queryScales[firstHead + g]},
     * and scores are scaled by {@code scoreScale} (1/sqrt(d)).
     */
    public static void estimate(HostKvCache cache, int layer, int[] pageTable, int kvHead, int[] tokens, int n,
                                float[] queryCodes, float[] queryScales, int firstHead, int heads, float scoreScale,
                                Workspace ws, float[] scores, int scoresOff) {
        KvLayout layout = cache.layout();
        int dim = layout.shape().headDim();
        int half = dim / 2;
        int pageTokens = layout.shape().pageTokens();
        HostKvCache.Layer ly = cache.layer(layer);
        // Query rows permuted to the order unpack writes the channels in.
        float[] qp = ws.queryScratch;
        float[] qSum = ws.corrections;
        boolean wordWise = half % WORD_BYTES == 0;
        for (int g = 0; g < heads; g++) {
            float sum = 0;
            int qOff = (firstHead + g) * dim;
            for (int c = 0; c < dim; c++) {
                sum += queryCodes[qOff + c];
                qp[g * dim + (wordWise ? wordPosition(c) : nibblePosition(c, half))] = queryCodes[qOff + c];
            }
            qSum[g] = sum;
        }
        // A block of tokens is unpacked to float rows, then scored four heads at a time like attention.
        float[] codes = ws.keyBlock;
        float[] params = ws.valueBlock;
        float[] dots = ws.logits;
        for (int b = 0; b < n; b += Workspace.BLOCK) {
            int m = Math.min(Workspace.BLOCK, n - b);
            int pageStart = Integer.MIN_VALUE / 2;
            int page = 0;
            for (int t = 0; t < m; t++) {
                int pos = tokens[b + t];
                // Candidates come in runs of whole pages: divide only when the page changes.
                if (pos - pageStart >= pageTokens || pos < pageStart) {
                    int logical = pos / pageTokens;
                    pageStart = logical * pageTokens;
                    page = pageTable[logical];
                }
                int slot = pos - pageStart;
                if (wordWise) {
                    unpackWords(ly, layout.codeOffset(page, kvHead, slot), codes, t * dim, half);
                } else {
                    unpack(ly, layout.codeOffset(page, kvHead, slot), codes, t * dim, half);
                }
                long paramByte = 2 * layout.paramOffset(page, kvHead, slot);
                params[2 * t] = Fp16.get(ly.codeParams(), paramByte);
                params[2 * t + 1] = Fp16.get(ly.codeParams(), paramByte + 2);
            }
            DecodeKernel.scores(qp, 0, heads, dim, codes, m, dots, 0, Workspace.BLOCK, 1f);
            for (int g = 0; g < heads; g++) {
                int row = scoresOff + g * n + b;
                for (int t = 0; t < m; t++) {
                    float dot = params[2 * t] * dots[g * Workspace.BLOCK + t] + params[2 * t + 1] * qSum[g];
                    scores[row + t] = dot * queryScales[firstHead + g] * scoreScale;
                }
            }
        }
    }

    /** Code bytes per int-vector load of {@link #unpackWords}. */
    private static final int WORD_BYTES = 4 * I.length();

    /** Where {@link #unpack} writes channel c: even channels (low nibbles) first, then odd ones. */
    private static int nibblePosition(int c, int half) {
        return (c % 2) * half + c / 2;
    }

    /**
     * Where {@link #unpackWords} writes channel c. A load of WORD_BYTES bytes holds channels base + 8L + j
     * in nibble j of int lane L; shifting by 4j gives one vector per j, so channel base + 8L + j goes to
     * base + j * lanes + L.
     */
    private static int wordPosition(int c) {
        int lanes = I.length();
        int base = c / (2 * WORD_BYTES) * (2 * WORD_BYTES);
        int inWord = c - base;
        return base + (inWord % 8) * lanes + inWord / 8;
    }

    /**
     * One token's {@code half} code bytes as floats in {@link #wordPosition} order: one int-vector load
     * per WORD_BYTES bytes and a shift, mask and convert per nibble, instead of widening bytes to ints.
     */
    private static void unpackWords(HostKvCache.Layer ly, long codeOff, float[] codes, int off, int half) {
        int lanes = I.length();
        for (int k = 0; k < half; k += WORD_BYTES) {
            IntVector words = IntVector.fromMemorySegment(I, ly.codes(), codeOff + k, ByteOrder.LITTLE_ENDIAN);
            int base = off + 2 * k;
            for (int j = 0; j < 8; j++) {
                ((FloatVector) words.lanewise(VectorOperators.LSHR, 4 * j).and(15).convert(VectorOperators.I2F, 0))
                        .intoArray(codes, base + j * lanes);
            }
        }
    }

    /** One token's {@code half} code bytes as floats: low nibbles to {@code codes[off..]}, high nibbles after them. */
    private static void unpack(HostKvCache.Layer ly, long codeOff, float[] codes, int off, int half) {
        int bound = B.loopBound(half);
        int c = 0;
        for (; c < bound; c += B.length()) {
            IntVector bytes = (IntVector) ByteVector.fromMemorySegment(B, ly.codes(), codeOff + c, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.B2I, I, 0);
            ((FloatVector) bytes.and(15).convert(VectorOperators.I2F, 0)).intoArray(codes, off + c);
            ((FloatVector) bytes.lanewise(VectorOperators.LSHR, 4).and(15).convert(VectorOperators.I2F, 0)).intoArray(codes, off + half + c);
        }
        for (; c < half; c++) {
            int b = ly.codes().get(java.lang.foreign.ValueLayout.JAVA_BYTE, codeOff + c) & 0xff;
            codes[off + c] = b & 15;
            codes[off + half + c] = b >>> 4;
        }
    }
}
