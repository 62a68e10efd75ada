package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Base of the types whose blocks are cheaper to decode with scalar bit fiddling than to unpack in
 * vector lanes (F16, Q4_1, Q5_0, Q5_1, Q2_K-Q6_K, IQ4_NL, IQ4_XS): each product decodes one row into a per-thread scratch row and
 * takes a vector dot with it. Only one row is ever decoded at a time.
 */
abstract class RowDecodedMatrix extends QuantMatrix {

    private final ThreadLocal<float[]> scratch;

    RowDecodedMatrix(MemorySegment data, int rows, int cols, int blockElements, int blockBytes) {
        super(data, rows, cols, blockElements, blockBytes);
        this.scratch = ThreadLocal.withInitial(() -> new float[cols]);
    }

    @Override
    final float dotRow(int row, MatvecInput in) {
        float[] x = in.floats();
        float[] w = scratch.get();
        dequantizeRow(row, w);
        return VectorDot.dot(w, x, cols);
    }
}
