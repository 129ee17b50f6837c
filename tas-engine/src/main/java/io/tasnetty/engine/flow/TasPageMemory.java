package io.tasnetty.engine.flow;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Where ring memory comes from. On Linux: anonymous {@code mmap} with {@code MAP_NORESERVE}, so a
 * chunk costs address space until data touches its pages (the kernel commits zeroed pages on first
 * write) and {@code madvise(MADV_DONTNEED)} gives a released ring's pages back. That is what keeps
 * an idle connection as cheap as an idle Linux socket: a page or two of each ring, not rx + tx.
 * Elsewhere: an {@link Arena} (committed and zeroed at once).
 */
abstract class TasPageMemory {
    /** A page-aligned block of {@code bytes}, freed when the memory closes; null when the system refuses. */
    abstract MemorySegment reserve(long bytes);

    /** Lets the system take back the pages of {@code seg} (its contents become zero). */
    abstract void discard(MemorySegment seg);

    abstract void close();

    /** True when {@link #discard} really returns pages (tests use it to know what to expect). */
    abstract boolean lazy();

    static TasPageMemory create() {
        if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
            try {
                return new Mapped();
            } catch (RuntimeException | LinkageError e) {
                // fall through: an odd libc; committed memory still works
            }
        }
        return new Allocated();
    }

    /**
     * Blocks cut in order from one mapped region (service mode): the region is unmapped as a
     * whole when its application detaches, and freed rings are recycled by the allocator's free
     * lists, so the high-water mark bounds its address space. A discarded block's pages are
     * punched out of the shared file ({@code madvise(MADV_REMOVE)}: tmpfs and file systems that
     * can punch holes), so what a region holds in memory follows the rings in use.
     */
    static final class Region extends TasPageMemory {
        private static final int MADV_REMOVE = 9;
        private static final MethodHandle MADVISE = madviseOrNull();
        private final MemorySegment region;
        private long used;
        /** Cleared when the file system cannot punch holes: then pages stay until detach. */
        private volatile boolean punching = MADVISE != null;

        Region(MemorySegment region) {
            this.region = region;
        }

        private static MethodHandle madviseOrNull() {
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
                return null;
            }
            try {
                Linker l = Linker.nativeLinker();
                return l.downcallHandle(l.defaultLookup().find("madvise").orElseThrow(),
                        FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
            } catch (RuntimeException | LinkageError e) {
                return null;
            }
        }

        @Override
        synchronized MemorySegment reserve(long bytes) {
            long at = (used + 4095) & -4096L;
            if (at + bytes > region.byteSize()) {
                return null;
            }
            used = at + bytes;
            return region.asSlice(at, bytes);
        }

        @Override
        void discard(MemorySegment seg) {
            if (!punching) {
                return;
            }
            try {
                int rc = (int) MADVISE.invokeExact(seg.address(), seg.byteSize(), MADV_REMOVE);
                if (rc != 0) {
                    punching = false; // EOPNOTSUPP: this file system keeps them; reuse still bounds them
                }
            } catch (Throwable t) {
                punching = false;
            }
        }

        @Override
        void close() {
            // The session that mapped the region unmaps it.
        }

        @Override
        boolean lazy() {
            return punching;
        }
    }

    private static final class Allocated extends TasPageMemory {
        private final Arena arena = Arena.ofShared();

        @Override
        MemorySegment reserve(long bytes) {
            try {
                return arena.allocate(bytes, 4096);
            } catch (OutOfMemoryError e) {
                return null;
            }
        }

        @Override
        void discard(MemorySegment seg) {
            // Nothing to return: the arena committed these pages for good.
        }

        @Override
        void close() {
            arena.close();
        }

        @Override
        boolean lazy() {
            return false;
        }
    }

    private static final class Mapped extends TasPageMemory {
        private static final int PROT_READ_WRITE = 0x1 | 0x2;
        private static final int MAP_PRIVATE_ANONYMOUS_NORESERVE = 0x02 | 0x20 | 0x4000;
        private static final int MADV_DONTNEED = 4;
        private static final long MAP_FAILED = -1L;

        private final MethodHandle mmap;
        private final MethodHandle munmap;
        private final MethodHandle madvise;
        private final Arena arena = Arena.ofShared();

        Mapped() {
            Linker l = Linker.nativeLinker();
            // void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
            mmap = l.downcallHandle(l.defaultLookup().find("mmap").orElseThrow(),
                    FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
            // int munmap(void *addr, size_t len)
            munmap = l.downcallHandle(l.defaultLookup().find("munmap").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
            // int madvise(void *addr, size_t len, int advice)
            madvise = l.downcallHandle(l.defaultLookup().find("madvise").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
        }

        @Override
        MemorySegment reserve(long bytes) {
            long addr;
            try {
                addr = (long) mmap.invokeExact(MemorySegment.NULL, bytes, PROT_READ_WRITE,
                        MAP_PRIVATE_ANONYMOUS_NORESERVE, -1, 0L);
            } catch (Throwable t) {
                throw new IllegalStateException("mmap failed", t);
            }
            if (addr == MAP_FAILED || addr == 0) {
                return null;
            }
            return MemorySegment.ofAddress(addr).reinterpret(bytes, arena, s -> unmap(s.address(), bytes));
        }

        private void unmap(long addr, long bytes) {
            try {
                int rc = (int) munmap.invokeExact(addr, bytes);
                assert rc == 0;
            } catch (Throwable t) {
                // Closing the engine: nothing useful to do with a failed munmap.
            }
        }

        @Override
        void discard(MemorySegment seg) {
            try {
                int rc = (int) madvise.invokeExact(seg.address(), seg.byteSize(), MADV_DONTNEED);
                assert rc == 0;
            } catch (Throwable t) {
                throw new IllegalStateException("madvise failed", t);
            }
        }

        @Override
        void close() {
            arena.close();
        }

        @Override
        boolean lazy() {
            return true;
        }
    }
}
