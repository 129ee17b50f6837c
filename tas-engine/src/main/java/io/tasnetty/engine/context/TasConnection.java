package io.tasnetty.engine.context;

import io.tasnetty.engine.flow.TasByteRing;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TcpState;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;

/**
 * One TCP connection as the application sees it: reads come out of the receive ring the fast path
 * fills, writes go into the transmit ring the fast path drains. Call from the owning context's
 * thread only. Nothing here blocks: a full ring means a short write, an empty ring a zero read.
 */
public final class TasConnection extends TasSocket {
    private final TasContext.EngineAccess engine;
    final TasFlow flow;
    /** Bytes written into the transmit ring since the last {@link #flush()}. */
    private boolean unflushed;
    private boolean outputShutdown;
    private boolean closed;

    TasConnection(TasContext owner, TasContext.EngineAccess engine, TasFlow flow) {
        super(owner);
        this.engine = engine;
        this.flow = flow;
        flow.handle = this;
    }

    /**
     * Engine-internal: the handle of a passively opened connection. It has no context until
     * accepted; events posted meanwhile stay pending and are delivered on {@link #moveTo}.
     */
    public static TasConnection forPassiveOpen(TasContext.EngineAccess engine, TasFlow flow) {
        return new TasConnection(null, engine, flow);
    }

    /** Engine-internal: the flow behind this connection. */
    public TasFlow flow() {
        return flow;
    }

    /** Bytes waiting in the receive ring. */
    public int readableBytes() {
        TasByteRing rx = flow.rx;
        return rx == null ? 0 : rx.readable();
    }

    /**
     * Copies received bytes into {@code dst}. Returns the count, 0 when nothing waits, or -1 once
     * the peer closed its side (FIN) and every byte before it was read.
     */
    public int read(ByteBuffer dst) {
        TasByteRing rx = flow.rx;
        if (rx == null || closed) {
            return -1;
        }
        long head = rx.headPlain();
        int n = Math.min((int) (rx.tail() - head), dst.remaining());
        if (n <= 0) {
            return n == 0 && dst.remaining() > 0 && inputDone() ? -1 : 0;
        }
        rx.copyOut(head, dst, n);
        consumed(rx, head + n);
        return n;
    }

    /** As {@link #read(ByteBuffer)}, into native or heap memory. */
    public int read(MemorySegment dst, long offset, int length) {
        TasByteRing rx = flow.rx;
        if (rx == null || closed) {
            return -1;
        }
        long head = rx.headPlain();
        int n = Math.min((int) (rx.tail() - head), length);
        if (n <= 0) {
            return n == 0 && length > 0 && inputDone() ? -1 : 0;
        }
        rx.copyOut(head, dst, offset, n);
        consumed(rx, head + n);
        return n;
    }

    /** EOF: the peer's FIN was consumed and every byte before it read, or the connection failed. */
    private boolean inputDone() {
        // inputClosed is a volatile written after the last byte's tail was published.
        TasByteRing rx = flow.rx;
        return flow.inputClosed && (rx == null || rx.readable() == 0) || flow.error != 0;
    }

    private void consumed(TasByteRing rx, long newHead) {
        rx.publishHead(newHead);
        // RFC 9293 3.8.6.2.2 (receiver SWS avoidance): announce the window only once it has
        // grown by min(half the buffer, one MSS) beyond what we advertised. The right edge we
        // can announce is also bounded by the largest window field (65535 << scale): without
        // that bound, an unscaled connection over a ring above 64 KiB would send a useless
        // update (same window) after every read.
        int wscale = flow.appRcvWscale();
        long maxWindow = Math.min(rx.capacity(), 65535L << wscale);
        // (The ring's last rcvWindowSlack bytes are never announced: the edge can reach only this far.)
        long grow = Math.min(newHead + rx.capacity() - TasFlow.rcvWindowSlack(wscale), rx.tail() + maxWindow)
            - flow.rcvAdvEdgePos;
        if (grow >= Math.min(rx.capacity() >> 1, Math.max(flow.appMss(), 536))) {
            command(TasFlow.CMD_RX_CONSUMED);
        }
    }

    /** Space in the transmit ring. */
    public int writableBytes() {
        TasByteRing tx = flow.tx;
        return tx == null || outputShutdown ? 0 : tx.writable();
    }

