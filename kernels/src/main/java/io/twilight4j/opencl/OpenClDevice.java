package io.twilight4j.opencl;

import static org.lwjgl.opencl.CL10.*;
import static org.lwjgl.opencl.CL11.CL_DEVICE_OPENCL_C_VERSION;

import java.nio.ByteBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.Configuration;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

/**
 * One OpenCL device and the limits kernels are sized from.
 *
 * @param index          position in {@link #list()} (what {@code --device N} names)
 * @param platform       cl_platform_id
 * @param id             cl_device_id
 * @param platformName   the platform's name
 * @param name           the device's name
 * @param gpu            whether the device reports CL_DEVICE_TYPE_GPU
 * @param computeUnits   CL_DEVICE_MAX_COMPUTE_UNITS
 * @param maxWorkGroup   CL_DEVICE_MAX_WORK_GROUP_SIZE
 * @param localMemBytes  CL_DEVICE_LOCAL_MEM_SIZE
 * @param maxAllocBytes  CL_DEVICE_MAX_MEM_ALLOC_SIZE (largest single buffer)
 * @param globalMemBytes CL_DEVICE_GLOBAL_MEM_SIZE
 * @param openClC        CL_DEVICE_OPENCL_C_VERSION
 */
public record OpenClDevice(int index, long platform, long id, String platformName, String name, boolean gpu,
                           int computeUnits, long maxWorkGroup, long localMemBytes, long maxAllocBytes,
                           long globalMemBytes, String openClC) {

    static {
        // The ICD loader's versioned soname exists wherever OpenCL is installed; the bare
        // libOpenCL.so LWJGL asks for by default only comes with the -dev package.
        if (Configuration.OPENCL_LIBRARY_NAME.get() == null && System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            Configuration.OPENCL_LIBRARY_NAME.set("libOpenCL.so.1");
        }
    }

    /** Every device of every platform, in platform order; empty when no OpenCL runtime is installed. */
    public static List<OpenClDevice> list() {
        List<OpenClDevice> out = new ArrayList<>();
        // The loader loads and starts every registered driver here (JvmSignals says why the guard).
        try (JvmSignals.Guard signals = JvmSignals.guard(); MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer n = stack.mallocInt(1);
            int status;
            try {
                status = clGetPlatformIDs(null, n);
            } catch (UnsatisfiedLinkError | ExceptionInInitializerError | NoClassDefFoundError e) {
                return out; // no OpenCL ICD loader on this machine
            }
            if (status == -1001 || n.get(0) == 0) {
                return out; // loader present, no platform registered
            }
            ClCheck.check(status, "clGetPlatformIDs");
            PointerBuffer platforms = stack.mallocPointer(n.get(0));
            ClCheck.check(clGetPlatformIDs(platforms, (IntBuffer) null), "clGetPlatformIDs");
            for (int p = 0; p < platforms.capacity(); p++) {
                long platform = platforms.get(p);
                String platformName = platformString(platform, CL_PLATFORM_NAME);
                IntBuffer nd = stack.mallocInt(1);
                if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, null, nd) != 0 || nd.get(0) == 0) {
                    continue;
                }
                PointerBuffer devices = stack.mallocPointer(nd.get(0));
                ClCheck.check(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, devices, (IntBuffer) null), "clGetDeviceIDs");
                for (int d = 0; d < devices.capacity(); d++) {
                    out.add(describe(out.size(), platform, platformName, devices.get(d)));
                }
            }
        }
        return out;
    }

    /**
     * Chooses a device: {@code selector} is an index into {@link #list()} or a case-insensitive
     * substring of the device or platform name; null or blank picks the first GPU, else the first device.
     */
    public static OpenClDevice choose(String selector) {
        List<OpenClDevice> all = list();
        if (all.isEmpty()) {
            throw new OpenClException("no OpenCL device found: install an OpenCL runtime (e.g. 'apt-get install pocl-opencl-icd ocl-icd-libopencl1') or a GPU driver");
        }
        if (selector == null || selector.isBlank()) {
            return all.stream().filter(OpenClDevice::gpu).findFirst().orElse(all.get(0));
        }
        String s = selector.trim();
        if (s.chars().allMatch(Character::isDigit)) {
            int i = Integer.parseInt(s);
            if (i >= all.size()) {
                throw new IllegalArgumentException("--device " + s + ": only " + all.size() + " OpenCL device"
                        + (all.size() == 1 ? "" : "s") + " (0.." + (all.size() - 1) + "); run 'twilight4j devices'");
            }
            return all.get(i);
        }
        String key = s.toLowerCase(Locale.ROOT);
        for (OpenClDevice d : all) {
            if (d.name.toLowerCase(Locale.ROOT).contains(key) || d.platformName.toLowerCase(Locale.ROOT).contains(key)) {
                return d;
            }
        }
        throw new IllegalArgumentException("--device '" + s + "': no OpenCL device name contains it; run 'twilight4j devices'");
    }

    /** Whether kernels may use inline PTX (warp shuffles): NVIDIA's platform compiles it, others do not. */
    public boolean inlinePtx() {
        return platformName.toUpperCase(Locale.ROOT).contains("NVIDIA");
    }

    /**
     * The device's OpenCL extensions (CL_DEVICE_EXTENSIONS, space-separated), e.g. whether it offers
     * cl_khr_command_buffer (a step's launches recorded once and replayed: on the H100 each launch costs the
     * host ~8 us) or cl_khr_int64_base_atomics.
     */
    public String extensions() {
        return String.join(" ", deviceString(id, CL_DEVICE_EXTENSIONS).split("\\s+")).trim();
    }

    /** One line for listings: index, name, platform and limits. */
    public String summary() {
        return String.format(Locale.ROOT, "%d: %s [%s] %s, %d compute units, max work-group %d, local mem %d KiB, max alloc %d MiB, global mem %d MiB, %s",
                index, name, platformName, gpu ? "GPU" : "non-GPU", computeUnits, maxWorkGroup, localMemBytes / 1024,
                maxAllocBytes >> 20, globalMemBytes >> 20, openClC);
    }

    private static OpenClDevice describe(int index, long platform, String platformName, long device) {
        return new OpenClDevice(index, platform, device, platformName, deviceString(device, CL_DEVICE_NAME),
                (deviceLong(device, CL_DEVICE_TYPE) & CL_DEVICE_TYPE_GPU) != 0,
                deviceInt(device, CL_DEVICE_MAX_COMPUTE_UNITS), devicePointer(device, CL_DEVICE_MAX_WORK_GROUP_SIZE),
                deviceLong(device, CL_DEVICE_LOCAL_MEM_SIZE), deviceLong(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE),
                deviceLong(device, CL_DEVICE_GLOBAL_MEM_SIZE), deviceString(device, CL_DEVICE_OPENCL_C_VERSION));
    }

    private static String platformString(long platform, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            ClCheck.check(clGetPlatformInfo(platform, param, (ByteBuffer) null, size), "clGetPlatformInfo");
            ByteBuffer buf = stack.malloc((int) size.get(0));
            ClCheck.check(clGetPlatformInfo(platform, param, buf, null), "clGetPlatformInfo");
            return MemoryUtil.memUTF8(buf, Math.max(0, buf.capacity() - 1)).trim();
        }
    }

    private static String deviceString(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            ClCheck.check(clGetDeviceInfo(device, param, (ByteBuffer) null, size), "clGetDeviceInfo(" + param + ")");
            ByteBuffer buf = stack.malloc((int) size.get(0));
            ClCheck.check(clGetDeviceInfo(device, param, buf, null), "clGetDeviceInfo(" + param + ")");
            return MemoryUtil.memUTF8(buf, Math.max(0, buf.capacity() - 1)).trim();
        }
    }

    private static int deviceInt(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer v = stack.mallocInt(1);
            ClCheck.check(clGetDeviceInfo(device, param, v, null), "clGetDeviceInfo(" + param + ")");
            return v.get(0);
        }
    }

    private static long deviceLong(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            LongBuffer v = stack.mallocLong(1);
            ClCheck.check(clGetDeviceInfo(device, param, v, null), "clGetDeviceInfo(" + param + ")");
            return v.get(0);
        }
    }

    private static long devicePointer(long device, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer v = stack.mallocPointer(1);
            ClCheck.check(clGetDeviceInfo(device, param, v, null), "clGetDeviceInfo(" + param + ")");
            return v.get(0);
        }
    }
}
