package io.twilight4j.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The metadata the cache keeps on append, checked against the stored keys themselves. */
class HostKvCacheTest {

    /** With {@code smoothed}, random exponents: the 4-bit keys and bound codes describe k / 2^e, the fp16 bounds k itself. */
    @ParameterizedTest
    @CsvSource({"1, 2, 64, 16, 97, false", "2, 3, 128, 16, 54, false", "3, 1, 12, 5, 33, false", "4, 2, 64, 16, 70, true",
            "5, 1, 12, 5, 33, true"})
    void boundsAndFourBitKeysDescribeTheStoredKeys(long seed, int kvHeads, int dim, int pageTokens, int tokens, boolean smoothed) {
        SplittableRandom r = new SplittableRandom(seed);
        KvShape shape = new KvShape(1, kvHeads, dim, pageTokens, (tokens + pageTokens - 1) / pageTokens + 1, 0);
        int[][][] exponents = new int[1][kvHeads][dim];
        for (int[] head : exponents[0]) {
            for (int c = 0; c < dim && smoothed; c++) {
                head[c] = r.nextInt(KeySmoothing.MIN_EXPONENT, KeySmoothing.MAX_EXPONENT + 1);
            }
        }
        try (HostKvCache cache = new HostKvCache(shape, null, smoothed ? new KeySmoothing(dim, exponents) : null)) {
            int seq = cache.pager().newSequence();
            float[][][] keys = new float[tokens][kvHeads][dim];
            int pos = 0;
            while (pos < tokens) {
                int n = Math.min(tokens - pos, 1 + r.nextInt(7));
                cache.pager().append(seq, n);
                float[] k = new float[n * kvHeads * dim];
                for (int t = 0; t < n; t++) {
                    for (int h = 0; h < kvHeads; h++) {
                        // Every seventh row is constant: its 4-bit scale is 0.
                        boolean constant = (pos + t) % 7 == 3;
                        float c0 = (float) r.nextGaussian();
                        for (int c = 0; c < dim; c++) {
                            float x = constant ? c0 : (float) (r.nextGaussian() * 3);
                            k[(t * kvHeads + h) * dim + c] = x;
                            keys[pos + t][h][c] = Fp16.round(x);
                        }
                    }
                }
                cache.write(0, seq, pos, k, k, n);
                pos += n;
            }
            KvLayout layout = cache.layout();
            HostKvCache.Layer ly = cache.layer(0);
            for (int p = 0; p * pageTokens < tokens; p++) {
                int page = cache.pager().page(seq, p);
                for (int h = 0; h < kvHeads; h++) {
                    float[] q = new float[dim];
                    for (int c = 0; c < dim; c++) {
                        q[c] = (float) r.nextGaussian();
                    }
                    double bound = 0;
                    float[] exactMin = new float[dim];
                    float[] exactMax = new float[dim];
                    for (int c = 0; c < dim; c++) {
                        float mn = Float.POSITIVE_INFINITY;
                        float mx = Float.NEGATIVE_INFINITY;
                        for (int t = p * pageTokens; t < Math.min(tokens, (p + 1) * pageTokens); t++) {
                            mn = Math.min(mn, keys[t][h][c]);
                            mx = Math.max(mx, keys[t][h][c]);
                        }
                        long off = 2 * layout.boundsOffset(page, h);
                        assertEquals(mn, Fp16.get(ly.bounds(), off + 2L * c), "page " + p + " head " + h + " min of channel " + c);
                        assertEquals(mx, Fp16.get(ly.bounds(), off + 2L * (dim + c)), "page " + p + " head " + h + " max of channel " + c);
                        exactMin[c] = mn;
                        exactMax[c] = mx;
                    }
                    // The 4-bit copy Quest reads is the encoding of the exact bounds (divided by 2^e when smoothed), and
                    // its box bounds q.k (for the query times 2^e).
                    float[] smoothMin = new float[dim];
                    float[] smoothMax = new float[dim];
                    for (int c = 0; c < dim; c++) {
                        smoothMin[c] = Math.scalb(exactMin[c], -exponents[0][h][c]);
                        smoothMax[c] = Math.scalb(exactMax[c], -exponents[0][h][c]);
                    }
                    byte[] want = new byte[PageBounds.codeBytes(dim)];
                    int range = PageBounds.encode(smoothMin, 0, smoothMax, 0, dim, want, 0);
                    long ro = 2 * layout.boundParamOffset(page, h);
                    assertEquals(PageBounds.scale(range), Fp16.get(ly.boundParams(), ro), "page " + p + " head " + h + " bound scale");
                    assertEquals(PageBounds.min(range), Fp16.get(ly.boundParams(), ro + 2), "page " + p + " head " + h + " bound min");
                    for (int c = 0; c < want.length; c++) {
                        byte got = ly.boundCodes().get(ValueLayout.JAVA_BYTE, layout.boundCodeOffset(page, h) + c);
                        assertEquals(want[c], got, "page " + p + " head " + h + " bound code " + c);
                    }
                    for (int c = 0; c < dim; c++) {
                        double lo = PageBounds.decode(Nibbles.get(want, 0, c), PageBounds.scale(range), PageBounds.min(range));
                        double hi = PageBounds.decode(Nibbles.get(want, 0, dim + c), PageBounds.scale(range), PageBounds.min(range));
                        double qc = Math.scalb((double) q[c], exponents[0][h][c]);
                        bound += Math.max(qc * lo, qc * hi);
                    }
                    for (int t = p * pageTokens; t < Math.min(tokens, (p + 1) * pageTokens); t++) {
                        double dot = 0;
                        for (int c = 0; c < dim; c++) {
                            dot += (double) q[c] * keys[t][h][c];
                        }
                        assertTrue(bound >= dot - 1e-9, "Quest bound " + bound + " below q.k " + dot + " at token " + t);
                    }
                }
            }
            for (int t = 0; t < tokens; t++) {
                int page = cache.pager().page(seq, t / pageTokens);
                for (int h = 0; h < kvHeads; h++) {
                    long params = 2 * layout.paramOffset(page, h, t % pageTokens);
                    float scale = Fp16.get(ly.codeParams(), params);
                    float min = Fp16.get(ly.codeParams(), params + 2);
                    for (int c = 0; c < dim; c++) {
                        int code = layout.code(ly.codes(), page, h, t % pageTokens, c);
                        float approx = Int4Keys.dequantize(code, scale, min);
                        float want = Math.scalb(keys[t][h][c], -exponents[0][h][c]);
                        // Rounding to the nearest of 16 levels: at most half a step off (plus fp16 rounding of scale).
                        float tol = scale / 2 + Math.ulp(Math.abs(want)) * 8 + 1e-3f * scale * 15;
                        assertTrue(Math.abs(approx - want) <= tol, "token " + t + " head " + h + " channel " + c
                                + ": 4-bit " + approx + " vs " + want + " (scale " + scale + ")");
                    }
                }
            }
        }
    }

