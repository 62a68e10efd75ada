package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A row-major weight matrix kept in its file encoding (a ggml block layout) inside a memory segment,
 * usually a mapped GGUF file. Products read the encoded bytes directly; nothing dequantizes a whole
 * tensor. The segment must be readable from the {@link RowPool} threads (a shared or global arena).
 */
public abstract class QuantMatrix {

    /** Little-endian fp16 as stored by ggml. */
    protected static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Little-endian fp32. */
    protected static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    protected final MemorySegment data;
    protected final int rows;
    protected final int cols;
    protected final long rowBytes;

    /**
     * @param blockElements elements per encoded block (cols must be a multiple)
     * @param blockBytes    bytes per encoded block
     */
    protected QuantMatrix(MemorySegment data, int rows, int cols, int blockElements, int blockBytes) {
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": rows and cols must be positive, got "
                    + rows + " x " + cols);
        }
        if (cols % blockElements != 0) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": row length " + cols
                    + " is not a multiple of the block size " + blockElements);
        }
        this.rowBytes = (long) cols / blockElements * blockBytes;
        if (data.byteSize() < rowBytes * rows) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": " + rows + " x " + cols + " needs "
                    + rowBytes * rows + " bytes, segment has " + data.byteSize());
        }
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    /** Number of rows (output length of {@link #matvec}). */
    public final int rows() {
        return rows;
    }

    /** Row length (input length of {@link #matvec}). */
    public final int cols() {
        return cols;
    }

    /** Encoded bytes of the whole matrix (what one product streams from memory). */
    public final long byteSize() {
        return rowBytes * rows;
    }

    /** The encoded bytes of the matrix (for writing it out again). */
    public final MemorySegment encoded() {
        return data.asSlice(0, byteSize());
    }

    /**
     * y = W x, rows split over the shared {@link RowPool}. Plans a one-matrix {@link MatvecGroup}
     * per call; a decoder that repeats the product keeps the group instead.
     */
    public final void matvec(float[] x, float[] y) {
        if (x.length < cols || y.length < rows) {
            throw new IllegalArgumentException("matvec: x needs " + cols + " and y " + rows + " elements, got "
                    + x.length + " and " + y.length);
        }
        new MatvecGroup(new QuantMatrix[] {this}, new float[][] {y}).matvec(x);
    }

    /** Whether {@link #dotRow} reads the input's Q8_0 form (else only its floats). */
    boolean readsInt8Input() {
        return false;
    }

    /** The dot product of row {@code row} with the input. */
    abstract float dotRow(int row, MatvecInput in);

    /** Decodes row {@code row} into {@code dst[0, cols)} (embedding lookups). */
    public abstract void dequantizeRow(int row, float[] dst);

    /** Byte offset of row {@code row} in the segment. */
    protected final long rowOffset(int row) {
        return row * rowBytes;
    }

    /** Reads the fp16 at byte {@code offset} as a float. */
    protected final float half(long offset) {
        return Float.float16ToFloat(data.get(HALF, offset));
    }
}
