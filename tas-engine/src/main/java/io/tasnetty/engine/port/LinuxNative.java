package io.tasnetty.engine.port;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few libc calls the TAP port and the DPDK port's af_packet wait need, bound once through FFM
 * (Linux x86-64). Public only so that {@code port.dpdk} can share the bindings: not an API.
 *
 * <p>Calls that report failure through {@code errno} take a capture segment first (allocate one
 * per calling thread with {@link #newCaptureState}). Data-path buffers are passed as raw
 * addresses ({@code long}): legal for a pointer parameter on x86-64 and allocation-free, where a
 * {@code MemorySegment} argument would need a slice per packet. {@code read}/{@code write} are
 * bound as critical (no thread-state transition) because they only ever run on non-blocking file
 * descriptors; {@code ppoll}, which blocks, is not.
 */
public final class LinuxNative {
    static final int O_RDWR = 0x2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    public static final int EFD_NONBLOCK = 0x800;
    public static final int EFD_CLOEXEC = 0x80000;
    public static final short POLLIN = 0x1;
    public static final short POLLERR = 0x8;
    public static final short POLLHUP = 0x10;
    public static final short POLLNVAL = 0x20;

    public static final int AF_PACKET = 17;
    static final int SOL_SOCKET = 1;
    static final int SO_ERROR = 4;

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
    public static final long POLLFD_SIZE = 8;
    public static final long POLLFD_EVENTS = 4;
    public static final long POLLFD_REVENTS = 6;
    /** struct timespec { time_t tv_sec; long tv_nsec; } */
    public static final long TIMESPEC_SIZE = 16;
    /**
     * struct sockaddr_ll { unsigned short sll_family; __be16 sll_protocol; int sll_ifindex; ... }
     * (20 bytes); getsockname gets room for any address family (sockaddr_storage, 128 bytes).
     */
    static final long SOCKADDR_STORAGE_SIZE = 128;
    /** Bytes of the scratch segment {@link #socketFamilyAndIfindex} needs. */
    public static final long SOCKNAME_SCRATCH_SIZE = SOCKADDR_STORAGE_SIZE + 8;
    static final long SLL_FAMILY = 0;
    static final long SLL_IFINDEX = 4;
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
    // int getsockname(int fd, struct sockaddr *addr, socklen_t *addrlen)
    private static final MethodHandle GETSOCKNAME = bind("getsockname",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), NON_BLOCKING);
    // int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
    private static final MethodHandle GETSOCKOPT = bind("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), NON_BLOCKING);
    // unsigned int if_nametoindex(const char *ifname)
    private static final MethodHandle IF_NAMETOINDEX = bind("if_nametoindex",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));
    // int close(int fd)
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    // long syscall(long number, ...): futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *timeout),
    // addresses passed as raw longs. Shared (not FUTEX_PRIVATE): the word lies in memory two processes map.
    private static final MethodHandle SYSCALL_FUTEX = bind("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG),
            Linker.Option.firstVariadicArg(1));
    // The same for FUTEX_WAKE, which never blocks.
    private static final MethodHandle SYSCALL_FUTEX_WAKE = bind("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG),
            NON_BLOCKING, Linker.Option.firstVariadicArg(1));
    /** SYS_futex: 202 on x86-64, 98 on arm64 (the generic table). */
    private static final long SYS_FUTEX = "aarch64".equals(System.getProperty("os.arch")) ? 98 : 202;
    private static final int FUTEX_WAIT = 0;
    private static final int FUTEX_WAKE = 1;
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
    public static MemorySegment newCaptureState(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    public static int errno(MemorySegment capture) {
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

    public static long read(MemorySegment capture, int fd, long address, long count) {
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

    public static long writeIgnoringErrno(int fd, long address, long count) {
        try {
            return (long) WRITE_NO_ERRNO.invokeExact(fd, address, count);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    public static int ppoll(MemorySegment capture, MemorySegment fds, long nfds, MemorySegment timeout) {
        try {
            return (int) PPOLL.invokeExact(capture, fds, nfds, timeout, MemorySegment.NULL);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    public static int eventfd(MemorySegment capture, int initval, int flags) {
        try {
            return (int) EVENTFD.invokeExact(capture, initval, flags);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /**
     * Blocks while the 32-bit word at {@code address} (in memory shared between processes) holds
     * {@code expected}, at most as long as the timespec at {@code timespecAddress} says (0: no
     * limit). Returns at once if the word differs; may return early (a signal, a spurious wake-up):
     * callers look again.
     */
    public static void futexWait(long address, int expected, long timespecAddress) {
        try {
            long ignored = (long) SYSCALL_FUTEX.invokeExact(SYS_FUTEX, address, FUTEX_WAIT, expected, timespecAddress);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** Wakes up to {@code count} threads (of any process) blocked in {@link #futexWait} on the word at {@code address}. */
    public static void futexWake(long address, int count) {
        try {
            long ignored = (long) SYSCALL_FUTEX_WAKE.invokeExact(SYS_FUTEX, address, FUTEX_WAKE, count, 0L);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    public static int close(int fd) {
        try {
            return (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /**
     * The address family and, for AF_PACKET, the interface index a socket is bound to:
     * {@code family << 32 | (ifindex & 0xffffffff)}, or -1 when {@code fd} is not a socket (or is
     * closed). {@code scratch} holds at least {@link #SOCKADDR_STORAGE_SIZE} + 4 bytes.
     */
    public static long socketFamilyAndIfindex(int fd, MemorySegment scratch) {
        MemorySegment addr = scratch.asSlice(0, SOCKADDR_STORAGE_SIZE);
        MemorySegment len = scratch.asSlice(SOCKADDR_STORAGE_SIZE, 4);
        addr.fill((byte) 0);
        len.set(JAVA_INT, 0, (int) SOCKADDR_STORAGE_SIZE);
        int rc;
        try {
            rc = (int) GETSOCKNAME.invokeExact(fd, addr, len);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (rc < 0) {
            return -1;
        }
        int family = Short.toUnsignedInt(addr.get(JAVA_SHORT, SLL_FAMILY));
        int ifindex = family == AF_PACKET ? addr.get(JAVA_INT, SLL_IFINDEX) : 0;
        return (long) family << 32 | (ifindex & 0xffff_ffffL);
    }

    /**
     * Reads and so clears a socket's pending error (SO_ERROR); returns it, or -1 if that fails.
     * {@code scratch} holds at least 8 bytes.
     */
    public static int takeSocketError(int fd, MemorySegment scratch) {
        scratch.set(JAVA_INT, 4, 4);
        int rc = getsockopt(fd, SOL_SOCKET, SO_ERROR, scratch.asSlice(0, 4), scratch.asSlice(4, 4));
        return rc < 0 ? -1 : scratch.get(JAVA_INT, 0);
    }

    /** getsockopt(2): 0, or -1 on failure; {@code optlen} holds the int-sized length in and out. */
    public static int getsockopt(int fd, int level, int optname, MemorySegment optval, MemorySegment optlen) {
        try {
            return (int) GETSOCKOPT.invokeExact(fd, level, optname, optval, optlen);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** The interface's index in this thread's network namespace, or 0 when there is none of that name. */
    public static int ifNameToIndex(String ifname) {
        try (Arena a = Arena.ofConfined()) {
            return (int) IF_NAMETOINDEX.invokeExact(a.allocateFrom(ifname));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** e.g. {@code "EACCES (Permission denied)"}. */
    public static String describe(int errno) {
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
