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
 * The C library's memory-mapping calls on Linux ({@code mmap}, {@code munmap}, {@code madvise}, {@code mprotect}),
 * as FFM downcall handles, for {@link HugePages} and {@link NativePrefetch}. A handle is null where it is not
 * available: not Linux, no such symbol, or native access refused.
 */
final class Mman {

    static final int PROT_READ_WRITE = 0x1 | 0x2;
    static final int PROT_READ_EXEC = 0x1 | 0x4;
    static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    static final int MADV_HUGEPAGE = 14;
    /** mmap's MAP_FAILED, (void *) -1, as an address. */
    static final long MAP_FAILED = -1;

    private static final Logger LOG = LoggerFactory.getLogger(Mman.class);
    private static final boolean LINUX = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux");

    /** {@code void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)}. */
    static final MethodHandle MMAP = downcall("mmap", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    /** {@code int munmap(void *addr, size_t length)}. */
    static final MethodHandle MUNMAP = downcall("munmap",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    /** {@code int madvise(void *addr, size_t length, int advice)}. */
    static final MethodHandle MADVISE = downcall("madvise",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    /** {@code int mprotect(void *addr, size_t length, int prot)}. */
    static final MethodHandle MPROTECT = downcall("mprotect",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));

    private Mman() {
    }

    private static MethodHandle downcall(String name, FunctionDescriptor descriptor) {
        if (!LINUX) {
            return null;
        }
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find(name).map(f -> linker.downcallHandle(f, descriptor)).orElse(null);
        } catch (RuntimeException e) {
            // No native access (--enable-native-access denied): the callers fall back.
            LOG.debug("{} is not available: {}", name, e.toString());
            return null;
        }
    }
}
