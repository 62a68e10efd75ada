package io.twilight4j.kv;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.IntFunction;
import java.util.function.IntUnaryOperator;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Twilight's 4-bit keys in page columns ({@link KvLayout.CodeOrder#PAGE_COLUMNS}), the host cache's order. A
 * (page, KV head) block holds its tokens in groups of {@link #GROUP_TOKENS}: in a group, channel c's codes of the
 * group's tokens lie side by side, {@link #channelBytes} bytes per channel (8, fewer only in blocks of fewer than
 * sixteen tokens), token t in nibble t % 2 of byte t / 2; a little-endian int holds eight consecutive tokens. The
 * top nibble of each int (tokens t with t % 8 == 7) holds code ^ 8: read as the int's sign nibble, it is code - 8
 * (see {@link #pageDots4}); {@link #get} and {@link #put} take and return the code itself.
 * <p>
 * The CPU scores whole pages with lanes = tokens ({@link #pageDots}): per channel, a vector of consecutive
 * tokens' codes (one word broadcast, each lane masked to its token's nibble, converted) meets one broadcast
 * query value per head, and each lane ends holding its token's dot product: no lane sums, no permuted query
 * (Quest's bound columns go through the same kernels, pages of a sixteen-page group as the tokens). On AMD CPUs
 * with AVX-512 a whole group of sixteen fits one vector (a channel's long broadcast, {@link #pageDots4Wide}), and
 * two groups go per call ({@link #pageDotsPair}). A single
 * token (a partly filled page; scattered candidates in a cache without token rows) is dotted with lanes =
 * channels instead ({@link #tokenDots}): a vector load holds whole words of several channels, and the query it
 * meets ({@link #prepareTokenQueries}) is zero in the lanes that hold the other tokens' words.
 * <p>
 * Products are integers (8-bit query codes times codes in [0, 15]) and their sums stay below 2^24, so every
 * path gets the same exact sums, in any order, as the OpenCL kernels' integer dot products over token rows.
 */
public final class PageColumns {

    /** The narrow page kernel's lanes: the preferred width, up to eight ints (a word holds eight tokens). */
    private static final VectorSpecies<Integer> I =
            IntVector.SPECIES_PREFERRED.length() > 8 ? IntVector.SPECIES_256 : IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, I.vectorShape());
    private static final int LANES = I.length();
    /**
     * The page kernel's lanes: 16 ({@link #pageDots4Wide}: a group's 16 codes of a channel are one long, broadcast
     * and read as 16 int lanes) on AMD CPUs whose preferred vector has 16 ints, else {@link #I}.
     * Why by vendor: on a Zen 5 VM the wide kernel took the 4-bit estimate from 105-109 to 90-91 us and Quest's
     * scoring from 49 to 40 us (JMH, one KV head at 32k), but on an Ice Lake server VM, whose 512-bit FMAs ran at
     * two thirds of the 256-bit rate, it was 1.2-1.35x slower (bench/results/cpu-2026-12-07-session27 and -28).
     * {@code -Dtwilight4j.pageLanes=16} asks for it on any machine (tests; emulated where the CPU has no 512-bit
     * vectors), {@code =8} for the narrower kernel.
     */
    private static final VectorSpecies<Integer> PAGE_I =
            Integer.getInteger("twilight4j.pageLanes", defaultPageLanes()) >= 16 ? IntVector.SPECIES_512 : I;
    private static final boolean WIDE = PAGE_I.length() == 16;
    private static final VectorSpecies<Float> PAGE_F = VectorSpecies.of(float.class, PAGE_I.vectorShape());
    private static final VectorSpecies<Long> PAGE_L = VectorSpecies.of(long.class, PAGE_I.vectorShape());
    /** Tokens one {@link #pageDots} call scores: one group in one wide vector, else two vectors of {@link #LANES}. */
    public static final int RUN = WIDE ? 16 : 2 * LANES;
    /** Tokens per group of a block. */
    public static final int GROUP_TOKENS = 16;
    /**
     * Bytes between a group's channels. One constant for every page size: the page kernel's channel loop with
     * a stride known only at run time ran 15-30% slower (C2; bench/results/cpu-2026-12-07-session25).
     */
    private static final int GROUP_CHANNEL_BYTES = GROUP_TOKENS / 2;
    /** Tokens per int word. */
    private static final int WORD_TOKENS = 8;
    /*
     * Per lane of a run's first and second vector (tokens 0.. and LANES..), for its token's nibble n in the word:
     * the mask 15 << 4n, the scale 2^-4n that undoes the nibble's place, and 8 in the lane of n = 7 (the sign
     * nibble, which converts as (code - 8) * 2^28: 8 * sum(q) is added back).
     */
    private static final IntVector FIRST_MASKS = IntVector.fromArray(I, nibbleLanes(0, n -> 15 << 4 * n), 0);
    private static final IntVector SECOND_MASKS = IntVector.fromArray(I, nibbleLanes(LANES, n -> 15 << 4 * n), 0);
    private static final FloatVector FIRST_SCALES = floats(nibbleLanes(0, n -> -4 * n), n -> Math.scalb(1f, n));
    private static final FloatVector SECOND_SCALES = floats(nibbleLanes(LANES, n -> -4 * n), n -> Math.scalb(1f, n));
    private static final FloatVector FIRST_SIGNS = floats(nibbleLanes(0, n -> n), n -> n == 7 ? 8f : 0f);
    private static final FloatVector SECOND_SIGNS = floats(nibbleLanes(LANES, n -> n), n -> n == 7 ? 8f : 0f);
    /*
     * The wide kernel's lanes: lane l holds token (l % 2) * 8 + l / 2 (the low and high word of the broadcast long
     * alternate), so its mask is 15 << 4 (l / 2); TO_TOKENS puts the sums back in token order, where the scales
     * and signs are those of the token's nibble.
     */
    private static final IntVector WIDE_MASKS = WIDE
            ? IntVector.fromArray(PAGE_I, IntStream.range(0, 16).map(l -> 15 << 4 * (l / 2)).toArray(), 0) : null;
    private static final VectorShuffle<Float> TO_TOKENS = WIDE
            ? VectorShuffle.fromValues(PAGE_F, IntStream.range(0, 16).map(t -> 2 * (t % WORD_TOKENS) + t / WORD_TOKENS).toArray())
            : null;
    private static final FloatVector WIDE_SCALES = WIDE ? wideFloats(n -> Math.scalb(1f, -4 * n)) : null;
    private static final FloatVector WIDE_SIGNS = WIDE ? wideFloats(n -> n == 7 ? 8f : 0f) : null;
    /** Byte offset of the second vector's word from the first's (the same word when a vector is four tokens). */
    private static final int SECOND_WORD = 4 * (LANES / WORD_TOKENS);
    /** The nibble of a word that is stored as code ^ 8. */
    private static final int SIGN_NIBBLE = WORD_TOKENS - 1;

    private PageColumns() {
    }

    /** Per lane l, {@code f(n)} for the nibble n of token firstToken + l in its word. */
    private static int[] nibbleLanes(int firstToken, IntUnaryOperator f) {
        return IntStream.range(0, LANES).map(l -> f.applyAsInt((firstToken + l) % WORD_TOKENS)).toArray();
    }

    /** 16 on AMD CPUs (Linux's /proc/cpuinfo says AuthenticAMD) whose preferred vector holds 16 ints, else 8. */
    private static int defaultPageLanes() {
        if (IntVector.SPECIES_PREFERRED.length() < 16) {
            return 8;
        }
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("vendor_id")).findFirst().orElse("").contains("AuthenticAMD") ? 16 : 8;
        } catch (IOException | UncheckedIOException e) {
            return 8;
        }
    }

    /** A wide vector of {@code f(n)} for the nibble n of token l in lane l. */
    private static FloatVector wideFloats(IntFunction<Float> f) {
        float[] values = new float[16];
        for (int t = 0; t < 16; t++) {
            values[t] = f.apply(t % WORD_TOKENS);
        }
        return FloatVector.fromArray(PAGE_F, values, 0);
    }

    /** A vector of {@code f(x)} for the lanes' values {@code x}. */
    private static FloatVector floats(int[] lanes, IntFunction<Float> f) {
        float[] values = new float[lanes.length];
        for (int i = 0; i < lanes.length; i++) {
            values[i] = f.apply(lanes[i]);
        }
        return FloatVector.fromArray(F, values, 0);
    }

    /** Bytes between consecutive channels of a group, in blocks of {@code tokens} tokens. */
    public static int channelBytes(int tokens) {
        return tokens >= GROUP_TOKENS ? GROUP_CHANNEL_BYTES : (tokens + 1) / 2;
    }

    /** Bytes of a block of {@code tokens} tokens by {@code channels} channels. */
    public static long blockBytes(int tokens, int channels) {
        long groups = (tokens + GROUP_TOKENS - 1) / GROUP_TOKENS;
        return groups * channels * channelBytes(tokens);
    }

    /** Byte offset, in a block of {@code tokens} tokens by {@code channels} channels, of the byte holding (slot, channel). */
    private static long byteOffset(int tokens, int channels, int slot, int channel) {
        int stride = channelBytes(tokens);
        return ((long) (slot / GROUP_TOKENS) * channels + channel) * stride + slot % GROUP_TOKENS / 2;
    }

    /**
     * Byte offset, in a block of {@code channels} channels, of the run of tokens that starts at {@code slot} (a
     * multiple of {@link #RUN}; blocks that {@link #scoresPages}): where {@link #pageDots} reads it.
     */
    public static long runOffset(int channels, int slot) {
        return byteOffset(GROUP_TOKENS, channels, slot, 0);
    }

    /** What token {@code slot}'s nibble stores for {@code code}, and the code for what it stores (an involution). */
    private static int stored(int slot, int code) {
        return slot % WORD_TOKENS == SIGN_NIBBLE ? code ^ 8 : code;
    }

    /**
     * Writes {@code code} (in [0, 15]) as token {@code slot}'s code of channel {@code channel} in the block at
     * {@code block} ({@code tokens} by {@code channels}).
     */
    public static void put(MemorySegment seg, long block, int tokens, int channels, int slot, int channel, int code) {
        long at = block + byteOffset(tokens, channels, slot, channel);
        int shift = 4 * (slot % 2);
        byte old = seg.get(ValueLayout.JAVA_BYTE, at);
        seg.set(ValueLayout.JAVA_BYTE, at, (byte) ((old & ~(15 << shift)) | stored(slot, code) << shift));
    }

    /**
     * Writes token {@code slot}'s {@code channels} codes, a row packed as {@link Nibbles} packs it (channel j in
     * nibble j % 2 of {@code row[j / 2]}), into the block at {@code block} ({@code tokens} by {@code channels}).
     */
    public static void putRow(MemorySegment seg, long block, int tokens, int channels, int slot, byte[] row) {
        for (int j = 0; j < channels; j++) {
            put(seg, block, tokens, channels, slot, j, Nibbles.get(row, 0, j));
        }
    }

    /** Token {@code slot}'s code of channel {@code channel} in the block at {@code block} ({@code tokens} by {@code channels}). */
    public static int get(MemorySegment seg, long block, int tokens, int channels, int slot, int channel) {
        int b = seg.get(ValueLayout.JAVA_BYTE, block + byteOffset(tokens, channels, slot, channel));
        return stored(slot, (b >> (4 * (slot % 2))) & 15);
    }

    /** Whether blocks of {@code tokens} tokens are scored whole by {@link #pageDots}: whole groups. */
    public static boolean scoresPages(int tokens) {
        return LANES >= 4 && tokens % GROUP_TOKENS == 0;
    }

    /**
     * {@code heads} query heads (rows of {@code dim} floats at {@code qOff}, channel order; head g's row sums
     * {@code qSums[sumOff + g]}) by the {@link #RUN} tokens of a run at {@code at} ({@link #runOffset}), four
     * heads at a time: see {@link #pageDots4}; head g's sums from {@code s[sOff + g * sStride]}.
     */
    public static void pageDots(MemorySegment seg, long at, int dim, float[] q, int qOff, int heads,
                                float[] qSums, int sumOff, float[] s, int sOff, int sStride) {
        int g = 0;
        if (WIDE) {
            for (; g + 4 <= heads; g += 4) {
                pageDots4Wide(seg, at, dim, q, qOff + g * dim, s, sOff + g * sStride, sStride);
            }
            for (; g < heads; g++) {
                pageDots1Wide(seg, at, dim, q, qOff + g * dim, s, sOff + g * sStride);
            }
            for (g = 0; g < heads; g++) {
                unscaleWide(s, sOff + g * sStride, qSums[sumOff + g]);
            }
            return;
        }
        for (; g + 4 <= heads; g += 4) {
            pageDots4(seg, at, dim, q, qOff + g * dim, s, sOff + g * sStride, sStride);
        }
        for (; g < heads; g++) {
            pageDots1(seg, at, dim, q, qOff + g * dim, s, sOff + g * sStride);
        }
        // In a pass of their own: with these constants in the kernels' epilogue, C2 kept them in registers
        // across the channel loop, and the loop ran 15% slower.
        for (g = 0; g < heads; g++) {
            unscale(s, sOff + g * sStride, qSums[sumOff + g]);
        }
    }

    /**
     * {@link #pageDots4} with 16 lanes: a channel's 16 codes are one long, broadcast, read as 16 int lanes (lane l
     * holds token (l % 2) * 8 + l / 2) and masked each to its token's nibble; one vector per channel and head
     * instead of two. Channels go in pairs into two sets of accumulators (eight chains of FMAs, as the narrow
     * kernel's two vectors give it).
     */
    private static void pageDots4Wide(MemorySegment seg, long at, int dim, float[] q, int qOff, float[] s, int sOff,
                                      int sStride) {
        FloatVector a0 = FloatVector.zero(PAGE_F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        FloatVector b2 = a0;
        FloatVector b3 = a0;
        FloatVector x;
        FloatVector y;
        FloatVector w;
        int c = 0;
        for (; c + 2 <= dim; c += 2) {
            long off = at + (long) c * GROUP_CHANNEL_BYTES;
            x = wideCodes(seg, off);
            y = wideCodes(seg, off + GROUP_CHANNEL_BYTES);
            w = FloatVector.broadcast(PAGE_F, q[qOff + c]);
            a0 = x.fma(w, a0);
            w = FloatVector.broadcast(PAGE_F, q[qOff + c + 1]);
            b0 = y.fma(w, b0);
            w = FloatVector.broadcast(PAGE_F, q[qOff + dim + c]);
            a1 = x.fma(w, a1);
            w = FloatVector.broadcast(PAGE_F, q[qOff + dim + c + 1]);
            b1 = y.fma(w, b1);
            w = FloatVector.broadcast(PAGE_F, q[qOff + 2 * dim + c]);
            a2 = x.fma(w, a2);
            w = FloatVector.broadcast(PAGE_F, q[qOff + 2 * dim + c + 1]);
            b2 = y.fma(w, b2);
            w = FloatVector.broadcast(PAGE_F, q[qOff + 3 * dim + c]);
            a3 = x.fma(w, a3);
            w = FloatVector.broadcast(PAGE_F, q[qOff + 3 * dim + c + 1]);
            b3 = y.fma(w, b3);
        }
        if (c < dim) {
            x = wideCodes(seg, at + (long) c * GROUP_CHANNEL_BYTES);
            a0 = x.fma(FloatVector.broadcast(PAGE_F, q[qOff + c]), a0);
            a1 = x.fma(FloatVector.broadcast(PAGE_F, q[qOff + dim + c]), a1);
            a2 = x.fma(FloatVector.broadcast(PAGE_F, q[qOff + 2 * dim + c]), a2);
            a3 = x.fma(FloatVector.broadcast(PAGE_F, q[qOff + 3 * dim + c]), a3);
        }
        a0.add(b0).rearrange(TO_TOKENS).intoArray(s, sOff);
        a1.add(b1).rearrange(TO_TOKENS).intoArray(s, sOff + sStride);
        a2.add(b2).rearrange(TO_TOKENS).intoArray(s, sOff + 2 * sStride);
        a3.add(b3).rearrange(TO_TOKENS).intoArray(s, sOff + 3 * sStride);
    }

    /**
     * Whether {@link #pageDotsPair} can score {@code heads} query heads: with the 16-lane kernel, four heads at a
     * time.
     */
    public static boolean scoresRunPairs(int heads) {
        return WIDE && heads % 4 == 0;
    }

    /**
     * {@link #pageDots} of two runs at once, the one at {@code at0} to {@code s[sOff + g * sStride..]} and the one
     * at {@code at1} to {@code s[sOff + RUN + g * sStride..]}; only where {@link #scoresRunPairs}. Why: each query
     * value broadcast then feeds two FMAs, one per run, and the loop needs six loads per eight FMAs instead of ten
     * (JMH int4Estimate, one KV head at 32k on a Zen 5 VM: 90 -> 64 us).
     */
    public static void pageDotsPair(MemorySegment seg, long at0, long at1, int dim, float[] q, int qOff, int heads,
                                    float[] qSums, int sumOff, float[] s, int sOff, int sStride) {
        for (int g = 0; g < heads; g += 4) {
            pageDots4WidePair(seg, at0, at1, dim, q, qOff + g * dim, s, sOff + g * sStride, sStride);
        }
        for (int g = 0; g < heads; g++) {
            unscaleWide(s, sOff + g * sStride, qSums[sumOff + g]);
            unscaleWide(s, sOff + g * sStride + RUN, qSums[sumOff + g]);
        }
    }

    /**
     * {@link #pageDots4Wide} of two runs: eight chains of FMAs (four heads by two runs), one channel at a time,
     * the run at {@code at1} to {@code s[.. + RUN]}.
     */
    private static void pageDots4WidePair(MemorySegment seg, long at0, long at1, int dim, float[] q, int qOff, float[] s,
                                          int sOff, int sStride) {
        FloatVector a0 = FloatVector.zero(PAGE_F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        FloatVector b2 = a0;
        FloatVector b3 = a0;
        for (int c = 0; c < dim; c++) {
            long off = (long) c * GROUP_CHANNEL_BYTES;
            FloatVector x = wideCodes(seg, at0 + off);
            FloatVector y = wideCodes(seg, at1 + off);
            FloatVector w = FloatVector.broadcast(PAGE_F, q[qOff + c]);
            a0 = x.fma(w, a0);
            b0 = y.fma(w, b0);
            w = FloatVector.broadcast(PAGE_F, q[qOff + dim + c]);
            a1 = x.fma(w, a1);
            b1 = y.fma(w, b1);
            w = FloatVector.broadcast(PAGE_F, q[qOff + 2 * dim + c]);
            a2 = x.fma(w, a2);
            b2 = y.fma(w, b2);
            w = FloatVector.broadcast(PAGE_F, q[qOff + 3 * dim + c]);
            a3 = x.fma(w, a3);
            b3 = y.fma(w, b3);
        }
        a0.rearrange(TO_TOKENS).intoArray(s, sOff);
        a1.rearrange(TO_TOKENS).intoArray(s, sOff + sStride);
        a2.rearrange(TO_TOKENS).intoArray(s, sOff + 2 * sStride);
        a3.rearrange(TO_TOKENS).intoArray(s, sOff + 3 * sStride);
        b0.rearrange(TO_TOKENS).intoArray(s, sOff + RUN);
        b1.rearrange(TO_TOKENS).intoArray(s, sOff + RUN + sStride);
        b2.rearrange(TO_TOKENS).intoArray(s, sOff + RUN + 2 * sStride);
        b3.rearrange(TO_TOKENS).intoArray(s, sOff + RUN + 3 * sStride);
    }

    /** {@link #pageDots4Wide} for one head. */
    private static void pageDots1Wide(MemorySegment seg, long at, int dim, float[] q, int qOff, float[] s, int sOff) {
        FloatVector a = FloatVector.zero(PAGE_F);
        FloatVector b = a;
        int c = 0;
        for (; c + 2 <= dim; c += 2) {
            long off = at + (long) c * GROUP_CHANNEL_BYTES;
            a = wideCodes(seg, off).fma(FloatVector.broadcast(PAGE_F, q[qOff + c]), a);
            b = wideCodes(seg, off + GROUP_CHANNEL_BYTES).fma(FloatVector.broadcast(PAGE_F, q[qOff + c + 1]), b);
        }
        if (c < dim) {
            a = wideCodes(seg, at + (long) c * GROUP_CHANNEL_BYTES).fma(FloatVector.broadcast(PAGE_F, q[qOff + c]), a);
        }
        a.add(b).rearrange(TO_TOKENS).intoArray(s, sOff);
    }

    /** The 16 codes of a group's channel at {@code off} (one long), in place in lane order of {@link #pageDots4Wide}, as floats. */
    private static FloatVector wideCodes(MemorySegment seg, long off) {
        return (FloatVector) LongVector.broadcast(PAGE_L, seg.get(ValueLayout.JAVA_LONG_UNALIGNED, off)).reinterpretAsInts()
                .and(WIDE_MASKS).convert(VectorOperators.I2F, 0);
    }

    /** {@link #unscale} of a wide run. */
    private static void unscaleWide(float[] s, int off, float qSum) {
        FloatVector.fromArray(PAGE_F, s, off).mul(WIDE_SCALES).add(WIDE_SIGNS.mul(qSum)).intoArray(s, off);
    }

    /** A run's lane sums at {@code s[off..off+RUN)} to dot products: each lane's place undone, the sign nibble's 8 * sum(q) added. */
    private static void unscale(float[] s, int off, float qSum) {
        FloatVector.fromArray(F, s, off).mul(FIRST_SCALES).add(FIRST_SIGNS.mul(qSum)).intoArray(s, off);
        FloatVector.fromArray(F, s, off + LANES).mul(SECOND_SCALES).add(SECOND_SIGNS.mul(qSum))
                .intoArray(s, off + LANES);
    }

    /**
     * Four query heads (rows of {@code dim} integer-valued floats at {@code qOff}, channel order) by the
     * {@link #RUN} tokens of the run at {@code at}: {@code s[sOff + g * sStride + i]} = sum_c q_g[c] * x(token i,
     * channel c), where x is the code in place, code * 2^4n for the token's nibble n in its word ((code - 8) *
     * 2^28 for the sign nibble); {@link #unscale} makes them dot products.
     * <p>
     * Taking a lane's code in place (the broadcast word masked to the lane's nibble, converted) saves the
     * per-lane shift, 16% of the loop on Zen 3 (probe: the shift competes with the FMAs for the vector pipes,
     * presumably); the place is undone exactly, by a power of two, since the sums are integers below 2^24 times it.
     */
    private static void pageDots4(MemorySegment seg, long at, int dim, float[] q, int qOff, float[] s, int sOff,
                                  int sStride) {
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
        for (int c = 0; c < dim; c++) {
            long off = at + (long) c * GROUP_CHANNEL_BYTES;
            x = codes(seg, off, FIRST_MASKS);
            y = codes(seg, off + SECOND_WORD, SECOND_MASKS);
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
    private static void pageDots1(MemorySegment seg, long at, int dim, float[] q, int qOff, float[] s, int sOff) {
        FloatVector a = FloatVector.zero(F);
        FloatVector b = a;
        FloatVector w;
        for (int c = 0; c < dim; c++) {
            long off = at + (long) c * GROUP_CHANNEL_BYTES;
            w = FloatVector.broadcast(F, q[qOff + c]);
            a = codes(seg, off, FIRST_MASKS).fma(w, a);
            b = codes(seg, off + SECOND_WORD, SECOND_MASKS).fma(w, b);
        }
        a.intoArray(s, sOff);
        b.intoArray(s, sOff + LANES);
    }

    /** The word at {@code off} in every lane, lane l masked to {@code masks[l]}, as floats: codes in place. */
    private static FloatVector codes(MemorySegment seg, long off, IntVector masks) {
        return (FloatVector) IntVector.broadcast(I, seg.get(ValueLayout.JAVA_INT_UNALIGNED, off))
                .and(masks).convert(VectorOperators.I2F, 0);
    }

    /**
     * Words per channel for {@link #tokenDots} in blocks of {@code tokens} tokens: 1 or 2 when a group's channel
     * is whole words (blocks of 8, or of 16 and more), else 0 (single tokens go through {@link #tokenDotsScalar}).
     */
    public static int tokenWords(int tokens) {
        int stride = channelBytes(tokens);
        int words = stride / 4;
        return stride % 4 == 0 && words >= 1 && LANES >= 2 * words ? words : 0;
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
     * Dot products of token {@code slot} of the block at {@code block} ({@code tokens} by {@code dim}) with
     * {@code heads} query heads as {@link #prepareTokenQueries} wrote them: {@code s[sOff + g * sStride]}.
     * {@code words} from {@link #tokenWords}, not 0.
     */
    public static void tokenDots(MemorySegment seg, long block, int tokens, int slot, int words, int dim, float[] qt,
                                 int heads, float[] s, int sOff, int sStride) {
        int phase = slot % GROUP_TOKENS / WORD_TOKENS;
        int phaseOff = phase * heads * dim * words;
        int shift = 4 * (slot % WORD_TOKENS);
        int flip = stored(slot, 0);
        int perLoad = LANES / words;
        int bound = dim - dim % perLoad;
        int channelBytes = 4 * words;
        long group = block + byteOffset(tokens, dim, slot - slot % GROUP_TOKENS, 0);
        int g = 0;
        for (; g + 2 <= heads; g += 2) {
            int q0 = phaseOff + g * dim * words;
            int q1 = q0 + dim * words;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            for (int c = 0; c < bound; c += perLoad) {
                FloatVector x = wordCodes(seg, group + (long) c * channelBytes, shift, flip);
                a0 = x.fma(FloatVector.fromArray(F, qt, q0 + c * words), a0);
                a1 = x.fma(FloatVector.fromArray(F, qt, q1 + c * words), a1);
            }
            s[sOff + g * sStride] = a0.reduceLanes(VectorOperators.ADD)
                    + scalarChannels(seg, block, tokens, slot, bound, dim, qt, q0 + phase, words);
            s[sOff + (g + 1) * sStride] = a1.reduceLanes(VectorOperators.ADD)
                    + scalarChannels(seg, block, tokens, slot, bound, dim, qt, q1 + phase, words);
        }
        for (; g < heads; g++) {
            int q0 = phaseOff + g * dim * words;
            FloatVector a0 = FloatVector.zero(F);
            for (int c = 0; c < bound; c += perLoad) {
                FloatVector x = wordCodes(seg, group + (long) c * channelBytes, shift, flip);
                a0 = x.fma(FloatVector.fromArray(F, qt, q0 + c * words), a0);
            }
            s[sOff + g * sStride] = a0.reduceLanes(VectorOperators.ADD)
                    + scalarChannels(seg, block, tokens, slot, bound, dim, qt, q0 + phase, words);
        }
    }

    /** The codes in the nibble at {@code shift} of each of the LANES words at {@code off}, stored XOR {@code flip}, as floats. */
    private static FloatVector wordCodes(MemorySegment seg, long off, int shift, int flip) {
        return (FloatVector) IntVector.fromMemorySegment(I, seg, off, ByteOrder.LITTLE_ENDIAN)
                .lanewise(VectorOperators.LSHR, shift).and(15).lanewise(VectorOperators.XOR, flip)
                .convert(VectorOperators.I2F, 0);
    }

    /** Channels {@code from..dim} of a token's dot product, query value of channel c at {@code qt[qOff + c * stride]}. */
    private static float scalarChannels(MemorySegment seg, long block, int tokens, int slot, int from, int dim,
                                        float[] qt, int qOff, int stride) {
        float r = 0;
        for (int c = from; c < dim; c++) {
            r += qt[qOff + c * stride] * get(seg, block, tokens, dim, slot, c);
        }
        return r;
    }

    /**
     * Dot products of token {@code slot} of the block at {@code block} ({@code tokens} by {@code dim}) with
     * {@code heads} query heads (rows of {@code dim} floats at {@code qOff}, channel order), for any page size:
     * {@code s[sOff + g * sStride]}.
     */
    public static void tokenDotsScalar(MemorySegment seg, long block, int tokens, int slot, int dim, float[] q,
                                       int qOff, int heads, float[] s, int sOff, int sStride) {
        for (int g = 0; g < heads; g++) {
            s[sOff + g * sStride] = scalarChannels(seg, block, tokens, slot, 0, dim, q, qOff + g * dim, 1);
        }
    }
}