    @Test
    void keysAndValuesOnHugePagesReadBackAsWritten() {
        // 2 KV heads x 64 channels x 16 tokens x 1000 pages: 4 MB per K and V array, on the huge-page path.
        KvShape shape = new KvShape(2, 2, 64, 16, 1000, 0);
        SplittableRandom r = new SplittableRandom(7);
        try (HostKvCache cache = new HostKvCache(shape, null)) {
            for (int layer = 0; layer < shape.layers(); layer++) {
                HostKvCache.Layer ly = cache.layer(layer);
                if (HugePages.available()) {
                    assertEquals(0, ly.keys().address() % HugePages.PAGE_BYTES, "layer " + layer + " keys");
                    assertEquals(0, ly.values().address() % HugePages.PAGE_BYTES, "layer " + layer + " values");
                }
                assertNotEquals(ly.keys().address(), ly.values().address());
            }
            int seq = cache.pager().newSequence();
            int tokens = 1000 * 16 - 3;
            cache.pager().append(seq, tokens);
            float[] k = new float[tokens * 2 * 64];
            float[] v = new float[k.length];
            for (int i = 0; i < k.length; i++) {
                k[i] = (float) r.nextGaussian();
                v[i] = (float) r.nextGaussian() + 1;
            }
            cache.write(1, seq, 0, k, v, tokens);
            KvLayout layout = cache.layout();
            HostKvCache.Layer ly = cache.layer(1);
            for (int t = 0; t < tokens; t += 1 + r.nextInt(97)) {
                int page = cache.pager().page(seq, t / 16);
                for (int h = 0; h < 2; h++) {
                    long at = 2 * layout.kvOffset(page, h, t % 16);
                    for (int c = 0; c < 64; c++) {
                        int src = (t * 2 + h) * 64 + c;
                        assertEquals(Fp16.round(k[src]), Fp16.get(ly.keys(), at + 2L * c), "token " + t + " head " + h + " key " + c);
                        assertEquals(Fp16.round(v[src]), Fp16.get(ly.values(), at + 2L * c), "token " + t + " head " + h + " value " + c);
                    }
                }
            }
            // Layer 0 was never written: still zero.
            assertEquals(0f, Fp16.get(cache.layer(0).keys(), 2 * layout.kvOffset(cache.pager().page(seq, 500), 1, 7)));
            System.out.println("layer 1 keys: AnonHugePages " + HugePagesTest.anonHugePagesKb(ly.keys()) + " kB of "
                    + ly.keys().byteSize() / 1024 + " kB");
        }
    }
}
