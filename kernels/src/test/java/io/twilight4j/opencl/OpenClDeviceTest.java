package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OpenClDeviceTest extends OpenClTestSupport {

    @Test
    void devicesReportUsableLimits() {
        List<OpenClDevice> all = OpenClDevice.list();
        for (int i = 0; i < all.size(); i++) {
            OpenClDevice d = all.get(i);
            assertEquals(i, d.index());
            assertTrue(d.computeUnits() > 0 && d.maxWorkGroup() > 0 && d.localMemBytes() > 0 && d.maxAllocBytes() > 0, d.summary());
            assertTrue(d.openClC().startsWith("OpenCL C"), d.summary());
            // The extension list decodes into names, one space apart (no NUL or padding left from the query).
            for (String ext : d.extensions().isEmpty() ? new String[0] : d.extensions().split(" ")) {
                assertTrue(ext.matches("cl_[A-Za-z0-9_]+"), "'" + ext + "' in '" + d.extensions() + "'");
            }
        }
    }

    @Test
    void choosesByIndexAndNameAndRejectsUnknown() {
        OpenClDevice first = OpenClDevice.list().get(0);
        assertEquals(first.id(), OpenClDevice.choose("0").id());
        assertEquals(first.id(), OpenClDevice.choose(first.name().substring(0, Math.min(4, first.name().length()))).id());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OpenClDevice.choose("no-such-device-xyz"));
        assertTrue(e.getMessage().contains("no-such-device-xyz"), e.getMessage());
        String tooFar = assertThrows(IllegalArgumentException.class, () -> OpenClDevice.choose("999")).getMessage();
        int n = OpenClDevice.list().size();
        assertTrue(tooFar.contains("--device 999: only " + n + (n == 1 ? " OpenCL device " : " OpenCL devices ") + "(0.." + (n - 1) + ")"),
                tooFar);
    }

    @Test
    void buildFailureCarriesTheBuildLog() {
        OpenClException e = assertThrows(OpenClException.class, () -> cl.kernel("broken_for_test.cl", Map.of(), "broken"));
        assertTrue(e.getMessage().contains("broken_for_test.cl") && e.getMessage().contains("build log"), e.getMessage());
        assertTrue(e.getMessage().contains("undeclared_identifier"), e.getMessage());
    }

    @Test
    void oversizedBufferNamesTheBuffer() {
        OpenClException e = assertThrows(OpenClException.class, () -> cl.buffer("huge", cl.device().maxAllocBytes() + 1));
        assertTrue(e.getMessage().contains("'huge'"), e.getMessage());
    }
}
