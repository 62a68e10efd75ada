package io.twilight4j.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Fp16Test {

    /** Every half bit pattern (subnormals, infinities, NaN included) converts as the JDK's scalar conversion does. */
    @ParameterizedTest
    @CsvSource({"0, 65536", "1, 65535", "7, 1000", "3, 13"})
    void rowConversionMatchesTheScalarConversion(int first, int n) {
        try (Arena arena = Arena.ofConfined()) {
            // An odd byte offset: rows are read unaligned.
            MemorySegment seg = arena.allocate(2L * 65536 + 1);
            ValueLayout.OfShort half = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            for (int h = 0; h < 65536; h++) {
                seg.set(half, 1 + 2L * h, (short) h);
            }
            float[] out = new float[n + 3];
            Fp16.toFloat(seg, 1 + 2L * first, out, 3, n);
            for (int i = 0; i < n; i++) {
                assertEquals(Float.float16ToFloat((short) (first + i)), out[3 + i], "half 0x" + Integer.toHexString(first + i));
            }
        }
    }
}
