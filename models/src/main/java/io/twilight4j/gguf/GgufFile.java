package io.twilight4j.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An open GGUF file (v2 or v3), memory-mapped read-only in a shared arena (files over 2 GB are fine).
 * The header is fully validated on open; tensor data is only sliced, never copied. Typed getters
 * name the key and the actual type when a value does not fit.
 */
public final class GgufFile implements AutoCloseable {

    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final GgufParser.Header header;
    private final Map<String, GgufTensor> tensorsByName;

    private GgufFile(Path path, Arena arena, MemorySegment mapping, GgufParser.Header header) {
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
        this.header = header;
        Map<String, GgufTensor> byName = new LinkedHashMap<>();
        for (GgufTensor t : header.tensors()) {
            byName.put(t.name(), t);
        }
        this.tensorsByName = byName;
    }

    /** Maps and validates {@code file}; any problem is a {@link GgufFormatException} naming file and field. */
    public static GgufFile open(Path file) throws GgufFormatException {
        String name = file.toString();
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment mapping = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return new GgufFile(file, arena, mapping, GgufParser.parse(mapping, name));
        } catch (GgufFormatException e) {
            arena.close();
            throw e;
        } catch (java.nio.file.NoSuchFileException e) {
            arena.close();
            throw new GgufFormatException(name + ": no such file", e);
        } catch (java.nio.file.AccessDeniedException e) {
            arena.close();
            throw new GgufFormatException(name + ": permission denied", e);
        } catch (IOException e) {
            arena.close();
            throw new GgufFormatException(name + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** GGUF version, 2 or 3. */
    public int version() {
        return header.version();
    }

    /**
     * All metadata in file order, unmodifiable. Values: signed integers keep their width (Byte, Short,
     * Integer, Long); unsigned ones widen to the next signed type so the value is exact (u8 Short,
     * u16 Integer, u32 Long; u64 Long holding the raw bits); Float, Double, Boolean, String, and
     * {@link GgufArray} for arrays.
     */
    public Map<String, Object> metadata() {
        return Collections.unmodifiableMap(header.metadata());
    }

    /** The GGUF type a key was stored with, or null when absent. */
    public GgufValueType metadataType(String key) {
        return header.types().get(key);
    }

    /** True when the metadata has {@code key}. */
    public boolean has(String key) {
        return header.metadata().containsKey(key);
    }

    /** A required string value. */
    public String getString(String key) throws GgufFormatException {
        return require(key, String.class, "STRING");
    }

    /** A string value or {@code dflt} when absent. */
    public String getString(String key, String dflt) throws GgufFormatException {
        return has(key) ? getString(key) : dflt;
    }

    /** A required integer of any integer type whose value fits an int. */
    public int getInt(String key) throws GgufFormatException {
        long v = integer(key);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw error(key, "value " + v + " does not fit a 32-bit int");
        }
        return (int) v;
    }

    /** An int value or {@code dflt} when absent. */
    public int getInt(String key, int dflt) throws GgufFormatException {
        return has(key) ? getInt(key) : dflt;
    }

    /** A long value of any integer type, or {@code dflt} when absent. */
    public long getLong(String key, long dflt) throws GgufFormatException {
        return has(key) ? integer(key) : dflt;
    }

    /** A float value (FLOAT32 or FLOAT64), or {@code dflt} when absent. */
    public float getFloat(String key, float dflt) throws GgufFormatException {
        if (!has(key)) {
            return dflt;
        }
        Object v = header.metadata().get(key);
        if (v instanceof Float f) {
            return f;
        }
        if (v instanceof Double d) {
            return d.floatValue();
        }
        throw wrongType(key, "FLOAT32 or FLOAT64");
    }

    /** A boolean value, or {@code dflt} when absent. */
    public boolean getBoolean(String key, boolean dflt) throws GgufFormatException {
        return has(key) ? require(key, Boolean.class, "BOOL") : dflt;
    }

    /** A required array of strings. */
    public String[] getStringArray(String key) throws GgufFormatException {
        GgufArray a = array(key, "array of STRING");
        if (a.elementType() != GgufValueType.STRING) {
            throw wrongType(key, "array of STRING");
        }
        return ((String[]) a.values()).clone();
    }

    /** A required array of FLOAT32 (FLOAT64 is narrowed). */
    public float[] getFloatArray(String key) throws GgufFormatException {
        GgufArray a = array(key, "array of FLOAT32");
        if (a.elementType() == GgufValueType.FLOAT32) {
            return ((float[]) a.values()).clone();
        }
        if (a.elementType() == GgufValueType.FLOAT64) {
            double[] d = (double[]) a.values();
            float[] out = new float[d.length];
            for (int i = 0; i < d.length; i++) {
                out[i] = (float) d[i];
            }
            return out;
        }
        throw wrongType(key, "array of FLOAT32");
    }

    /** A required array of any integer type whose elements all fit an int. */
    public int[] getIntArray(String key) throws GgufFormatException {
        GgufArray a = array(key, "array of integers");
        if (!a.elementType().isInteger()) {
            throw wrongType(key, "array of integers");
        }
        int[] out = new int[a.length()];
        for (int i = 0; i < out.length; i++) {
            long v = ((Number) a.get(i)).longValue();
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE || (a.elementType() == GgufValueType.UINT64 && v < 0)) {
                throw error(key, "element " + i + " = " + v + " does not fit a 32-bit int");
            }
            out[i] = (int) v;
        }
        return out;
    }

