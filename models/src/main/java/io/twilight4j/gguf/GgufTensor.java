package io.twilight4j.gguf;

import java.util.Arrays;

/**
 * One entry of a GGUF tensor table.
 *
 * @param name   tensor name, e.g. {@code blk.0.attn_q.weight}
 * @param type   element type
 * @param dims   dimensions innermost first, as stored in GGUF ({@code dims[0]} is the row length)
 * @param offset byte offset of the data relative to the start of the data section
 */
public record GgufTensor(String name, GgmlType type, long[] dims, long offset) {

    public GgufTensor {
        dims = dims.clone();
    }

    /** Dimensions innermost first (a copy). */
    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** Number of values. */
    public long elements() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Bytes of data: whole blocks of the type. */
    public long byteSize() {
        return Math.multiplyExact(elements() / type.blockElements(), (long) type.blockBytes());
    }

    /** Number of rows: the product of {@code dims[1..]}. */
    public long rows() {
        long n = 1;
        for (int i = 1; i < dims.length; i++) {
            n = Math.multiplyExact(n, dims[i]);
        }
        return n;
    }

    /** Values per row: {@code dims[0]} (1 for a scalar). */
    public long rowLength() {
        return dims.length == 0 ? 1 : dims[0];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensor t && name.equals(t.name) && type == t.type
                && Arrays.equals(dims, t.dims) && offset == t.offset;
    }

    @Override
    public int hashCode() {
        return (name.hashCode() * 31 + type.hashCode()) * 31 + Arrays.hashCode(dims) + Long.hashCode(offset);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(dims) + " @" + offset;
    }
}
