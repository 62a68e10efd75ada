package io.twilight4j.gguf;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses a GGUF header (magic, version, counts, metadata, tensor infos) from a mapped file and
 * validates the tensor table against the file length. Only the parsing; {@link GgufFile} owns the map.
 */
final class GgufParser {

    /** 'GGUF' read as a little-endian u32. */
    static final int MAGIC = 0x46554747;
    static final int DEFAULT_ALIGNMENT = 32;
    static final String ALIGNMENT_KEY = "general.alignment";
    /** ggml's GGML_MAX_DIMS. */
    static final int MAX_DIMS = 4;
    /** Nested arrays deeper than this are refused, so a crafted file cannot overflow the stack. */
    private static final int MAX_ARRAY_DEPTH = 16;
    /** A tensor info is at least: name length, n_dims, type, offset. */
    private static final long MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;
    /** A key-value pair is at least: key length, value type, one byte of value. */
    private static final long MIN_KV_BYTES = 8 + 4 + 1;

    /** What the header says. */
    record Header(int version, Map<String, Object> metadata, Map<String, GgufValueType> types,
                  List<GgufTensor> tensors, int alignment, long dataOffset) {
    }

    private final GgufCursor in;
    private final long fileBytes;
    private final String fileName;

    private GgufParser(GgufCursor in, long fileBytes, String fileName) {
        this.in = in;
        this.fileBytes = fileBytes;
        this.fileName = fileName;
    }

    static Header parse(java.lang.foreign.MemorySegment file, String fileName) throws GgufFormatException {
        return new GgufParser(new GgufCursor(file, fileName), file.byteSize(), fileName).header();
    }

    private Header header() throws GgufFormatException {
        int magic = in.i32("magic");
        if (magic != MAGIC) {
            throw in.error("magic", String.format("expected 'GGUF' (0x%08X), found 0x%08X: not a GGUF file", MAGIC, magic));
        }
        int version = in.i32("version");
        if (version == 1) {
            throw in.error("version", "GGUF v1 is unsupported (only v2 and v3); re-convert the model with a current llama.cpp");
        }
        if (version != 2 && version != 3) {
            throw in.error("version", "unsupported GGUF version " + Integer.toUnsignedString(version) + " (only v2 and v3)");
        }
        int tensorCount = in.count("tensor count", MIN_TENSOR_INFO_BYTES);
        int kvCount = in.count("metadata kv count", MIN_KV_BYTES);
        Map<String, Object> metadata = new LinkedHashMap<>();
        Map<String, GgufValueType> types = new LinkedHashMap<>();
        for (int i = 0; i < kvCount; i++) {
            String key = in.string("metadata key #" + i);
            GgufValueType type = valueType("metadata '" + key + "' type");
            if (metadata.containsKey(key)) {
                throw in.error("metadata '" + key + "'", "duplicate key");
            }
            metadata.put(key, value(type, "metadata '" + key + "'", 0));
            types.put(key, type);
        }
        int alignment = alignment(metadata, types);
        List<GgufTensor> tensors = new ArrayList<>(tensorCount);
        Set<String> names = new HashSet<>();
        for (int i = 0; i < tensorCount; i++) {
            GgufTensor t = tensorInfo(i, alignment);
            if (!names.add(t.name())) {
                throw in.error("tensor '" + t.name() + "'", "duplicate tensor name");
            }
            tensors.add(t);
        }
        long dataOffset = alignUp(in.position(), alignment);
        checkDataFits(tensors, dataOffset);
        return new Header(version, metadata, types, List.copyOf(tensors), alignment, dataOffset);
    }

    private GgufValueType valueType(String field) throws GgufFormatException {
        int id = in.i32(field);
        GgufValueType t = GgufValueType.byIdOrNull(id);
        if (t == null) {
            throw in.error(field, "unknown value type id " + Integer.toUnsignedString(id));
        }
        return t;
    }

    /** Scalars widened by the rule documented in {@link GgufFile#metadata()}. */
    private Object value(GgufValueType type, String field, int depth) throws GgufFormatException {
        return switch (type) {
            case UINT8 -> (short) Byte.toUnsignedInt(in.i8(field));
            case INT8 -> in.i8(field);
            case UINT16 -> Short.toUnsignedInt(in.i16(field));
            case INT16 -> in.i16(field);
            case UINT32 -> Integer.toUnsignedLong(in.i32(field));
            case INT32 -> in.i32(field);
            case UINT64, INT64 -> in.i64(field);
            case FLOAT32 -> in.f32(field);
            case FLOAT64 -> in.f64(field);
            case BOOL -> bool(field);
            case STRING -> in.string(field);
            case ARRAY -> array(field, depth);
        };
    }

    private boolean bool(String field) throws GgufFormatException {
        byte b = in.i8(field);
        if (b != 0 && b != 1) {
            throw in.error(field, "bool must be 0 or 1, found " + Byte.toUnsignedInt(b));
        }
        return b == 1;
    }

