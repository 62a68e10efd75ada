package io.twilight4j.opencl;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the JVM's signal handlers in place across OpenCL calls that load or start a vendor's driver.
 *
 * <p>The ICD loader loads every registered driver, and PoCL (the CPU driver of CI, also registered on many GPU
 * machines) brings LLVM, whose crash reporter installs its own handlers for SIGSEGV, SIGBUS, SIGILL, SIGUSR2,
 * SIGINT, SIGTERM and more, and PoCL its own SIGFPE handler. LLVM's are one-shot ({@code SA_RESETHAND}): a fault
 * resets the signal to its default action until LLVM's handler has put the previous handlers back. The JVM
 * raises SIGSEGV itself in normal operation: at a safepoint every thread running compiled code faults on the
 * poll page, so when two do at once while LLVM's handlers are in place, the second kills the process (exit 139,
 * or 132 for SIGILL, and no HotSpot error log). That was the GPU machines' "SIGSEGV while the cache fills" (a
 * few percent of bench runs, bench/results/h100-2026-12-07-session18/); with PoCL here, 5 of 30 runs of four
 * spinning threads and twenty safepoints died without the guard, none of 30 with it
 * (bench/results/cpu-2026-12-07-session18/). The JDK's remedy is preloading libjsig; this does the same inside
 * the process, for launchers, tests and applications that embed the library alike: {@link #guard()} snapshots
 * the handlers of signals 1-31 and {@link Guard#close()} puts back every one of the JVM's that changed (signals
 * the JVM left at their default action keep what a driver installed). What remains is the
 * time inside a guarded call, when only the calling thread (in native code) is known to run.
 *
 * <p>A driver's handler is dropped, not chained: LLVM's only prints a crash report, and PoCL's SIGFPE handler
 * covers integer division faults inside kernels, which ours never divide by zero to make. Where the C library's
 * {@code sigaction} is not reachable (not Linux, or native access refused) the guard does nothing, and so it
 * does with system property {@code twilight4j.clDriverSignals=keep} (to get a driver's own crash report while
 * debugging it, at the price above).
 */
final class JvmSignals {

    private static final Logger LOG = LoggerFactory.getLogger(JvmSignals.class);
    /** SIG_IGN's value as a handler address (SIG_DFL is 0). */
    private static final long SIG_IGN = 1;
    /** Signals 1-31, except SIGKILL (9) and SIGSTOP (19), whose handlers cannot be changed. */
    private static final int LAST_SIGNAL = 31;
    /**
     * Bytes kept per signal: more than the C library's struct sigaction (152 on x86-64 and aarch64 glibc and
     * musl), copied back whole, so its layout does not matter beyond the handler at offset 0.
     */
    private static final long ACTION_BYTES = 256;
    /** int sigaction(int, const struct sigaction*, struct sigaction*); null where not reachable. */
    private static final MethodHandle SIGACTION = lookup();
    /** Whether guards restore handlers (not with {@code -Dtwilight4j.clDriverSignals=keep}). */
    private static final boolean RESTORE = !"keep".equals(System.getProperty("twilight4j.clDriverSignals"));
    private static final Object LOCK = new Object();
    /** Signal s's struct sigaction when the first open guard began, at (s - 1) * ACTION_BYTES; null: guards do nothing. */
    private static final MemorySegment SAVED = SIGACTION == null || !RESTORE ? null
            : Arena.global().allocate(ACTION_BYTES * LAST_SIGNAL, 8);
    /** Whether the snapshot holds a handler of the JVM's for signal s. Guarded by LOCK, as is {@link #open}. */
    private static final boolean[] snapshotHolds = new boolean[LAST_SIGNAL + 1];
    /** Guards open now. */
    private static int open;

    private JvmSignals() {
    }

    /** Whether the guard can see and restore handlers here. */
    static boolean available() {
        return SIGACTION != null;
    }

    /**
     * A guard over the calls until {@link Guard#close()}. Guards may overlap (threads discovering devices or building
     * programs at once): the first to open snapshots the handlers, the last to close restores them.
     */
    static Guard guard() {
        synchronized (LOCK) {
            if (open++ == 0 && SAVED != null) {
                for (int sig = 1; sig <= LAST_SIGNAL; sig++) {
                    // Only the JVM's own handlers: where it left the default action (or ignores the signal) a
                    // driver's handler stays, in case the driver needs it.
                    snapshotHolds[sig] = changeable(sig) && sigaction(sig, MemorySegment.NULL, slot(SAVED, sig)) == 0
                            && Long.compareUnsigned(slot(SAVED, sig).get(ValueLayout.JAVA_LONG, 0), SIG_IGN) > 0;
                }
            }
        }
        return new Guard();
    }

    /** The handler addresses of signals 1-31 now (0 for SIG_DFL, 1 for SIG_IGN; -1 where unreadable). */
    static long[] handlers() {
        long[] out = new long[LAST_SIGNAL + 1];
        java.util.Arrays.fill(out, -1);
        if (SIGACTION == null) {
            return out;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment action = arena.allocate(ACTION_BYTES, 8);
            for (int sig = 1; sig <= LAST_SIGNAL; sig++) {
                if (changeable(sig) && sigaction(sig, MemorySegment.NULL, action) == 0) {
                    out[sig] = action.get(ValueLayout.JAVA_LONG, 0);
                }
            }
        }
        return out;
    }

    /** An open guard; closing the last one restores what changed since the first opened, and says so at debug level. */
    static final class Guard implements AutoCloseable {
        private boolean closed;

        private Guard() {
        }

        /** Restores now each signal whose handler changed since the snapshot; returns their numbers (for tests). */
        List<Integer> restore() {
            synchronized (LOCK) {
                return restoreLocked();
            }
        }

        @Override
        public void close() {
            List<Integer> restored;
            synchronized (LOCK) {
                if (closed) {
                    return;
                }
                closed = true;
                restored = open == 1 ? restoreLocked() : List.of();
                open--;
            }
            if (!restored.isEmpty()) {
                LOG.debug("an OpenCL driver replaced the handlers of signals {}; the JVM's are back", restored);
            }
        }
    }

    /** Puts back the snapshot's handler of every signal whose handler differs now. Holds LOCK. */
    private static List<Integer> restoreLocked() {
        List<Integer> restored = new ArrayList<>();
        if (SAVED == null) {
            return restored;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment now = arena.allocate(ACTION_BYTES, 8);
            for (int sig = 1; sig <= LAST_SIGNAL; sig++) {
                if (!snapshotHolds[sig] || sigaction(sig, MemorySegment.NULL, now) != 0) {
                    continue;
                }
                MemorySegment before = slot(SAVED, sig);
                if (now.get(ValueLayout.JAVA_LONG, 0) != before.get(ValueLayout.JAVA_LONG, 0)
                        && sigaction(sig, before, MemorySegment.NULL) == 0) {
                    restored.add(sig);
                }
            }
        }
        return restored;
    }

    private static MemorySegment slot(MemorySegment all, int sig) {
        return all.asSlice((sig - 1) * ACTION_BYTES, ACTION_BYTES);
    }

    private static boolean changeable(int sig) {
        return sig != 9 && sig != 19;
    }

    private static int sigaction(int sig, MemorySegment act, MemorySegment old) {
        try {
            return (int) SIGACTION.invokeExact(sig, act, old);
        } catch (Throwable t) {
            return -1;
        }
    }

    private static MethodHandle lookup() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return null;
        }
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("sigaction").map(f -> linker.downcallHandle(f,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS)))
                    .orElse(null);
        } catch (RuntimeException e) {
            LOG.debug("sigaction is not reachable, OpenCL drivers may replace the JVM's signal handlers: {}", e.toString());
            return null;
        }
    }
}
