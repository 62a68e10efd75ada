package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ggml Q4_K: super-blocks of 256 weights in 144 bytes: fp16 d, fp16 dmin, 12 bytes packing eight
 * 6-bit (scale, min) pairs, then 128 bytes of nibbles. Sub-block s of 32 weights decodes as
 * w = d * scale[s] * q - dmin * min[s]; each 64-weight chunk's 32 bytes hold the first sub-block in
 * the low nibbles and the second in the high nibbles ({@link KScales} packs the pairs).
 */
public final class Q4_KMatrix extends RowDecodedMatrix {

    /** Weights per super-block. */
    public static final int BLOCK_ELEMENTS = 256;
    /** Bytes per super-block. */
    public static final int BLOCK_BYTES = 2 + 2 + 12 + 128;

    /** A {@code rows x cols} Q4_K matrix over {@code data}. */
    public Q4_KMatrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BLOCK_ELEMENTS, BLOCK_BYTES);
    }

    @Override
    public void dequantizeRow(int row, float[] dst) {
        long block = rowOffset(row);
        for (int i = 0; i < cols; i += BLOCK_ELEMENTS, block += BLOCK_BYTES) {
            float d = half(block);
            float dmin = half(block + 2);
            long scales = block + 4;
            long quants = block + 16;
            for (int chunk = 0; chunk < 4; chunk++) {
                int s0 = 2 * chunk;
                float d0 = d * KScales.scale(data, scales, s0);
                float m0 = dmin * KScales.min(data, scales, s0);
                float d1 = d * KScales.scale(data, scales, s0 + 1);
                float m1 = dmin * KScales.min(data, scales, s0 + 1);
                int out = i + 64 * chunk;
                for (int l = 0; l < 32; l++) {
                    int b = data.get(ValueLayout.JAVA_BYTE, quants + 32L * chunk + l) & 0xFF;
                    dst[out + l] = d0 * (b & 0xF) - m0;
                    dst[out + 32 + l] = d1 * (b >> 4) - m1;
                }
            }
        }
    }
}
