package io.twilight4j.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads little-endian GGUF fields from a mapped file, checking every read against the file length
 * first, so a truncated or lying file ends in a {@link GgufFormatException} naming file, field and
 * offset instead of an out-of-bounds error or a huge allocation.
 */
final class GgufCursor {

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment file;
    private final String fileName;
    private long position;

    GgufCursor(MemorySegment file, String fileName) {
        this.file = file;
        this.fileName = fileName;
    }

    long position() {
        return position;
    }

    long remaining() {
        return file.byteSize() - position;
    }

    /** An error naming the file and the field. */
    GgufFormatException error(String field, String problem) {
        return new GgufFormatException(fileName + ": " + field + ": " + problem);
    }

    /** Fails unless {@code bytes} more bytes exist; called before reading or allocating anything that size. */
    void require(long bytes, String field) throws GgufFormatException {
        if (bytes < 0 || bytes > remaining()) {
            throw error(field, "needs " + Long.toUnsignedString(bytes) + " bytes at offset " + position
                    + " but the file has " + file.byteSize() + " bytes (truncated or corrupt)");
        }
    }

    byte i8(String field) throws GgufFormatException {
        require(1, field);
        return file.get(ValueLayout.JAVA_BYTE, position++);
    }

    short i16(String field) throws GgufFormatException {
        require(2, field);
        short v = file.get(I16, position);
        position += 2;
        return v;
    }

    int i32(String field) throws GgufFormatException {
        require(4, field);
        int v = file.get(I32, position);
        position += 4;
        return v;
    }

    long i64(String field) throws GgufFormatException {
        require(8, field);
        long v = file.get(I64, position);
        position += 8;
        return v;
    }

    float f32(String field) throws GgufFormatException {
        require(4, field);
        float v = file.get(F32, position);
        position += 4;
        return v;
    }

    double f64(String field) throws GgufFormatException {
        require(8, field);
        double v = file.get(F64, position);
        position += 8;
        return v;
    }

    /** A count stored as u64 whose entries take at least {@code minEntryBytes} each: checked before allocation. */
    int count(String field, long minEntryBytes) throws GgufFormatException {
        long n = i64(field);
        if (n < 0 || n > Integer.MAX_VALUE - 8) {
            throw error(field, "count " + Long.toUnsignedString(n) + " is too large");
        }
        if (minEntryBytes > 0 && n > remaining() / minEntryBytes) {
            throw error(field, "count " + n + " needs at least " + n * minEntryBytes + " bytes but only "
                    + remaining() + " remain in the file");
        }
        return (int) n;
    }

    /** A GGUF string: u64 byte length, then that many bytes of UTF-8 (malformed UTF-8 is an error). */
    String string(String field) throws GgufFormatException {
        long length = i64(field + " length");
        if (length < 0 || length > remaining()) {
            throw error(field, "string length " + Long.toUnsignedString(length) + " at offset " + (position - 8)
                    + " exceeds the " + remaining() + " bytes left in the file");
        }
        if (length > Integer.MAX_VALUE - 8) {
            throw error(field, "string length " + length + " is too large");
        }
        byte[] bytes = file.asSlice(position, length).toArray(ValueLayout.JAVA_BYTE);
        position += length;
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw error(field, "string at offset " + (position - length) + " is not valid UTF-8");
        }
    }
}
