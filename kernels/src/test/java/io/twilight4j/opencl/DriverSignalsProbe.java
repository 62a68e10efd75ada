package io.twilight4j.opencl;

import java.util.Arrays;
import java.util.Map;

/**
 * Child process of {@link DriverSignalsTest}: prints the signal handlers of a fresh JVM ("before: "), then finds
 * the devices, opens the default one, builds and runs a kernel, closes everything and prints them again
 * ("after: "), then the device's platform.
 */
public final class DriverSignalsProbe {

    private DriverSignalsProbe() {
    }

    public static void main(String[] args) {
        System.out.println("before: " + Arrays.toString(JvmSignals.handlers()));
        OpenClDevice device = OpenClDevice.choose(null);
        try (OpenClContext cl = new OpenClContext(device);
             ClKernel spin = cl.kernel("queue_overlap.cl", Map.of(), "spin");
             ClBuffer out = cl.buffer("spin output", 4L * 64)) {
            spin.arg(0, out).arg(1, 100);
            spin.launch(1, 64);
            cl.finish();
        }
        System.out.println("after: " + Arrays.toString(JvmSignals.handlers()));
        System.out.println("platform: " + device.platformName());
    }
}
