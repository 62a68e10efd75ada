package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static io.twilight4j.tensor.VectorDot.F;

/** Plain little-endian fp32 rows. */
public final class F32Matrix extends QuantMatrix {

    /** A {@code rows x cols} fp32 matrix over {@code data}. */
    public F32Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, 1, Float.BYTES);
    }

    @Override
    float dotRow(int row, MatvecInput in) {
        float[] x = in.floats();
        long base = rowOffset(row);
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = cols - cols % F.length(); i < upper; i += F.length()) {
            FloatVector w = FloatVector.fromMemorySegment(F, data, base + (long) i * Float.BYTES, ByteOrder.LITTLE_ENDIAN);
            acc = w.fma(FloatVector.fromArray(F, x, i), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            s += data.get(FLOAT, base + (long) i * Float.BYTES) * x[i];
        }
        return s;
    }

    @Override
    public void dequantizeRow(int row, float[] dst) {
        MemorySegment.copy(data, FLOAT, rowOffset(row), dst, 0, cols);
    }
}
