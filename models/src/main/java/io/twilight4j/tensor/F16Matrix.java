package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;

/** IEEE half-precision rows (ggml F16). */
public final class F16Matrix extends RowDecodedMatrix {

    /** A {@code rows x cols} fp16 matrix over {@code data}. */
    public F16Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, 1, Short.BYTES);
    }

    @Override
    public void dequantizeRow(int row, float[] dst) {
        long base = rowOffset(row);
        for (int i = 0; i < cols; i++) {
            dst[i] = half(base + 2L * i);
        }
    }
}
