package io.twilight4j.gguf;

import java.lang.reflect.Array;
import java.util.Objects;

/**
 * A GGUF array value. {@code values} is a Java array chosen by element type: byte[] for (u)int8,
 * short[] for (u)int16, int[] for (u)int32, long[] for (u)int64 (unsigned ones hold the raw bits),
 * float[], double[], boolean[], String[], and GgufArray[] for nested arrays. {@link #get} widens an
 * element by the same rule as scalar metadata (see {@link GgufFile#metadata()}).
 */
public record GgufArray(GgufValueType elementType, Object values) {

    public GgufArray {
        Objects.requireNonNull(elementType, "elementType");
        Class<?> expected = storageClass(elementType);
        if (values == null || values.getClass() != expected) {
            throw new IllegalArgumentException("GGUF array of " + elementType + " must hold a "
                    + expected.getSimpleName() + ", not " + (values == null ? "null" : values.getClass().getSimpleName()));
        }
    }

    /** Number of elements. */
    public int length() {
        return Array.getLength(values);
    }

    /** Element {@code i}, boxed and widened as scalar metadata values are. */
    public Object get(int i) {
        return switch (elementType) {
            case UINT8 -> (short) Byte.toUnsignedInt(((byte[]) values)[i]);
            case INT8 -> ((byte[]) values)[i];
            case UINT16 -> Short.toUnsignedInt(((short[]) values)[i]);
            case INT16 -> ((short[]) values)[i];
            case UINT32 -> Integer.toUnsignedLong(((int[]) values)[i]);
            case INT32 -> ((int[]) values)[i];
            case UINT64, INT64 -> ((long[]) values)[i];
            case FLOAT32 -> ((float[]) values)[i];
            case FLOAT64 -> ((double[]) values)[i];
            case BOOL -> ((boolean[]) values)[i];
            case STRING -> ((String[]) values)[i];
            case ARRAY -> ((GgufArray[]) values)[i];
        };
    }

    /** The Java array class that holds elements of {@code type}. */
    static Class<?> storageClass(GgufValueType type) {
        return switch (type) {
            case UINT8, INT8 -> byte[].class;
            case UINT16, INT16 -> short[].class;
            case UINT32, INT32 -> int[].class;
            case UINT64, INT64 -> long[].class;
            case FLOAT32 -> float[].class;
            case FLOAT64 -> double[].class;
            case BOOL -> boolean[].class;
            case STRING -> String[].class;
            case ARRAY -> GgufArray[].class;
        };
    }

    @Override
    public String toString() {
        return "GgufArray[" + elementType + " x " + length() + "]";
    }
}
