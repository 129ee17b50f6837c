package io.tasnetty.engine.context;

import io.tasnetty.engine.wire.Ipv4;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A listening port. The engine answers SYNs to it at once (not when the application accepts,
 * unlike TAS, whose deferred SYN-ACK caused its issue #12 hang) and queues established
 * connections until {@link TasContext#accept}. At most {@link #backlog()} connections are
 * half-open or waiting; further SYNs are dropped and counted, so the peer retries.
 */
public final class TasListener extends TasSocket {
    final int ip;
    final int port;
    private final int backlog;
    final int rxBufLen;
    final int txBufLen;
    /** Ring memory of the connections it accepts (service mode); null = the engine's. */
    private final io.tasnetty.engine.flow.TasRingAllocator rings;
    /** Half-open plus established-but-not-accepted connections. */
    final AtomicInteger queued = new AtomicInteger();
    final ConcurrentLinkedQueue<TasConnection> acceptQueue = new ConcurrentLinkedQueue<>();
    /** Entries of {@link #acceptQueue} (its size() walks the queue; the slow path asks per SYN). */
    final AtomicInteger acceptable = new AtomicInteger();
    volatile boolean open = true;

    TasListener(TasContext owner, int ip, int port, int backlog, int rxBufLen, int txBufLen) {
        super(owner);
        this.rings = owner == null ? null : owner.ringAllocator();
        this.ip = ip;
        this.port = port;
        this.backlog = backlog;
        this.rxBufLen = rxBufLen;
        this.txBufLen = txBufLen;
    }

    public int port() {
        return port;
    }

    /** The bound address (0 = every address of the engine). */
    public int ip() {
        return ip;
    }

    public int backlog() {
        return backlog;
    }

    public int rxBufLen() {
        return rxBufLen;
    }

    public int txBufLen() {
        return txBufLen;
    }

    /** Where its connections' rings come from; null = the engine's allocator. */
    public io.tasnetty.engine.flow.TasRingAllocator ringAllocator() {
        return rings;
    }

    /** Slow path: reserves a backlog slot for a new SYN; false when the backlog is full. */
    public boolean tryReserve() {
        while (true) {
            int q = queued.get();
            if (q >= backlog || !open) {
                return false;
            }
            if (queued.compareAndSet(q, q + 1)) {
                return true;
            }
        }
    }

    /**
     * Slow path: reserves a slot for a connection a SYN cookie completes. Its SYN found the
     * backlog full of half-open connections; what limits it now is only the queue of established
     * connections waiting for accept (as Linux's accept queue), which must have room.
     */
    public boolean tryReserveAccepted() {
        if (!open || acceptQueueFull()) {
            return false;
        }
        queued.incrementAndGet();
        return true;
    }

    /**
     * Slow path: whether the queue of established connections waiting for accept is full. Then
     * a SYN gets no cookie either (as on Linux): the client retransmits its SYN rather than
     * complete a handshake whose final ACK would find no room.
     */
    public boolean acceptQueueFull() {
        return acceptable.get() >= backlog;
    }

    /** Takes the oldest established connection waiting for accept, or null. */
    TasConnection pollAccept() {
        TasConnection c = acceptQueue.poll();
        if (c != null) {
            acceptable.decrementAndGet();
        }
        return c;
    }

    /** Engine: a reserved connection failed before it was accepted. */
    public void unreserve() {
        queued.decrementAndGet();
    }

    /** Fast path: a connection reached ESTABLISHED and waits to be accepted. */
    public void enqueueEstablished(TasConnection c) {
        acceptable.incrementAndGet();
        acceptQueue.offer(c);
        post(TasEvents.ACCEPTABLE);
    }

    /** Engine-internal: the queue of established connections nobody accepted yet. */
    public java.util.Queue<TasConnection> acceptQueueForEngine() {
        return acceptQueue;
    }

    /** Engine-internal: {@link #pollAccept} for the slow path (a listener's close). */
    public TasConnection pollAcceptForEngine() {
        return pollAccept();
    }

    /** Connections waiting to be accepted. */
    public int pendingAccepts() {
        return acceptQueue.size();
    }

    @Override
    public InetSocketAddress localAddress() {
        try {
            return new InetSocketAddress(InetAddress.getByAddress(Ipv4Bytes.of(ip)), port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    /** Stops listening; queued connections that were never accepted are reset. */
    @Override
    public void close() {
        TasContext ctx = owner;
        if (ctx != null) {
            ctx.closeListener(this);
        }
    }

    @Override
    public String toString() {
        return "TasListener[" + Ipv4.toString(ip) + ":" + port + "]";
    }

    static final class Ipv4Bytes {
        static byte[] of(int ip) {
            return new byte[]{(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip};
        }
    }
}
