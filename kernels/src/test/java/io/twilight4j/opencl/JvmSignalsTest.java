package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import sun.misc.Signal;

/** The guard against drivers replacing the JVM's signal handlers, on a signal the JVM leaves alone. */
class JvmSignalsTest {

    /** SIGWINCH on Linux: default action (ignore); the JVM installs nothing for it. */
    private static final int SIGWINCH = 28;

    @Test
    void restoresAHandlerInstalledInsideTheGuard() {
        assumeTrue(JvmSignals.available(), "sigaction is reachable on Linux only");
        long before = JvmSignals.handlers()[SIGWINCH];
        List<Integer> restored;
        try (JvmSignals.Guard guard = JvmSignals.guard()) {
            // As a driver would: a new native handler for a signal (here the JVM's own dispatcher).
            Signal.handle(new Signal("WINCH"), s -> { });
            assertNotEquals(before, JvmSignals.handlers()[SIGWINCH], "the handler did not change: nothing to test");
            restored = guard.restore();
        }
        assertEquals(List.of(SIGWINCH), restored);
        assertEquals(before, JvmSignals.handlers()[SIGWINCH]);
    }

    @Test
    void overlappingGuardsRestoreWhenTheLastCloses() {
        assumeTrue(JvmSignals.available(), "sigaction is reachable on Linux only");
        long before = JvmSignals.handlers()[SIGWINCH];
        JvmSignals.Guard first = JvmSignals.guard();
        try (JvmSignals.Guard second = JvmSignals.guard()) {
            Signal.handle(new Signal("WINCH"), s -> { });
        }
        // The first guard is still open: the call it covers may still be running a driver's start-up.
        assertNotEquals(before, JvmSignals.handlers()[SIGWINCH]);
        first.close();
        assertEquals(before, JvmSignals.handlers()[SIGWINCH]);
        first.close(); // closing twice changes nothing
        assertEquals(before, JvmSignals.handlers()[SIGWINCH]);
    }

    @Test
    void leavesUnchangedHandlersAlone() {
        assumeTrue(JvmSignals.available(), "sigaction is reachable on Linux only");
        long[] before = JvmSignals.handlers();
        try (JvmSignals.Guard guard = JvmSignals.guard()) {
            assertTrue(guard.restore().isEmpty());
        }
        assertEquals(java.util.Arrays.toString(before), java.util.Arrays.toString(JvmSignals.handlers()));
    }
}
