package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ggml Q5_K: super-blocks of 256 weights in 176 bytes: fp16 d, fp16 dmin, the 12 bytes of {@link KScales},
 * 32 bytes of high bits, then 128 bytes of nibbles. As Q4_K with a fifth bit: sub-block s of 32 weights
 * decodes as w = d * scale[s] * q - dmin * min[s], q = nibble + 16 * high bit; in 64-weight chunk c,
 * weight l of the first sub-block takes the low nibble of byte l and bit 2c of high-bit byte l, weight l
 * of the second the high nibble and bit 2c + 1.
 */
public final class Q5_KMatrix extends RowDecodedMatrix {

    /** Weights per super-block. */
    public static final int BLOCK_ELEMENTS = 256;
    /** Bytes per super-block. */
    public static final int BLOCK_BYTES = 2 + 2 + 12 + 32 + 128;

    /** A {@code rows x cols} Q5_K matrix over {@code data}. */
    public Q5_KMatrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BLOCK_ELEMENTS, BLOCK_BYTES);
    }

    @Override
    public void dequantizeRow(int row, float[] dst) {
        long block = rowOffset(row);
        for (int i = 0; i < cols; i += BLOCK_ELEMENTS, block += BLOCK_BYTES) {
            float d = half(block);
            float dmin = half(block + 2);
            long scales = block + 4;
            long high = block + 16;
            long quants = block + 48;
            for (int chunk = 0; chunk < 4; chunk++) {
                int s0 = 2 * chunk;
                float d0 = d * KScales.scale(data, scales, s0);
                float m0 = dmin * KScales.min(data, scales, s0);
                float d1 = d * KScales.scale(data, scales, s0 + 1);
                float m1 = dmin * KScales.min(data, scales, s0 + 1);
                int out = i + 64 * chunk;
                for (int l = 0; l < 32; l++) {
                    int b = data.get(ValueLayout.JAVA_BYTE, quants + 32L * chunk + l) & 0xFF;
                    int h = data.get(ValueLayout.JAVA_BYTE, high + l) >> (2 * chunk);
                    dst[out + l] = d0 * ((b & 0xF) | (h & 1) << 4) - m0;
                    dst[out + 32 + l] = d1 * ((b >> 4) | (h & 2) << 3) - m1;
                }
            }
        }
    }
}
