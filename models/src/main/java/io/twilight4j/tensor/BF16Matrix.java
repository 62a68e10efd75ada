package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import static io.twilight4j.tensor.VectorDot.F;

/** bfloat16 rows: the upper 16 bits of an fp32, so decoding is a 16-bit shift. */
public final class BF16Matrix extends QuantMatrix {

    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    /** A {@code rows x cols} bf16 matrix over {@code data}. */
    public BF16Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, 1, Short.BYTES);
    }

    @Override
    float dotRow(int row, MatvecInput in) {
        float[] x = in.floats();
        long base = rowOffset(row);
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = cols - cols % F.length(); i < upper; i += F.length()) {
            ShortVector bits = ShortVector.fromMemorySegment(S, data, base + 2L * i, ByteOrder.LITTLE_ENDIAN);
            // Sign extension of S2I only touches the upper 16 bits, which the shift pushes out.
            IntVector wide = (IntVector) bits.convertShape(VectorOperators.S2I, I, 0);
            FloatVector w = wide.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            acc = w.fma(FloatVector.fromArray(F, x, i), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            s += element(base, i) * x[i];
        }
        return s;
    }

    @Override
    public void dequantizeRow(int row, float[] dst) {
        long base = rowOffset(row);
        for (int i = 0; i < cols; i++) {
            dst[i] = element(base, i);
        }
    }

    private float element(long base, int i) {
        return Float.intBitsToFloat((data.get(HALF, base + 2L * i) & 0xFFFF) << 16);
    }
}
