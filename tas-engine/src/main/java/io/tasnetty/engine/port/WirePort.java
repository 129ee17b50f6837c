package io.tasnetty.engine.port;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.jctools.queues.MpscArrayQueue;

/**
 * One engine's port on a {@link TasWire}. Created by {@link TasWire#attach}.
 *
 * <p>Receive: each RX queue is an MPSC queue of buffers from this port's own pool, filled by
 * whichever threads transmit towards this port; the queue is chosen by {@link TasRss}, so both
 * directions of a TCP flow meet on one queue. A frame that finds its queue full, or no free
 * buffer, is dropped and counted in {@link #stats()}{@code .rxDropped()}. {@link #steering}
 * replaces that rule (tests make the wire steer like a NIC's RSS, or by a hash the engine does not
 * know); {@link #flowQueue} answers by the same rule.
 *
 * <p>Transmit: {@link #txBurst} copies each frame into its destination's pool and frees the
 * sender's buffer at once; it always takes the whole burst, as a NIC puts frames on the wire
 * whether or not anyone can receive them.
 *
 * <p>Blocking: {@link #awaitRx} parks on a per-queue doorbell; deliveries and {@link #wakeup}
 * unpark the parked thread only when one is registered, so a busy receiver costs senders a single
 * volatile load.
 */
public final class WirePort implements TasPort {
    /** Room beyond the L3 MTU: Ethernet header (14) plus one 802.1Q tag (4). */
    static final int L2_OVERHEAD = 18;

    private final TasWire wire;
    private final String name;
    private final long mac;
    private final int mtu;
    private final int maxFrame;
    private final TasPacketPool pool;
    private final RxQueue[] rx;
    private final SingleWriterCounter[] rxPackets;
    private final SingleWriterCounter[] txPackets;
    private final SingleWriterCounter[] txDropped;
    private final AtomicLong rxDropped = new AtomicLong(); // written by any sender
    /** How received frames are spread over the RX queues; read by every sender. */
    private volatile TasRxSteering steering = TasRxSteering.SOFTWARE;
    private volatile boolean closed;

    /** Per RX queue: the ring senders fill, and the doorbell its one consumer parks on. */
    private static final class RxQueue {
        final MpscArrayQueue<PacketBuffer> ring;
        /** The thread parked in awaitRx, or null. */
        volatile Thread waiter;
        /** Set by wakeup(); consumed by awaitRx so a wakeup before the park is not lost. */
        volatile boolean doorbell;

        RxQueue(int capacity) {
            ring = new MpscArrayQueue<>(capacity);
        }
    }

