package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ggml Q2_K: super-blocks of 256 weights in 84 bytes: 16 bytes of (4-bit scale, 4-bit min) pairs, one per 16
 * weights (scale in the low nibble), 64 bytes of 2-bit quants, then fp16 d and fp16 dmin. In each half of 128
 * weights, quant byte l of the half's 32 holds weights l, l + 32, l + 64, l + 96 in bits 0-1, 2-3, 4-5, 6-7;
 * weight l + 32j uses pair 8 * half + 2j + l / 16: w = d * scale * q - dmin * min.
 */
public final class Q2_KMatrix extends RowDecodedMatrix {

    /** Weights per super-block. */
    public static final int BLOCK_ELEMENTS = 256;
    /** Bytes per super-block. */
    public static final int BLOCK_BYTES = 16 + 64 + 2 + 2;

    /** A {@code rows x cols} Q2_K matrix over {@code data}. */
    public Q2_KMatrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BLOCK_ELEMENTS, BLOCK_BYTES);
    }

    @Override
    public void dequantizeRow(int row, float[] dst) {
        long block = rowOffset(row);
        for (int i = 0; i < cols; i += BLOCK_ELEMENTS, block += BLOCK_BYTES) {
            float d = half(block + 80);
            float dmin = half(block + 82);
            for (int half = 0; half < 2; half++) {
                long quants = block + 16 + 32L * half;
                for (int j = 0; j < 4; j++) {
                    int out = i + 128 * half + 32 * j;
                    for (int sub = 0; sub < 2; sub++) {
                        int pair = u8(block + 8 * half + 2 * j + sub);
                        float scale = d * (pair & 0xF);
                        float min = dmin * (pair >> 4);
                        for (int l = 16 * sub; l < 16 * sub + 16; l++) {
                            dst[out + l] = scale * ((u8(quants + l) >> (2 * j)) & 3) - min;
                        }
                    }
                }
            }
        }
    }

    private int u8(long offset) {
        return data.get(ValueLayout.JAVA_BYTE, offset) & 0xFF;
    }
}
