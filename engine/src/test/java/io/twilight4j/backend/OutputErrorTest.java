package io.twilight4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class OutputErrorTest {

    @Test
    void isTheNormOfTheDifferenceOverTheNormOfTheReference() {
        // a - b = (1, 2, -1): sqrt(6) / 3.
        assertEquals(Math.sqrt(6) / 3, OutputError.relative(new float[] {1, 2, 2}, new float[] {0, 0, 3}, 3), 1e-15);
        assertEquals(0.0, OutputError.relative(new float[] {1, -2}, new float[] {1, -2}, 2));
        assertEquals(1.0, OutputError.relative(new float[] {0, 0}, new float[] {3, 4}, 2), 1e-15);
        assertEquals(1.0, OutputError.relative(new float[] {6, 8}, new float[] {3, 4}, 2), 1e-15);
    }

    @Test
    void readsOnlyTheFirstNAndAZeroReferenceGivesZero() {
        assertEquals(0.0, OutputError.relative(new float[] {1, 100}, new float[] {1, -7}, 1));
        assertEquals(0.0, OutputError.relative(new float[] {1, 2}, new float[] {0, 0}, 2));
    }
}
