package io.twilight4j.gguf;

import java.io.IOException;

/** A GGUF file is malformed or unsupported; the message names the file, the field and the value. */
public final class GgufFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    /** An error with a message that already names file, field and value. */
    public GgufFormatException(String message) {
        super(message);
    }

    /** An error caused by a lower-level I/O failure. */
    public GgufFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
