package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.twilight4j.kv.Int8Query;
import io.twilight4j.kv.KvLayout;
import io.twilight4j.kv.KvShape;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lwjgl.system.MemoryUtil;

/**
 * quantize_queries against {@link Int8Query}, bit for bit: the device's codes and scales must equal the
 * host's, or the CPU and OpenCL backends would rank pages and estimate weights differently. Each row is
 * smoothed with its KV head's exponents (random, a layer's worth ahead of them in the buffer) as the
 * scorers of a cache with {@link io.twilight4j.kv.KeySmoothing} read it; half the cases with all zeros.
 */
class OpenClQueryCodesTest extends OpenClTestSupport {

    @ParameterizedTest(name = "headDim {0}, seed {1}")
    @CsvSource({"128, 1, false", "64, 2, false", "12, 3, false", "128, 4, true", "12, 5, true"})
    void deviceCodesEqualTheHostEncoder(int dim, long seed, boolean smoothed) {
        int rows = 300;
        int queryHeads = 4, group = 2, kvHeads = queryHeads / group;
        SplittableRandom rnd = new SplittableRandom(seed);
        // Layer 1 of two: the kernel must start at smoothingBase.
        int[] exponents = new int[2 * kvHeads * dim];
        for (int i = 0; i < exponents.length; i++) {
            exponents[i] = smoothed ? rnd.nextInt(io.twilight4j.kv.KeySmoothing.MIN_EXPONENT, io.twilight4j.kv.KeySmoothing.MAX_EXPONENT + 1) : i < kvHeads * dim ? 3 : 0;
        }
        float[] q = new float[rows * dim];
        for (int r = 0; r < rows; r++) {
            double magnitude = Math.scalb(1.0, rnd.nextInt(-40, 40));
            for (int c = 0; c < dim; c++) {
                int off = r * dim + c;
                q[off] = switch (r % 5) {
                    // Largest 100 * magnitude, so the scale is magnitude and the others lie halfway
                    // between two codes: the tie goes to the even code on both sides.
                    case 0 -> (float) ((c == 0 ? 100 : rnd.nextInt(-100, 100) + 0.5) * magnitude);
                    // A zero row and a row below the smallest range both quantize to zero.
                    case 1 -> r % 10 == 1 ? 0f : (float) (rnd.nextGaussian() * 1e-33);
                    // The largest magnitude exactly at 127 times a power of two.
                    case 2 -> c == 0 ? (float) (127 * magnitude) : (float) (rnd.nextGaussian() * magnitude);
                    default -> (float) (rnd.nextGaussian() * magnitude);
                };
            }
        }
        Map<String, Integer> defines = new LinkedHashMap<>(new KvLayout(new KvShape(1, 1, dim, 16, 1, 0)).kernelDefines());
        defines.put("QUERY_HEADS", queryHeads);
        defines.put("GQA_GROUP", group);
        FloatBuffer qHost = MemoryUtil.memAllocFloat(q.length).put(q).flip();
        ByteBuffer codesHost = MemoryUtil.memAlloc(rows * dim);
        FloatBuffer scalesHost = MemoryUtil.memAllocFloat(rows);
        try (ClKernel kernel = cl.kernel("common.cl+query.cl", defines, "quantize_queries");
             ClBuffer qBuf = cl.buffer("q", 4L * q.length);
             ClBuffer codes = cl.buffer("codes", (long) rows * dim);
             ClBuffer scales = cl.buffer("scales", 4L * rows);
             ClBuffer smoothing = cl.buffer("smoothing", 4L * exponents.length)) {
            cl.write(qBuf, 0, qHost);
            IntBuffer e = MemoryUtil.memAllocInt(exponents.length);
            try {
                cl.write(smoothing, 0, e.put(exponents).flip());
            } finally {
                MemoryUtil.memFree(e);
            }
            kernel.arg(0, qBuf).arg(1, codes).arg(2, scales).local(3, dim).arg(4, smoothing).arg(5, kvHeads * dim)
                    .launch(rows, dim / 4);
            cl.read(codes, 0, codesHost);
            cl.read(scales, 0, scalesHost);
            float[] expected = new float[dim];
            for (int r = 0; r < rows; r++) {
                int head = r % queryHeads / group;
                int[] headExponents = java.util.Arrays.copyOfRange(exponents, (kvHeads + head) * dim, (kvHeads + head + 1) * dim);
                float scale = Int8Query.quantize(q, r * dim, dim, headExponents, expected, 0);
                assertEquals(Float.floatToIntBits(scale), Float.floatToIntBits(scalesHost.get(r)), "row " + r + " scale");
                for (int c = 0; c < dim; c++) {
                    assertEquals((int) expected[c], codesHost.get(r * dim + c), "row " + r + " channel " + c);
                }
            }
        } finally {
            MemoryUtil.memFree(qHost);
            MemoryUtil.memFree(codesHost);
            MemoryUtil.memFree(scalesHost);
        }
    }
}
