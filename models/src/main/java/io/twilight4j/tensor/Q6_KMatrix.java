package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ggml Q6_K: super-blocks of 256 weights in 210 bytes: 128 bytes of low nibbles (ql), 64 bytes of
 * 2-bit high parts (qh), 16 signed 8-bit scales (one per 16 weights), then fp16 d;
 * w = d * scale * (q - 32) with q a 6-bit value.
 */
public final class Q6_KMatrix extends RowDecodedMatrix {

    /** Weights per super-block. */
    public static final int BLOCK_ELEMENTS = 256;
    /** Bytes per super-block. */
    public static final int BLOCK_BYTES = 128 + 64 + 16 + 2;

    /** A {@code rows x cols} Q6_K matrix over {@code data}. */
    public Q6_KMatrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BLOCK_ELEMENTS, BLOCK_BYTES);
    }

    @Override
    public void dequantizeRow(int row, float[] dst) {
        long block = rowOffset(row);
        for (int i = 0; i < cols; i += BLOCK_ELEMENTS, block += BLOCK_BYTES) {
            float d = half(block + 208);
            // Two halves of 128 weights; each uses 64 ql bytes, 32 qh bytes and 8 scales.
            for (int half = 0; half < 2; half++) {
                long ql = block + 64L * half;
                long qh = block + 128 + 32L * half;
                long sc = block + 192 + 8L * half;
                int out = i + 128 * half;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int lowA = u8(ql + l);
                    int lowB = u8(ql + l + 32);
                    int high = u8(qh + l);
                    int q1 = ((lowA & 0xF) | ((high & 3) << 4)) - 32;
                    int q2 = ((lowB & 0xF) | (((high >> 2) & 3) << 4)) - 32;
                    int q3 = ((lowA >> 4) | (((high >> 4) & 3) << 4)) - 32;
                    int q4 = ((lowB >> 4) | (((high >> 6) & 3) << 4)) - 32;
                    dst[out + l] = d * s8(sc + is) * q1;
                    dst[out + l + 32] = d * s8(sc + is + 2) * q2;
                    dst[out + l + 64] = d * s8(sc + is + 4) * q3;
                    dst[out + l + 96] = d * s8(sc + is + 6) * q4;
                }
            }
        }
    }

    private int u8(long offset) {
        return data.get(ValueLayout.JAVA_BYTE, offset) & 0xFF;
    }

    private int s8(long offset) {
        return data.get(ValueLayout.JAVA_BYTE, offset);
    }
}
