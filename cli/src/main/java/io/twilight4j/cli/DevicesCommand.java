package io.twilight4j.cli;

import io.twilight4j.opencl.OpenClDevice;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code twilight4j devices}: lists the OpenCL devices with the limits the kernels are sized from, and their extensions. */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List OpenCL platforms and devices (index and name work with --device).")
public final class DevicesCommand implements Runnable {

    @Override
    public void run() {
        List<OpenClDevice> devices = OpenClDevice.list();
        if (devices.isEmpty()) {
            System.out.println("no OpenCL device found (install a GPU driver, or 'apt-get install pocl-opencl-icd ocl-icd-libopencl1' for the CPU runtime)");
            return;
        }
        for (OpenClDevice d : devices) {
            System.out.println(d.summary());
            System.out.println("   extensions: " + d.extensions());
        }
    }
}
