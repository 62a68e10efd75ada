package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ggml Q4_K: super-blocks of 256 weights in 144 bytes: fp16 d, fp16 dmin, 12 bytes packing eight
 * 6-bit (scale, min) pairs, then 128 bytes of nibbles. Sub-block s of 32 weights decodes as
 * w = d * scale[s] * q - dmin * min[s]; each 64-weight chunk's 32 bytes hold the first sub-block in
 * the low nibbles and the second in the high nibbles.
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
                float d0 = d * scale(scales, s0);
                float m0 = dmin * min(scales, s0);
                float d1 = d * scale(scales, s0 + 1);
                float m1 = dmin * min(scales, s0 + 1);
                int out = i + 64 * chunk;
                for (int l = 0; l < 32; l++) {
                    int b = data.get(ValueLayout.JAVA_BYTE, quants + 32L * chunk + l) & 0xFF;
                    dst[out + l] = d0 * (b & 0xF) - m0;
                    dst[out + 32 + l] = d1 * (b >> 4) - m1;
                }
            }
        }
    }

    /** 6-bit scale of sub-block s: bytes 0-3 low 6 bits, or for s >= 4 split over two bytes. */
    private int scale(long scales, int s) {
        if (s < 4) {
            return u8(scales + s) & 63;
        }
        return (u8(scales + s + 4) & 0xF) | ((u8(scales + s - 4) >> 6) << 4);
    }

    /** 6-bit min of sub-block s, packed like {@link #scale} four bytes further on. */
    private int min(long scales, int s) {
        if (s < 4) {
            return u8(scales + s + 4) & 63;
        }
        return (u8(scales + s + 4) >> 4) | ((u8(scales + s) >> 6) << 4);
    }

    private int u8(long offset) {
        return data.get(ValueLayout.JAVA_BYTE, offset) & 0xFF;
    }
}