    /** The tensor table in file order. */
    public List<GgufTensor> tensors() {
        return header.tensors();
    }

    /** A required tensor. */
    public GgufTensor tensor(String name) throws GgufFormatException {
        GgufTensor t = tensorsByName.get(name);
        if (t == null) {
            throw new GgufFormatException(path + ": tensor '" + name + "' not found (the file has "
                    + header.tensors().size() + " tensors)");
        }
        return t;
    }

    /** A tensor when present. */
    public Optional<GgufTensor> findTensor(String name) {
        return Optional.ofNullable(tensorsByName.get(name));
    }

    /** The tensor's bytes: a read-only slice of the mapping, valid until {@link #close()}. */
    public MemorySegment data(GgufTensor t) {
        if (!t.equals(tensorsByName.get(t.name()))) {
            throw new IllegalArgumentException(path + ": tensor '" + t.name() + "' is not from this file");
        }
        return mapping.asSlice(header.dataOffset() + t.offset(), t.byteSize()).asReadOnly();
    }

    /** Absolute file offset of the data section (aligned; may equal or pass the file end when there is no data). */
    public long dataOffset() {
        return header.dataOffset();
    }

    /** Alignment of tensor data ({@code general.alignment}, default 32). */
    public int alignment() {
        return header.alignment();
    }

    /** Unmaps the file; slices from {@link #data} become invalid. */
    @Override
    public void close() {
        arena.close();
    }

    private long integer(String key) throws GgufFormatException {
        Object v = header.metadata().get(key);
        if (v == null) {
            throw error(key, "missing");
        }
        if (!header.types().get(key).isInteger()) {
            throw wrongType(key, "an integer");
        }
        long x = ((Number) v).longValue();
        if (header.types().get(key) == GgufValueType.UINT64 && x < 0) {
            throw error(key, "UINT64 value " + Long.toUnsignedString(x) + " is too large");
        }
        return x;
    }

    private GgufArray array(String key, String expected) throws GgufFormatException {
        Object v = header.metadata().get(key);
        if (v == null) {
            throw error(key, "missing");
        }
        if (!(v instanceof GgufArray a)) {
            throw wrongType(key, expected);
        }
        return a;
    }

    private <T> T require(String key, Class<T> type, String expected) throws GgufFormatException {
        Object v = header.metadata().get(key);
        if (v == null) {
            throw error(key, "missing");
        }
        if (!type.isInstance(v)) {
            throw wrongType(key, expected);
        }
        return type.cast(v);
    }

    private GgufFormatException wrongType(String key, String expected) {
        Object v = header.metadata().get(key);
        String actual = header.types().get(key) + (v instanceof GgufArray a ? " of " + a.elementType() : "");
        return error(key, "expected " + expected + ", found " + actual);
    }

    private GgufFormatException error(String key, String problem) {
        return new GgufFormatException(path + ": metadata '" + key + "': " + problem);
    }
}
