package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ggml Q3_K: super-blocks of 256 weights in 110 bytes: 32 bytes of high bits (hmask), 64 bytes of 2-bit
 * quants, 12 bytes packing sixteen 6-bit scales (one per 16 weights), then fp16 d. In half h of 128 weights,
 * quant byte l of the half's 32 holds weights l + 32j in bits 2j, 2j + 1, and their high bit is bit 4h + j of
 * hmask byte l; weight l + 32j uses scale s = 8h + 2j + l / 16: w = d * (scale_s - 32) * (q - (high ? 0 : 4)).
 * Scale s has its low 4 bits in byte s % 8 (low nibble for s < 8, high nibble after) and its top 2 bits in
 * byte 8 + s % 4, bits 2 (s / 4) and up.
 */
public final class Q3_KMatrix extends RowDecodedMatrix {

    /** Weights per super-block. */
    public static final int BLOCK_ELEMENTS = 256;
    /** Bytes per super-block. */
    public static final int BLOCK_BYTES = 32 + 64 + 12 + 2;

    /** A {@code rows x cols} Q3_K matrix over {@code data}. */
    public Q3_KMatrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BLOCK_ELEMENTS, BLOCK_BYTES);
    }

    @Override
    public void dequantizeRow(int row, float[] dst) {
        long block = rowOffset(row);
        for (int i = 0; i < cols; i += BLOCK_ELEMENTS, block += BLOCK_BYTES) {
            float d = half(block + 108);
            long scales = block + 96;
            for (int half = 0; half < 2; half++) {
                long quants = block + 32 + 32L * half;
                for (int j = 0; j < 4; j++) {
                    int out = i + 128 * half + 32 * j;
                    int highBit = 4 * half + j;
                    float dl0 = d * (scale(scales, 8 * half + 2 * j) - 32);
                    float dl1 = d * (scale(scales, 8 * half + 2 * j + 1) - 32);
                    for (int l = 0; l < 32; l++) {
                        int q = ((u8(quants + l) >> (2 * j)) & 3) - (((u8(block + l) >> highBit) & 1) != 0 ? 0 : 4);
                        dst[out + l] = (l < 16 ? dl0 : dl1) * q;
                    }
                }
            }
        }
    }

    /** The 6-bit scale s of the 12 bytes at {@code scales}. */
    private int scale(long scales, int s) {
        int low = u8(scales + s % 8) >> (s < 8 ? 0 : 4) & 0xF;
        int high = (u8(scales + 8 + s % 4) >> (2 * (s / 4))) & 3;
        return low | high << 4;
    }

    private int u8(long offset) {
        return data.get(ValueLayout.JAVA_BYTE, offset) & 0xFF;
    }
}
