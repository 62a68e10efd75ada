package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.twilight4j.backend.AttentionBackend;
import io.twilight4j.backend.BackendContractTest;

/** The shared backend contract (same tests as the CPU backend) on the default OpenCL device. */
class OpenClBackendContractTest extends BackendContractTest {

    @Override
    protected AttentionBackend openBackend() {
        if (OpenClDevice.list().isEmpty()) {
            String why = "no OpenCL device found (install pocl-opencl-icd ocl-icd-libopencl1)";
            if ("true".equals(System.getenv("CI"))) {
                fail(why);
            }
            System.out.println("SKIPPED: " + why);
            assumeTrue(false, why);
        }
        return new OpenClBackend(OpenClDevice.choose(null), false);
    }
}
