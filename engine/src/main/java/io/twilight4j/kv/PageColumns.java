package io.twilight4j.kv;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Twilight's 4-bit keys in page columns ({@link KvLayout.CodeOrder#PAGE_COLUMNS}), the host cache's order: in
 * a (page, KV head) block, channel c's codes of the page's tokens lie side by side, {@code channelBytes} bytes
 * per channel, token t in nibble t % 2 of byte t / 2; a little-endian int holds eight consecutive tokens.
 * <p>
 * The CPU scores whole pages with lanes = tokens ({@link #pageDots}): per channel, a vector of consecutive
 * tokens' codes (one word broadcast, shifted per lane, masked, converted) meets one broadcast query value per
 * head, and each lane ends holding its token's dot product: no lane sums, no permuted query (Quest's bound
 * columns go through the same kernels, pages of a sixteen-page group as the tokens). A single token (a partly
 * filled page; scattered candidates in a cache without token rows) is dotted with lanes = channels instead
 * ({@link #tokenDots}): a vector load holds whole words of several channels, and the query it meets
 * ({@link #prepareTokenQueries}) is zero in the lanes that hold the other tokens' words.
 * <p>
 * Products are integers (8-bit query codes times codes in [0, 15]) and their sums stay below 2^24, so every
 * path gets the same exact sums, in any order, as the OpenCL kernels' integer dot products over token rows.
 */
public final class PageColumns {

    /** The page kernel's lanes: the preferred width, up to eight ints (a word holds eight tokens). */
    private static final VectorSpecies<Integer> I =
            IntVector.SPECIES_PREFERRED.length() > 8 ? IntVector.SPECIES_256 : IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, I.vectorShape());
    private static final int LANES = I.length();
    /** Tokens one {@link #pageDots} call scores: two vectors of them. */
    public static final int RUN = 2 * LANES;
    /** Tokens per int word. */
    private static final int WORD_TOKENS = 8;
    /** Per lane, the shift of its token's nibble in the word: tokens 0.. and LANES.. of a run. */
    private static final IntVector FIRST_SHIFTS = nibbleShifts(0);
    private static final IntVector SECOND_SHIFTS = nibbleShifts(LANES);
    /** Byte offset of the second vector's word from the first's (the same word when a vector is four tokens). */
    private static final int SECOND_WORD = 4 * (LANES / WORD_TOKENS);

    private PageColumns() {
    }

    private static IntVector nibbleShifts(int firstToken) {
        int[] shifts = IntStream.range(0, LANES).map(l -> 4 * ((firstToken + l) % WORD_TOKENS)).toArray();
        return IntVector.fromArray(I, shifts, 0);
    }

    /** Writes {@code code} (in [0, 15]) as token {@code slot}'s code of channel {@code channel} in the block at {@code block}. */
    public static void put(MemorySegment seg, long block, int channelBytes, int slot, int channel, int code) {
        long at = block + (long) channel * channelBytes + slot / 2;
        int shift = 4 * (slot % 2);
        byte old = seg.get(ValueLayout.JAVA_BYTE, at);
        seg.set(ValueLayout.JAVA_BYTE, at, (byte) ((old & ~(15 << shift)) | code << shift));
    }

    /**
     * Writes token {@code slot}'s {@code channels} codes, a row packed as {@link Nibbles} packs it (channel j in
     * nibble j % 2 of {@code row[j / 2]}), into the block at {@code block}.
     */
    public static void putRow(MemorySegment seg, long block, int channelBytes, int slot, byte[] row, int channels) {
        for (int j = 0; j < channels; j++) {
            put(seg, block, channelBytes, slot, j, Nibbles.get(row, 0, j));
        }
    }

    /** Token {@code slot}'s code of channel {@code channel} in the block at {@code block}. */
    public static int get(MemorySegment seg, long block, int channelBytes, int slot, int channel) {
        int b = seg.get(ValueLayout.JAVA_BYTE, block + (long) channel * channelBytes + slot / 2);
        return (b >> (4 * (slot % 2))) & 15;
    }

    /**
     * Whether pages of {@code pageTokens} tokens are scored by {@link #pageDots}: whole runs of {@link #RUN}
     * tokens, and a power of two (channels a shift apart: 5% faster than a multiply in JMH int4Estimate).
     */
    public static boolean scoresPages(int pageTokens) {
        return LANES >= 4 && pageTokens % RUN == 0 && Integer.bitCount(pageTokens) == 1;
    }

    /**
     * {@code heads} query heads (rows of {@code dim} floats at {@code qOff}, channel order) by {@link #RUN}
     * consecutive tokens, four heads at a time: see {@link #pageDots4}; head g's sums from {@code s[sOff + g * sStride]}.
     */
    public static void pageDots(MemorySegment seg, long at, int channelBytes, int dim, float[] q, int qOff, int heads,
                                float[] s, int sOff, int sStride) {
        int g = 0;
        for (; g + 4 <= heads; g += 4) {
            pageDots4(seg, at, channelBytes, dim, q, qOff + g * dim, s, sOff + g * sStride, sStride);
        }
        for (; g < heads; g++) {
            pageDots1(seg, at, channelBytes, dim, q, qOff + g * dim, s, sOff + g * sStride);
        }
    }

    /**
     * Four query heads (rows of {@code dim} floats at {@code qOff}, channel order) by {@link #RUN} consecutive
     * tokens: {@code s[sOff + g * sStride + i]} = sum_c q_g[c] * code(token i, channel c), where the run's codes of
     * channel c start at byte {@code at + c * channelBytes} (a block's offset plus its first token / 2, that token
     * a multiple of eight; channelBytes a power of two).
     */
    private static void pageDots4(MemorySegment seg, long at, int channelBytes, int dim, float[] q, int qOff,
                                 float[] s, int sOff, int sStride) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        FloatVector b2 = a0;
        FloatVector b3 = a0;
        // One channel per iteration, its vectors declared outside the loop: C2 unrolled other forms of this
        // loop and scheduled every unrolled load first, spilling the accumulators (2x slower).
        FloatVector x;
        FloatVector y;
        FloatVector w;
        int log = Integer.numberOfTrailingZeros(channelBytes);
        for (int c = 0; c < dim; c++) {
            long off = at + ((long) c << log);
            x = codes(seg, off, FIRST_SHIFTS);
            y = codes(seg, off + SECOND_WORD, SECOND_SHIFTS);
            w = FloatVector.broadcast(F, q[qOff + c]);
            a0 = x.fma(w, a0);
            b0 = y.fma(w, b0);
            w = FloatVector.broadcast(F, q[qOff + dim + c]);
            a1 = x.fma(w, a1);
            b1 = y.fma(w, b1);
            w = FloatVector.broadcast(F, q[qOff + 2 * dim + c]);
            a2 = x.fma(w, a2);
            b2 = y.fma(w, b2);
            w = FloatVector.broadcast(F, q[qOff + 3 * dim + c]);
            a3 = x.fma(w, a3);
            b3 = y.fma(w, b3);
        }
        a0.intoArray(s, sOff);
        b0.intoArray(s, sOff + LANES);
        a1.intoArray(s, sOff + sStride);
        b1.intoArray(s, sOff + sStride + LANES);
        a2.intoArray(s, sOff + 2 * sStride);
        b2.intoArray(s, sOff + 2 * sStride + LANES);
        a3.intoArray(s, sOff + 3 * sStride);
        b3.intoArray(s, sOff + 3 * sStride + LANES);
    }

    /** {@link #pageDots4} for one head. */
    private static void pageDots1(MemorySegment seg, long at, int channelBytes, int dim, float[] q, int qOff,
                                 float[] s, int sOff) {
        FloatVector a = FloatVector.zero(F);
        FloatVector b = a;
        FloatVector w;
        int log = Integer.numberOfTrailingZeros(channelBytes);
        for (int c = 0; c < dim; c++) {
            long off = at + ((long) c << log);
            w = FloatVector.broadcast(F, q[qOff + c]);
            a = codes(seg, off, FIRST_SHIFTS).fma(w, a);
            b = codes(seg, off + SECOND_WORD, SECOND_SHIFTS).fma(w, b);
        }
        a.intoArray(s, sOff);
        b.intoArray(s, sOff + LANES);
    }

    /** The codes of the word at {@code off}, lane l's nibble at shift {@code shifts[l]}, as floats. */
    private static FloatVector codes(MemorySegment seg, long off, IntVector shifts) {
        return (FloatVector) IntVector.broadcast(I, seg.get(ValueLayout.JAVA_INT_UNALIGNED, off))
                .lanewise(VectorOperators.LSHR, shifts).and(15).convert(VectorOperators.I2F, 0);
    }

    /**
     * Words per channel for {@link #tokenDots} with pages of {@code pageTokens} tokens: 1 or 2 when a vector
     * load holds whole channels (pages of 8 or 16 tokens), else 0 (single tokens go through
     * {@link #tokenDotsScalar}).
     */
    public static int tokenWords(int pageTokens) {
        int words = pageTokens / WORD_TOKENS;
        return pageTokens % WORD_TOKENS == 0 && (words == 1 || words == 2) && LANES >= 2 * words ? words : 0;
    }

    /**
     * Floats {@link #prepareTokenQueries} writes for {@code heads} heads of {@code dim} channels and pages of
     * {@code words} words per channel.
     */
    public static int tokenQueryFloats(int heads, int dim, int words) {
        return words * heads * dim * words;
    }

    /**
     * The queries {@link #tokenDots} meets a token's words with: for each phase (the token's word in its channel,
     * slot / 8) and head g, {@code dim * words} floats where the lane of channel c's word {@code phase} holds
     * q_g[c] and the lanes of the channel's other words hold 0; phase p's head g starts at
     * {@code out[(p * heads + g) * dim * words]}.
     */
    public static void prepareTokenQueries(float[] q, int qOff, int heads, int dim, int words, float[] out) {
        for (int phase = 0; phase < words; phase++) {
            for (int g = 0; g < heads; g++) {
                int base = (phase * heads + g) * dim * words;
                for (int c = 0; c < dim; c++) {
                    for (int w = 0; w < words; w++) {
                        out[base + c * words + w] = w == phase ? q[qOff + g * dim + c] : 0f;
                    }
                }
            }
        }
    }

    /**
     * Dot products of token {@code slot} of the block at {@code block} (channels {@code 4 * words} bytes apart)
     * with {@code heads} query heads as {@link #prepareTokenQueries} wrote them: {@code s[sOff + g * sStride]}.
     * {@code words} from {@link #tokenWords}, not 0.
     */
    public static void tokenDots(MemorySegment seg, long block, int slot, int words, int dim, float[] qt, int heads,
                                 float[] s, int sOff, int sStride) {
        int phaseOff = slot / WORD_TOKENS * heads * dim * words;
        int shift = 4 * (slot % WORD_TOKENS);
        int perLoad = LANES / words;
        int bound = dim - dim % perLoad;
        int channelBytes = 4 * words;
        int g = 0;
        for (; g + 2 <= heads; g += 2) {
            int q0 = phaseOff + g * dim * words;
            int q1 = q0 + dim * words;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            for (int c = 0; c < bound; c += perLoad) {
                FloatVector x = wordCodes(seg, block + (long) c * channelBytes, shift);
                a0 = x.fma(FloatVector.fromArray(F, qt, q0 + c * words), a0);
                a1 = x.fma(FloatVector.fromArray(F, qt, q1 + c * words), a1);
            }
            s[sOff + g * sStride] = a0.reduceLanes(VectorOperators.ADD)
                    + scalarChannels(seg, block, channelBytes, slot, bound, dim, qt, q0 + slot / WORD_TOKENS, words);
            s[sOff + (g + 1) * sStride] = a1.reduceLanes(VectorOperators.ADD)
                    + scalarChannels(seg, block, channelBytes, slot, bound, dim, qt, q1 + slot / WORD_TOKENS, words);
        }
        for (; g < heads; g++) {
            int q0 = phaseOff + g * dim * words;
            FloatVector a0 = FloatVector.zero(F);
            for (int c = 0; c < bound; c += perLoad) {
                FloatVector x = wordCodes(seg, block + (long) c * channelBytes, shift);
                a0 = x.fma(FloatVector.fromArray(F, qt, q0 + c * words), a0);
            }
            s[sOff + g * sStride] = a0.reduceLanes(VectorOperators.ADD)
                    + scalarChannels(seg, block, channelBytes, slot, bound, dim, qt, q0 + slot / WORD_TOKENS, words);
        }
    }

    /** The nibble at {@code shift} of each of the LANES words at {@code off}, as floats. */
    private static FloatVector wordCodes(MemorySegment seg, long off, int shift) {
        return (FloatVector) IntVector.fromMemorySegment(I, seg, off, ByteOrder.LITTLE_ENDIAN)
                .lanewise(VectorOperators.LSHR, shift).and(15).convert(VectorOperators.I2F, 0);
    }

    /** Channels {@code from..dim} of a token's dot product, query value of channel c at {@code qt[qOff + c * stride]}. */
    private static float scalarChannels(MemorySegment seg, long block, int channelBytes, int slot, int from, int dim,
                                        float[] qt, int qOff, int stride) {
        float r = 0;
        for (int c = from; c < dim; c++) {
            r += qt[qOff + c * stride] * get(seg, block, channelBytes, slot, c);
        }
        return r;
    }

    /**
     * Dot products of token {@code slot} of the block at {@code block} with {@code heads} query heads (rows of
     * {@code dim} floats at {@code qOff}, channel order), for any page size: {@code s[sOff + g * sStride]}.
     */
    public static void tokenDotsScalar(MemorySegment seg, long block, int channelBytes, int slot, int dim, float[] q,
                                       int qOff, int heads, float[] s, int sOff, int sStride) {
        for (int g = 0; g < heads; g++) {
            s[sOff + g * sStride] = scalarChannels(seg, block, channelBytes, slot, 0, dim, q, qOff + g * dim, 1);
        }
    }
}
