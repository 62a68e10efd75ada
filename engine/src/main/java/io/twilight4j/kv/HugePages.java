package io.twilight4j.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Zeroed off-heap memory on 2 MiB transparent huge pages where Linux grants them, for the K/V arrays and
 * the 4-bit keys. Dense decode attention reads each page's K and V head runs in 4 KB bursts between
 * stretches of arithmetic; the hardware prefetcher does not run ahead across a 4 KB page boundary, so on
 * small pages each burst waits on demand misses (~8 GB/s against a 30+ GB/s stream,
 * bench/results/cpu-2026-12-06-session6). The estimate prefetches scattered 1 KB code blocks, each a TLB
 * miss on small pages. Best effort: whatever is missing or refused leaves plain memory.
 */
final class HugePages {

    /** The transparent huge page size of x86-64 (and of arm64 with 4 KB base pages). */
    static final long PAGE_BYTES = 2L << 20;

    private static final Logger LOG = LoggerFactory.getLogger(HugePages.class);
    private static final AtomicBoolean REPORTED = new AtomicBoolean();

    private HugePages() {
    }

    /** Whether arrays of a huge page or more get their own 2 MiB-aligned mapping here. */
    static boolean available() {
        return Mman.MMAP != null && Mman.MUNMAP != null;
    }

    /** {@code bytes} rounded up to a whole number of huge pages. */
    static long roundUp(long bytes) {
        return (bytes + PAGE_BYTES - 1) & -PAGE_BYTES;
    }

    /**
     * {@code byteSize} zeroed bytes owned by {@code arena}: for arrays of at least a huge page, a fresh
     * anonymous mapping, 2 MiB-aligned, its length rounded up to whole huge pages and advised for them
     * before anything touches it; otherwise, or when mapping fails, {@code arena.allocate}. Not
     * {@code arena.allocate} then madvise: it zeroes the memory, so every page has already faulted in
     * at 4 KB (measured: 4-6 of 128 MB on huge pages that way, all 128 MB with the advice first;
     * bench/results/cpu-2026-12-06-session7/arena-vs-mmap-probe.java.txt).
     */
    static MemorySegment allocate(Arena arena, long byteSize) {
        if (byteSize < PAGE_BYTES || !available()) {
            return arena.allocate(byteSize, 64);
        }
        long bytes = roundUp(byteSize);
        long base = map(bytes + PAGE_BYTES);
        if (base == Mman.MAP_FAILED) {
            report("mmap of " + (bytes + PAGE_BYTES) + " bytes failed");
            return arena.allocate(byteSize, 64);
        }
        // Keep only the aligned stretch: one munmap of it then frees everything.
        long aligned = roundUp(base);
        unmap(base, aligned - base);
        unmap(aligned + bytes, base + PAGE_BYTES - aligned);
        MemorySegment mapped = MemorySegment.ofAddress(aligned).reinterpret(bytes);
        advise(mapped);
        return mapped.reinterpret(byteSize, arena, s -> unmap(s.address(), bytes));
    }

    /** madvise(MADV_HUGEPAGE) over {@code segment}; false, logged once at debug level, where unavailable or refused. */
    static boolean advise(MemorySegment segment) {
        if (Mman.MADVISE == null) {
            report("madvise is not available");
            return false;
        }
        int rc;
        try {
            rc = (int) Mman.MADVISE.invokeExact(segment, segment.byteSize(), Mman.MADV_HUGEPAGE);
        } catch (Throwable t) {
            report("madvise failed: " + t);
            return false;
        }
        if (rc != 0) {
            report("madvise(MADV_HUGEPAGE) returned " + rc + " for " + segment.byteSize() + " bytes at 0x"
                    + Long.toHexString(segment.address()));
        }
        return rc == 0;
    }

    private static long map(long bytes) {
        try {
            MemorySegment p = (MemorySegment) Mman.MMAP.invokeExact(MemorySegment.NULL, bytes, Mman.PROT_READ_WRITE,
                    Mman.MAP_PRIVATE_ANONYMOUS, -1, 0L);
            return p.address();
        } catch (Throwable t) {
            return Mman.MAP_FAILED;
        }
    }

    private static void unmap(long address, long bytes) {
        if (bytes == 0) {
            return;
        }
        try {
            int rc = (int) Mman.MUNMAP.invokeExact(MemorySegment.ofAddress(address), bytes);
            if (rc != 0) {
                report("munmap of " + bytes + " bytes at 0x" + Long.toHexString(address) + " returned " + rc);
            }
        } catch (Throwable t) {
            report("munmap failed: " + t);
        }
    }

    private static void report(String message) {
        if (REPORTED.compareAndSet(false, true)) {
            LOG.debug("KV cache memory stays on small pages: {}", message);
        }
    }
}
