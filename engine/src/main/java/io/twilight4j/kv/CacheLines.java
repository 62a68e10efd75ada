package io.twilight4j.kv;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * Asking for cache lines before they are used, so that rows the CPU will read soon (a sparse set's scattered
 * rows, a block of pages) miss together while other work runs, instead of one by one when they are used:
 * {@link #prefetch} with the CPU's prefetch instruction where {@link NativePrefetch} provides it, else touch
 * loads (one byte of each 64-byte line), which do the same but hold up the core until their data arrives.
 */
public final class CacheLines {

    /** Bytes per cache line on the CPUs this targets (x86-64, most AArch64). */
    private static final int LINE = 64;

    /** Written with the touched bytes' sum so that the loads are not dead code; never read. */
    private static int sink;

    private CacheLines() {
    }

    /** Whether {@link #prefetch} uses the CPU's prefetch instruction (else it touches). */
    static boolean prefetching() {
        return NativePrefetch.available();
    }

    /**
     * Asks for {@code bytes} from each of {@code seg[offsets[i]]}, i < count (whole lines from each offset's
     * line): prefetched, returning 0, or touched, returning the sum for {@link #keep}.
     */
    public static int prefetch(MemorySegment seg, long[] offsets, int count, long bytes) {
        if (NativePrefetch.available() && seg.isNative()) {
            if (count > 0 && bytes > 0) {
                NativePrefetch.lines(seg.address(), offsets, count, (int) ((bytes + LINE - 1) / LINE));
            }
            return 0;
        }
        return touch(seg, offsets, count, bytes);
    }

    /**
     * Asks for {@code bytes} at each of {@code offsets[0..count)} in both {@code a} and {@code b} (tokens' K and V
     * rows) with the prefetch instruction, in one call; {@code scratch} holds {@code 2 * count} longs. Does nothing
     * where that instruction is missing or a segment is on the heap: unlike {@link #prefetch} it never touches,
     * because it asks for rows a little ahead of a computation, and a touch load would hold the computation up for
     * the whole memory latency it is meant to hide.
     */
    public static void prefetchRows(MemorySegment a, MemorySegment b, long[] offsets, int count, long bytes,
                                    long[] scratch) {
        long size = Math.min(a.byteSize(), b.byteSize());
        for (int i = 0; i < count; i++) {
            Objects.checkFromIndexSize(offsets[i], bytes, size);
        }
        if (count > 0 && bytes > 0 && NativePrefetch.available() && a.isNative() && b.isNative()) {
            for (int i = 0; i < count; i++) {
                scratch[2 * i] = a.address() + offsets[i];
                scratch[2 * i + 1] = b.address() + offsets[i];
            }
            NativePrefetch.lines(0, scratch, 2 * count, (int) ((bytes + LINE - 1) / LINE));
        }
    }

    /** {@link #touch} of each range of {@link #prefetch}. */
    static int touch(MemorySegment seg, long[] offsets, int count, long bytes) {
        int sum = 0;
        for (int i = 0; i < count; i++) {
            sum += touch(seg, offsets[i], bytes);
        }
        return sum;
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
