package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.twilight4j.kv.Int8Query;
import io.twilight4j.kv.KvLayout;
import io.twilight4j.kv.KvShape;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lwjgl.system.MemoryUtil;

/**
 * quantize_queries against {@link Int8Query}, bit for bit: the device's codes and scales must equal the
 * host's, or the CPU and OpenCL backends would rank pages and estimate weights differently.
 */
class OpenClQueryCodesTest extends OpenClTestSupport {

    @ParameterizedTest(name = "headDim {0}, seed {1}")
    @CsvSource({"128, 1", "64, 2", "12, 3"})
    void deviceCodesEqualTheHostEncoder(int dim, long seed) {
        int rows = 300;
        SplittableRandom rnd = new SplittableRandom(seed);
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
        defines.put("QUERY_HEADS", 1);
        defines.put("GQA_GROUP", 1);
        FloatBuffer qHost = MemoryUtil.memAllocFloat(q.length).put(q).flip();
        ByteBuffer codesHost = MemoryUtil.memAlloc(rows * dim);
        FloatBuffer scalesHost = MemoryUtil.memAllocFloat(rows);
        try (ClKernel kernel = cl.kernel("common.cl+query.cl", defines, "quantize_queries");
             ClBuffer qBuf = cl.buffer("q", 4L * q.length);
             ClBuffer codes = cl.buffer("codes", (long) rows * dim);
             ClBuffer scales = cl.buffer("scales", 4L * rows)) {
            cl.write(qBuf, 0, qHost);
            kernel.arg(0, qBuf).arg(1, codes).arg(2, scales).local(3, dim).launch(rows, dim / 4);
            cl.read(codes, 0, codesHost);
            cl.read(scales, 0, scalesHost);
            float[] expected = new float[dim];
            for (int r = 0; r < rows; r++) {
                float scale = Int8Query.quantize(q, r * dim, dim, expected, 0);
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