    /**
     * Copies as much of {@code src} as fits into the transmit ring; returns the count. The bytes
     * leave after {@link #flush()}. A short count means the ring is full: a
     * {@link TasEvents#WRITABLE} event follows when space opens.
     */
    public int write(ByteBuffer src) {
        TasByteRing tx = writeRing();
        long tail = tx.tailPlain();
        int n = Math.min(tx.capacity() - (int) (tail - tx.head()), src.remaining());
        if (n > 0) {
            tx.copyIn(tail, src, n);
            tx.publishTail(tail + n);
            unflushed = true;
        }
        if (src.hasRemaining()) {
            wantWritable(tx);
        }
        return n;
    }

    /** As {@link #write(ByteBuffer)}, from native or heap memory. */
    public int write(MemorySegment src, long offset, int length) {
        TasByteRing tx = writeRing();
        long tail = tx.tailPlain();
        int n = Math.min(tx.capacity() - (int) (tail - tx.head()), length);
        if (n > 0) {
            tx.copyIn(tail, src, offset, n);
            tx.publishTail(tail + n);
            unflushed = true;
        }
        if (n < length) {
            wantWritable(tx);
        }
        return n;
    }

    private TasByteRing writeRing() {
        if (outputShutdown || closed) {
            throw new TasException("output is shut down", TasError.NONE);
        }
        TasError e = error();
        if (e != TasError.NONE) {
            throw new TasException(e.message(), e);
        }
        TasByteRing tx = flow.tx;
        if (flow.txGrowReady()) {
            moveTxRing(tx);
        }
        return tx;
    }

    /**
     * Send-buffer autotuning: the fast path found the ring, not the path, limiting this sender and
     * the slow path has larger memory ready. The ring moves there with its bytes (only this
     * thread writes it); the fast path lets the old memory go once told.
     */
    private void moveTxRing(TasByteRing tx) {
        MemorySegment bigger = flow.takeTxGrowBlock();
        if (bigger != null) {
            flow.retireTx(tx.growCopying(bigger));
            command(TasFlow.CMD_TX_GROWN);
        }
    }

    private void wantWritable(TasByteRing tx) {
        flow.wantWritable = true;
        // Re-check after announcing interest: the fast path may have freed space meanwhile.
        if (tx.writable() > 0) {
            post(TasEvents.WRITABLE);
        }
    }

    /** Hands the bytes written so far to the fast path. */
    public void flush() {
        if (unflushed) {
            unflushed = false;
            command(TasFlow.CMD_TX);
        }
    }

    /** Sends FIN after the bytes already written (half-close). */
    public void shutdownOutput() {
        if (!outputShutdown && !closed) {
            flush();
            outputShutdown = true;
            command(TasFlow.CMD_SHUTDOWN);
        }
    }

    public boolean isOutputShutdown() {
        return outputShutdown;
    }

    /** The peer sent FIN. */
    public boolean isInputClosed() {
        return flow.inputClosed;
    }

    /**
     * Graceful close: sends what was written, then FIN. If received bytes were never read, the
     * connection is reset instead (RFC 9293 3.6.1, as Linux does), so the peer learns that data
     * was lost. Resources are reclaimed when the engine is done with the connection.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        flush();
        closed = true;
        outputShutdown = true;
        flow.released = true;
        command(TasFlow.CMD_CLOSE);
        engine.released(flow);
    }

    /** Closes with RST at once (SO_LINGER 0), discarding unsent data. */
    public void abort() {
        if (closed) {
            return;
        }
        closed = true;
        outputShutdown = true;
        flow.released = true;
        command(TasFlow.CMD_ABORT);
        engine.released(flow);
    }

    private void command(int cmd) {
        engine.command(flow, cmd);
    }

    /**
     * Service mode: passes an attached application's commands (CMD_TX, CMD_RX_CONSUMED,
     * CMD_KEEPALIVE) on to the engine, after the service copied that application's ring
     * positions into this flow's rings.
     */
    public void relay(int commands) {
        if (!closed) {
            command(commands);
        }
    }

    /** Established and not yet closed by the application. */
    public boolean isActive() {
        int s = flow.publishedState();
        return !closed && s >= TcpState.ESTABLISHED && s != TcpState.TIME_WAIT && error() == TasError.NONE;
    }

    @Override
    public boolean isOpen() {
        return !closed;
    }

    /** The TCP state (a {@link TcpState} constant), read without synchronisation. */
    public int state() {
        return flow.publishedState();
    }

