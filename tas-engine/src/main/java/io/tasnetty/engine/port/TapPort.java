package io.tasnetty.engine.port;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * A Linux TAP device opened through FFM: the engine sends and receives whole Ethernet frames to
 * and from the kernel's network stack, with no DPDK. Needs root (or CAP_NET_ADMIN).
 *
 * <p>Open: {@code open("/dev/net/tun", O_RDWR|O_NONBLOCK|O_CLOEXEC)} then
 * {@code ioctl(TUNSETIFF, {name, IFF_TAP|IFF_NO_PI})}; the kernel creates the interface if it
 * does not exist (non-persistent: it disappears on {@link #close}). The caller configures the
 * kernel side ({@code ip link set NAME up}, {@code ip addr add ...}). The engine's MAC is its own
 * ({@link #macAddress}) and differs from the kernel interface's MAC.
 *
 * <p>One queue. Frames are read into buffers of an internal {@link TasPacketPool} with
 * non-blocking {@code read}; {@link #awaitRx} blocks in {@code ppoll} on the tap fd and an
 * {@code eventfd} that {@link #wakeup} writes to. {@link #close} must run after the fast-path
 * thread has stopped using the port (it wakes a blocked thread first).
 */
public final class TapPort implements TasPort {
    static final long TUNSETIFF = 0x400454caL;
    static final short IFF_TAP = 0x0002;
    static final short IFF_NO_PI = 0x1000;
    /** Default number of buffers in the port's pool. */
    public static final int DEFAULT_POOL_BUFFERS = 4096;

    private final String ifname;
    private final String name;
    private final long mac;
    private final int mtu;
    private final int tapFd;
    private final int eventFd;
    private final TasPacketPool pool;
    private final Arena arena;
    // Pre-allocated native memory: nothing on the data path allocates.
    private final MemorySegment rxErrno;
    private final MemorySegment txErrno;
    private final MemorySegment pollErrno;
    private final MemorySegment pollFds;
    private final MemorySegment timespec;
    private final MemorySegment eventDrain;
    private final long eventOneAddress;
    /** A buffer kept between bursts when a read found nothing (saves an alloc/free per empty poll). */
    private PacketBuffer spare;
    private final SingleWriterCounter rxPackets = new SingleWriterCounter();
    private final SingleWriterCounter rxDropped = new SingleWriterCounter();
    private final SingleWriterCounter txPackets = new SingleWriterCounter();
    private final SingleWriterCounter txDropped = new SingleWriterCounter();
    private volatile boolean closed;

    private TapPort(String ifname, long mac, int mtu, int tapFd, int eventFd, Arena arena, int poolBuffers) {
        this.ifname = ifname;
        this.name = "tap:" + ifname;
        this.mac = mac;
        this.mtu = mtu;
        this.tapFd = tapFd;
        this.eventFd = eventFd;
        this.arena = arena;
        this.pool = new TasPacketPool(poolBuffers,
                Math.max(TasPacketPool.DEFAULT_BUFFER_SIZE, mtu + WirePort.L2_OVERHEAD));
        this.rxErrno = LinuxNative.newCaptureState(arena);
        this.txErrno = LinuxNative.newCaptureState(arena);
        this.pollErrno = LinuxNative.newCaptureState(arena);
        this.pollFds = arena.allocate(2 * LinuxNative.POLLFD_SIZE, 8);
        pollFds.set(ValueLayout.JAVA_INT, 0, tapFd);
        pollFds.set(ValueLayout.JAVA_SHORT, LinuxNative.POLLFD_EVENTS, LinuxNative.POLLIN);
        pollFds.set(ValueLayout.JAVA_INT, LinuxNative.POLLFD_SIZE, eventFd);
        pollFds.set(ValueLayout.JAVA_SHORT, LinuxNative.POLLFD_SIZE + LinuxNative.POLLFD_EVENTS, LinuxNative.POLLIN);
        this.timespec = arena.allocate(16, 8);
        this.eventDrain = arena.allocate(8, 8);
        MemorySegment one = arena.allocate(8, 8);
        one.set(ValueLayout.JAVA_LONG, 0, 1L);
        this.eventOneAddress = one.address();
    }

    /** Opens (creating if needed) TAP interface {@code ifname} with a default-sized pool. */
    public static TapPort open(String ifname, long mac, int mtu) {
        return open(ifname, mac, mtu, DEFAULT_POOL_BUFFERS);
    }

    /**
     * Opens (creating if needed) TAP interface {@code ifname}.
     *
     * @param ifname interface name, 1 to 15 characters; a pattern like {@code tas%d} lets the
     *               kernel pick the number ({@link #interfaceName()} tells which)
     * @param mac the engine's MAC address (not the kernel interface's)
     * @param mtu L3 MTU the engine uses (buffers hold mtu + 18 bytes)
     * @throws IllegalStateException when the device cannot be opened, naming the failing step and errno
     */
    public static TapPort open(String ifname, long mac, int mtu, int poolBuffers) {
        byte[] nameBytes = ifname == null ? new byte[0] : ifname.getBytes(StandardCharsets.US_ASCII);
        if (nameBytes.length == 0 || nameBytes.length >= LinuxNative.IFNAMSIZ
                || !ifname.chars().allMatch(c -> c > ' ' && c < 0x7F && c != '/' && c != ':')) {
            throw new IllegalArgumentException("TAP interface name must be 1 to 15 printable ASCII characters"
                    + " without '/' or ':', was \"" + ifname + "\"");
        }
        if ((mac & ~0xFFFF_FFFF_FFFFL) != 0 || (mac & (1L << 40)) != 0 || mac == 0) {
            throw new IllegalArgumentException("mac must be a non-zero 48-bit unicast address, was "
                    + WirePort.formatMac(mac));
        }
        if (mtu < 68 || mtu > 65_000) {
            throw new IllegalArgumentException("mtu must be in [68, 65000], was " + mtu);
        }
        Arena arena = Arena.ofShared();
        int tapFd = -1;
        int eventFd = -1;
        try {
            MemorySegment errno = LinuxNative.newCaptureState(arena);
            tapFd = LinuxNative.open(errno, arena.allocateFrom("/dev/net/tun"),
                    LinuxNative.O_RDWR | LinuxNative.O_NONBLOCK | LinuxNative.O_CLOEXEC);
            if (tapFd < 0) {
                int e = LinuxNative.errno(errno);
                String hint = switch (e) {
                    case LinuxNative.EACCES, LinuxNative.EPERM -> " (TAP port needs root or CAP_NET_ADMIN)";
                    case LinuxNative.ENOENT, LinuxNative.ENODEV -> " (no tun driver: modprobe tun)";
                    default -> "";
                };
                throw new IllegalStateException("cannot open /dev/net/tun: " + LinuxNative.describe(e) + hint);
            }
            MemorySegment ifr = arena.allocate(LinuxNative.IFREQ_SIZE, 8);
            MemorySegment.copy(nameBytes, 0, ifr, ValueLayout.JAVA_BYTE, 0, nameBytes.length);
            ifr.set(ValueLayout.JAVA_SHORT, LinuxNative.IFREQ_FLAGS, (short) (IFF_TAP | IFF_NO_PI));
            if (LinuxNative.ioctl(errno, tapFd, TUNSETIFF, ifr) < 0) {
                int e = LinuxNative.errno(errno);
                String hint = switch (e) {
                    case LinuxNative.EPERM, LinuxNative.EACCES -> " (TAP port needs root or CAP_NET_ADMIN)";
                    case LinuxNative.EBUSY -> " (interface already attached to another process)";
                    case LinuxNative.EINVAL -> " (an interface of that name exists and is not a TAP device)";
                    default -> "";
                };
                throw new IllegalStateException("cannot attach TAP interface " + ifname + " (ioctl TUNSETIFF): "
                        + LinuxNative.describe(e) + hint);
            }
            String actual = ifr.getString(0, StandardCharsets.US_ASCII); // the kernel fills in a %d pattern
            eventFd = LinuxNative.eventfd(errno, 0, LinuxNative.EFD_NONBLOCK | LinuxNative.EFD_CLOEXEC);
            if (eventFd < 0) {
                throw new IllegalStateException("cannot create eventfd for TAP port " + ifname + ": "
                        + LinuxNative.describe(LinuxNative.errno(errno)));
            }
            return new TapPort(actual, mac, mtu, tapFd, eventFd, arena, poolBuffers);
        } catch (RuntimeException | Error e) {
            if (eventFd >= 0) {
                LinuxNative.close(eventFd);
            }
            if (tapFd >= 0) {
                LinuxNative.close(tapFd);
            }
            arena.close();
            throw e;
        }
    }

    /** The kernel interface name (e.g. {@code tas0}). */
    public String interfaceName() {
        return ifname;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int queueCount() {
        return 1;
    }

    @Override
    public long macAddress() {
        return mac;
    }

    @Override
    public int mtu() {
        return mtu;
    }

    @Override
    public TasPortCapabilities capabilities() {
        return TasPortCapabilities.SOFTWARE;
    }

    /** The port's buffer pool. */
    public TasPacketPool pool() {
        return pool;
    }

    @Override
    public void start() {
        // The fd is attached in open(); the kernel queues frames from then on.
    }

    @Override
    public int rxBurst(int queue, PacketBuffer[] bufs, int max) {
        int n = 0;
        while (n < max) {
            PacketBuffer b = spare;
            if (b == null && (b = pool.allocOne()) == null) {
                break; // pool empty: frames wait in the kernel's queue
            }
            spare = null;
            long r = LinuxNative.read(rxErrno, tapFd, b.segment.address() + b.offset, b.capacity);
            if (r > 0 && r <= b.capacity) {
                b.length = (int) r;
                bufs[n++] = b;
                continue;
            }
            spare = b;
            if (r > 0) { // the kernel reports the full length of a frame it truncated to our buffer
                rxDropped.increment();
                continue;
            }
            int err = r < 0 ? LinuxNative.errno(rxErrno) : LinuxNative.EAGAIN;
            if (err == LinuxNative.EINTR) {
                continue;
            }
            if (err != LinuxNative.EAGAIN) {
                rxDropped.increment();
            }
            break;
        }
        if (n > 0) {
            rxPackets.add(n);
        }
        return n;
    }

    @Override
    public int txBurst(int queue, PacketBuffer[] bufs, int count) {
        if (closed) {
            return 0;
        }
        int i = 0;
        while (i < count) {
            PacketBuffer b = bufs[i];
            long r = LinuxNative.write(txErrno, tapFd, b.segment.address() + b.offset, b.length);
            if (r < 0) {
                int err = LinuxNative.errno(txErrno);
                if (err == LinuxNative.EINTR) {
                    continue;
                }
                if (err == LinuxNative.EAGAIN || err == LinuxNative.ENOBUFS) {
                    break; // the kernel cannot take more now: the caller keeps the rest
                }
                // EIO (interface down), EINVAL (runt) and the like: the frame is lost, as on a
                // link that is down.
                txDropped.increment();
            } else if (r == b.length) {
                txPackets.increment();
            } else {
                txDropped.increment(); // a tap write is all or nothing; a short one is a lost frame
            }
            free(b);
            i++;
        }
        return i;
    }

    @Override
    public int alloc(PacketBuffer[] bufs, int count) {
        return pool.alloc(bufs, count);
    }

    @Override
    public void free(PacketBuffer buf) {
        pool.free(buf);
    }

    @Override
    public void awaitRx(int queue, long timeoutNanos) {
        if (timeoutNanos <= 0 || closed) {
            return;
        }
        timespec.set(ValueLayout.JAVA_LONG, 0, timeoutNanos / 1_000_000_000L);
        timespec.set(ValueLayout.JAVA_LONG, 8, timeoutNanos % 1_000_000_000L);
        pollFds.set(ValueLayout.JAVA_SHORT, LinuxNative.POLLFD_REVENTS, (short) 0);
        pollFds.set(ValueLayout.JAVA_SHORT, LinuxNative.POLLFD_SIZE + LinuxNative.POLLFD_REVENTS, (short) 0);
        // Not critical: ppoll blocks, and the JVM must see this thread as in native meanwhile.
        int r = LinuxNative.ppoll(pollErrno, pollFds, 2, timespec);
        if (r > 0 && (pollFds.get(ValueLayout.JAVA_SHORT, LinuxNative.POLLFD_SIZE + LinuxNative.POLLFD_REVENTS)
                & LinuxNative.POLLIN) != 0) {
            // Drain the eventfd counter so the next ppoll blocks again. A wakeup() after this read
            // makes the counter non-zero again and the next ppoll returns at once: none is lost.
            LinuxNative.read(pollErrno, eventFd, eventDrain.address(), 8);
        }
        // r < 0 is EINTR (a signal) or similar: a spurious return, which awaitRx allows.
    }

    @Override
    public void wakeup(int queue) {
        if (!closed) {
            LinuxNative.writeIgnoringErrno(eventFd, eventOneAddress, 8); // EAGAIN only if the counter is saturated
        }
    }

    @Override
    public TasPortStats stats() {
        return new TasPortStats(rxPackets.get(), txPackets.get(), rxDropped.get(), txDropped.get());
    }

    /** Closes the device (a non-persistent interface disappears) and releases the memory. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        LinuxNative.writeIgnoringErrno(eventFd, eventOneAddress, 8); // unblock a thread in awaitRx
        closed = true;
        LinuxNative.close(tapFd);
        LinuxNative.close(eventFd);
        spare = null;
        pool.close();
        arena.close();
    }

    @Override
    public String toString() {
        return name + "[" + WirePort.formatMac(mac) + ", mtu=" + mtu + "]";
    }
}
