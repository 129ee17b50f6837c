package io.tasnetty.engine.port;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few libc calls the TAP port needs, bound once through FFM (Linux x86-64).
 *
 * <p>Calls that report failure through {@code errno} take a capture segment first (allocate one
 * per calling thread with {@link #newCaptureState}). Data-path buffers are passed as raw
 * addresses ({@code long}): legal for a pointer parameter on x86-64 and allocation-free, where a
 * {@code MemorySegment} argument would need a slice per packet. {@code read}/{@code write} are
 * bound as critical (no thread-state transition) because they only ever run on non-blocking file
 * descriptors; {@code ppoll}, which blocks, is not.
 */
final class LinuxNative {
    static final int O_RDWR = 0x2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    static final int EFD_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;
    static final short POLLIN = 0x1;

    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EINTR = 4;
    static final int EIO = 5;
    static final int EAGAIN = 11;
    static final int EACCES = 13;
    static final int EBUSY = 16;
    static final int ENODEV = 19;
    static final int EINVAL = 22;
    static final int ENOBUFS = 105;

    /** struct pollfd { int fd; short events; short revents; } */
    static final long POLLFD_SIZE = 8;
    static final long POLLFD_EVENTS = 4;
    static final long POLLFD_REVENTS = 6;
    /** struct ifreq: char ifr_name[IFNAMSIZ = 16]; union { short ifr_flags; ... } (40 bytes) */
    static final long IFREQ_SIZE = 40;
    static final int IFNAMSIZ = 16;
    static final long IFREQ_FLAGS = 16;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO_CAPTURE = Linker.Option.captureCallState("errno");
    private static final Linker.Option NON_BLOCKING = Linker.Option.critical(false);

    // int open(const char *path, int flags, ... /* mode_t */)
    private static final MethodHandle OPEN = bind("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            ERRNO_CAPTURE, Linker.Option.firstVariadicArg(2));
    // int ioctl(int fd, unsigned long request, ... /* void *arg */)
    private static final MethodHandle IOCTL = bind("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
            ERRNO_CAPTURE, Linker.Option.firstVariadicArg(2));
    // ssize_t read(int fd, void *buf, size_t count): buf as a raw address
    private static final MethodHandle READ = bind("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG),
            ERRNO_CAPTURE, NON_BLOCKING);
    // ssize_t write(int fd, const void *buf, size_t count): buf as a raw address
    private static final MethodHandle WRITE = bind("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG),
            ERRNO_CAPTURE, NON_BLOCKING);
    // The same write without errno, for eventfd doorbells rung from any thread.
    private static final MethodHandle WRITE_NO_ERRNO = bind("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG), NON_BLOCKING);
    // int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *mask)
    private static final MethodHandle PPOLL = bind("ppoll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS), ERRNO_CAPTURE);
    // int eventfd(unsigned int initval, int flags)
    private static final MethodHandle EVENTFD = bind("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT),
            ERRNO_CAPTURE);
    // int close(int fd)
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    // char *strerror(int errnum)
    private static final MethodHandle STRERROR = bind("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private LinuxNative() {
    }

    private static MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new IllegalStateException("libc symbol not found: " + name));
        return LINKER.downcallHandle(symbol, fd, options);
    }

    /** A segment to receive errno from calls made by one thread. */
    static MemorySegment newCaptureState(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    static int open(MemorySegment capture, MemorySegment path, int flags) {
        try {
            return (int) OPEN.invokeExact(capture, path, flags, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int ioctl(MemorySegment capture, int fd, long request, MemorySegment arg) {
        try {
            return (int) IOCTL.invokeExact(capture, fd, request, arg);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long read(MemorySegment capture, int fd, long address, long count) {
        try {
            return (long) READ.invokeExact(capture, fd, address, count);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long write(MemorySegment capture, int fd, long address, long count) {
        try {
            return (long) WRITE.invokeExact(capture, fd, address, count);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long writeIgnoringErrno(int fd, long address, long count) {
        try {
            return (long) WRITE_NO_ERRNO.invokeExact(fd, address, count);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int ppoll(MemorySegment capture, MemorySegment fds, long nfds, MemorySegment timeout) {
        try {
            return (int) PPOLL.invokeExact(capture, fds, nfds, timeout, MemorySegment.NULL);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int eventfd(MemorySegment capture, int initval, int flags) {
        try {
            return (int) EVENTFD.invokeExact(capture, initval, flags);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int close(int fd) {
        try {
            return (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** e.g. {@code "EACCES (Permission denied)"}. */
    static String describe(int errno) {
        String text;
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            text = s.equals(MemorySegment.NULL) ? "unknown error" : s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            text = "errno " + errno;
        }
        return errnoName(errno) + " (" + text + ")";
    }

    static String errnoName(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case EINTR -> "EINTR";
            case EIO -> "EIO";
            case 9 -> "EBADF";
            case EAGAIN -> "EAGAIN";
            case 12 -> "ENOMEM";
            case EACCES -> "EACCES";
            case 14 -> "EFAULT";
            case EBUSY -> "EBUSY";
            case ENODEV -> "ENODEV";
            case EINVAL -> "EINVAL";
            case 24 -> "EMFILE";
            case ENOBUFS -> "ENOBUFS";
            default -> "errno " + errno;
        };
    }

    private static IllegalStateException unexpected(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("native call failed", t);
    }
}
