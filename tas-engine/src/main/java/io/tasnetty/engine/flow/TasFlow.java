package io.tasnetty.engine.flow;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The engine's state of one TCP connection (its transmission control block, RFC 9293 3.3.1).
 *
 * <p>Owned by one fast-path agent: every field without a note is read and written only on that
 * agent's thread. The application side touches only the rings (which carry their own
 * acquire/release ordering), {@link #postCommand} and the fields marked "app".
 * Fields are primitive and grouped by use, hot receive/transmit state first.
 */
public final class TasFlow {
    // ---- commands from the application to the owning fast path (bits of `commands`) ----
    /** New bytes in the transmit ring. */
    public static final int CMD_TX = 1;
    /** The application consumed received bytes: the window may have opened. */
    public static final int CMD_RX_CONSUMED = 1 << 1;
    /** Send FIN once the transmit ring is drained (shutdownOutput). */
    public static final int CMD_SHUTDOWN = 1 << 2;
    /** The application let go of the connection (close). */
    public static final int CMD_CLOSE = 1 << 3;
    /** Abort: send RST and drop everything. */
    public static final int CMD_ABORT = 1 << 4;
    /** Keepalive was turned on or off: (re)arm or cancel its timer. */
    public static final int CMD_KEEPALIVE = 1 << 5;

    private static final VarHandle COMMANDS;

    static {
        try {
            COMMANDS = MethodHandles.lookup().findVarHandle(TasFlow.class, "commands", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // ---- identity (immutable once installed) ----
    public int localIp;
    public int localPort;
    public int remoteIp;
    public int remotePort;
    public long remoteMac;
    /** Fast-path queue (core) that owns the flow; -1 until the slow path places it. */
    public volatile int queue = -1;
    /** The peer is inside this engine (own address or 127.0.0.0/8). */
    public boolean loopback;

    // ---- state ----
    public int state = TcpState.CLOSED;

    // ---- receive (RFC 9293 3.3.1: RCV.NXT, RCV.WND, IRS) ----
    public TasByteRing rx;
    public int irs;
    public int rcvNxt;
    /** Window scale we apply to windows we advertise (RFC 7323 2.2). */
    public int rcvWscale;
    /** The window we advertised last, unscaled bytes. */
    public int rcvWndAdvertised;
    /**
     * Receive-ring position of the right edge we advertised last. Written by the fast path, read
     * by the application to decide whether a read opened the window enough to announce (a plain
     * long is atomic on 64-bit HotSpot; a stale value only means one more or one fewer update).
     */
    public long rcvAdvEdgePos;
    /** Out-of-order intervals kept in the ring beyond rcvNxt: [start, end) sequence numbers. */
    public final int[] oooStart = new int[4];
    public final int[] oooEnd = new int[4];
    public int oooCount;
    /** The peer's FIN arrived (possibly ahead of missing data) at this sequence number. */
    public boolean finReceived;
    public int finSeq;
    /**
     * The FIN was consumed in order: the receive side is closed. Volatile: set after the last
     * byte's tail is published, so a reader that sees it also sees every byte before the FIN.
     */
    public volatile boolean inputClosed;
    /** Send an ACK at the end of this duty cycle. */
    public boolean ackPending;
    /** Echo ECE until the peer sends CWR (RFC 3168 6.1.3). */
    public boolean eceEcho;

    // ---- send (SND.UNA, SND.NXT, SND.WND, SND.WL1/WL2, ISS) ----
    public TasByteRing tx;
    public int iss;
    public int sndUna;
    public int sndNxt;
    /** Highest sequence number sent so far (sndNxt may move back for go-back-N retransmission). */
    public int sndMax;
    public int sndWnd;
    /** Largest window the peer ever offered (RFC 5961 5.2 MAX.SND.WND): bounds acceptable old ACKs. */
    public int maxSndWnd;
    public int sndWl1;
    public int sndWl2;
    /** Scale the peer applies to the windows it advertises. */
    public int sndWscale;
    /** Largest payload per segment: min(peer MSS, our MTU) less options. */
    public int mss;
    /** Bytes of TCP options on every data segment (timestamps). */
    public int optLen;
    /** FIN requested by the application (shutdownOutput/close). */
    public boolean finRequested;
    /** Our FIN has been sent; it occupies sequence number finSentSeq. */
    public boolean finSent;
    public int finSentSeq;

    // ---- options negotiated ----
    public boolean tsOn;
    public int tsRecent;
    public boolean sackOn;
    public boolean ecnOn;
    /** Peer's SYN options, kept by the slow path until the fast path answers. */
    public int peerMss;
    public int peerWscale = -1;
    public boolean peerSackPermitted;
    public boolean peerTs;
    public int peerTsVal;
    public boolean peerEcn;

    // ---- retransmission (RFC 6298) ----
    public long srttNanos;
    public long rttvarNanos;
    public long rtoNanos;
    public int backoff;
    public int retries;
    /** Sequence number being timed (when timestamps are off), and when it was sent. */
    public int rttSeq;
    public long rttSentNanos;
    public boolean rttTiming;
    public int dupAcks;
    /** NewReno recovery point (RFC 6582): inRecovery until sndUna passes it. */
    public boolean inRecovery;
    public int recover;

    // ---- congestion control ----
    public int cwnd;
    public int ssthresh;
    /** Pacing rate in bytes/s from the rate controller; 0 = unpaced. */
    public long rateBytesPerSec;
    public long paceTokens;
    public long paceLastNanos;
    /** Counters the rate controller reads each control interval. */
    public long ccAckedBytes;
    public long ccEceBytes;
    public long ccLastControlNanos;
    public int ccLosses;
    public double dctcpAlpha;

    // ---- timers (deadlines in engine nanoseconds; 0 = off) ----
    public long rtoDeadline;
    public long persistDeadline;
    public long keepaliveDeadline;
    public long timeWaitDeadline;
    public long paceDeadline;
    /** Earliest of the deadlines above, as scheduled in the timer wheel. */
    public long timerDeadline;
    public TasFlow timerPrev;
    public TasFlow timerNext;
    public int timerSlot = -1;
    public int keepaliveProbes;
    /** app writes, then posts CMD_KEEPALIVE (whose volatile update publishes it). */
    public boolean keepalive;
    /** When the last segment of this flow arrived (RFC 1122 4.2.3.6 counts idle time from it). */
    public long lastRxNanos;

    // ---- scheduling on the owning fast path ----
    public TasFlow txNext;
    public boolean inTxList;
    public TasFlow bumpNext;
    public boolean inAckList;
    /** Application-side commands (CMD_* bits), set from any thread. */
    @SuppressWarnings("unused")
    private volatile int commands;

    // ---- lifecycle ----
    /** app: the application no longer holds the connection. */
    public volatile boolean released;
    /** Installed on its fast path (set there). */
    public boolean installed;
    /** The fast path has removed the flow; the slow path reclaims it. */
    public boolean dead;
    /** app: the application found the transmit ring full and wants WRITABLE. */
    public volatile boolean wantWritable;
    /** Listener that created the flow (passive open), until accepted. */
    public Object listener;
    /** The public handle ({@code TasConnection}). */
    public Object handle;
    /** Why the connection ended abnormally (a TasError ordinal), 0 = none. */
    public volatile int error;
    public long createdNanos;

    /**
     * The rings are freed once both the engine and the application are done with them: the
     * engine when the flow dies or enters TIME_WAIT, the application when it closes (or, for a
     * passive open nobody accepted, when the engine forgets it). Until then unread bytes stay
     * readable even after the connection has closed.
     */
    private final java.util.concurrent.atomic.AtomicInteger ringHolds = new java.util.concurrent.atomic.AtomicInteger(2);
    private final java.util.concurrent.atomic.AtomicBoolean appHoldDropped = new java.util.concurrent.atomic.AtomicBoolean();
    /** Engine threads only, in order (fast path, then slow path through its queue). */
    private boolean engineHoldDropped;

    /** Engine: done with the rings; true if the caller must now free them. */
    public boolean dropEngineRingHold() {
        if (engineHoldDropped) {
            return false;
        }
        engineHoldDropped = true;
        return ringHolds.decrementAndGet() == 0;
    }

    /** Application (or the engine for an unaccepted connection): done with the rings; true if the caller must free them. */
    public boolean dropAppRingHold() {
        return appHoldDropped.compareAndSet(false, true) && ringHolds.decrementAndGet() == 0;
    }

    /** Sets command bits; returns true if the caller must enqueue the flow (bits were clear). */
    public boolean postCommand(int bits) {
        int old = (int) COMMANDS.getAndBitwiseOr(this, bits);
        return old == 0;
    }

    /** Takes and clears all pending command bits (owning fast path only). */
    public int takeCommands() {
        return (int) COMMANDS.getAndSet(this, 0);
    }

    /** Bytes in flight (sent, not yet acknowledged), counting SYN/FIN as one. */
    public int inFlight() {
        return sndNxt - sndUna;
    }

    @Override
    public String toString() {
        return "TasFlow[" + io.tasnetty.engine.wire.Ipv4.toString(localIp) + ":" + localPort + " -> "
            + io.tasnetty.engine.wire.Ipv4.toString(remoteIp) + ":" + remotePort + " " + TcpState.name(state) + "]";
    }
}
