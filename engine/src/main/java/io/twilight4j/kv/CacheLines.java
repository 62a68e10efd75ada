package io.twilight4j.kv;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Touch loads: one byte of each 64-byte cache line of a range of the cache, so that rows the CPU will read
 * soon (a sparse set's scattered rows, a block of page bounds) miss together while other work runs,
 * instead of one by one when they are used.
 */
public final class CacheLines {

    /** Bytes per cache line on the CPUs this targets (x86-64, most AArch64). */
    private static final int LINE = 64;

    /** Written with the touched bytes' sum so that the loads are not dead code; never read. */
    private static int sink;

    private CacheLines() {
    }

    /** Loads one byte of each cache line of {@code seg[at..at+bytes)} and returns their sum. */
    public static int touch(MemorySegment seg, long at, long bytes) {
        int sum = 0;
        for (long line = 0; line < bytes; line += LINE) {
            sum += seg.get(ValueLayout.JAVA_BYTE, at + line);
        }
        return sum;
    }

    /** Keeps the sum of touched bytes alive (call once per pass, not per load). */
    public static void keep(int sum) {
        sink = sum;
    }
}
