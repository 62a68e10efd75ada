package io.twilight4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static io.twilight4j.tensor.VectorDot.F;

/**
 * ggml Q4_0: blocks of 32 weights, an fp16 scale d then 16 bytes; byte j holds weight j in its low
 * nibble and weight j + 16 in its high nibble, each stored as q + 8; w = d * q.
 */
public final class Q4_0Matrix extends QuantMatrix {

    /** Weights per block. */
    public static final int BLOCK_ELEMENTS = 32;
    /** Bytes per block: fp16 scale + 16 bytes of nibbles. */
    public static final int BLOCK_BYTES = 2 + BLOCK_ELEMENTS / 2;

    /** A {@code rows x cols} Q4_0 matrix over {@code data}. */
    public Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BLOCK_ELEMENTS, BLOCK_BYTES);
    }

    @Override
    float dotRow(int row, MatvecInput in) {
        float[] x = in.floats();
        if (F.length() > BLOCK_ELEMENTS / 2) {
            return scalarDot(row, x);
        }
        int parts = BLOCK_ELEMENTS / 2 / F.length();
        long block = rowOffset(row);
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < cols; i += BLOCK_ELEMENTS, block += BLOCK_BYTES) {
            ByteVector packed = ByteVector.fromMemorySegment(ByteVector.SPECIES_128, data, block + 2, ByteOrder.LITTLE_ENDIAN);
            ByteVector lo = packed.and((byte) 0xF).sub((byte) 8);
            // LSHR on byte lanes shifts the unsigned 8-bit value, so no sign bits leak in.
            ByteVector hi = packed.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
            FloatVector sum = FloatVector.zero(F);
            for (int p = 0; p < parts; p++) {
                int off = p * F.length();
                sum = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, i + off), sum);
                sum = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, i + 16 + off), sum);
            }
            acc = sum.fma(FloatVector.broadcast(F, half(block)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private float scalarDot(int row, float[] x) {
        float[] w = new float[cols];
        dequantizeRow(row, w);
        return VectorDot.dot(w, x, cols);
    }

    @Override
    public void dequantizeRow(int row, float[] dst) {
        long block = rowOffset(row);
        for (int i = 0; i < cols; i += BLOCK_ELEMENTS, block += BLOCK_BYTES) {
            float d = half(block);
            for (int j = 0; j < BLOCK_ELEMENTS / 2; j++) {
                int b = data.get(ValueLayout.JAVA_BYTE, block + 2 + j) & 0xFF;
                dst[i + j] = d * ((b & 0xF) - 8);
                dst[i + j + 16] = d * ((b >> 4) - 8);
            }
        }
    }

    /**
     * Encodes {@code w} ({@code rows x cols}, row-major) as Q4_0 in {@code arena}. As ggml: the
     * signed value of largest magnitude maps to -8, d = that value / -8.
     */
    public static Q4_0Matrix quantize(float[] w, int rows, int cols, Arena arena) {
        MemorySegment seg = arena.allocate((long) rows * cols / BLOCK_ELEMENTS * BLOCK_BYTES);
        long off = 0;
        for (int start = 0; start < rows * cols; start += BLOCK_ELEMENTS, off += BLOCK_BYTES) {
            float max = 0;
            for (int j = 0; j < BLOCK_ELEMENTS; j++) {
                if (Math.abs(w[start + j]) > Math.abs(max)) {
                    max = w[start + j];
                }
            }
            float d = max / -8f;
            float inv = d == 0 ? 0 : 1 / d;
            seg.set(HALF, off, Float.floatToFloat16(d));
            for (int j = 0; j < BLOCK_ELEMENTS / 2; j++) {
                int q0 = Math.min(15, (int) (w[start + j] * inv + 8.5f));
                int q1 = Math.min(15, (int) (w[start + j + 16] * inv + 8.5f));
                seg.set(ValueLayout.JAVA_BYTE, off + 2 + j, (byte) (q0 | q1 << 4));
            }
        }
        return new Q4_0Matrix(seg, rows, cols);
    }
}
