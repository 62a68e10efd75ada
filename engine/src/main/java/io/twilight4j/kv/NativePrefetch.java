package io.twilight4j.kv;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CPU's prefetch instruction, which Java does not expose: a 40-byte x86-64 routine written into a page
 * of its own (mapped writable, then made executable and read-only) and called through an FFM downcall
 * marked critical (a leaf that neither blocks nor calls back), ~5 ns a call.
 * <p>
 * Why: a load only retires when its data arrives, so a touch load that misses holds up the reorder buffer
 * (~250 micro-ops, under 100 cycles of work) for a whole memory latency; a prefetch retires at once. The
 * sparse steps read scattered pages and rows, one miss stream each (bench/results/cpu-2026-12-07-session26).
 * <p>
 * Linux on x86-64 only, where {@code mmap}/{@code mprotect} are found and allowed; elsewhere, or with
 * {@code -Dtwilight4j.prefetch=false}, {@link #available} is false and {@link CacheLines} touches instead.
 */
final class NativePrefetch {

    private static final Logger LOG = LoggerFactory.getLogger(NativePrefetch.class);

    /**
     * {@code void prefetch(long base, const long* offsets, long count, long lines)}: prefetcht0 of
     * {@code lines} consecutive 64-byte lines from {@code base + offsets[i]}, for each i < count; lines >= 1.
     * System V arguments rdi, rsi, rdx, rcx; clobbers rax, r8 only; no stack. It starts with endbr64 (a no-op
     * where control-flow enforcement is off) so that an indirect call may land there. Assembled from:
     * <pre>
     *   endbr64 ; test rdx, rdx ; jle done
     * next:  mov rax, [rsi] ; add rax, rdi ; mov r8, rcx
     * line:  prefetcht0 [rax] ; add rax, 64 ; dec r8 ; jnz line
     *        add rsi, 8 ; dec rdx ; jnz next
     * done:  ret
     * </pre>
     */
    private static final byte[] X86_64 = {
            (byte) 0xf3, 0x0f, 0x1e, (byte) 0xfa,       // endbr64
            0x48, (byte) 0x85, (byte) 0xd2,             // test rdx, rdx
            0x7e, 0x1e,                                 // jle done
            0x48, (byte) 0x8b, 0x06,                    // next: mov rax, [rsi]
            0x48, 0x01, (byte) 0xf8,                    // add rax, rdi
            0x49, (byte) 0x89, (byte) 0xc8,             // mov r8, rcx
            0x0f, 0x18, 0x08,                           // line: prefetcht0 [rax]
            0x48, (byte) 0x83, (byte) 0xc0, 0x40,       // add rax, 64
            0x49, (byte) 0xff, (byte) 0xc8,             // dec r8
            0x75, (byte) 0xf4,                          // jnz line
            0x48, (byte) 0x83, (byte) 0xc6, 0x08,       // add rsi, 8
            0x48, (byte) 0xff, (byte) 0xca,             // dec rdx
            0x75, (byte) 0xe2,                          // jnz next
            (byte) 0xc3};                               // done: ret

    private static final long CODE_BYTES = 4096;

    /** Null where unavailable (see the class comment). */
    private static final MethodHandle STUB = Boolean.parseBoolean(System.getProperty("twilight4j.prefetch", "true"))
            ? install() : null;

    private NativePrefetch() {
    }

    static boolean available() {
        return STUB != null;
    }

    /** Prefetches {@code lines} (>= 1) lines from {@code base + offsets[i]}, i < count; offsets may be a heap array. */
    static void lines(long base, long[] offsets, int count, int lines) {
        try {
            STUB.invokeExact(base, MemorySegment.ofArray(offsets), (long) count, (long) lines);
        } catch (Throwable t) {
            // The routine cannot fail; only a broken handle could get here.
            throw new IllegalStateException("native prefetch failed", t);
        }
    }

    private static MethodHandle install() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            LOG.debug("no native prefetch on {} {}: cache lines are touched instead", os, arch);
            return null;
        }
        if (Mman.MMAP == null || Mman.MPROTECT == null) {
            LOG.debug("no native prefetch: mmap or mprotect is not available");
            return null;
        }
        try {
            MemorySegment page = (MemorySegment) Mman.MMAP.invokeExact(MemorySegment.NULL, CODE_BYTES, Mman.PROT_READ_WRITE,
                    Mman.MAP_PRIVATE_ANONYMOUS, -1, 0L);
            if (page.address() == Mman.MAP_FAILED) {
                LOG.debug("no native prefetch: mmap refused a page");
                return null;
            }
            MemorySegment.copy(MemorySegment.ofArray(X86_64), 0, page.reinterpret(CODE_BYTES), 0, X86_64.length);
            int rc = (int) Mman.MPROTECT.invokeExact(page, CODE_BYTES, Mman.PROT_READ_EXEC);
            if (rc != 0) {
                LOG.debug("no native prefetch: mprotect(PROT_READ | PROT_EXEC) returned {}", rc);
                return null;
            }
            return Linker.nativeLinker().downcallHandle(page, FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), Linker.Option.critical(true));
        } catch (Throwable t) {
            // Native access refused for the routine's own downcall: touch instead.
            LOG.debug("no native prefetch: {}", t.toString());
            return null;
        }
    }
}
