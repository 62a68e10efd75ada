package io.twilight4j.gguf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a GGUF v3 file: metadata of every type (arrays included) and tensors placed at aligned
 * offsets. {@link #write} goes to a temporary file beside the target and moves it into place, so a
 * failure never leaves a half-written file under the target name.
 */
public final class GgufWriter {

    private record Entry(GgufValueType type, Object value) {
    }

    private record PendingTensor(String name, GgmlType type, long[] dims, MemorySegment data) {
    }

    private final Map<String, Entry> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private int alignment = GgufParser.DEFAULT_ALIGNMENT;

    /** Sets the data alignment (a power of two); other than 32 it is also written as {@code general.alignment}. */
    public GgufWriter alignment(int bytes) {
        if (bytes <= 0 || Integer.bitCount(bytes) != 1) {
            throw new IllegalArgumentException("GGUF alignment must be a power of two, not " + bytes);
        }
        alignment = bytes;
        if (bytes != GgufParser.DEFAULT_ALIGNMENT) {
            put(GgufParser.ALIGNMENT_KEY, GgufValueType.UINT32, (long) bytes);
        } else {
            metadata.remove(GgufParser.ALIGNMENT_KEY);
        }
        return this;
    }

    /**
     * Adds a metadata value of {@code type}: a Number for integer and float types (range-checked),
     * Boolean, String, or a {@link GgufArray} for ARRAY. A later put of the same key replaces it.
     */
    public GgufWriter put(String key, GgufValueType type, Object value) {
        checkValue(key, type, value);
        metadata.put(key, new Entry(type, value));
        return this;
    }

    /** Adds a STRING value. */
    public GgufWriter putString(String key, String value) {
        return put(key, GgufValueType.STRING, value);
    }

    /** Adds an INT32 value. */
    public GgufWriter putInt(String key, int value) {
        return put(key, GgufValueType.INT32, value);
    }

    /** Adds a UINT32 value. */
    public GgufWriter putUInt32(String key, long value) {
        return put(key, GgufValueType.UINT32, value);
    }

    /** Adds a FLOAT32 value. */
    public GgufWriter putFloat(String key, float value) {
        return put(key, GgufValueType.FLOAT32, value);
    }

    /** Adds a BOOL value. */
    public GgufWriter putBoolean(String key, boolean value) {
        return put(key, GgufValueType.BOOL, value);
    }

    /** Adds an array value. */
    public GgufWriter putArray(String key, GgufArray value) {
        return put(key, GgufValueType.ARRAY, value);
    }

    /** Adds a tensor; {@code data} must hold exactly its byte size. Dims innermost first. */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, MemorySegment data) {
        GgufTensor shape = new GgufTensor(name, type, dims, 0);
        if (dims.length < 1 || dims.length > GgufParser.MAX_DIMS || dims[0] % type.blockElements() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "': dims " + java.util.Arrays.toString(dims)
                    + " invalid for " + type + " (1.." + GgufParser.MAX_DIMS + " dims, row a multiple of "
                    + type.blockElements() + ")");
        }
        if (data.byteSize() != shape.byteSize()) {
            throw new IllegalArgumentException("tensor '" + name + "': " + data.byteSize() + " bytes of data, "
                    + "expected " + shape.byteSize());
        }
        if (tensors.stream().anyMatch(t -> t.name.equals(name))) {
            throw new IllegalArgumentException("tensor '" + name + "' added twice");
        }
        tensors.add(new PendingTensor(name, type, dims.clone(), data));
        return this;
    }

    /** Adds a tensor from a byte array. */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, byte[] data) {
        return addTensor(name, type, dims, MemorySegment.ofArray(data));
    }

    /** Writes the file atomically (temporary file, then move). */
    public void write(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, target.getFileName().toString(), ".part");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeTo(ch);
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void writeTo(FileChannel ch) throws IOException {
        Bytes h = new Bytes();
        h.i32(GgufParser.MAGIC).i32(3).i64(tensors.size()).i64(metadata.size());
        for (Map.Entry<String, Entry> e : metadata.entrySet()) {
            h.string(e.getKey()).i32(e.getValue().type.id());
            value(h, e.getValue().type, e.getValue().value);
        }
        long offset = 0;
        long[] offsets = new long[tensors.size()];
        for (int i = 0; i < tensors.size(); i++) {
            PendingTensor t = tensors.get(i);
            h.string(t.name).i32(t.dims.length);
            for (long d : t.dims) {
                h.i64(d);
            }
            offsets[i] = offset;
            h.i32(t.type.id()).i64(offset);
            offset = GgufParser.alignUp(offset + t.data.byteSize(), alignment);
        }
        long dataStart = GgufParser.alignUp(h.size(), alignment);
        h.zeros(dataStart - h.size());
        writeFully(ch, ByteBuffer.wrap(h.toByteArray()));
        for (int i = 0; i < tensors.size(); i++) {
            ch.position(dataStart + offsets[i]);
            writeFully(ch, tensors.get(i).data.asByteBuffer());
            long end = dataStart + offsets[i] + tensors.get(i).data.byteSize();
            long padded = dataStart + GgufParser.alignUp(end - dataStart, alignment);
            writeFully(ch, ByteBuffer.allocate((int) (padded - end)));
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static void value(Bytes h, GgufValueType type, Object v) {
        switch (type) {
            case UINT8, INT8 -> h.i8(((Number) v).byteValue());
            case UINT16, INT16 -> h.i16(((Number) v).shortValue());
            case UINT32, INT32 -> h.i32(((Number) v).intValue());
            case UINT64, INT64 -> h.i64(((Number) v).longValue());
            case FLOAT32 -> h.i32(Float.floatToRawIntBits(((Number) v).floatValue()));
            case FLOAT64 -> h.i64(Double.doubleToRawLongBits(((Number) v).doubleValue()));
            case BOOL -> h.i8((Boolean) v ? 1 : 0);
            case STRING -> h.string((String) v);
            case ARRAY -> {
                GgufArray a = (GgufArray) v;
                h.i32(a.elementType().id()).i64(a.length());
                for (int i = 0; i < a.length(); i++) {
                    value(h, a.elementType(), a.get(i));
                }
            }
        }
    }

    private static void checkValue(String key, GgufValueType type, Object v) {
        boolean ok = switch (type) {
            case UINT8 -> inRange(v, 0, 0xFF);
            case INT8 -> inRange(v, Byte.MIN_VALUE, Byte.MAX_VALUE);
            case UINT16 -> inRange(v, 0, 0xFFFF);
            case INT16 -> inRange(v, Short.MIN_VALUE, Short.MAX_VALUE);
            case UINT32 -> inRange(v, 0, 0xFFFF_FFFFL);
            case INT32 -> inRange(v, Integer.MIN_VALUE, Integer.MAX_VALUE);
            case UINT64, INT64 -> v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte;
            case FLOAT32, FLOAT64 -> v instanceof Float || v instanceof Double;
            case BOOL -> v instanceof Boolean;
            case STRING -> v instanceof String;
            case ARRAY -> v instanceof GgufArray;
        };
        if (!ok) {
            throw new IllegalArgumentException("metadata '" + key + "': value " + v + " is not a valid " + type);
        }
    }

    private static boolean inRange(Object v, long min, long max) {
        if (!(v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte)) {
            return false;
        }
        long x = ((Number) v).longValue();
        return x >= min && x <= max;
    }

    /** A growing little-endian byte buffer for the header. */
    private static final class Bytes extends ByteArrayOutputStream {
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        Bytes i8(int v) {
            write(v);
            return this;
        }

        Bytes i16(short v) {
            scratch.clear();
            write(scratch.putShort(v).array(), 0, 2);
            return this;
        }

        Bytes i32(int v) {
            scratch.clear();
            write(scratch.putInt(v).array(), 0, 4);
            return this;
        }

        Bytes i64(long v) {
            scratch.clear();
            write(scratch.putLong(v).array(), 0, 8);
            return this;
        }

        Bytes string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            write(b, 0, b.length);
            return this;
        }

        Bytes zeros(long n) {
            for (long i = 0; i < n; i++) {
                write(0);
            }
            return this;
        }
    }
}
