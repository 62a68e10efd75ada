package io.twilight4j.opencl;

/** Turns OpenCL status codes into exceptions whose messages name the call and the error. */
final class ClCheck {

    private ClCheck() {
    }

    /** Throws unless {@code status} is CL_SUCCESS; {@code what} names the call and its object. */
    static void check(int status, String what) {
        if (status != 0) {
            throw new OpenClException(message(status, what));
        }
    }

    /** The exception message for {@code status} from the call {@code what}, with a hint where the code misleads. */
    static String message(int status, String what) {
        String hint = switch (status) {
            // NVIDIA's driver reports a kernel's memory fault as CL_OUT_OF_RESOURCES on a later call (a read
            // that waits for the kernel), and every command after it fails the same way.
            case -5 -> "; from a read or finish this usually means a kernel enqueued before it failed on the device"
                    + " (NVIDIA reports an illegal address this way), not a lack of memory";
            case -14 -> "; a command it waited for failed first";
            default -> "";
        };
        return what + " failed: " + errorName(status) + " (" + status + ")" + hint;
    }

    /** The CL_* name of an error code (the common ones; others print as numbers). */
    static String errorName(int status) {
        return switch (status) {
            case -1 -> "CL_DEVICE_NOT_FOUND";
            case -2 -> "CL_DEVICE_NOT_AVAILABLE";
            case -3 -> "CL_COMPILER_NOT_AVAILABLE";
            case -4 -> "CL_MEM_OBJECT_ALLOCATION_FAILURE";
            case -5 -> "CL_OUT_OF_RESOURCES";
            case -6 -> "CL_OUT_OF_HOST_MEMORY";
            case -7 -> "CL_PROFILING_INFO_NOT_AVAILABLE";
            case -11 -> "CL_BUILD_PROGRAM_FAILURE";
            case -14 -> "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST";
            case -30 -> "CL_INVALID_VALUE";
            case -32 -> "CL_INVALID_PLATFORM";
            case -33 -> "CL_INVALID_DEVICE";
            case -34 -> "CL_INVALID_CONTEXT";
            case -36 -> "CL_INVALID_COMMAND_QUEUE";
            case -38 -> "CL_INVALID_MEM_OBJECT";
            case -43 -> "CL_INVALID_BUILD_OPTIONS";
            case -44 -> "CL_INVALID_PROGRAM";
            case -45 -> "CL_INVALID_PROGRAM_EXECUTABLE";
            case -46 -> "CL_INVALID_KERNEL_NAME";
            case -48 -> "CL_INVALID_KERNEL";
            case -49 -> "CL_INVALID_ARG_INDEX";
            case -50 -> "CL_INVALID_ARG_VALUE";
            case -51 -> "CL_INVALID_ARG_SIZE";
            case -52 -> "CL_INVALID_KERNEL_ARGS";
            case -53 -> "CL_INVALID_WORK_DIMENSION";
            case -54 -> "CL_INVALID_WORK_GROUP_SIZE";
            case -55 -> "CL_INVALID_WORK_ITEM_SIZE";
            case -58 -> "CL_INVALID_EVENT";
            case -61 -> "CL_INVALID_BUFFER_SIZE";
            case -1001 -> "CL_PLATFORM_NOT_FOUND_KHR";
            default -> "CL error";
        };
    }
}
