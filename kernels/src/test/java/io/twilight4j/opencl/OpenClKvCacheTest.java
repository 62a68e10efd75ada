package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.*;

import io.twilight4j.kv.KeySmoothing;
import io.twilight4j.kv.KvLayout;
import io.twilight4j.kv.KvShape;
import io.twilight4j.kv.LabelChannels;
import io.twilight4j.kv.PageBounds;
import java.nio.ByteBuffer;
import java.nio.ShortBuffer;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lwjgl.system.MemoryUtil;

class OpenClKvCacheTest extends OpenClTestSupport {

    /**
     * Appends ragged chunks to two sequences, frees one, reuses its pages, and checks every stored byte; with
     * {@code smoothed} the 4-bit keys are of k / 2^e for random exponents per layer, head and channel.
     */
    @ParameterizedTest(name = "seed {0}: kvHeads {1}, headDim {2}, pageTokens {3}, labels {4}, smoothed {5}")
    @CsvSource({"1, 1, 64, 16, 32, false", "2, 2, 12, 5, 8, true", "3, 3, 128, 16, 0, false", "4, 1, 8, 7, 4, false",
            "5, 2, 128, 16, 8, true"})
    void appendStoresKvBoundsCodesAndLabels(long seed, int kvHeads, int headDim, int pageTokens, int r, boolean smoothed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        KvShape shape = new KvShape(2, kvHeads, headDim, pageTokens, 40, r);
        LabelChannels labels = r == 0 ? null : randomLabels(shape, rnd);
        KeySmoothing smoothing = smoothed ? randomSmoothing(shape, rnd) : null;
        try (OpenClKvCache cache = new OpenClKvCache(cl, shape, labels, smoothing)) {
            int a = cache.pager().newSequence();
            int b = cache.pager().newSequence();
            float[][][] keys = new float[2][shape.capacityTokens()][];   // [layer][slot] -> fp32 key row
            append(cache, a, 54, rnd, keys);
            append(cache, b, 1, rnd, keys);
            append(cache, a, 43, rnd, keys);
            cache.pager().free(b);
            int c = cache.pager().newSequence();
            append(cache, c, 97, rnd, keys);
            for (int l = 0; l < 2; l++) {
                verifyLayer(cache, l, labels, smoothing, new int[] {a, c}, keys[l]);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void rejectsNonFiniteAndOutOfRangeValues() {
        KvShape shape = new KvShape(1, 1, 4, 16, 2, 0);
        try (OpenClKvCache cache = new OpenClKvCache(cl, shape, null)) {
            int s = cache.pager().newSequence();
            cache.pager().append(s, 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cache.write(0, s, 0, new float[] {0, 1, Float.NaN, 2}, new float[4], 1));
            assertTrue(e.getMessage().contains("K[2]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> cache.write(0, s, 0, new float[4], new float[] {0, 70000f, 0, 0}, 1));
            assertThrows(IllegalArgumentException.class, () -> cache.write(0, s, 1, new float[4], new float[4], 1));
        }
    }

    static LabelChannels randomLabels(KvShape shape, SplittableRandom rnd) {
        int[][][] ch = new int[shape.layers()][shape.kvHeads()][];
        for (int l = 0; l < shape.layers(); l++) {
            for (int h = 0; h < shape.kvHeads(); h++) {
                ch[l][h] = rnd.ints(0, shape.headDim()).distinct().limit(shape.labelChannels()).sorted().toArray();
            }
        }
        return new LabelChannels(shape.headDim(), ch);
    }

    /** Exponents drawn from the whole range KeySmoothing allows. */
    static KeySmoothing randomSmoothing(KvShape shape, SplittableRandom rnd) {
        int[][][] e = new int[shape.layers()][shape.kvHeads()][shape.headDim()];
        for (int[][] layer : e) {
            for (int[] head : layer) {
                for (int c = 0; c < head.length; c++) {
                    head[c] = rnd.nextInt(KeySmoothing.MIN_EXPONENT, KeySmoothing.MAX_EXPONENT + 1);
                }
            }
        }
        return new KeySmoothing(shape.headDim(), e);
    }

    /** Appends {@code tokens} random rows to every layer in chunks of random size; keeps fp32 keys per slot. */
    static void append(OpenClKvCache cache, int seq, int tokens, SplittableRandom rnd, float[][][] keys) {
        KvShape s = cache.shape();
        int row = s.kvHeads() * s.headDim();
        int done = 0;
        while (done < tokens) {
            int n = Math.min(tokens - done, 1 + rnd.nextInt(20));
            int pos = cache.pager().append(seq, n);
            for (int l = 0; l < s.layers(); l++) {
                float[] k = new float[n * row];
                float[] v = new float[n * row];
                for (int i = 0; i < k.length; i++) {
                    k[i] = (float) rnd.nextGaussian() * 2;
                    v[i] = (float) rnd.nextGaussian();
                }
                if (rnd.nextInt(8) == 0) {
                    java.util.Arrays.fill(k, 0, s.headDim(), 0.75f); // constant key row: scale 0 guard
                }
                cache.write(l, seq, pos, k, v, n);
                if (keys != null) {
                    for (int t = 0; t < n; t++) {
                        int p = pos + t;
                        int slot = cache.pager().page(seq, p / s.pageTokens()) * s.pageTokens() + p % s.pageTokens();
                        keys[l][slot] = java.util.Arrays.copyOfRange(k, t * row, (t + 1) * row);
                    }
                }
            }
            done += n;
        }
    }

    private static void verifyLayer(OpenClKvCache cache, int l, LabelChannels labels, KeySmoothing smoothing, int[] seqs,
                                    float[][] keys) {
        KvShape s = cache.shape();
        KvLayout lay = cache.layout();
        OpenClKvCache.LayerBuffers b = cache.layer(l);
        short[] k = readShorts(b.k(), lay.kvElements());
        short[] params = readShorts(b.params(), lay.paramElements());
        short[] bounds = readShorts(b.bounds(), lay.boundsElements());
        byte[] boundCodes = readBytes(b.boundCodes(), lay.boundCodeBytes());
        short[] boundParams = readShorts(b.boundParams(), lay.boundParamElements());
        byte[] codes = readBytes(b.codes(), lay.codeBytes());
        short[] labelParams = readShorts(b.labelParams(), lay.paramElements());
        byte[] labelCodes = readBytes(b.labels(), lay.labelBytes());
        int d = s.headDim();
        for (int seq : seqs) {
            int len = cache.pager().length(seq);
            for (int lp = 0; lp < cache.pager().pageCount(seq); lp++) {
                int page = cache.pager().page(seq, lp);
                int inPage = Math.min(s.pageTokens(), len - lp * s.pageTokens());
                for (int h = 0; h < s.kvHeads(); h++) {
                    float[] mn = new float[d], mx = new float[d];
                    java.util.Arrays.fill(mn, Float.POSITIVE_INFINITY);
                    java.util.Arrays.fill(mx, Float.NEGATIVE_INFINITY);
                    for (int t = 0; t < inPage; t++) {
                        float[] kh = new float[d];
                        for (int c = 0; c < d; c++) {
                            kh[c] = Fp16Reference.half(keys[page * s.pageTokens() + t][h * d + c]);
                            assertEquals(kh[c], Float.float16ToFloat(k[(int) lay.kvOffset(page, h, t) + c]), "K");
                            mn[c] = Math.min(mn[c], kh[c]);
                            mx[c] = Math.max(mx[c], kh[c]);
                        }
                        int[] q = new int[d];
                        float[] smoothed = kh.clone();
                        for (int c = 0; c < d && smoothing != null; c++) {
                            smoothed[c] = Math.scalb(kh[c], -smoothing.exponentsOf(l, h)[c]);
                        }
                        float[] sm = Fp16Reference.quantize(smoothed, 4, q);
                        int po = (int) lay.paramOffset(page, h, t);
                        assertEquals(sm[0], Float.float16ToFloat(params[po]), "scale");
                        assertEquals(sm[1], Float.float16ToFloat(params[po + 1]), "min");
                        for (int c = 0; c < d; c++) {
                            int byteV = codes[(int) lay.codeOffset(page, h, t) + c / 2] & 0xFF;
                            assertEquals(q[c], (byteV >> (4 * (c % 2))) & 15, "code of channel " + c);
                        }
                        if (labels != null) {
                            int[] ch = labels.of(l, h);
                            float[] x = new float[ch.length];
                            for (int j = 0; j < ch.length; j++) {
                                x[j] = kh[ch[j]];
                            }
                            int[] lq = new int[ch.length];
                            float[] lsm = Fp16Reference.quantize(x, 2, lq);
                            assertEquals(lsm[0], Float.float16ToFloat(labelParams[po]), "label scale");
                            assertEquals(lsm[1], Float.float16ToFloat(labelParams[po + 1]), "label min");
                            for (int j = 0; j < ch.length; j++) {
                                int byteV = labelCodes[(int) lay.labelOffset(page, h, t) + j / 4] & 0xFF;
                                assertEquals(lq[j], (byteV >> (2 * (j % 4))) & 3, "label code " + j);
                            }
                        }
                    }
                    int bo = (int) lay.boundsOffset(page, h);
                    for (int c = 0; c < d; c++) {
                        assertEquals(mn[c], Float.float16ToFloat(bounds[bo + c]), "page min");
                        assertEquals(mx[c], Float.float16ToFloat(bounds[bo + d + c]), "page max");
                    }
                    // The 4-bit copy: the same bytes as the host encoder writes (of the bounds / 2^e when smoothed).
                    float[] smn = mn.clone(), smx = mx.clone();
                    for (int c = 0; c < d && smoothing != null; c++) {
                        smn[c] = Math.scalb(mn[c], -smoothing.exponentsOf(l, h)[c]);
                        smx[c] = Math.scalb(mx[c], -smoothing.exponentsOf(l, h)[c]);
                    }
                    byte[] want = new byte[PageBounds.codeBytes(d)];
                    int range = PageBounds.encode(smn, 0, smx, 0, d, want, 0);
                    int ro = (int) lay.boundParamOffset(page, h);
                    assertEquals(PageBounds.scale(range), Float.float16ToFloat(boundParams[ro]), "bound scale");
                    assertEquals(PageBounds.min(range), Float.float16ToFloat(boundParams[ro + 1]), "bound min");
                    for (int c = 0; c < want.length; c++) {
                        assertEquals(want[c], boundCodes[(int) lay.boundCodeOffset(page, h) + c], "bound code " + c);
                    }
                }
            }
        }
    }

    static short[] readShorts(ClBuffer b, long n) {
        ShortBuffer host = MemoryUtil.memAllocShort((int) n);
        try {
            cl.read(b, 0, host);
            short[] out = new short[(int) n];
            host.get(out);
            return out;
        } finally {
            MemoryUtil.memFree(host);
        }
    }

    static byte[] readBytes(ClBuffer b, long n) {
        ByteBuffer host = MemoryUtil.memAlloc((int) Math.max(1, n));
        try {
            cl.read(b, 0, host);
            byte[] out = new byte[(int) n];
            host.get(out);
            return out;
        } finally {
            MemoryUtil.memFree(host);
        }
    }
}
