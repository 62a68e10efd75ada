package io.twilight4j.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Packed 4-bit rows: put/get against a plain code array, unpack against get at every position. */
class NibblesTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 7, 16, 32, 64, 100, 128, 256})
    void unpackWritesEveryCodeWherePositionSays(int bytes) {
        SplittableRandom r = new SplittableRandom(bytes);
        int[] want = new int[2 * bytes];
        byte[] packed = new byte[bytes];
        for (int j = 0; j < want.length; j++) {
            want[j] = r.nextInt(16);
            Nibbles.put(packed, 0, j, want[j]);
        }
        // put leaves the other nibble: overwrite every code once more in reverse order.
        for (int j = want.length - 1; j >= 0; j--) {
            want[j] = r.nextInt(16);
            Nibbles.put(packed, 0, j, want[j]);
        }
        Set<Integer> positions = new HashSet<>();
        for (int j = 0; j < want.length; j++) {
            assertEquals(want[j], Nibbles.get(packed, 0, j), "code " + j);
            positions.add(Nibbles.position(j, bytes));
        }
        assertEquals(want.length, positions.size(), "position is a permutation");
        try (Arena arena = Arena.ofConfined()) {
            // An odd offset: the unpack may not assume aligned rows.
            MemorySegment seg = arena.allocate(bytes + 5);
            MemorySegment.copy(packed, 0, seg, ValueLayout.JAVA_BYTE, 5, bytes);
            float[] dst = new float[2 * bytes + 3];
            Nibbles.unpack(seg, 5, dst, 3, bytes);
            for (int j = 0; j < want.length; j++) {
                assertEquals(want[j], dst[3 + Nibbles.position(j, bytes)], "code " + j + " of " + bytes + " bytes");
            }
        }
    }
}
