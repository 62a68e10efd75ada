package io.twilight4j.gguf;

/** A GGUF metadata value type with its id in the file and its encoded size (0: variable). */
public enum GgufValueType {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4),
    BOOL(7, 1), STRING(8, 0), ARRAY(9, 0), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    private final int id;
    private final int fixedBytes;

    GgufValueType(int id, int fixedBytes) {
        this.id = id;
        this.fixedBytes = fixedBytes;
    }

    /** The type's id in the file. */
    public int id() {
        return id;
    }

    /** Encoded size of one value, 0 for strings and arrays. */
    public int fixedBytes() {
        return fixedBytes;
    }

    /** Smallest encoding of one value: a string is at least its 8-byte length, an array its type and count. */
    long minBytes() {
        return switch (this) {
            case STRING -> 8;
            case ARRAY -> 12;
            default -> fixedBytes;
        };
    }

    /** True for the integer types (signed or not). */
    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }

    /** The type with this id, or null when the id is unknown (the reader names the field). */
    static GgufValueType byIdOrNull(int id) {
        for (GgufValueType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }
}
