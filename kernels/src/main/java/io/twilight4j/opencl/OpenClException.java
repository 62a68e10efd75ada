package io.twilight4j.opencl;

/** An OpenCL call failed; the message names the call, the kernel or program, and the error code. */
public final class OpenClException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** An exception with a message naming what failed. */
    public OpenClException(String message) {
        super(message);
    }

    /** An exception with a message naming what failed and the underlying cause. */
    public OpenClException(String message, Throwable cause) {
        super(message, cause);
    }
}
