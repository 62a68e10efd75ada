package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
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

    @AfterAll
    static void closeDevice() {
        if (cl != null) {
            cl.close();
            cl = null;
        }
    }
}
