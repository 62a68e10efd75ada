package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * ggml's non-linear 4-bit types: a 4-bit code picks one of 16 fixed levels ({@link #LEVELS}) instead of
 * standing for its own value. IQ4_NL: blocks of 32 weights in 18 bytes, fp16 d then 16 bytes of codes (weight
 * j in the low nibble of byte j, weight j + 16 in the high nibble): w = d * level. IQ4_XS: super-blocks of 256
 * weights in 136 bytes: fp16 d, a 16-bit word of high scale bits, 4 bytes of low scale bits, 128 bytes of
 * codes laid out as eight IQ4_NL blocks; block b's 6-bit scale has its low 4 bits in nibble b % 2 of byte
 * b / 2 and its top 2 bits at bit 2b of the word: w = d * (scale - 32) * level.
 */
public final class IQ4Matrix extends RowDecodedMatrix {

    /** The 16 levels of a code (ggml's kvalues_iq4nl). */
    static final int[] LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    private static final ValueLayout.OfShort WORD = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The two layouts. */
    public enum Format {
        /** 32 weights: d, codes. */
        IQ4_NL(32, 18),
        /** 256 weights: d, scale bits, codes. */
        IQ4_XS(256, 136);

        final int blockElements;
        final int blockBytes;

        Format(int blockElements, int blockBytes) {
            this.blockElements = blockElements;
            this.blockBytes = blockBytes;
        }
    }

    private final Format format;

    /** A {@code rows x cols} matrix of {@code format} blocks over {@code data}. */
    public IQ4Matrix(Format format, MemorySegment data, int rows, int cols) {
        super(data, rows, cols, format.blockElements, format.blockBytes);
        this.format = format;
    }

    @Override
    public void dequantizeRow(int row, float[] dst) {
        long block = rowOffset(row);
        for (int i = 0; i < cols; i += format.blockElements, block += format.blockBytes) {
            float d = half(block);
            if (format == Format.IQ4_NL) {
                decode32(block + 2, d, dst, i);
                continue;
            }
            int high = data.get(WORD, block + 2) & 0xFFFF;
            for (int b = 0; b < 8; b++) {
                int scale = ((u8(block + 4 + b / 2) >> (4 * (b % 2))) & 0xF) | ((high >> (2 * b)) & 3) << 4;
                decode32(block + 8 + 16L * b, d * (scale - 32), dst, i + 32 * b);
            }
        }
    }

    /** The 32 weights of the 16 code bytes at {@code codes}, times {@code scale}, into {@code dst[out..]}. */
    private void decode32(long codes, float scale, float[] dst, int out) {
        for (int j = 0; j < 16; j++) {
            int b = u8(codes + j);
            dst[out + j] = scale * LEVELS[b & 0xF];
            dst[out + 16 + j] = scale * LEVELS[b >> 4];
        }
    }

    private int u8(long offset) {
        return data.get(ValueLayout.JAVA_BYTE, offset) & 0xFF;
    }
}