    private GgufArray array(String field, int depth) throws GgufFormatException {
        if (depth >= MAX_ARRAY_DEPTH) {
            throw in.error(field, "arrays nested deeper than " + MAX_ARRAY_DEPTH);
        }
        GgufValueType type = valueType(field + " element type");
        int n = in.count(field + " length", type.minBytes());
        Object values = switch (type) {
            case UINT8, INT8 -> {
                byte[] a = new byte[n];
                for (int i = 0; i < n; i++) a[i] = in.i8(field);
                yield a;
            }
            case UINT16, INT16 -> {
                short[] a = new short[n];
                for (int i = 0; i < n; i++) a[i] = in.i16(field);
                yield a;
            }
            case UINT32, INT32 -> {
                int[] a = new int[n];
                for (int i = 0; i < n; i++) a[i] = in.i32(field);
                yield a;
            }
            case UINT64, INT64 -> {
                long[] a = new long[n];
                for (int i = 0; i < n; i++) a[i] = in.i64(field);
                yield a;
            }
            case FLOAT32 -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = in.f32(field);
                yield a;
            }
            case FLOAT64 -> {
                double[] a = new double[n];
                for (int i = 0; i < n; i++) a[i] = in.f64(field);
                yield a;
            }
            case BOOL -> {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) a[i] = bool(field + "[" + i + "]");
                yield a;
            }
            case STRING -> {
                String[] a = new String[n];
                for (int i = 0; i < n; i++) a[i] = in.string(field + "[" + i + "]");
                yield a;
            }
            case ARRAY -> {
                GgufArray[] a = new GgufArray[n];
                for (int i = 0; i < n; i++) a[i] = array(field + "[" + i + "]", depth + 1);
                yield a;
            }
        };
        return new GgufArray(type, values);
    }

    private int alignment(Map<String, Object> metadata, Map<String, GgufValueType> types) throws GgufFormatException {
        if (!metadata.containsKey(ALIGNMENT_KEY)) {
            return DEFAULT_ALIGNMENT;
        }
        if (types.get(ALIGNMENT_KEY) != GgufValueType.UINT32) {
            throw in.error("metadata '" + ALIGNMENT_KEY + "'", "must be UINT32, found " + types.get(ALIGNMENT_KEY));
        }
        long a = (Long) metadata.get(ALIGNMENT_KEY);
        if (a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1) {
            throw in.error("metadata '" + ALIGNMENT_KEY + "'", "must be a power of two, found " + a);
        }
        return (int) a;
    }

    private GgufTensor tensorInfo(int index, int alignment) throws GgufFormatException {
        String name = in.string("tensor #" + index + " name");
        String field = "tensor '" + name + "'";
        int nDims = in.i32(field + " n_dims");
        if (nDims < 1 || nDims > MAX_DIMS) {
            throw in.error(field, "n_dims " + Integer.toUnsignedString(nDims) + " is not in 1.." + MAX_DIMS);
        }
        long[] dims = new long[nDims];
        long elements = 1;
        for (int d = 0; d < nDims; d++) {
            dims[d] = in.i64(field + " dims[" + d + "]");
            if (dims[d] < 0) {
                throw in.error(field, "dims[" + d + "] = " + Long.toUnsignedString(dims[d]) + " is negative or too large");
            }
            try {
                elements = Math.multiplyExact(elements, dims[d]);
            } catch (ArithmeticException e) {
                throw in.error(field, "dims " + java.util.Arrays.toString(dims) + " overflow 64-bit element count");
            }
        }
        int typeId = in.i32(field + " type");
        GgmlType type;
        try {
            type = GgmlType.byId(typeId);
        } catch (IllegalArgumentException e) {
            throw in.error(field, "unknown ggml tensor type id " + Integer.toUnsignedString(typeId));
        }
        if (dims[0] % type.blockElements() != 0) {
            throw in.error(field, "row length " + dims[0] + " is not a multiple of the " + type
                    + " block size " + type.blockElements());
        }
        if (elements / type.blockElements() > Long.MAX_VALUE / type.blockBytes()) {
            throw in.error(field, "byte size of dims " + java.util.Arrays.toString(dims) + " overflows");
        }
        long offset = in.i64(field + " offset");
        if (offset < 0 || offset % alignment != 0) {
            throw in.error(field, "offset " + Long.toUnsignedString(offset) + " is not a multiple of the alignment " + alignment);
        }
        return new GgufTensor(name, type, dims, offset);
    }

    /** Every tensor's bytes lie inside the file (a vocab-only file may end before its padded data start). */
    private void checkDataFits(List<GgufTensor> tensors, long dataOffset) throws GgufFormatException {
        long dataBytes = fileBytes - dataOffset;
        for (GgufTensor t : tensors) {
            long size = t.byteSize();
            if (size == 0) {
                continue;
            }
            if (dataBytes < 0 || t.offset() > dataBytes || size > dataBytes - t.offset()) {
                throw new GgufFormatException(fileName + ": tensor '" + t.name() + "': data at offset "
                        + (dataOffset + t.offset()) + " with " + size + " bytes runs past the end of the file ("
                        + fileBytes + " bytes)");
            }
        }
    }

    static long alignUp(long position, int alignment) {
        return (position + alignment - 1) / alignment * alignment;
    }
}