    public TasError error() {
        return ERRORS[flow.error]; // values() would copy the array on every call
    }

    private static final TasError[] ERRORS = TasError.values();

    /** Turns TCP keepalive (RFC 1122 4.2.3.6) on or off for this connection. */
    public void setKeepAlive(boolean on) {
        flow.keepalive = on;
        command(TasFlow.CMD_KEEPALIVE); // the fast path owns the timer: let it arm or cancel it
    }

    /**
     * This connection's keepalive timing (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT): idle time
     * before the first probe, time between probes, unanswered probes before the connection is
     * dropped; 0 keeps the engine's tcp-keepalive-* value. Takes effect from the next idle period.
     */
    public void setKeepAliveTiming(long idleNanos, long intervalNanos, int probes) {
        if (idleNanos < 0 || intervalNanos < 0 || probes < 0) {
            throw new IllegalArgumentException("keepalive timing must not be negative: idle " + idleNanos
                + " ns, interval " + intervalNanos + " ns, probes " + probes);
        }
        flow.keepaliveIdleNanos = idleNanos;
        flow.keepaliveIntervalNanos = intervalNanos;
        flow.keepaliveCount = probes;
        command(TasFlow.CMD_KEEPALIVE); // publishes the fields and re-arms the timer
    }

    /**
     * TCP_NODELAY: true (the default here, as Netty's) sends what a flush hands over at once;
     * false turns on Nagle's algorithm (RFC 9293 3.7.4), which holds a sub-MSS segment while an
     * earlier one is unacknowledged. Turning it back on sends what was held at once.
     */
    public void setNoDelay(boolean on) {
        flow.nagle = !on;
        command(TasFlow.CMD_OPTIONS);
    }

    /**
     * TCP_QUICKACK, as on Linux: true acknowledges the next segments at once (the quick-ack phase
     * starts again) and sends an ACK that is being delayed now; it is not permanent, the delayed
     * ACKs return once the phase is over. false changes nothing.
     */
    public void setQuickAck(boolean on) {
        if (on) {
            flow.quickAckRequested = true;
            command(TasFlow.CMD_OPTIONS);
        }
    }

    /**
     * TCP_USER_TIMEOUT (RFC 5482): the longest sent data may stay unacknowledged, or the peer's
     * window stay shut under our probes, before the connection is dropped with
     * {@link TasError#TIMED_OUT}; 0 (the default) leaves it to the retransmission and probe counts.
     */
    public void setUserTimeout(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("TCP_USER_TIMEOUT must not be negative: " + nanos + " ns");
        }
        flow.userTimeoutNanos = nanos;
        command(TasFlow.CMD_OPTIONS);
    }

    /** The type-of-service byte (IP_TOS) of this connection's segments; the ECN bits stay the engine's. */
    public void setTrafficClass(int tos) {
        if (tos < 0 || tos > 255) {
            throw new IllegalArgumentException("IP_TOS must be in [0, 255], was " + tos);
        }
        flow.tos = tos & 0xFC;
        command(TasFlow.CMD_KEEPALIVE); // any command publishes the field to the fast path
    }

    /** Transmit-ring capacity (SO_SNDBUF). */
    public int sendBufferSize() {
        return flow.tx == null ? 0 : flow.tx.capacity();
    }

    /** Receive-ring capacity (SO_RCVBUF). */
    public int receiveBufferSize() {
        return flow.rx == null ? 0 : flow.rx.capacity();
    }

    /** Moves event delivery to {@code target} (TAS's "move": a connection accepted on one loop, served on another). */
    public void moveTo(TasContext target) {
        TasContext old = owner;
        if (old != target) {
            // Membership follows the events: the new context closes the connection on its close(),
            // the old one forgets it (it would otherwise close a connection another loop serves).
            if (old != null) {
                old.forget(this);
            }
            target.adopt(this);
        }
        owner = target;
        if (old != target) {
            engine.moved(this, target);
        }
        int ev = takeEvents();
        if (ev != 0) {
            post(ev);
        }
    }

    @Override
    public InetSocketAddress localAddress() {
        return address(flow.localIp, flow.localPort);
    }

    public InetSocketAddress remoteAddress() {
        return address(flow.remoteIp, flow.remotePort);
    }

    static InetSocketAddress address(int ip, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByAddress(TasListener.Ipv4Bytes.of(ip)), port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "TasConnection" + flow;
    }
}
