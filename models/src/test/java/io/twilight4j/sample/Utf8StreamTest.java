package io.twilight4j.sample;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Feeding valid UTF-8 in random chunks gives back the text, never with a split character. */
class Utf8StreamTest {

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4})
    void randomChunksReassembleWithoutSplitting(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] pool = {'a', ' ', 0xE9, 0x20AC, 0x4E2D, 0x1F600, 0x2581, '\n'};
        for (int trial = 0; trial < 200; trial++) {
            StringBuilder sb = new StringBuilder();
            for (int i = rnd.nextInt(30); i > 0; i--) {
                sb.appendCodePoint(pool[rnd.nextInt(pool.length)]);
            }
            byte[] bytes = sb.toString().getBytes(StandardCharsets.UTF_8);
            Utf8Stream stream = new Utf8Stream();
            StringBuilder out = new StringBuilder();
            for (int at = 0; at < bytes.length; ) {
                int n = Math.min(bytes.length - at, 1 + rnd.nextInt(4));
                String piece = stream.push(Arrays.copyOfRange(bytes, at, at + n));
                assertFalse(piece.contains("\uFFFD"), "seed " + seed + ": a character was split");
                out.append(piece);
                at += n;
            }
            out.append(stream.flush());
            assertEquals(sb.toString(), out.toString(), "seed " + seed);
        }
    }

    @ParameterizedTest(name = "lead {0}")
    @ValueSource(ints = {0xC3, 0xE2, 0xF0})
    void anUnfinishedCharacterAtTheEndBecomesAReplacement(int lead) {
        Utf8Stream stream = new Utf8Stream();
        assertEquals("x", stream.push(new byte[] {'x', (byte) lead}));
        assertEquals("\uFFFD", stream.flush());
        assertEquals("", stream.flush());
    }
}
