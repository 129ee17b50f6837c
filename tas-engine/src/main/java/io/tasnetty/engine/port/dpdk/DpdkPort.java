package io.tasnetty.engine.port.dpdk;

import static io.tasnetty.engine.port.dpdk.DpdkShim.rethrow;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.tasnetty.engine.port.PacketBuffer;
import io.tasnetty.engine.port.TasPort;
import io.tasnetty.engine.port.TasPortCapabilities;
import io.tasnetty.engine.port.TasPortStats;
import io.tasnetty.engine.port.TasToeplitz;
import io.tasnetty.engine.port.TasToeplitzSteering;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A {@link TasPort} over one DPDK ethdev (a PCI NIC, or a vdev: {@code net_af_packet},
 * {@code net_tap}, {@code net_ring}, {@code net_virtio_user}, {@code net_memif}, ...) through
 * libtasshim.
 *
 * <h2>Packet memory</h2>
 * The port creates one mbuf pool and maps the memory that holds all its mbufs ONCE as
 * {@link #region()}. Every mbuf has one {@link PacketBuffer} made at open ({@code segment} = the
 * region, {@code handle} = the mbuf's address); a burst finds it as
 * {@code bySlot[(mbuf - regionBase) / objStride]} and sets {@code offset}/{@code length}/{@code
 * flags}, so moving packets allocates nothing. Frames are single-segment (the mbufs hold a whole
 * MTU-sized frame); multi-segment frames are dropped and counted ({@link #multiSegmentDrops()}).
 *
 * <h2>Checksum offload</h2>
 * When {@link TasPortCapabilities#txChecksumOffload()} holds, a transmitted buffer with
 * {@link PacketBuffer#TX_IP_CSUM} and/or {@link PacketBuffer#TX_TCP_CSUM} and its
 * {@code l2Length}/{@code l3Length} set gets {@code RTE_MBUF_F_TX_IPV4 | _IP_CKSUM | _TCP_CKSUM};
 * the caller zeroes the IPv4 checksum and puts the TCP pseudo-header checksum in the TCP checksum
 * field (DPDK's convention). Without offload those flags are ignored: checksums are the caller's.
 * On receive, {@code RTE_MBUF_F_RX_*_CKSUM_GOOD} become {@link PacketBuffer#RX_IP_CSUM_GOOD} and
 * {@link PacketBuffer#RX_L4_CSUM_GOOD} (only when rx offload is on).
 *
 * <h2>Queues and RSS</h2>
 * With more than one queue and a device that hashes IPv4/TCP, receive-side scaling is on: the key
 * is the symmetric Toeplitz key (0x6d5a repeated) when the device takes one, so both directions of
 * a connection reach the same queue; {@code capabilities().rssRetaSize()} is then the redirection
 * table's size ({@link #setRedirectionTable}, {@link #rssHashKey}), else 0. At open the port then
 * reads the key the device really uses (its own default when it takes none), programs the
 * redirection table as entry i = queue {@code i % queues} and keeps both as a
 * {@link TasToeplitzSteering}: {@link #flowQueue} computes the device's hash in software (over
 * the IPv4/TCP 4-tuple, or the addresses alone where the device hashes no ports), so the engine
 * places each flow on the queue its packets arrive on. A device that refuses the table
 * update keeps its own, which on common PMDs is that same round robin.
 *
 * <p>Devices without RSS (net_ring, net_tap, net_af_packet, virtio without the feature) deliver
 * a flow on queue 0 or by their own rule (af_packet: the kernel's fanout hash; tap: the kernel's
 * queue selection), and a device may hash with another function than Toeplitz. There
 * {@link #flowQueue} falls back to the engine's software hash, and the engine hands a segment that
 * arrives on another queue than its flow's to the owning fast path (through the slow path): correct
 * on any device, at the cost of that detour.
 *
 * <h2>Blocking</h2>
 * With rx interrupts (the PMD has them and {@code noInts} is false) {@link #awaitRx} arms the
 * queue's interrupt and sleeps in epoll (millisecond resolution, rounded up), and {@link #wakeup}
 * writes an eventfd in the same epoll set. {@code net_af_packet} has no rx interrupts, but its
 * queues are kernel sockets with an rx ring that {@code poll(2)} reports readable: unless
 * {@code noInts}, {@code awaitRx} sleeps in {@code ppoll} on the queue's socket and an eventfd
 * that {@code wakeup} writes ({@link AfPacketWait}; the sockets are found when the device is
 * probed, {@link AfPacketSockets}). A port with neither (net_memif, say) reports no rx interrupts
 * in its capabilities; the engine then polls it while frames come and naps between polls while
 * none do, and {@code awaitRx} parks for the nap the engine asks for. Sub-millisecond epoll waits
 * and af_packet sockets that cannot be waited on park at most {@value #PARK_NANOS} ns. Either way
 * {@code wakeup} unparks the queue's thread. {@link #rxWaitMode()}
 * tells which, and why an af_packet port naps; {@link #rxWaits()} counts the waits.
 *
 * <h2>Life cycle</h2>
 * {@link #open} configures AND starts the device (rx interrupt support can only be probed on a
 * started device); {@link #start()} is then a no-op kept for the SPI. {@link #close()} stops and
 * closes the device, frees the pool, and unmaps the region (buffers still held become invalid;
 * touching one then throws rather than crashes). A vdev port that was hot-plugged by
 * {@link #attach} is also detached.
 */
@SuppressWarnings("restricted") // maps the mempool region once
public final class DpdkPort implements TasPort {
    /** Default number of mbufs in a port's pool (2^k - 1 suits the ring underneath). */
    public static final int DEFAULT_MBUFS = 16383;
    /** Most buffers one rx/tx burst, alloc or bulk free moves. */
    public static final int MAX_BURST = 256;
    /** Longest nap of {@link #awaitRx} without rx interrupts. */
    public static final long PARK_NANOS = 50_000;
    /** epoll waits in whole milliseconds: shorter waits park instead. */
    private static final long EPOLL_MIN_NANOS = 1_000_000;

    /** Per-queue counters sit this many longs apart: queues' threads do not share a cache line. */
    private static final int STRIDE = 8;
    private static final System.Logger LOG = System.getLogger(DpdkPort.class.getName());

    private static final int MEMPOOL_CACHE = 256;
    private static final int DEFAULT_DATA_ROOM = 2048 + 128; // RTE_MBUF_DEFAULT_BUF_SIZE
    private static final AtomicInteger POOL_SEQ = new AtomicInteger();

    private final int portId;
    private final String name;
    private final String driver;
    private final boolean detachOnClose;
    private final int queues;
    private final long mac;
    private final int mtu;
    private final TasPortCapabilities capabilities;
    private final int txFlagMask;
    private final int rxFlagMask;
    /** The device's RSS key, or null when RSS is off, there is one queue, or the device does not tell it. */
    private final byte[] rssKey;
    private final boolean rssTcpPorts;
    /** The device's steering as computed in software (key + redirection table), or null (see class comment). */
    private volatile TasToeplitzSteering rss;

    private final Arena arena;
    private final MemorySegment poolPtr;
    private final long pool;
    private final MemorySegment region;
    private final long regionBase;
    private final int objStride;
    private final int bufOffset;
    private final int bufLen;
    private final int headroom;
    private final int mbufCount;
    private final PacketBuffer[] bySlot;

    // Per queue: one thread at a time (the fast path's driver), so plain scratch arrays.
    private final MemorySegment[] rxPtrs;
    private final MemorySegment[] rxMeta;
    private final MemorySegment[] txPtrs;
    private final MemorySegment[] txWords;
    private final AtomicReferenceArray<Thread> waiters;
    /** How idle queues sleep (see class comment). */
    private final RxWait rxWait;
    /** af_packet's sockets and eventfds (RxWait.SOCKETS), else null. */
    private final AfPacketWait sockets;
    private final String rxWaitMode;
    /** See {@link #rxFromAnyThread()}. */
    private final boolean rxAnyThread;
    /** Frames received, per queue at q * STRIDE; its thread only (tells AfPacketWait whether a wake-up found frames). */
    private final long[] rxFrames;
    /** awaitRx calls, per queue at q * STRIDE. */
    private final AtomicLongArray rxWaitCalls;
    // alloc/free may come from any engine thread: per-thread scratch.
    private final ThreadLocal<MemorySegment> scratch;

    private volatile boolean closed;

    private DpdkPort(int portId, boolean detachOnClose, int requestedQueues, int requestedMtu, boolean noXsumOffload,
                     boolean noInts, int mbufs) {
        this.portId = portId;
        this.detachOnClose = detachOnClose;
        this.arena = Arena.ofShared();
        MemorySegment poolSeg = MemorySegment.NULL;
        AfPacketWait afWait = null;
        boolean ok = false;
        try {
            int frameRoom = (requestedMtu <= 0 ? 1500 : requestedMtu) + 14 + 4 + 4;
            int dataRoom = Math.max(DEFAULT_DATA_ROOM, (128 + frameRoom + 63) & ~63);
            if (dataRoom > 0xffff) {
                throw new IllegalArgumentException("mtu " + requestedMtu + " is too large for one mbuf");
            }
            if (mbufs < 2 * MAX_BURST) {
                throw new IllegalArgumentException("mbufs must be at least " + 2 * MAX_BURST + ", got " + mbufs);
            }
            String poolName = "tas_p" + portId + "_" + POOL_SEQ.incrementAndGet();
            poolSeg = (MemorySegment) DpdkShim.POOL_CREATE.invokeExact(arena.allocateFrom(poolName), mbufs,
                    MEMPOOL_CACHE, dataRoom, -1);
            if (poolSeg.equals(MemorySegment.NULL)) {
                throw new IllegalStateException(DpdkShim.lastError());
            }
            this.poolPtr = poolSeg;
            this.pool = poolSeg.address();

            MemorySegment info = arena.allocate(DpdkShim.POOL_INFO_SIZE, 8);
            check((int) DpdkShim.POOL_INFO.invokeExact(poolSeg, info));
            this.regionBase = info.get(JAVA_LONG, DpdkShim.POOL_REGION_BASE);
            long regionLen = info.get(JAVA_LONG, DpdkShim.POOL_REGION_LEN);
            this.objStride = info.get(JAVA_INT, DpdkShim.POOL_OBJ_STRIDE);
            this.bufOffset = info.get(JAVA_INT, DpdkShim.POOL_BUF_OFFSET);
            this.bufLen = info.get(JAVA_INT, DpdkShim.POOL_BUF_LEN);
            this.headroom = info.get(JAVA_INT, DpdkShim.POOL_HEADROOM);
            this.mbufCount = info.get(JAVA_INT, DpdkShim.POOL_COUNT);
            // Mapped once; scoped to this port so a buffer used after close() throws instead of crashing.
            this.region = MemorySegment.ofAddress(regionBase).reinterpret(regionLen, arena, null);
            this.bySlot = wrappers(poolSeg, regionLen);

            int flags = (noXsumOffload ? 0 : DpdkShim.SETUP_XSUM_OFFLOAD) | (noInts ? 0 : DpdkShim.SETUP_RX_INTR);
            MemorySegment pi = arena.allocate(DpdkShim.PORT_INFO_SIZE, 8);
            check((int) DpdkShim.PORT_SETUP.invokeExact(portId, poolSeg, requestedQueues, requestedMtu, flags, pi));
            ok = true;
            this.queues = pi.get(JAVA_INT, DpdkShim.PORT_QUEUES);
            this.mac = pi.get(JAVA_LONG, DpdkShim.PORT_MAC);
            this.mtu = pi.get(JAVA_INT, DpdkShim.PORT_MTU);
            boolean txCsum = pi.get(JAVA_INT, DpdkShim.PORT_TX_CSUM) != 0;
            boolean rxCsum = pi.get(JAVA_INT, DpdkShim.PORT_RX_CSUM) != 0;
            this.txFlagMask = txCsum ? PacketBuffer.TX_IP_CSUM | PacketBuffer.TX_TCP_CSUM : 0;
            this.rxFlagMask = rxCsum ? PacketBuffer.RX_IP_CSUM_GOOD | PacketBuffer.RX_L4_CSUM_GOOD : 0;
            this.driver = pi.asSlice(DpdkShim.PORT_DRIVER, 32).getString(0);
            this.name = "dpdk:" + portId;

            boolean rxIntr = pi.get(JAVA_INT, DpdkShim.PORT_RX_INTR) != 0;
            String[] napReason = {rxIntr ? null : noInts ? "fp-no-ints" : "the PMD has no rx interrupts"};
            afWait = !rxIntr && !noInts && driver.equals("net_af_packet") ? socketWait(napReason) : null;
            this.sockets = afWait;
            this.rxWait = rxIntr ? RxWait.INTERRUPTS : afWait != null ? RxWait.SOCKETS : RxWait.PARK;
            // A memif queue is a descriptor ring in shared memory plus the PMD's positions in it:
            // any thread may burst as long as one does at a time (the fast path's driver lock).
            // Run to completion then receives on the event loop that polls, with no hand-off.
            this.rxAnyThread = rxWait == RxWait.PARK && driver.equals("net_memif");
            this.rxWaitMode = switch (rxWait) {
                case INTERRUPTS -> "rx interrupts";
                case SOCKETS -> "af_packet sockets (fds " + Arrays.toString(afWait.socketFds()) + ")";
                case PARK -> "polls while frames come, then naps (" + napReason[0] + ")";
            };
            this.capabilities = new TasPortCapabilities(txCsum, rxCsum, pi.get(JAVA_INT, DpdkShim.PORT_RETA_SIZE),
                    rxWait != RxWait.PARK);
            this.rssTcpPorts = pi.get(JAVA_INT, DpdkShim.PORT_RSS_TCP_PORTS) != 0;
            this.rssKey = pi.get(JAVA_INT, DpdkShim.PORT_RSS_ENABLED) != 0 && queues > 1
                && capabilities.rssRetaSize() > 0 ? readRssKey() : null;
            if (rssKey != null) {
                int[] reta = TasToeplitzSteering.roundRobin(capabilities.rssRetaSize(), queues);
                try {
                    setRedirectionTable(reta); // also builds the model
                } catch (IllegalStateException refused) {
                    // The PMD keeps its own table; assume its usual default (the same round robin).
                    this.rss = new TasToeplitzSteering(rssKey, reta, rssTcpPorts);
                }
            }

            this.rxPtrs = new MemorySegment[queues];
            this.rxMeta = new MemorySegment[queues];
            this.txPtrs = new MemorySegment[queues];
            this.txWords = new MemorySegment[queues];
            for (int q = 0; q < queues; q++) {
                rxPtrs[q] = arena.allocate(8L * MAX_BURST, 64);
                rxMeta[q] = arena.allocate(DpdkShim.RX_META_SIZE * MAX_BURST, 64);
                txPtrs[q] = arena.allocate(8L * MAX_BURST, 64);
                txWords[q] = arena.allocate(8L * MAX_BURST, 64);
            }
            this.waiters = new AtomicReferenceArray<>(queues);
            this.rxFrames = new long[queues * STRIDE];
            this.rxWaitCalls = new AtomicLongArray(queues * STRIDE);
            this.scratch = ThreadLocal.withInitial(() -> arena.allocate(8L * MAX_BURST, 64));
        } catch (Throwable t) {
            if (afWait != null) {
                afWait.close();
            }
            if (ok) {
                closeQuietly(portId, detachOnClose);
                AfPacketSockets.forget(portId);
            }
            if (!poolSeg.equals(MemorySegment.NULL)) {
                try {
                    DpdkShim.POOL_FREE.invokeExact(poolSeg);
                } catch (Throwable ignored) {
                    // already failing
                }
            }
            arena.close();
            throw rethrow(t);
        }
    }

    /**
     * Opens DPDK port {@code portId} (or the first port when -1), starting the EAL with
     * {@code ealArgs} if this JVM has not yet (see {@link TasDpdk#initEal}).
     *
     * @param ealArgs EAL arguments without a program name, e.g. {@code --no-huge -m 256 --no-pci -l 0
     *        --file-prefix=tas --vdev=net_af_packet0,iface=veth0}; TAS's {@code dpdk-extra}
     * @param queues rx/tx queue pairs wanted (one per fast-path core); fewer when the device has
     *        fewer ({@link #queueCount()} tells)
     * @param mtu L3 MTU, 0 for 1500
     * @param noXsumOffload TAS's {@code fp-no-xsumoffload}: checksums in software even if offered
     * @param noInts TAS's {@code fp-no-ints}: never use rx interrupts
     */
    public static DpdkPort open(List<String> ealArgs, int portId, int queues, int mtu, boolean noXsumOffload,
                                boolean noInts) {
        return open(ealArgs, portId, queues, mtu, noXsumOffload, noInts, DEFAULT_MBUFS);
    }

    /** As {@link #open(List, int, int, int, boolean, boolean)} with a pool of {@code mbufs} buffers. */
    public static DpdkPort open(List<String> ealArgs, int portId, int queues, int mtu, boolean noXsumOffload,
                                boolean noInts, int mbufs) {
        AfPacketSockets.initEal(ealArgs); // TasDpdk.initEal, noting which sockets af_packet devices open
        int id = portId;
        if (id < 0) {
            try {
                id = (int) DpdkShim.PORT_FIRST.invokeExact();
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (id < 0) {
                throw new IllegalStateException(DpdkShim.lastError() + "; EAL arguments " + ealArgs);
            }
        }
        return new DpdkPort(id, false, queues, mtu, noXsumOffload, noInts, mbufs);
    }

    /**
     * Hot-plugs the device {@code devargs} (e.g. {@code net_tap1,iface=tas1}) into the running EAL
     * (started with {@code ealArgs} if need be) and opens it; {@link #close()} detaches it again.
     */
    public static DpdkPort attach(List<String> ealArgs, String devargs, int queues, int mtu, boolean noXsumOffload,
                                  boolean noInts, int mbufs) {
        TasDpdk.initEal(ealArgs);
        int id = AfPacketSockets.attach(devargs); // TasDpdk.attachDevice, noting an af_packet device's sockets
        try {
            return new DpdkPort(id, true, queues, mtu, noXsumOffload, noInts, mbufs);
        } catch (RuntimeException | Error e) {
            closeQuietly(id, true);
            AfPacketSockets.forget(id);
            throw e;
        }
    }

    private PacketBuffer[] wrappers(MemorySegment poolSeg, long regionLen) throws Throwable {
        MemorySegment objs = arena.allocate(8L * mbufCount, 8);
        int n = (int) DpdkShim.POOL_OBJECTS.invokeExact(poolSeg, objs, mbufCount);
        if (n != mbufCount) {
            throw new IllegalStateException("mempool lists " + n + " mbufs, expected " + mbufCount);
        }
        // Objects sit at least objStride apart (page-boundary padding may add gaps), so
        // (mbuf - base) / objStride is distinct for every mbuf: a direct-mapped table, some slots empty.
        PacketBuffer[] table = new PacketBuffer[(int) (regionLen / objStride) + 1];
        for (int i = 0; i < n; i++) {
            long m = objs.getAtIndex(JAVA_LONG, i);
            long off = m - regionBase;
            if (off < 0 || off + bufOffset + bufLen > regionLen) {
                throw new IllegalStateException("mbuf at 0x" + Long.toHexString(m) + " lies outside the pool's region");
            }
            int slot = (int) (off / objStride);
            if (table[slot] != null) {
                throw new IllegalStateException("two mbufs map to slot " + slot + " (stride " + objStride + ")");
            }
            table[slot] = new PacketBuffer(region, off + bufOffset + headroom, bufLen - headroom, m, this);
        }
        return table;
    }

    /**
     * The af_packet sockets of this port's queues to sleep on, or null (then {@code why[0]} says
     * why, logged once: the port then naps as without interrupts).
     */
    private AfPacketWait socketWait(String[] why) {
        AfPacketSockets.Discovery d = AfPacketSockets.forPort(portId);
        if (d.failure() == null) {
            int[] pmdFds = new int[queues];
            for (int q = 0; q < queues; q++) {
                pmdFds[q] = pmdSocketFd(portId, q);
                if (pmdFds[q] < 0) {
                    d = AfPacketSockets.Discovery.failed("the PMD's socket for queue " + q + ": " + DpdkShim.lastError());
                    break;
                }
            }
            if (d.failure() == null) {
                d = AfPacketSockets.inQueueOrder(d.sockets(), pmdFds);
            }
        }
        if (d.failure() != null) {
            why[0] = d.failure();
        } else if (!d.sockets().stream().allMatch(AfPacketSockets::stillOpen)) {
            why[0] = "the PMD's sockets " + d.sockets() + " are no longer open";
        } else {
            try {
                return AfPacketWait.open(arena, d.sockets(), queues);
            } catch (IllegalStateException e) {
                why[0] = e.getMessage();
            }
        }
        LOG.log(System.Logger.Level.WARNING, "{0} ({1}): idle queues nap {2} us at a time instead of sleeping on"
                + " the af_packet sockets: {3}", name, driver, PARK_NANOS / 1000, why[0]);
        return null;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int queueCount() {
        return queues;
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
        return capabilities;
    }

    /** The device was started by {@link #open}; nothing left to do. */
    @Override
    public void start() {
        ensureOpen();
    }

    @Override
    public int rxBurst(int queue, PacketBuffer[] bufs, int max) {
        MemorySegment ptrs = rxPtrs[queue];
        MemorySegment meta = rxMeta[queue];
        int n = Math.min(Math.min(max, bufs.length), MAX_BURST);
        int got;
        try {
            got = (int) DpdkShim.RX_BURST.invokeExact(portId, queue, ptrs, meta, n);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        for (int i = 0; i < got; i++) {
            long m = ptrs.getAtIndex(JAVA_LONG, i);
            long mOff = m - regionBase;
            long metaOff = i * DpdkShim.RX_META_SIZE;
            PacketBuffer b = bySlot[(int) (mOff / objStride)];
            long offset = meta.get(JAVA_LONG, metaOff + DpdkShim.RX_META_DATA_ADDR) - regionBase;
            b.offset = offset;
            b.length = meta.get(JAVA_INT, metaOff + DpdkShim.RX_META_DATA_LEN);
            b.capacity = (int) (mOff + bufOffset + bufLen - offset);
            b.flags = meta.get(JAVA_INT, metaOff + DpdkShim.RX_META_FLAGS) & rxFlagMask;
            b.l2Length = 0;
            b.l3Length = 0;
            bufs[i] = b;
        }
        if (got != 0) {
            rxFrames[queue * STRIDE] += got;
        }
        return got;
    }

    @Override
    public int txBurst(int queue, PacketBuffer[] bufs, int count) {
        MemorySegment ptrs = txPtrs[queue];
        MemorySegment words = txWords[queue];
        int n = Math.min(count, MAX_BURST);
        for (int i = 0; i < n; i++) {
            PacketBuffer b = bufs[i];
            long dataOff = b.offset - (b.handle - regionBase) - bufOffset;
            if (b.owner != this || dataOff < 0 || dataOff + b.length > bufLen || b.length < 0) {
                throw invalidBuffer(b);
            }
            long w = dataOff | (long) b.length << 16;
            int f = b.flags & txFlagMask;
            if (f != 0) {
                w |= (long) (b.l2Length & 0x7f) << DpdkShim.TXW_L2_SHIFT
                        | (long) (b.l3Length & 0x1ff) << DpdkShim.TXW_L3_SHIFT
                        | (long) (f >>> 2) << DpdkShim.TXW_FLAG_SHIFT;
            }
            ptrs.setAtIndex(JAVA_LONG, i, b.handle);
            words.setAtIndex(JAVA_LONG, i, w);
        }
        try {
            return (int) DpdkShim.TX_BURST.invokeExact(portId, queue, ptrs, words, n);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int alloc(PacketBuffer[] bufs, int count) {
        MemorySegment ptrs = scratch.get();
        int done = 0;
        while (done < count) {
            int want = Math.min(count - done, MAX_BURST);
            int got;
            try {
                got = (int) DpdkShim.ALLOC_BULK.invokeExact(pool, ptrs, want);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            for (int i = 0; i < got; i++) {
                long m = ptrs.getAtIndex(JAVA_LONG, i);
                long mOff = m - regionBase;
                PacketBuffer b = bySlot[(int) (mOff / objStride)];
                b.reset();
                b.offset = mOff + bufOffset + headroom;
                b.capacity = bufLen - headroom;
                bufs[done + i] = b;
            }
            done += got;
            if (got < want) {
                break;
            }
        }
        return done;
    }

    @Override
    public void free(PacketBuffer buf) {
        if (buf.owner != this) {
            throw invalidBuffer(buf);
        }
        try {
            DpdkShim.FREE.invokeExact(buf.handle);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void free(PacketBuffer[] bufs, int count) {
        MemorySegment ptrs = scratch.get();
        for (int done = 0; done < count; ) {
            int n = Math.min(count - done, MAX_BURST);
            for (int i = 0; i < n; i++) {
                PacketBuffer b = bufs[done + i];
                if (b.owner != this) {
                    throw invalidBuffer(b);
                }
                ptrs.setAtIndex(JAVA_LONG, i, b.handle);
                bufs[done + i] = null;
            }
            try {
                DpdkShim.FREE_BULK.invokeExact(ptrs, n);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            done += n;
        }
    }

    @Override
    public void awaitRx(int queue, long timeoutNanos) {
        if (timeoutNanos <= 0) {
            return;
        }
        Thread self = Thread.currentThread();
        if (waiters.getPlain(queue) != self) {
            waiters.set(queue, self);
        }
        int slot = queue * STRIDE;
        rxWaitCalls.setOpaque(slot, rxWaitCalls.getOpaque(slot) + 1); // one writer per queue: no CAS
        if (rxWait == RxWait.SOCKETS) {
            // Any length: ppoll takes nanoseconds, and a frame ends even a pacing wait at once.
            if (sockets.await(queue, timeoutNanos, rxFrames[slot]) == AfPacketWait.NAP) {
                LockSupport.parkNanos(this, Math.min(timeoutNanos, PARK_NANOS));
            }
        } else if (rxWait == RxWait.INTERRUPTS && timeoutNanos >= EPOLL_MIN_NANOS) {
            int ms = (int) Math.min(Integer.MAX_VALUE, timeoutNanos / 1_000_000);
            int rc;
            try {
                rc = (int) DpdkShim.PORT_AWAIT.invokeExact(portId, queue, ms);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (rc < 0) {
                // epoll failed: nap rather than return at once and let the caller spin.
                LockSupport.parkNanos(this, Math.min(timeoutNanos, PARK_NANOS));
            }
        } else {
            // No way to sleep on the device (the engine then chooses how long to nap: it polls
            // while frames come and naps longer while none do), or a wait shorter than epoll's
            // millisecond (a pacing deadline, say: rounding it up to 1 ms would cap a paced flow at
            // one burst per millisecond).
            LockSupport.parkNanos(this, rxWait == RxWait.PARK ? timeoutNanos : Math.min(timeoutNanos, PARK_NANOS));
        }
    }

    /**
     * Whether a driving application thread may receive too (see {@link TasPort#rxFromAnyThread()}):
     * only on {@code net_memif} without rx interrupts, whose queue state is the shared ring alone.
     * Elsewhere only the owning fast-path thread receives: the tap PMD's SIGIO trigger and
     * edge-triggered rx interrupts lose frames when another thread bursts.
     */
    @Override
    public boolean rxFromAnyThread() {
        return rxAnyThread;
    }

    @Override
    public void wakeup(int queue) {
        if (rxWait == RxWait.INTERRUPTS) {
            try {
                int rc = (int) DpdkShim.PORT_WAKEUP.invokeExact(portId, queue);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        } else if (rxWait == RxWait.SOCKETS) {
            sockets.wakeup(queue); // kept in the eventfd when the thread is not in ppoll yet
        }
        // Also a thread in a short park (see awaitRx): an unpark before its park is kept too.
        Thread t = waiters.get(queue);
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    @Override
    public TasPortStats stats() {
        if (closed) {
            return TasPortStats.EMPTY;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(DpdkShim.STATS_SIZE, 8);
            check((int) DpdkShim.PORT_STATS.invokeExact(portId, s));
            long multiSeg = (long) DpdkShim.PORT_MULTISEG_DROPS.invokeExact(portId);
            // ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf
            long[] v = s.toArray(JAVA_LONG);
            return new TasPortStats(v[0], v[1], v[4] + v[7] + multiSeg, v[6]);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Stops and closes the device, frees the pool and unmaps the region. Call it after the threads
     * that burst or wait on this port have stopped.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (sockets != null) {
            for (int q = 0; q < queues; q++) {
                sockets.wakeup(q); // a thread still waiting returns (it should have stopped)
            }
        }
        int rc;
        try {
            rc = (int) DpdkShim.PORT_CLOSE.invokeExact(portId, detachOnClose ? 1 : 0);
            DpdkShim.POOL_FREE.invokeExact(poolPtr);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        AfPacketSockets.forget(portId); // the PMD closed them at stop
        if (sockets != null) {
            sockets.close();
        }
        String error = rc < 0 ? DpdkShim.lastError() : null;
        arena.close();
        if (error != null) {
            throw new IllegalStateException(error);
        }
    }

    // ---- DPDK specifics beyond the SPI ----

    /** The ethdev port id. */
    public int portId() {
        return portId;
    }

    /** The PMD's name, e.g. {@code net_af_packet}, {@code net_tap}, {@code net_ixgbe}. */
    public String driverName() {
        return driver;
    }

    /**
     * How an idle queue sleeps in {@link #awaitRx}: {@code "rx interrupts"}, {@code "af_packet
     * sockets (fds [...])"}, or {@code "naps of 50 us (why)"}.
     */
    public String rxWaitMode() {
        return rxWaitMode;
    }

    /** Calls of {@link #awaitRx} with a positive timeout so far, over all queues (each returns once). */
    public long rxWaits() {
        long n = 0;
        for (int q = 0; q < queues; q++) {
            n += rxWaitCalls.getOpaque(q * STRIDE);
        }
        return n;
    }

    /**
     * af_packet: waits that napped instead of sleeping on the socket because the socket's previous
     * wake-up brought the queue no frame (an empty mbuf pool, another thread driving the queue's
     * agent, or swapped sockets; see {@link AfPacketWait}). 0 on other ports.
     */
    public long rxSocketWaitsDeclined() {
        return sockets == null ? 0 : sockets.declinedWaits();
    }

    /** The af_packet sockets idle queues sleep on, by queue (none on other ports). */
    int[] rxWaitSocketFds() {
        return sockets == null ? new int[0] : sockets.socketFds();
    }

    /** The socket net_af_packet reads queue q of port portId from (its queue data), or a negative error. */
    static int pmdSocketFd(int portId, int queue) {
        try {
            return (int) DpdkShim.PORT_AF_PACKET_FD.invokeExact(portId, queue);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The memory region every {@link PacketBuffer} of this port lives in (mapped once). */
    public MemorySegment region() {
        return region;
    }

    /** Mbufs in the pool. */
    public int mbufCount() {
        return mbufCount;
    }

    /** Mbufs free in the pool right now (its per-lcore caches included). */
    public int availableMbufs() {
        try {
            return (int) DpdkShim.POOL_AVAIL.invokeExact(poolPtr);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Diagnostics: null when every mbuf still points at its own buffer and (IOVA=PA) every pool
     * page's IOVA is its physical address, else what is wrong (a device would write a received
     * frame to the wrong memory). Walks the whole pool: not for the data path.
     */
    public String auditPool() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment msg = a.allocate(512);
            MemorySegment pages = a.allocate(JAVA_INT);
            int bad = (int) DpdkShim.POOL_AUDIT.invokeExact(poolPtr, msg, 512, pages);
            return bad == 0 ? null : bad + " bad (of " + mbufCount + " mbufs, " + pages.get(JAVA_INT, 0)
                    + " pages): " + msg.getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Received multi-segment frames dropped (the engine handles single-segment frames only). */
    public long multiSegmentDrops() {
        try {
            return (long) DpdkShim.PORT_MULTISEG_DROPS.invokeExact(portId);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Raw {@code ol_flags} of a buffer's mbuf (diagnostics, tests). */
    public long mbufOffloadFlags(PacketBuffer buf) {
        try {
            return (long) DpdkShim.MBUF_OL_FLAGS.invokeExact(buf.handle);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Sets the RSS redirection table: entry i steers to {@code queues[i]}; the length must equal
     * {@code capabilities().rssRetaSize()}. {@link #flowQueue} follows the new table (flows placed
     * before keep their queue; their segments are handed over by the engine).
     */
    public void setRedirectionTable(int[] queueOfEntry) {
        ensureOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocateFrom(JAVA_INT, queueOfEntry);
            check((int) DpdkShim.PORT_RETA_SET.invokeExact(portId, s, queueOfEntry.length));
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rssKey != null) {
            rss = new TasToeplitzSteering(rssKey, queueOfEntry, rssTcpPorts);
        }
    }

    /**
     * Where the device delivers the flow's packets: its Toeplitz hash and redirection table when
     * RSS is on and the key is known, else the engine's software hash (see the class comment).
     */
    @Override
    public int flowQueue(int localIp, int localPort, int remoteIp, int remotePort, int queues) {
        TasToeplitzSteering r = rss;
        return r != null ? r.flowQueue(localIp, localPort, remoteIp, remotePort, queues)
            : TasPort.super.flowQueue(localIp, localPort, remoteIp, remotePort, queues);
    }

    /** The device's receive steering as the port computes it (key + redirection table), or null without RSS. */
    public TasToeplitzSteering rxSteering() {
        return rss;
    }

    /** The device's RSS (Toeplitz) hash key, so flows can be steered in software alike. */
    public byte[] rssHashKey() {
        ensureOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(256);
            int n = check((int) DpdkShim.PORT_RSS_KEY.invokeExact(portId, s, 256));
            return s.asSlice(0, n).toArray(JAVA_BYTE);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The RSS key, or null when the device does not tell it or is too short to model. */
    private byte[] readRssKey() {
        try {
            byte[] k = rssHashKey();
            return k.length >= TasToeplitz.MIN_KEY_LENGTH ? k : null;
        } catch (IllegalStateException unknown) {
            return null;
        }
    }

    @Override
    public String toString() {
        return name + "[" + driver + ", queues=" + queues + ", mtu=" + mtu + ", " + capabilities + "]";
    }

    /** How idle queues sleep (see the class comment). */
    private enum RxWait {
        INTERRUPTS, SOCKETS, PARK
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(name + " is closed");
        }
    }

    private static int check(int rc) {
        if (rc < 0) {
            throw new IllegalStateException(DpdkShim.lastError());
        }
        return rc;
    }

    private static void closeQuietly(int portId, boolean detach) {
        try {
            int rc = (int) DpdkShim.PORT_CLOSE.invokeExact(portId, detach ? 1 : 0);
        } catch (Throwable ignored) {
            // best effort while another failure is reported
        }
    }

    private IllegalArgumentException invalidBuffer(PacketBuffer b) {
        return new IllegalArgumentException(b + " is not a valid buffer of " + name + " (owner " + b.owner
                + ", data offset " + (b.offset - (b.handle - regionBase) - bufOffset) + ", buffer " + bufLen + " bytes)");
    }
}
