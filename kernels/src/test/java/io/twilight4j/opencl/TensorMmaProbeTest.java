package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The tensor-core probe on a device without NVIDIA's inline PTX (PoCL in CI): it must say that the mma does not
 * build, so plans keep the shuffle variants, rather than fail the plan. (Its check of the product runs on
 * NVIDIA devices, through FastPathCheck's plans.)
 */
class TensorMmaProbeTest extends OpenClTestSupport {

    @Test
    void reportsThatTheMmaDoesNotBuildWithoutInlinePtx() {
        String problem = TensorMmaProbe.problem(cl, pruneDefines(2, 8, 4));
        assertNotNull(problem, "the probe built an mma without inline PTX on " + cl.device().name());
        assertTrue(problem.startsWith("the driver does not build it"), problem);
    }
}
