package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ggml's Q4_K and Q5_K: super-blocks of 256 weights: fp16 d, fp16 dmin, 12 bytes packing eight 6-bit
 * (scale, min) pairs, for Q5_K 32 bytes of fifth bits, then 128 bytes of nibbles. Sub-block s of 32
 * weights decodes as w = d * scale[s] * q - dmin * min[s]. In 64-weight chunk c, weight l of the first
 * sub-block is the low nibble of byte l (plus 16 times bit 2c of fifth-bit byte l), weight l of the
 * second the high nibble (bit 2c + 1). Pairs 0-3 sit in the low 6 bits of bytes 0-3 (scales) and 4-7
 * (mins), pairs 4-7 in the nibbles of bytes 8-11 with their top two bits in the top bits of bytes 0-7.
 */
public final class KQuantMatrix extends RowDecodedMatrix {

    /** The two layouts. */
    public enum Format {
        /** 144 bytes: d, dmin, scales, nibbles. */
        Q4_K(144, -1, 16),
        /** 176 bytes: d, dmin, scales, fifth bits, nibbles. */
        Q5_K(176, 16, 48);

        final int blockBytes;
        /** Byte of the 32 fifth-bit bytes within the block, -1 for none. */
        final int highAt;
        final int quantsAt;

        Format(int blockBytes, int highAt, int quantsAt) {
            this.blockBytes = blockBytes;
            this.highAt = highAt;
            this.quantsAt = quantsAt;
        }
    }

    /** Weights per super-block. */
    public static final int BLOCK_ELEMENTS = 256;

    private final Format format;

    /** A {@code rows x cols} matrix of {@code format} super-blocks over {@code data}. */
    public KQuantMatrix(Format format, MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BLOCK_ELEMENTS, format.blockBytes);
        this.format = format;
    }

    @Override
    public void dequantizeRow(int row, float[] dst) {
        Format f = format;
        long block = rowOffset(row);
        for (int i = 0; i < cols; i += BLOCK_ELEMENTS, block += f.blockBytes) {
            float d = half(block);
            float dmin = half(block + 2);
            long scales = block + 4;
            long quants = block + f.quantsAt;
            for (int chunk = 0; chunk < 4; chunk++) {
                int s0 = 2 * chunk;
                float d0 = d * scale(scales, s0);
                float m0 = dmin * min(scales, s0);
                float d1 = d * scale(scales, s0 + 1);
                float m1 = dmin * min(scales, s0 + 1);
                int out = i + 64 * chunk;
                for (int l = 0; l < 32; l++) {
                    int b = u8(quants + 32L * chunk + l);
                    // Fifth bits 2c and 2c + 1 moved to bits 4 and 5 (none for Q4_K).
                    int h = f.highAt < 0 ? 0 : (u8(block + f.highAt + l) >> (2 * chunk)) << 4;
                    dst[out + l] = d0 * ((b & 0xF) | (h & 16)) - m0;
                    dst[out + 32 + l] = d1 * ((b >> 4) | (h & 32) >> 1) - m1;
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