    WirePort(TasWire wire, String name, long mac, int queues, int mtu, int rxQueueCapacity, int poolBuffers) {
        this.wire = wire;
        this.name = "wire:" + name;
        this.mac = mac;
        this.mtu = mtu;
        this.maxFrame = mtu + L2_OVERHEAD;
        this.pool = new TasPacketPool(poolBuffers, Math.max(TasPacketPool.DEFAULT_BUFFER_SIZE, maxFrame));
        this.rx = new RxQueue[queues];
        for (int i = 0; i < queues; i++) {
            rx[i] = new RxQueue(rxQueueCapacity);
        }
        this.rxPackets = SingleWriterCounter.array(queues);
        this.txPackets = SingleWriterCounter.array(queues);
        this.txDropped = SingleWriterCounter.array(queues);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int queueCount() {
        return rx.length;
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

    /** The wire this port is attached to. */
    public TasWire wire() {
        return wire;
    }

    /** This port's own buffer pool (what {@link #alloc} and {@link #free} use). */
    public TasPacketPool pool() {
        return pool;
    }

    /**
     * Makes this port spread received frames over its queues by {@code rule} instead of
     * {@link TasRss} (and answer {@link #flowQueue} by it). Set it before traffic flows.
     */
    public WirePort steering(TasRxSteering rule) {
        this.steering = java.util.Objects.requireNonNull(rule);
        return this;
    }

    /** The rule that picks each received frame's queue. */
    public TasRxSteering steering() {
        return steering;
    }

    @Override
    public int flowQueue(int localIp, int localPort, int remoteIp, int remotePort, int queues) {
        return steering.flowQueue(localIp, localPort, remoteIp, remotePort, queues);
    }

    @Override
    public void start() {
        // Nothing to configure: the port receives as soon as it is attached.
    }

    @Override
    public int rxBurst(int queue, PacketBuffer[] bufs, int max) {
        MpscArrayQueue<PacketBuffer> ring = rx[queue].ring;
        int n = 0;
        while (n < max) {
            // relaxedPoll: a slot claimed but not yet written reads as empty; awaitRx then returns
            // at once (the producer index moved), so the frame is picked up on the next burst.
            PacketBuffer b = ring.relaxedPoll();
            if (b == null) {
                break;
            }
            bufs[n++] = b;
        }
        if (n > 0) {
            rxPackets[queue].add(n);
        }
        return n;
    }

    @Override
    public int txBurst(int queue, PacketBuffer[] bufs, int count) {
        if (closed) {
            return 0;
        }
        int sent = 0;
        for (int i = 0; i < count; i++) {
            PacketBuffer b = bufs[i];
            if (b.length >= TasRss.ETH_HEADER && b.length <= maxFrame) {
                wire.forward(this, b.segment, b.offset, b.length);
                sent++;
            } else {
                txDropped[queue].increment(); // runt or oversize: no NIC would send it
            }
            pool.free(b);
        }
        txPackets[queue].add(sent);
        return count;
    }

    /** Called by senders' threads: copy into our pool, queue by RSS, ring the doorbell if parked. */
    void receive(MemorySegment s, long off, int len) {
        if (closed || len > pool.bufferSize()) {
            rxDropped.incrementAndGet();
            return;
        }
        RxQueue q = rx[steering.queueForFrame(s, off, len, rx.length)];
        PacketBuffer b = pool.allocOne();
        if (b == null) {
            rxDropped.incrementAndGet();
            return;
        }
        try {
            MemorySegment.copy(s, off, b.segment, b.offset, len);
        } catch (IllegalStateException closedMeanwhile) { // our pool's arena closed by close()
            rxDropped.incrementAndGet();
            return;
        }
        b.length = len;
        if (!q.ring.offer(b)) {
            pool.free(b);
            rxDropped.incrementAndGet();
            return;
        }
        // The offer's CAS on the producer index is a full fence, so this load cannot pass it:
        // either the consumer sees the frame in its emptiness re-check, or we see its waiter.
        Thread w = q.waiter;
        if (w != null) {
            LockSupport.unpark(w);
        }
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
        RxQueue q = rx[queue];
        if (timeoutNanos <= 0 || !q.ring.isEmpty()) {
            return;
        }
        q.waiter = Thread.currentThread();
        try {
            // Re-check after publishing the waiter (volatile store, then volatile loads): a sender
            // that enqueued before it could see us has moved the producer index, and a wakeup()
            // before it has set the doorbell; either way we do not park.
            if (!q.doorbell && q.ring.isEmpty()) {
                LockSupport.parkNanos(this, timeoutNanos);
            }
        } finally {
            // Consume the doorbell before deregistering: a wakeup() after this store either sees
            // us still registered (and leaves a permit) or leaves the doorbell set for next time.
            q.doorbell = false;
            q.waiter = null;
        }
    }

    @Override
    public void wakeup(int queue) {
        RxQueue q = rx[queue];
        q.doorbell = true;
        Thread w = q.waiter;
        if (w != null) {
            LockSupport.unpark(w);
        }
    }

    @Override
    public TasPortStats stats() {
        return new TasPortStats(SingleWriterCounter.sum(rxPackets), SingleWriterCounter.sum(txPackets),
                rxDropped.get(), SingleWriterCounter.sum(txDropped));
    }

    /** Detaches from the wire and releases the pool; buffers still held become invalid. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        wire.detach(this);
        for (RxQueue q : rx) {
            Thread w = q.waiter;
            if (w != null) {
                LockSupport.unpark(w);
            }
        }
        pool.close();
    }

    @Override
    public String toString() {
        return name + "[" + formatMac(mac) + ", queues=" + rx.length + ", mtu=" + mtu + "]";
    }

    static String formatMac(long mac) {
        StringBuilder sb = new StringBuilder(17);
        for (int shift = 40; shift >= 0; shift -= 8) {
            int octet = (int) (mac >>> shift) & 0xFF;
            sb.append(Character.forDigit(octet >>> 4, 16)).append(Character.forDigit(octet & 0xF, 16));
            if (shift > 0) {
                sb.append(':');
            }
        }
        return sb.toString();
    }
}
