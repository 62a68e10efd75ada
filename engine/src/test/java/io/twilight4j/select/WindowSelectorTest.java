package io.twilight4j.select;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class WindowSelectorTest {

    /** Brute force: position i is a candidate when it is one of the first `sinks` or of the last `window`. */
    @Test
    void keepsTheSinksAndTheLastWindowInOrder() {
        for (int length = 0; length <= 40; length++) {
            for (int window = 1; window <= 12; window += 5) {
                for (int sinks = 0; sinks <= 5; sinks += 2) {
                    int len = length, w = window, s = sinks;
                    int[] expected = IntStream.range(0, len).filter(i -> i < s || i >= len - w).toArray();
                    int[] out = new int[64];
                    int n = WindowSelector.positions(len, w, s, out);
                    String what = "length " + len + ", window " + w + ", sinks " + s;
                    assertArrayEquals(expected, Arrays.copyOf(out, n), what);
                    assertEquals(Math.min(len, w + s), new WindowSelector(w, s).maxCandidates(len), what);
                }
            }
        }
    }
}
