package io.twilight4j.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The K/V memory: aligned and rounded to huge pages where it can be, zeroed and usable either way. */
class HugePagesTest {

    @Test
    void roundsUpToWholeHugePages() {
        long page = HugePages.PAGE_BYTES;
        assertEquals(0, HugePages.roundUp(0));
        assertEquals(page, HugePages.roundUp(1));
        assertEquals(page, HugePages.roundUp(page));
        assertEquals(2 * page, HugePages.roundUp(page + 1));
        assertEquals(64 * page, HugePages.roundUp(63 * page + 12345));
    }

    @ParameterizedTest
    @CsvSource({"1, 100", "2, 2097151", "3, 2097152", "4, 2097153", "5, 9437187"})
    void allocationIsZeroedWritableAndHugeAlignedFromOneHugePage(long seed, long bytes) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = HugePages.allocate(arena, bytes);
            assertEquals(bytes, seg.byteSize());
            if (bytes >= HugePages.PAGE_BYTES && HugePages.available()) {
                assertEquals(0, seg.address() % HugePages.PAGE_BYTES, "address 0x" + Long.toHexString(seg.address()));
            }
            // Zeroed, and every byte up to the end (the rounding's tail is beyond it) keeps what is written.
            SplittableRandom r = new SplittableRandom(seed);
            long[] offsets = {0, bytes / 2, bytes - 1, r.nextLong(bytes), r.nextLong(bytes)};
            for (long o : offsets) {
                assertEquals(0, seg.get(ValueLayout.JAVA_BYTE, o), "seed " + seed + ": byte " + o + " not zeroed");
            }
            seg.fill((byte) 0x5a);
            for (long o : offsets) {
                assertEquals(0x5a, seg.get(ValueLayout.JAVA_BYTE, o), "seed " + seed + ": byte " + o);
            }
            if (bytes >= HugePages.PAGE_BYTES) {
                // A diagnostic only: whether the kernel backs the region with huge pages depends on its THP settings.
                System.out.println(bytes + " bytes at 0x" + Long.toHexString(seg.address()) + ": AnonHugePages "
                        + anonHugePagesKb(seg) + " kB (THP " + thpMode() + ")");
            }
        }
    }

    @Test
    void refusedAdviceIsReturnedNotThrown() {
        assumeTrue(HugePages.available(), "no mmap/madvise here (not Linux)");
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = HugePages.allocate(arena, 2 * HugePages.PAGE_BYTES);
            // madvise wants a page-aligned address: EINVAL, returned, not thrown.
            assertFalse(HugePages.advise(seg.asSlice(1, 4096)));
            seg.set(ValueLayout.JAVA_LONG_UNALIGNED, 1, 42L);
            assertEquals(42L, seg.get(ValueLayout.JAVA_LONG_UNALIGNED, 1));
        }
    }

    /** AnonHugePages summed over the mappings of /proc/self/smaps that overlap {@code seg}; -1 off Linux. */
    static long anonHugePagesKb(MemorySegment seg) {
        Path smaps = Path.of("/proc/self/smaps");
        if (!Files.isReadable(smaps)) {
            return -1;
        }
        try {
            long kb = 0;
            boolean overlaps = false;
            for (String line : Files.readAllLines(smaps)) {
                int dash = line.indexOf('-');
                int space = line.indexOf(' ');
                if (dash > 0 && space > dash && line.substring(0, dash).chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                    long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                    long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                    overlaps = start < seg.address() + seg.byteSize() && end > seg.address();
                } else if (overlaps && line.startsWith("AnonHugePages:")) {
                    kb += Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
            return kb;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static String thpMode() {
        try {
            return Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled")).strip();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
