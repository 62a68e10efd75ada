package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** OpenCL status codes become exceptions naming the call, the code and, where the code misleads, what it means. */
class ClCheckTest {

    @Test
    void successPasses() {
        assertDoesNotThrow(() -> ClCheck.check(0, "clFinish(queue)"));
    }

    @Test
    void failureNamesTheCallAndTheCode() {
        OpenClException e = assertThrows(OpenClException.class, () -> ClCheck.check(-38, "clSetKernelArg(top_p, 3)"));
        assertEquals("clSetKernelArg(top_p, 3) failed: CL_INVALID_MEM_OBJECT (-38)", e.getMessage());
    }

    @Test
    void outOfResourcesOnAReadPointsAtAnEarlierKernel() {
        String m = ClCheck.message(-5, "clEnqueueReadBuffer(step outputs)");
        assertTrue(m.startsWith("clEnqueueReadBuffer(step outputs) failed: CL_OUT_OF_RESOURCES (-5); "), m);
        assertTrue(m.contains("kernel enqueued before it failed"), m);
    }

    @Test
    void unknownCodesPrintAsNumbers() {
        assertEquals("clFoo failed: CL error (-9999)", ClCheck.message(-9999, "clFoo"));
        assertTrue(ClCheck.message(-14, "clWaitForEvents").contains("CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST"));
    }
}
