package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * ggml's 32-weight blocks with a minimum or a fifth bit: Q4_1, Q5_0 and Q5_1 (llama.cpp's fallbacks for
 * tensors whose rows are not whole K-quant super-blocks, and older quantizations). A block holds fp16 d,
 * for Q4_1 and Q5_1 an fp16 m, for the 5-bit types a little-endian 32-bit word whose bit j is weight j's
 * fifth bit, then 16 bytes of nibbles: weight j in the low nibble of byte j, weight j + 16 in the high
 * nibble. Weight j is (q_j - offset) * d + m.
 */
public final class SmallBlockMatrix extends RowDecodedMatrix {

    /** The three layouts. */
    public enum Format {
        /** d, m, nibbles: q * d + m. */
        Q4_1(20, 2, -1, 4, 0),
        /** d, fifth bits, nibbles: (q - 16) * d. */
        Q5_0(22, -1, 2, 6, 16),
        /** d, m, fifth bits, nibbles: q * d + m. */
        Q5_1(24, 2, 4, 8, 0);

        final int blockBytes;
        /** Byte of m within the block, -1 for none (m = 0). */
        final int minAt;
        /** Byte of the fifth-bit word, -1 for none. */
        final int highAt;
        final int quantsAt;
        final int offset;

        Format(int blockBytes, int minAt, int highAt, int quantsAt, int offset) {
            this.blockBytes = blockBytes;
            this.minAt = minAt;
            this.highAt = highAt;
            this.quantsAt = quantsAt;
            this.offset = offset;
        }
    }

    /** Weights per block. */
    public static final int BLOCK_ELEMENTS = 32;

    private static final ValueLayout.OfInt WORD = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Format format;

    /** A {@code rows x cols} matrix of {@code format} blocks over {@code data}. */
    public SmallBlockMatrix(Format format, MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BLOCK_ELEMENTS, format.blockBytes);
        this.format = format;
    }

    @Override
    public void dequantizeRow(int row, float[] dst) {
        Format f = format;
        long block = rowOffset(row);
        for (int i = 0; i < cols; i += BLOCK_ELEMENTS, block += f.blockBytes) {
            float d = half(block);
            float m = f.minAt < 0 ? 0f : half(block + f.minAt);
            int high = f.highAt < 0 ? 0 : data.get(WORD, block + f.highAt);
            long quants = block + f.quantsAt;
            for (int j = 0; j < 16; j++) {
                int b = data.get(ValueLayout.JAVA_BYTE, quants + j) & 0xFF;
                int q0 = (b & 0xF) | ((high >>> j) & 1) << 4;
                int q1 = (b >> 4) | ((high >>> (j + 16)) & 1) << 4;
                dst[i + j] = (q0 - f.offset) * d + m;
                dst[i + 16 + j] = (q1 - f.offset) * d + m;
            }
        }
    }
}
