package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.twilight4j.kv.KvLayout;
import io.twilight4j.kv.KvShape;
import io.twilight4j.prune.TopPThreshold;
import java.nio.IntBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.lwjgl.system.MemoryUtil;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Base of the OpenCL tests: opens the default device once; none found skips locally and fails in CI. */
abstract class OpenClTestSupport {

    static OpenClContext cl;

    @BeforeAll
    static void openDevice() {
        if (cl != null) {
            return;
        }
        if (OpenClDevice.list().isEmpty()) {
            String why = "no OpenCL device found (install pocl-opencl-icd ocl-icd-libopencl1)";
            if ("true".equals(System.getenv("CI"))) {
                fail(why);
            }
            System.out.println("SKIPPED: " + why);
            assumeTrue(false, why);
        }
        cl = new OpenClContext(OpenClDevice.choose(null));
    }

    /** n standard normal floats. */
    static float[] gaussian(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    /**
     * Defines of the portable prune program (common.cl+prune.cl) for {@code kvHeads} KV heads of d = 64 and
     * {@code queryHeads} query heads, {@code headsPerEntry} per token set: the row in local memory, the
     * 1/8-octave histogram and the weights written back, as tests read them; override what a test varies.
     */
    static Map<String, Integer> pruneDefines(int kvHeads, int queryHeads, int headsPerEntry) {
        Map<String, Integer> d = new LinkedHashMap<>(new KvLayout(new KvShape(1, kvHeads, 64, 16, 1, 0)).kernelDefines());
        d.put("QUERY_HEADS", queryHeads);
        d.put("GQA_GROUP", queryHeads / kvHeads);
        d.put("HEADS_PER_ENTRY", headsPerEntry);
        d.put("ROW_LOCAL", 1);
        d.put("TOP_P_HISTOGRAM", 1);
        d.put("TOP_P_BUCKET_SHIFT", TopPThreshold.BUCKET_SHIFT);
        d.put("TOP_P_WRITEBACK", 1);
        d.put("INLINE_PTX", 0);
        d.put("EST_SHUFFLE", 0);
        d.put("EST_LANES", 4);
        d.put("EST_UNROLL", 4);
        return d;
    }

    /** A device buffer holding {@code values}. */
    static ClBuffer upload(String name, int[] values) {
        ClBuffer b = cl.buffer(name, 4L * Math.max(1, values.length));
        IntBuffer host = MemoryUtil.memAllocInt(values.length).put(values).flip();
        try {
            cl.write(b, 0, host);
        } finally {
            MemoryUtil.memFree(host);
        }
        return b;
    }

    /** The first {@code n} ints of {@code b}. */
    static int[] download(ClBuffer b, int n) {
        IntBuffer host = MemoryUtil.memAllocInt(n);
        try {
            cl.read(b, 0, host);
            int[] values = new int[n];
            host.get(values);
            return values;
        } finally {
            MemoryUtil.memFree(host);
        }
    }

    @AfterAll
    static void closeDevice() {
        if (cl != null) {
            cl.close();
            cl = null;
        }
    }
}
