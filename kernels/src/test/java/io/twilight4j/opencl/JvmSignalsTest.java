package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * The guard against drivers replacing the JVM's signal handlers, on signals nothing else here uses: SIGWINCH gets
 * a handler of the JVM's (Java's {@code Signal.handle}) before the tests that replace it inside a guard (by
 * SIG_IGN, as a driver would install its own), SIGURG keeps its default action until a guarded call installs one.
 */
class JvmSignalsTest {

    private static final int SIGWINCH = 28;
    private static final int SIGURG = 23;

    @BeforeAll
    static void giveWinchAJvmHandler() {
        Signal.handle(new Signal("WINCH"), s -> { });
    }

    @Test
    void restoresAJvmHandlerReplacedInsideTheGuard() {
        assumeTrue(JvmSignals.available(), "sigaction is reachable on Linux only");
        long before = JvmSignals.handlers()[SIGWINCH];
        List<Integer> restored;
        try (JvmSignals.Guard guard = JvmSignals.guard()) {
            Signal.handle(new Signal("WINCH"), SignalHandler.SIG_IGN);
            assertNotEquals(before, JvmSignals.handlers()[SIGWINCH], "the handler did not change: nothing to test");
            restored = guard.restore();
        }
        assertEquals(List.of(SIGWINCH), restored);
        assertEquals(before, JvmSignals.handlers()[SIGWINCH]);
    }

    @Test
    void leavesADriversHandlerWhereTheJvmHadTheDefault() {
        assumeTrue(JvmSignals.available(), "sigaction is reachable on Linux only");
        assumeTrue(JvmSignals.handlers()[SIGURG] == 0, "SIGURG already has a handler here");
        try (JvmSignals.Guard guard = JvmSignals.guard()) {
            Signal.handle(new Signal("URG"), s -> { });
        }
        assertNotEquals(0L, JvmSignals.handlers()[SIGURG]);
    }

    @Test
    void overlappingGuardsRestoreWhenTheLastCloses() {
        assumeTrue(JvmSignals.available(), "sigaction is reachable on Linux only");
        long before = JvmSignals.handlers()[SIGWINCH];
        JvmSignals.Guard first = JvmSignals.guard();
        try (JvmSignals.Guard second = JvmSignals.guard()) {
            Signal.handle(new Signal("WINCH"), SignalHandler.SIG_IGN);
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
