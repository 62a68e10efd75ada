package io.twilight4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The 12 bytes of eight 6-bit (scale, min) pairs that ggml's Q4_K and Q5_K super-blocks share: pairs 0-3
 * in the low 6 bits of bytes 0-3 (scales) and 4-7 (mins), pairs 4-7 in the nibbles of bytes 8-11 with
 * their top two bits in the top bits of bytes 0-7.
 */
final class KScales {

    private KScales() {
    }

    /** 6-bit scale of sub-block s of the pairs at byte {@code at} of {@code data}. */
    static int scale(MemorySegment data, long at, int s) {
        if (s < 4) {
            return u8(data, at + s) & 63;
        }
        return (u8(data, at + s + 4) & 0xF) | ((u8(data, at + s - 4) >> 6) << 4);
    }

    /** 6-bit min of sub-block s, packed like {@link #scale} four bytes further on. */
    static int min(MemorySegment data, long at, int s) {
        if (s < 4) {
            return u8(data, at + s + 4) & 63;
        }
        return (u8(data, at + s + 4) >> 4) | ((u8(data, at + s) >> 6) << 4);
    }

    private static int u8(MemorySegment data, long offset) {
        return data.get(ValueLayout.JAVA_BYTE, offset) & 0xFF;
    }
}
