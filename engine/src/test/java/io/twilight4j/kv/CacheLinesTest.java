package io.twilight4j.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CacheLinesTest {

    /** The machines this project runs on (and CI) get the prefetch instruction, not the touch fallback. */
    @Test
    void linuxOnX86GetsTheNativePrefetch() {
        String arch = System.getProperty("os.arch", "");
        assumeTrue(System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")
                && (arch.equals("amd64") || arch.equals("x86_64")), "not Linux on x86-64");
        assumeTrue(Boolean.parseBoolean(System.getProperty("twilight4j.prefetch", "true")), "turned off by property");
        assertTrue(CacheLines.prefetching(), "the prefetch routine did not install (mmap or mprotect refused?)");
    }

    /**
     * Prefetching ranges of every size (none, part of a line, whole lines, a run over many lines, the
     * segment's end) leaves memory as it was and returns 0; where the routine is missing, it returns
     * the touch loads' sum.
     */
    @Test
    void prefetchChangesNothing() {
        Random random = new Random(26);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(1 << 16, 64);
            byte[] bytes = new byte[1 << 16];
            random.nextBytes(bytes);
            MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
            long[] offsets = new long[32];
            for (int i = 0; i < offsets.length; i++) {
                offsets[i] = random.nextInt(1 << 15);
            }
            offsets[31] = (1 << 16) - 4096;
            for (long size : new long[] {1, 63, 64, 65, 1024, 4096}) {
                for (int count : new int[] {0, 1, 7, 32}) {
                    int sum = CacheLines.prefetch(seg, offsets, count, size);
                    assertEquals(CacheLines.prefetching() ? 0 : CacheLines.touch(seg, offsets, count, size), sum,
                            count + " ranges of " + size + " bytes");
                }
            }
            assertArrayEquals(bytes, seg.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    /**
     * Asking for the same rows of two segments (K and V) leaves both as they were, for every size up to the
     * segments' end and up to eight rows a call; a row past the end is refused, naming it, and heap segments are
     * left alone.
     */
    @Test
    void prefetchRowsChangesNothingAndChecksTheRange() {
        Random random = new Random(28);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(1 << 14, 64);
            MemorySegment b = arena.allocate(1 << 14, 64);
            byte[] bytesA = new byte[1 << 14];
            byte[] bytesB = new byte[1 << 14];
            random.nextBytes(bytesA);
            random.nextBytes(bytesB);
            MemorySegment.copy(MemorySegment.ofArray(bytesA), 0, a, 0, bytesA.length);
            MemorySegment.copy(MemorySegment.ofArray(bytesB), 0, b, 0, bytesB.length);
            long[] rows = new long[8];
            long[] scratch = new long[16];
            for (long size : new long[] {0, 1, 63, 64, 65, 1024, 4096}) {
                for (int count : new int[] {0, 1, 4, 8}) {
                    for (int i = 0; i < count; i++) {
                        rows[i] = random.nextInt((int) ((1 << 14) - size + 1));
                    }
                    rows[0] = (1 << 14) - size;
                    CacheLines.prefetchRows(a, b, rows, count, size, scratch);
                }
            }
            assertArrayEquals(bytesA, a.toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(bytesB, b.toArray(ValueLayout.JAVA_BYTE));
            rows[0] = 0;
            rows[1] = (1 << 14) - 64;
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                    () -> CacheLines.prefetchRows(a, b, rows, 2, 128, scratch));
            assertTrue(e.getMessage().contains("16320"), e.getMessage());
            MemorySegment heap = MemorySegment.ofArray(new byte[256]);
            rows[0] = 0;
            CacheLines.prefetchRows(heap, heap, rows, 1, 256, scratch);
        }
    }

    /** Touching loads the first byte of each 64-byte line of each range: the sum of those bytes, by brute force. */
    @Test
    void touchSumsOneBytePerLine() {
        Random random = new Random(7);
        byte[] bytes = new byte[8192];
        random.nextBytes(bytes);
        MemorySegment seg = MemorySegment.ofArray(bytes);
        long[] offsets = {0, 5, 4000, 8191 - 200};
        for (long size : new long[] {1, 64, 65, 200}) {
            int expected = 0;
            for (long at : offsets) {
                for (long b = 0; b < size; b += 64) {
                    expected += bytes[(int) (at + b)];
                }
            }
            assertEquals(expected, CacheLines.touch(seg, offsets, offsets.length, size), size + " bytes");
            // A heap segment has no address to prefetch from: it is touched.
            assertEquals(expected, CacheLines.prefetch(seg, offsets, offsets.length, size), size + " bytes, heap");
        }
    }
}
