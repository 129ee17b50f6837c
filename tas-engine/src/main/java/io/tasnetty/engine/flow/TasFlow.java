package io.tasnetty.engine.flow;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One TCP connection in the engine.
 *
 * <p>The transmission control block (RFC 9293 3.3.1: sequence space, windows, options, RTT
 * estimator, timers, congestion state) lives off-heap in a compact, cache-line aligned record
 * ({@link #TCB}, {@value #TCB_BYTES} bytes) carved from a {@link TasTcbSlab}: what a segment
 * touches on receive and transmit sits in the first two cache lines, RTT and timers in the next
 * two, congestion control and handshake leftovers after them, delay-based (TIMELY) state last.
 * It is read and written only by the flow's owning agent (the fast path once installed; the slow
 * path before that), through the accessors below: no object per access, and each access is one
 * load or store by absolute address checked against a constant bound. Unlike a Java field, an
 * off-heap value cannot be kept in a register across another off-heap store, so hot code reads
 * what it needs into locals once per segment ({@link #flags()} gives every boolean in one read).
 *
 * <p>This object is the flow's handle and keeps what cannot or should not live in that record:
 * the identity (immutable once installed), references (rings, scheduling links, listener,
 * connection handle), and the fields the application thread reads or writes (volatile, or
 * published through the event queue): {@link #publishedState()}, {@link #appMss()},
 * {@link #appRcvWscale()}, {@link #rcvAdvEdgePos}, {@link #inputClosed}, {@link #error}.
 * The application never reads the record, so the engine may give the record's slot to another
 * flow as soon as it has reclaimed this one ({@link TasTcbSlab#free}); a late access then reaches
 * a private copy, never another connection's state.
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
    /** A per-connection option changed (TCP_NODELAY, TCP_USER_TIMEOUT, TCP_QUICKACK): act on it. */
    public static final int CMD_OPTIONS = 1 << 6;
    /** The application moved the transmit ring to larger memory: let the old memory go. */
    public static final int CMD_TX_GROWN = 1 << 7;

    /** Out-of-order intervals kept in the record (enough for most windows; TAS keeps one). */
    public static final int OOO_INLINE = 4;
    /**
     * Out-of-order intervals kept per flow at most: the record's, then more in {@link #oooMore},
     * allocated the first time a flow needs them. Receiving 256 MiB from Linux through a 100 Mbit/s
     * bottleneck with 1% random loss (CongestedPathLinuxTest; the receive buffer grows to 4 MiB, so
     * about 30 holes per window), the receiver dropped 5,033 of 264,000 segments that arrived fine
     * for want of a slot, and the sender resent them; with 32 slots 337-351 of 257,000. Linux keeps
     * every out-of-order segment its buffer holds.
     */
    public static final int OOO_MAX = 64;

    /** The off-heap record, in layout order (padding is inserted where alignment needs it). */
    public static final StructLayout TCB = cacheAligned(
        // cache line 0: receive and transmit sequence space (every segment touches it)
        JAVA_INT.withName("rcvNxt"),
        JAVA_INT.withName("sndUna"),
        JAVA_INT.withName("sndNxt"),
        JAVA_INT.withName("sndMax"),
        JAVA_INT.withName("sndWnd"),
        JAVA_INT.withName("cwnd"),
        JAVA_INT.withName("flags"),
        JAVA_BYTE.withName("state"),
        JAVA_BYTE.withName("rcvWscale"),
        JAVA_BYTE.withName("sndWscale"),
        JAVA_BYTE.withName("optLen"),
        JAVA_INT.withName("mss"),
        JAVA_INT.withName("tsRecent"),
        JAVA_INT.withName("dupAcks"),
        JAVA_INT.withName("sndWl1"),
        JAVA_INT.withName("sndWl2"),
        JAVA_INT.withName("oooCount"),
        JAVA_INT.withName("finSeq"),
        // cache line 1: out-of-order intervals, recovery, pacing
        MemoryLayout.sequenceLayout(OOO_INLINE, JAVA_INT).withName("oooStart"),
        MemoryLayout.sequenceLayout(OOO_INLINE, JAVA_INT).withName("oooEnd"),
        JAVA_INT.withName("finSentSeq"),
        JAVA_INT.withName("recover"),
        JAVA_INT.withName("maxSndWnd"),
        JAVA_INT.withName("ssthresh"),
        JAVA_LONG.withName("rateBytesPerSec"),
        JAVA_LONG.withName("paceTokens"),
        // cache line 2: RTT estimation and timers
        JAVA_LONG.withName("paceLastNanos"),
        JAVA_LONG.withName("srttNanos"),
        JAVA_LONG.withName("rttvarNanos"),
        JAVA_LONG.withName("rtoNanos"),
        JAVA_LONG.withName("rttSentNanos"),
        JAVA_INT.withName("rttSeq"),
        JAVA_INT.withName("backoff"),
        JAVA_LONG.withName("timerDeadline"),
        JAVA_LONG.withName("rtoDeadline"),
        // cache line 3: more timers, handshake values
        JAVA_LONG.withName("persistDeadline"),
        JAVA_LONG.withName("keepaliveDeadline"),
        JAVA_LONG.withName("timeWaitDeadline"),
        JAVA_LONG.withName("paceDeadline"),
        JAVA_LONG.withName("lastRxNanos"),
        JAVA_INT.withName("retries"),
        JAVA_INT.withName("keepaliveProbes"),
        JAVA_INT.withName("timerSlot"),
        JAVA_INT.withName("iss"),
        JAVA_INT.withName("irs"),
        // (fills the line: every acceptable segment writes lastRxNanos here, so reading it costs no miss)
        JAVA_INT.withName("rxDetour"),
        // cache line 4: congestion control, rarely touched
        JAVA_LONG.withName("ccAckedBytes"),
        JAVA_LONG.withName("ccEceBytes"),
        JAVA_LONG.withName("ccLastControlNanos"),
        JAVA_DOUBLE.withName("dctcpAlpha"),
        JAVA_INT.withName("ccLosses"),
        JAVA_INT.withName("peerWscale"),
        // end of line 4 and line 5: RTT samples for delay-based control (TIMELY)
        JAVA_LONG.withName("rttLastNanos"),
        JAVA_LONG.withName("rttMinNanos"),
        JAVA_LONG.withName("timelyPrevRttNanos"),
        JAVA_DOUBLE.withName("timelyRttDiffNanos"),
        JAVA_INT.withName("timelyIncreases"),
        // end of line 5 and line 6: CUBIC (RFC 9438), HyStart (RFC 9406), ECN's CWR (RFC 3168)
        JAVA_LONG.withName("cubicEpochNanos"),
        JAVA_LONG.withName("cubicKNanos"),
        JAVA_LONG.withName("hsLastRoundMinRtt"),
        JAVA_LONG.withName("hsRoundMinRtt"),
        JAVA_INT.withName("cubicWmax"),
        JAVA_INT.withName("cubicOrigin"),
        JAVA_INT.withName("cubicWest"),
        JAVA_INT.withName("hsRoundEnd"),
        JAVA_INT.withName("ecnCwrSeq")
    );
    /** Bytes per record: a whole number of cache lines. */
    public static final int TCB_BYTES = 448;

    // The record is 64-byte aligned and every field naturally aligned within it, so the accessors
    // skip the per-access alignment check.
    private static final ValueLayout.OfInt INT = JAVA_INT.withByteAlignment(1);
    private static final ValueLayout.OfByte BYTE = JAVA_BYTE;
    private static final ValueLayout.OfLong LONG = JAVA_LONG.withByteAlignment(1);
    private static final ValueLayout.OfDouble DOUBLE = JAVA_DOUBLE.withByteAlignment(1);

    private static final long RCV_NXT = offset("rcvNxt");
    private static final long SND_UNA = offset("sndUna");
    private static final long SND_NXT = offset("sndNxt");
    private static final long SND_MAX = offset("sndMax");
    private static final long SND_WND = offset("sndWnd");
    private static final long CWND = offset("cwnd");
    private static final long FLAGS = offset("flags");
    private static final long STATE = offset("state");
    private static final long RCV_WSCALE = offset("rcvWscale");
    private static final long SND_WSCALE = offset("sndWscale");
    private static final long OPT_LEN = offset("optLen");
    private static final long MSS = offset("mss");
    private static final long TS_RECENT = offset("tsRecent");
    private static final long DUP_ACKS = offset("dupAcks");
    private static final long SND_WL1 = offset("sndWl1");
    private static final long SND_WL2 = offset("sndWl2");
    private static final long OOO_COUNT = offset("oooCount");
    private static final long FIN_SEQ = offset("finSeq");
    private static final long OOO_START = offset("oooStart");
    private static final long OOO_END = offset("oooEnd");
    private static final long FIN_SENT_SEQ = offset("finSentSeq");
    private static final long RECOVER = offset("recover");
    private static final long MAX_SND_WND = offset("maxSndWnd");
    private static final long SSTHRESH = offset("ssthresh");
    private static final long RATE_BYTES_PER_SEC = offset("rateBytesPerSec");
    private static final long PACE_TOKENS = offset("paceTokens");
    private static final long PACE_LAST_NANOS = offset("paceLastNanos");
    private static final long SRTT_NANOS = offset("srttNanos");
    private static final long RTTVAR_NANOS = offset("rttvarNanos");
    private static final long RTO_NANOS = offset("rtoNanos");
    private static final long RTT_SENT_NANOS = offset("rttSentNanos");
    private static final long RTT_SEQ = offset("rttSeq");
    private static final long BACKOFF = offset("backoff");
    private static final long TIMER_DEADLINE = offset("timerDeadline");
    private static final long RTO_DEADLINE = offset("rtoDeadline");
    private static final long PERSIST_DEADLINE = offset("persistDeadline");
    private static final long KEEPALIVE_DEADLINE = offset("keepaliveDeadline");
    private static final long TIME_WAIT_DEADLINE = offset("timeWaitDeadline");
    private static final long PACE_DEADLINE = offset("paceDeadline");
    private static final long LAST_RX_NANOS = offset("lastRxNanos");
    private static final long RETRIES = offset("retries");
    private static final long KEEPALIVE_PROBES = offset("keepaliveProbes");
    private static final long TIMER_SLOT = offset("timerSlot");
    private static final long ISS = offset("iss");
    private static final long IRS = offset("irs");
    private static final long RX_DETOUR = offset("rxDetour");
    private static final long CC_ACKED_BYTES = offset("ccAckedBytes");
    private static final long CC_ECE_BYTES = offset("ccEceBytes");
    private static final long CC_LAST_CONTROL_NANOS = offset("ccLastControlNanos");
    private static final long DCTCP_ALPHA = offset("dctcpAlpha");
    private static final long CC_LOSSES = offset("ccLosses");
    private static final long PEER_WSCALE = offset("peerWscale");
    private static final long RTT_LAST_NANOS = offset("rttLastNanos");
    private static final long RTT_MIN_NANOS = offset("rttMinNanos");
    private static final long TIMELY_PREV_RTT_NANOS = offset("timelyPrevRttNanos");
    private static final long TIMELY_RTT_DIFF_NANOS = offset("timelyRttDiffNanos");
    private static final long TIMELY_INCREASES = offset("timelyIncreases");
    private static final long CUBIC_EPOCH_NANOS = offset("cubicEpochNanos");
    private static final long CUBIC_K_NANOS = offset("cubicKNanos");
    private static final long HS_LAST_ROUND_MIN_RTT = offset("hsLastRoundMinRtt");
    private static final long HS_ROUND_MIN_RTT = offset("hsRoundMinRtt");
    private static final long CUBIC_WMAX = offset("cubicWmax");
    private static final long CUBIC_ORIGIN = offset("cubicOrigin");
    private static final long CUBIC_WEST = offset("cubicWest");
    private static final long HS_ROUND_END = offset("hsRoundEnd");
    private static final long ECN_CWR_SEQ = offset("ecnCwrSeq");

    public static final int F_FIN_RECEIVED = 1 << 0;
    public static final int F_ACK_PENDING = 1 << 1;
    public static final int F_ECE_ECHO = 1 << 2;
    public static final int F_FIN_REQUESTED = 1 << 3;
    public static final int F_FIN_SENT = 1 << 4;
    public static final int F_TS_ON = 1 << 5;
    public static final int F_SACK_ON = 1 << 6;
    public static final int F_ECN_ON = 1 << 7;
    public static final int F_RTT_TIMING = 1 << 8;
    public static final int F_IN_RECOVERY = 1 << 9;
    /** ECN: set CWR on the next new data segment (RFC 3168 6.1.2). */
    public static final int F_CWR_PENDING = 1 << 10;
    /** SACK scoreboard ranges a flow starts with room for (most loss episodes need no more). */
    public static final int SACKED_INLINE = 4;
    /**
     * Ranges the SACK scoreboard keeps at most; further ones above them are forgotten. A range
     * forgotten is rarely reported again (a receiver repeats its most recent blocks, RFC 2018 4),
     * so once a higher one is learnt the data in between looks lost and is resent for nothing:
     * with four, sending 256 MiB to Linux through CongestedPathLinuxTest's 100 Mbit/s, 1%-loss
     * bottleneck (about 30 holes per window) drew 227-404 D-SACKs for about 2,150 retransmissions.
     */
    public static final int SACKED_MAX = 64;
    /** ECN: the window was reduced (a mark or a loss) and SND.UNA has not yet passed {@code ecnCwrSeq}. */
    public static final int F_CWR_WINDOW = 1 << 11;

    private static final VarHandle COMMANDS;
    private static final VarHandle TX_GROW_BLOCK;
    private static final VarHandle TX_RETIRED;

    static {
        if (TCB.byteSize() != TCB_BYTES) {
            throw new ExceptionInInitializerError("TCB layout is " + TCB.byteSize() + " bytes, TCB_BYTES says " + TCB_BYTES);
        }
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            COMMANDS = l.findVarHandle(TasFlow.class, "commands", int.class);
            TX_GROW_BLOCK = l.findVarHandle(TasFlow.class, "txGrowBlock", MemorySegment.class);
            TX_RETIRED = l.findVarHandle(TasFlow.class, "txRetired", MemorySegment.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * All of memory: records are reached by absolute address, so an access checks one constant
     * bound instead of a per-record segment's bounds and scope (JMH: 10-20% faster fast path).
     * Memory safety rests on {@link #tcb}, which keeps the record's memory alive as long as this
     * object can reach it.
     */
    private static final MemorySegment MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    /** The off-heap record (kept reachable here); after {@link #detach()} a private copy. */
    private MemorySegment tcb;
    /** Its address. */
    private long base;
    /** Slot in the slab, -1 when detached or standalone. */
    int slot;

    // ---- identity (immutable once installed) ----
    public int localIp;
    public int localPort;
    public int remoteIp;
    public int remotePort;
    public long remoteMac;
    /** The peer is inside this engine (own address or 127.0.0.0/8). */
    public boolean loopback;
    /** Fast-path queue (core) that owns the flow; -1 until the slow path places it. */
    public volatile int queue = -1;

    // ---- buffers ----
    public TasByteRing rx;
    public TasByteRing tx;
    /**
     * Where the rings came from when not the engine's own allocator (service mode: the attached
     * application's shared region), so they go back there; null = the engine's.
     */
    public TasRingAllocator ringSource;
    /**
     * A passive open holds no rings until it is ESTABLISHED (a half-open connection, perhaps one
     * of a SYN flood, costs only its record): these are the sizes it will get, which its SYN-ACK
     * announces (window, window scale). 0 once the flow has rings, or for an active open.
     */
    public int rxPlanned;
    public int txPlanned;
    /**
     * Rings the slow path granted a half-open connection when its final ACK came (written by the
     * slow path before it hands that ACK back to the flow's core, whose queue orders the two);
     * the core adopts them as {@link #rx}/{@link #tx} when the ACK establishes the connection.
     * The core may meet a retransmitted ACK from the wire first: {@code grantedTx} is written
     * before the volatile {@code grantedRx}, so a core that sees one sees both.
     */
    public volatile TasByteRing grantedRx;
    public TasByteRing grantedTx;
    /**
     * The core adopted {@link #grantedRx}/{@link #grantedTx} (written by the fast path before it
     * removes the flow, read by the slow path's reclaim: granted rings never adopted go back then).
     */
    public boolean grantAdopted;
    /**
     * A half-open connection whose peer took a SYN cookie instead of our SYN-ACK: the cookie's
     * ISS and the options its SYN-ACK agreed (see {@link CookieRebase}), validated by the slow
     * path (volatile: it writes, the core reads when the ACK comes back).
     */
    public volatile CookieRebase cookieRebase;
    /**
     * Made by the final ACK of a SYN cookie (TasSlowPath.cookieAck, written before the install):
     * what came with that ACK reached the slow path as strays, before the flow had a core, and
     * comes back after it (see TasFastPath#install).
     */
    public boolean madeByCookie;
    /**
     * Receive-buffer autotuning: the largest the receive ring may grow to (0: it keeps its size;
     * loopback, service mode, or the application's SO_RCVBUF). The window scale is chosen for it.
     */
    public int rxMax;
    /** Fast path: a larger receive ring was asked of the slow path and has not been moved to yet. */
    public boolean rxGrowAsked;
    /**
     * The larger receive ring's memory the slow path allocated (volatile: written by the slow
     * path, taken by the core, which moves the ring there once it is empty and clears this).
     */
    public volatile MemorySegment rxGrowBlock;
    /**
     * Send-buffer autotuning: the largest the transmit ring may grow to (0: it keeps its size;
     * loopback, service mode, or the application's SO_SNDBUF).
     */
    public int txMax;
    /** Fast path: a larger transmit ring was asked of the slow path and the old one not yet let go. */
    public boolean txGrowAsked;
    /**
     * The larger transmit ring's memory the slow path allocated, until the application moves the
     * ring there at its next write ({@link #takeTxGrowBlock}), or the flow is reclaimed.
     */
    private volatile MemorySegment txGrowBlock;
    /**
     * The memory the transmit ring left when the application moved it: the fast path may still
     * read from it until it takes it ({@link #takeTxRetired}, after CMD_TX_GROWN) and lets it go;
     * or the last of the ring's holders frees it with the rings.
     */
    private volatile MemorySegment txRetired;

    /** Slow path: memory for a larger transmit ring (the application moves to it at its next write). */
    public void offerTxGrowBlock(MemorySegment m) {
        txGrowBlock = m;
    }

    /** Whether a larger transmit ring waits for the application, and the last move is through. */
    public boolean txGrowReady() {
        return txGrowBlock != null && txRetired == null;
    }

    /** Takes the larger transmit ring's memory (application, or reclaim); null if none or taken. */
    public MemorySegment takeTxGrowBlock() {
        return (MemorySegment) TX_GROW_BLOCK.getAndSet(this, (MemorySegment) null);
    }

    /** Application: the transmit ring moved and left {@code old}. */
    public void retireTx(MemorySegment old) {
        txRetired = old;
    }

    /** Takes the memory the transmit ring left (fast path, or whoever frees the rings); null if none. */
    public MemorySegment takeTxRetired() {
        return (MemorySegment) TX_RETIRED.getAndSet(this, (MemorySegment) null);
    }

    /** Fast path: start of the current autotuning measurement (0: none), and RCV.NXT then. */
    public long rcvSpaceStartNanos;
    public int rcvSpaceSeq;
    /** Attached application: the service's id for this connection (-1 until it answered). */
    public int serviceId = -1;
    /** Attached application: the event queue its events come through (0: the session thread's; owner's thread). */
    public int serviceQueue;
    /** Attached application: the newest state snapshot applied from the service's events (TasServiceClient). */
    public volatile long serviceSnapshot;

    // ---- read by the application ----
    private volatile int publishedState;
    private int appMss;
    private int appRcvWscale;
    /** Written before publishedState (volatile), so a reader that sees ESTABLISHED sees it. */
    private Negotiated negotiated;
    /**
     * Receive-ring position of the right edge we advertised last. Written by the fast path, read
     * by the application to decide whether a read opened the window enough to announce (a plain
     * long is atomic on 64-bit HotSpot; a stale value only means one more or one fewer update).
     */
    public long rcvAdvEdgePos;
    /**
     * Looped data segments of this flow not yet received by the peer: they carry no payload but
     * point into this flow's transmit ring (fast path only; both ends share a core).
     */
    public int loopRefs;
    /**
     * The flow ended with looped segments still pointing into its transmit ring: the slow path
     * leaves the rings alone until the fast path has delivered them (volatile: written by the
     * fast path, read by the slow path's reclaim).
     */
    public volatile boolean ringsPinned;
    /** RCV.NXT as the last segment we sent acknowledged it (fast path only). */
    public int lastAckSent;
    /**
     * The SACK scoreboard (RFC 6675), fast path only: up to {@link #SACKED_MAX} ranges the peer
     * holds above SND.UNA, [sacked[2i], sacked[2i+1]), in sequence order, disjoint. Room for
     * {@link #SACKED_INLINE}, replaced once by room for all when a flow first needs more.
     */
    public int[] sacked = new int[2 * SACKED_INLINE];
    public int sackedCount;
    /** Zero-window probes sent since the peer last acknowledged anything (fast path only). */
    public int persistProbesOut;
    /** When this connection last sent a challenge ACK (RFC 5961 7), fast path only; 0: never. */
    public long lastChallengeAckNanos;
    /** When the segment at SND.UNA was last retransmitted in recovery (lost-retransmission detection). */
    public long firstRxtNanos;
    /** SND.MAX when the segment at SND.UNA was last retransmitted: data above it was sent later. */
    public int firstRxtSndMax;
    /** RFC 6675 HighRxt: the end of what loss recovery has retransmitted so far. */
    public int highRxt;
    /**
     * Undoing a loss response that proved spurious (RFC 2883 4, RFC 3708; Linux's undo_marker and
     * undo_retrans), fast path only: the window before the episode's first reduction, SND.UNA
     * then, and how many of the episode's retransmissions the peer has not yet reported as
     * duplicates (D-SACK); -1 when no episode is open. At 0 every retransmission was needless.
     */
    public int undoRetrans = -1;
    /**
     * Where the episode's first retransmissions began: a D-SACK counts only if it reports one of
     * them (Linux matches the segment's TCPCB_RETRANS mark); past these, or with copies of an
     * earlier episode still out, no undo (undoUnmatchable).
     */
    public final int[] undoSeqs = new int[4];
    public int undoSeqCount;
    public boolean undoUnmatchable;
    /**
     * A duplicate segment to report in the first SACK block of our next pure ACK (RFC 2883 4.1,
     * D-SACK; Linux's tcp_dsack_set), fast path only: [dsackLeft, dsackRight), if dsackPending.
     */
    public boolean dsackPending;
    public int dsackLeft;
    public int dsackRight;
    public int undoMarker;
    public int priorCwnd;
    public int priorSsthresh;
    /** RFC 8985 7: when the tail loss probe fires (0: not armed), and the SND.MAX it probed (tlpOut). */
    public long ptoDeadline;
    public boolean tlpOut;
    public int tlpHighSeq;
    /**
     * When a delayed ACK must go out at the latest (0: none pending). A segment we send first
     * carries it (fast path only).
     */
    public long delackDeadline;
    /**
     * Segments still to acknowledge at once before delayed ACKs begin (Linux's quick-ack mode, at
     * the start and after an idle period), and when data last arrived (fast path only).
     */
    public int quickAcks;
    public long lastDataRxNanos;
    /**
     * The FIN was consumed in order: the receive side is closed. Volatile: set after the last
     * byte's tail is published, so a reader that sees it also sees every byte before the FIN.
     */
    public volatile boolean inputClosed;
    /** app writes, then posts CMD_KEEPALIVE (whose volatile update publishes it). */
    public boolean keepalive;
    /**
     * Per-connection keepalive timing (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT); 0 = the engine's
     * tcp-keepalive-* options. app writes, then posts CMD_KEEPALIVE, like {@link #keepalive}.
     */
    public long keepaliveIdleNanos;
    public long keepaliveIntervalNanos;
    public int keepaliveCount;
    /**
     * The IPv4 type-of-service byte of this connection's segments without its ECN bits (IP_TOS;
     * the engine owns the ECN field). app writes, then posts CMD_KEEPALIVE; a segment built before
     * the fast path sees the command may still carry the old value, as with a socket option.
     */
    public int tos;
    /**
     * Nagle's algorithm (RFC 896, RFC 9293 3.7.4) on: TCP_NODELAY off. app writes, then posts
     * CMD_OPTIONS. Off by default, as Netty's TCP_NODELAY defaults to true.
     */
    public boolean nagle;
    /** TCP_QUICKACK was set: acknowledge at once again (app writes, then posts CMD_OPTIONS). */
    public volatile boolean quickAckRequested;
    /** End of the last sub-MSS segment of new data sent (Linux's snd_sml; fast path only). */
    public int sndSml;
    /**
     * TCP_USER_TIMEOUT (RFC 5482) in nanoseconds, 0: none (the retry counts decide). app writes,
     * then posts CMD_OPTIONS.
     */
    public long userTimeoutNanos;
    /**
     * Since when sent data has waited for an acknowledgment: the first send with nothing
     * outstanding, then each ACK that moves SND.UNA (fast path only).
     */
    public long unackedSinceNanos;
    /** Since when the peer's window has stayed shut under our probes (0: not probing; fast path only). */
    public long persistSinceNanos;

    // ---- scheduling on the owning fast path ----
    public TasFlow timerPrev;
    public TasFlow timerNext;
    /** Its wheel entry may fire late: it does not set how long a sleeping fast-path thread sleeps. */
    public boolean timerLazy;
    public TasFlow txNext;
    public TasFlow bumpNext;
    /** Linked in the fast path's transmit list (txNext). */
    public boolean inTxList;
    /** Linked in the fast path's ACK list (bumpNext). */
    public boolean inAckList;
    /** Application-side commands (CMD_* bits), set from any thread. */
    @SuppressWarnings("unused")
    private volatile int commands;

    // ---- lifecycle ----
    /** app: the application no longer holds the connection. */
    public volatile boolean released;
    /** Installed on its fast path (set there). */
    public boolean installed;
    /**
     * The fast path has removed the flow; the slow path reclaims it. Kept here rather than in the
     * record: it is what every late visitor (commands, lists) checks before touching the record.
     */
    public boolean dead;
    /** app: the application found the transmit ring full and wants WRITABLE. */
    public volatile boolean wantWritable;
    /** Listener that created the flow (passive open), until accepted. */
    public Object listener;
    /** The public handle ({@code TasConnection}). */
    public Object handle;
    /** Out-of-order intervals beyond the record's (start, end pairs), null until needed (growOoo). */
    private int[] oooMore;
    /** Why the connection ended abnormally (a TasError ordinal), 0 = none. */
    public volatile int error;

    /**
     * The rings are freed once both the engine and the application are done with them: the
     * engine when the flow dies or enters TIME_WAIT, the application when it closes (or, for a
     * passive open nobody accepted, when the engine forgets it). Until then unread bytes stay
     * readable even after the connection has closed.
     */
    private final AtomicInteger ringHolds = new AtomicInteger(2);
    private final AtomicBoolean appHoldDropped = new AtomicBoolean();
    /** Engine threads only, in order (fast path, then slow path through its queue). */
    private boolean engineHoldDropped;

    /** A flow whose record is {@code record}, slot {@code slot} of a {@link TasTcbSlab}. */
    TasFlow(MemorySegment record, int slot) {
        this.tcb = record;
        this.base = record.address();
        this.slot = slot;
        record.fill((byte) 0);
        state(TcpState.CLOSED);
        peerWscale(-1);
        timerSlot(-1);
    }

    /** A standalone flow with its own record (tests, benchmarks). */
    public TasFlow() {
        this(Arena.ofAuto().allocate(TCB), -1);
    }

    /**
     * Moves the record to a private heap copy: the slab is about to reuse its slot. Called by the
     * engine thread that reclaims the flow, once no other engine thread touches it.
     */
    void detach() {
        MemorySegment copy = Arena.ofAuto().allocate(TCB);
        copy.copyFrom(tcb);
        tcb = copy;
        base = copy.address();
        slot = -1;
    }

    /** The record itself (tests). */
    MemorySegment record() {
        return tcb;
    }

    /** The record's slot in its slab, -1 when it has none (standalone or reclaimed). */
    public int slot() {
        return slot;
    }

    /**
     * What a valid SYN cookie says about a connection: our ISS (the cookie), the peer's MSS, and,
     * when the SYN-ACK carried timestamps, the peer's window scale (-1 none), SACK and ECN; and the
     * window scale our cookie SYN-ACK announced.
     */
    public record CookieRebase(int iss, int mss, int peerWscale, boolean sack, boolean ts, boolean ecn,
                               int rcvWscale) {
    }

    /** The largest the receive ring may get (what the window scale must cover). */
    public int rxCapacityMax() {
        return Math.max(rxCapacity(), rxMax);
    }

    /** The receive ring's size: the ring's, or the one planned for a half-open connection (0: none). */
    public int rxCapacity() {
        TasByteRing r = rx;
        return r != null ? r.capacity() : rxPlanned;
    }

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
        return sndNxt() - sndUna();
    }

    /** The connection state as last set by the engine, for any thread. */
    public int publishedState() {
        return publishedState;
    }

    /** What the handshake settled, for any thread; null until the connection is established. */
    public Negotiated negotiated() {
        return negotiated;
    }

    /**
     * The options a connection settled on (RFC 9293 3.7.1 MSS, RFC 7323 window scale and
     * timestamps, RFC 2018 SACK, RFC 3168 ECN), captured when it becomes established.
     */
    public record Negotiated(int mss, int sndWscale, int rcvWscale, boolean timestamps, boolean sack, boolean ecn) {
    }

    /** The segment size, for the application's window-update decision. */
    public int appMss() {
        return appMss;
    }

    /** Our receive window scale, for the application's window-update decision. */
    /**
     * Bytes of the receive ring never announced in the window at shift {@code wscale}: eight units
     * of the scale, which absorb the edge's drift when the scaled window is rounded up so that it
     * never shrinks (RFC 7323 2.4); none unscaled, where nothing rounds. 0.02% of any ring.
     */
    public static int rcvWindowSlack(int wscale) {
        return wscale == 0 ? 0 : 8 << wscale;
    }

    public int appRcvWscale() {
        return appRcvWscale;
    }

    // ------------------------------------------------------------------ the record

    /** RCV.NXT. */
    public int rcvNxt() {
        return MEMORY.get(INT, base + RCV_NXT);
    }

    public void rcvNxt(int v) {
        MEMORY.set(INT, base + RCV_NXT, v);
    }

    /** SND.UNA. */
    public int sndUna() {
        return MEMORY.get(INT, base + SND_UNA);
    }

    public void sndUna(int v) {
        MEMORY.set(INT, base + SND_UNA, v);
    }

    /** SND.NXT (moves back for go-back-N retransmission). */
    public int sndNxt() {
        return MEMORY.get(INT, base + SND_NXT);
    }

    public void sndNxt(int v) {
        MEMORY.set(INT, base + SND_NXT, v);
    }

    /** Highest sequence number sent so far. */
    public int sndMax() {
        return MEMORY.get(INT, base + SND_MAX);
    }

    public void sndMax(int v) {
        MEMORY.set(INT, base + SND_MAX, v);
    }

    /** SND.WND, unscaled bytes. */
    public int sndWnd() {
        return MEMORY.get(INT, base + SND_WND);
    }

    public void sndWnd(int v) {
        MEMORY.set(INT, base + SND_WND, v);
    }

    /** Congestion window, bytes. */
    public int cwnd() {
        return MEMORY.get(INT, base + CWND);
    }

    public void cwnd(int v) {
        MEMORY.set(INT, base + CWND, v);
    }

    /** TcpState. */
    public int state() {
        return MEMORY.get(BYTE, base + STATE);
    }

    public void state(int v) {
        MEMORY.set(BYTE, base + STATE, (byte) v);
        if (v == TcpState.ESTABLISHED && negotiated == null) {
            negotiated = new Negotiated(mss(), sndWscale(), rcvWscale(), tsOn(), sackOn(), ecnOn());
        }
        publishedState = v;
    }

    /** Window scale we apply to windows we advertise (RFC 7323 2.2). */
    public int rcvWscale() {
        return MEMORY.get(BYTE, base + RCV_WSCALE);
    }

    public void rcvWscale(int v) {
        MEMORY.set(BYTE, base + RCV_WSCALE, (byte) v);
        appRcvWscale = v;
    }

    /** Scale the peer applies to the windows it advertises. */
    public int sndWscale() {
        return MEMORY.get(BYTE, base + SND_WSCALE);
    }

    public void sndWscale(int v) {
        MEMORY.set(BYTE, base + SND_WSCALE, (byte) v);
    }

    /** Bytes of TCP options on every data segment (timestamps). */
    public int optLen() {
        return MEMORY.get(BYTE, base + OPT_LEN);
    }

    public void optLen(int v) {
        MEMORY.set(BYTE, base + OPT_LEN, (byte) v);
    }

    /** Largest payload per segment: min(peer MSS, our MTU) less options. */
    public int mss() {
        return MEMORY.get(INT, base + MSS);
    }

    public void mss(int v) {
        MEMORY.set(INT, base + MSS, v);
        appMss = v;
    }


    /** TS.Recent (RFC 7323 4.3). */
    public int tsRecent() {
        return MEMORY.get(INT, base + TS_RECENT);
    }

    public void tsRecent(int v) {
        MEMORY.set(INT, base + TS_RECENT, v);
    }

    /** Duplicate ACKs in a row. */
    public int dupAcks() {
        return MEMORY.get(INT, base + DUP_ACKS);
    }

    public void dupAcks(int v) {
        MEMORY.set(INT, base + DUP_ACKS, v);
    }

    /** SND.WL1. */
    public int sndWl1() {
        return MEMORY.get(INT, base + SND_WL1);
    }

    public void sndWl1(int v) {
        MEMORY.set(INT, base + SND_WL1, v);
    }

    /** SND.WL2. */
    public int sndWl2() {
        return MEMORY.get(INT, base + SND_WL2);
    }

    public void sndWl2(int v) {
        MEMORY.set(INT, base + SND_WL2, v);
    }

    /** Out-of-order intervals held (at most {@link #oooCapacity()}). */
    public int oooCount() {
        return MEMORY.get(INT, base + OOO_COUNT);
    }

    public void oooCount(int v) {
        MEMORY.set(INT, base + OOO_COUNT, v);
    }

    /** Sequence number of the peer's FIN (finReceived). */
    public int finSeq() {
        return MEMORY.get(INT, base + FIN_SEQ);
    }

    public void finSeq(int v) {
        MEMORY.set(INT, base + FIN_SEQ, v);
    }

    /** Out-of-order intervals beyond rcvNxt: [start, end) sequence numbers, most recent first. */
    public int oooStart(int i) {
        return i < OOO_INLINE ? MEMORY.get(INT, base + OOO_START + ((long) i << 2)) : oooMore[(i - OOO_INLINE) << 1];
    }

    public void oooStart(int i, int v) {
        if (i < OOO_INLINE) {
            MEMORY.set(INT, base + OOO_START + ((long) i << 2), v);
        } else {
            oooMore[(i - OOO_INLINE) << 1] = v;
        }
    }

    public int oooEnd(int i) {
        return i < OOO_INLINE ? MEMORY.get(INT, base + OOO_END + ((long) i << 2)) : oooMore[((i - OOO_INLINE) << 1) + 1];
    }

    public void oooEnd(int i, int v) {
        if (i < OOO_INLINE) {
            MEMORY.set(INT, base + OOO_END + ((long) i << 2), v);
        } else {
            oooMore[((i - OOO_INLINE) << 1) + 1] = v;
        }
    }

    /** How many out-of-order intervals fit now: the record's, and {@link #oooMore}'s once allocated. */
    public int oooCapacity() {
        return oooMore == null ? OOO_INLINE : OOO_MAX;
    }

    /**
     * Room for more out-of-order intervals than the record holds ({@link #OOO_MAX} in all),
     * allocated once, the first time the flow has more holes than that: at most 480 bytes per
     * flow, against nothing for the flows that never need it. Fast path only.
     */
    public void growOoo() {
        if (oooMore == null) {
            oooMore = new int[(OOO_MAX - OOO_INLINE) << 1];
        }
    }

    /** Sequence number our FIN occupies (finSent). */
    public int finSentSeq() {
        return MEMORY.get(INT, base + FIN_SENT_SEQ);
    }

    public void finSentSeq(int v) {
        MEMORY.set(INT, base + FIN_SENT_SEQ, v);
    }

    /** NewReno recovery point (RFC 6582). */
    public int recover() {
        return MEMORY.get(INT, base + RECOVER);
    }

    public void recover(int v) {
        MEMORY.set(INT, base + RECOVER, v);
    }

    /** Largest window the peer ever offered (RFC 5961 5.2 MAX.SND.WND). */
    public int maxSndWnd() {
        return MEMORY.get(INT, base + MAX_SND_WND);
    }

    public void maxSndWnd(int v) {
        MEMORY.set(INT, base + MAX_SND_WND, v);
    }

    /** Slow-start threshold. */
    public int ssthresh() {
        return MEMORY.get(INT, base + SSTHRESH);
    }

    public void ssthresh(int v) {
        MEMORY.set(INT, base + SSTHRESH, v);
    }

    /** Pacing rate from the rate controller; 0 = unpaced. */
    public long rateBytesPerSec() {
        return MEMORY.get(LONG, base + RATE_BYTES_PER_SEC);
    }

    public void rateBytesPerSec(long v) {
        MEMORY.set(LONG, base + RATE_BYTES_PER_SEC, v);
    }

    /** Pacing bucket, bytes. */
    public long paceTokens() {
        return MEMORY.get(LONG, base + PACE_TOKENS);
    }

    public void paceTokens(long v) {
        MEMORY.set(LONG, base + PACE_TOKENS, v);
    }

    /** When the pacing bucket was last refilled. */
    public long paceLastNanos() {
        return MEMORY.get(LONG, base + PACE_LAST_NANOS);
    }

    public void paceLastNanos(long v) {
        MEMORY.set(LONG, base + PACE_LAST_NANOS, v);
    }

    /** SRTT (RFC 6298). */
    public long srttNanos() {
        return MEMORY.get(LONG, base + SRTT_NANOS);
    }

    public void srttNanos(long v) {
        MEMORY.set(LONG, base + SRTT_NANOS, v);
    }

    /** RTTVAR. */
    public long rttvarNanos() {
        return MEMORY.get(LONG, base + RTTVAR_NANOS);
    }

    public void rttvarNanos(long v) {
        MEMORY.set(LONG, base + RTTVAR_NANOS, v);
    }

    /** RTO. */
    public long rtoNanos() {
        return MEMORY.get(LONG, base + RTO_NANOS);
    }

    public void rtoNanos(long v) {
        MEMORY.set(LONG, base + RTO_NANOS, v);
    }

    /** When the timed sequence number was sent. */
    public long rttSentNanos() {
        return MEMORY.get(LONG, base + RTT_SENT_NANOS);
    }

    public void rttSentNanos(long v) {
        MEMORY.set(LONG, base + RTT_SENT_NANOS, v);
    }

    /** Sequence number being timed (timestamps off). */
    public int rttSeq() {
        return MEMORY.get(INT, base + RTT_SEQ);
    }

    public void rttSeq(int v) {
        MEMORY.set(INT, base + RTT_SEQ, v);
    }

    /** RTO doublings in a row. */
    public int backoff() {
        return MEMORY.get(INT, base + BACKOFF);
    }

    public void backoff(int v) {
        MEMORY.set(INT, base + BACKOFF, v);
    }

    /** Earliest deadline below, as scheduled in the timer wheel (0 = none). */
    public long timerDeadline() {
        return MEMORY.get(LONG, base + TIMER_DEADLINE);
    }

    public void timerDeadline(long v) {
        MEMORY.set(LONG, base + TIMER_DEADLINE, v);
    }

    /** Deadlines in engine nanoseconds, 0 = off. */
    public long rtoDeadline() {
        return MEMORY.get(LONG, base + RTO_DEADLINE);
    }

    public void rtoDeadline(long v) {
        MEMORY.set(LONG, base + RTO_DEADLINE, v);
    }

    public long persistDeadline() {
        return MEMORY.get(LONG, base + PERSIST_DEADLINE);
    }

    public void persistDeadline(long v) {
        MEMORY.set(LONG, base + PERSIST_DEADLINE, v);
    }

    public long keepaliveDeadline() {
        return MEMORY.get(LONG, base + KEEPALIVE_DEADLINE);
    }

    public void keepaliveDeadline(long v) {
        MEMORY.set(LONG, base + KEEPALIVE_DEADLINE, v);
    }

    public long timeWaitDeadline() {
        return MEMORY.get(LONG, base + TIME_WAIT_DEADLINE);
    }

    public void timeWaitDeadline(long v) {
        MEMORY.set(LONG, base + TIME_WAIT_DEADLINE, v);
    }

    public long paceDeadline() {
        return MEMORY.get(LONG, base + PACE_DEADLINE);
    }

    public void paceDeadline(long v) {
        MEMORY.set(LONG, base + PACE_DEADLINE, v);
    }

    /** When the last segment arrived (RFC 1122 4.2.3.6 counts idle time from it). */
    public long lastRxNanos() {
        return MEMORY.get(LONG, base + LAST_RX_NANOS);
    }

    public void lastRxNanos(long v) {
        MEMORY.set(LONG, base + LAST_RX_NANOS, v);
    }

    /** Retransmissions of the same segment. */
    public int retries() {
        return MEMORY.get(INT, base + RETRIES);
    }

    public void retries(int v) {
        MEMORY.set(INT, base + RETRIES, v);
    }

    /** Unanswered keepalive probes. */
    public int keepaliveProbes() {
        return MEMORY.get(INT, base + KEEPALIVE_PROBES);
    }

    public void keepaliveProbes(int v) {
        MEMORY.set(INT, base + KEEPALIVE_PROBES, v);
    }

    /** Timer-wheel slot, -1 = not scheduled. */
    public int timerSlot() {
        return MEMORY.get(INT, base + TIMER_SLOT);
    }

    public void timerSlot(int v) {
        MEMORY.set(INT, base + TIMER_SLOT, v);
    }

    /** ISS. */
    public int iss() {
        return MEMORY.get(INT, base + ISS);
    }

    public void iss(int v) {
        MEMORY.set(INT, base + ISS, v);
    }

    /** IRS. */
    public int irs() {
        return MEMORY.get(INT, base + IRS);
    }

    public void irs(int v) {
        MEMORY.set(INT, base + IRS, v);
    }

    /**
     * Segments of this flow on a round trip through the slow path, fast path only: the ticket of
     * the last one sent (a passive open's first flight, out for its rings, and what came behind
     * it), 0 when none is out. Until the segment with that ticket is back, every segment of the
     * flow follows the same way, so that the slow path's FIFO queues keep the port's order. -1: a
     * detour open with none of our tickets out yet (a flow a SYN cookie made, whose first flight
     * is still at the slow path; see TasFastPath#install).
     */
    public int rxDetour() {
        return MEMORY.get(INT, base + RX_DETOUR);
    }

    public void rxDetour(int v) {
        MEMORY.set(INT, base + RX_DETOUR, v);
    }


    /** Bytes ACKed in the current control interval. */
    public long ccAckedBytes() {
        return MEMORY.get(LONG, base + CC_ACKED_BYTES);
    }

    public void ccAckedBytes(long v) {
        MEMORY.set(LONG, base + CC_ACKED_BYTES, v);
    }

    /** Of which ECN-Echo marked. */
    public long ccEceBytes() {
        return MEMORY.get(LONG, base + CC_ECE_BYTES);
    }

    public void ccEceBytes(long v) {
        MEMORY.set(LONG, base + CC_ECE_BYTES, v);
    }

    /** Start of the current control interval. */
    public long ccLastControlNanos() {
        return MEMORY.get(LONG, base + CC_LAST_CONTROL_NANOS);
    }

    public void ccLastControlNanos(long v) {
        MEMORY.set(LONG, base + CC_LAST_CONTROL_NANOS, v);
    }

    /** DCTCP's alpha. */
    public double dctcpAlpha() {
        return MEMORY.get(DOUBLE, base + DCTCP_ALPHA);
    }

    public void dctcpAlpha(double v) {
        MEMORY.set(DOUBLE, base + DCTCP_ALPHA, v);
    }


    /** Losses in the current control interval. */
    public int ccLosses() {
        return MEMORY.get(INT, base + CC_LOSSES);
    }

    public void ccLosses(int v) {
        MEMORY.set(INT, base + CC_LOSSES, v);
    }

    /** -1 = the peer sent no window scale option. */
    public int peerWscale() {
        return MEMORY.get(INT, base + PEER_WSCALE);
    }

    public void peerWscale(int v) {
        MEMORY.set(INT, base + PEER_WSCALE, v);
    }


    /** The peer's FIN arrived (possibly ahead of missing data) at finSeq. */
    public boolean finReceived() {
        return (MEMORY.get(INT, base + FLAGS) & F_FIN_RECEIVED) != 0;
    }

    public void finReceived(boolean on) {
        flag(F_FIN_RECEIVED, on);
    }

    /** Send an ACK at the end of this duty cycle. */
    public boolean ackPending() {
        return (MEMORY.get(INT, base + FLAGS) & F_ACK_PENDING) != 0;
    }

    public void ackPending(boolean on) {
        flag(F_ACK_PENDING, on);
    }

    /** Echo ECE until the peer sends CWR (RFC 3168 6.1.3). */
    public boolean eceEcho() {
        return (MEMORY.get(INT, base + FLAGS) & F_ECE_ECHO) != 0;
    }

    public void eceEcho(boolean on) {
        flag(F_ECE_ECHO, on);
    }

    /** FIN requested by the application (shutdownOutput/close). */
    public boolean finRequested() {
        return (MEMORY.get(INT, base + FLAGS) & F_FIN_REQUESTED) != 0;
    }

    public void finRequested(boolean on) {
        flag(F_FIN_REQUESTED, on);
    }

    /** Our FIN has been sent (it occupies finSentSeq). */
    public boolean finSent() {
        return (MEMORY.get(INT, base + FLAGS) & F_FIN_SENT) != 0;
    }

    public void finSent(boolean on) {
        flag(F_FIN_SENT, on);
    }

    /** Timestamps negotiated (RFC 7323). */
    public boolean tsOn() {
        return (MEMORY.get(INT, base + FLAGS) & F_TS_ON) != 0;
    }

    public void tsOn(boolean on) {
        flag(F_TS_ON, on);
    }

    /** SACK negotiated (RFC 2018). */
    public boolean sackOn() {
        return (MEMORY.get(INT, base + FLAGS) & F_SACK_ON) != 0;
    }

    public void sackOn(boolean on) {
        flag(F_SACK_ON, on);
    }

    /** ECN negotiated (RFC 3168). */
    public boolean ecnOn() {
        return (MEMORY.get(INT, base + FLAGS) & F_ECN_ON) != 0;
    }

    public void ecnOn(boolean on) {
        flag(F_ECN_ON, on);
    }




    /** RttSeq is being timed. */
    public boolean rttTiming() {
        return (MEMORY.get(INT, base + FLAGS) & F_RTT_TIMING) != 0;
    }

    public void rttTiming(boolean on) {
        flag(F_RTT_TIMING, on);
    }

    /** NewReno: in recovery until sndUna passes recover. */
    public boolean inRecovery() {
        return (MEMORY.get(INT, base + FLAGS) & F_IN_RECOVERY) != 0;
    }

    public void inRecovery(boolean on) {
        flag(F_IN_RECOVERY, on);
    }



    /** The newest RTT sample (RFC 6298 measurement), 0 before the first. */
    public long rttLastNanos() {
        return MEMORY.get(LONG, base + RTT_LAST_NANOS);
    }

    public void rttLastNanos(long v) {
        MEMORY.set(LONG, base + RTT_LAST_NANOS, v);
    }

    /** The smallest RTT sample seen (the path's propagation delay, as far as we can tell), 0 before the first. */
    public long rttMinNanos() {
        return MEMORY.get(LONG, base + RTT_MIN_NANOS);
    }

    public void rttMinNanos(long v) {
        MEMORY.set(LONG, base + RTT_MIN_NANOS, v);
    }

    /** TIMELY: the RTT sample of the previous control interval. */
    public long timelyPrevRttNanos() {
        return MEMORY.get(LONG, base + TIMELY_PREV_RTT_NANOS);
    }

    public void timelyPrevRttNanos(long v) {
        MEMORY.set(LONG, base + TIMELY_PREV_RTT_NANOS, v);
    }

    /** TIMELY: moving average of RTT differences between intervals (the gradient's numerator). */
    public double timelyRttDiffNanos() {
        return MEMORY.get(DOUBLE, base + TIMELY_RTT_DIFF_NANOS);
    }

    public void timelyRttDiffNanos(double v) {
        MEMORY.set(DOUBLE, base + TIMELY_RTT_DIFF_NANOS, v);
    }

    /** TIMELY: intervals in a row with a non-positive gradient (hyperactive increase after 5). */
    public int timelyIncreases() {
        return MEMORY.get(INT, base + TIMELY_INCREASES);
    }

    public void timelyIncreases(int v) {
        MEMORY.set(INT, base + TIMELY_INCREASES, v);
    }

    /** CUBIC: when the current congestion-avoidance epoch began (0: none yet). */
    public long cubicEpochNanos() {
        return MEMORY.get(LONG, base + CUBIC_EPOCH_NANOS);
    }

    public void cubicEpochNanos(long v) {
        MEMORY.set(LONG, base + CUBIC_EPOCH_NANOS, v);
    }

    /** CUBIC: K, the time the window takes to climb back to W_max (RFC 9438 4.2). */
    public long cubicKNanos() {
        return MEMORY.get(LONG, base + CUBIC_K_NANOS);
    }

    public void cubicKNanos(long v) {
        MEMORY.set(LONG, base + CUBIC_K_NANOS, v);
    }

    /** HyStart: the smallest RTT sample of the previous slow-start round (0: none). */
    public long hsLastRoundMinRtt() {
        return MEMORY.get(LONG, base + HS_LAST_ROUND_MIN_RTT);
    }

    public void hsLastRoundMinRtt(long v) {
        MEMORY.set(LONG, base + HS_LAST_ROUND_MIN_RTT, v);
    }

    /** HyStart: the smallest RTT sample of this round (0: none yet). */
    public long hsRoundMinRtt() {
        return MEMORY.get(LONG, base + HS_ROUND_MIN_RTT);
    }

    public void hsRoundMinRtt(long v) {
        MEMORY.set(LONG, base + HS_ROUND_MIN_RTT, v);
    }

    /** CUBIC: the window before the last reduction, bytes (RFC 9438 W_max). */
    public int cubicWmax() {
        return MEMORY.get(INT, base + CUBIC_WMAX);
    }

    public void cubicWmax(int v) {
        MEMORY.set(INT, base + CUBIC_WMAX, v);
    }

    /** CUBIC: the plateau the cubic curve of this epoch is centred on, bytes. */
    public int cubicOrigin() {
        return MEMORY.get(INT, base + CUBIC_ORIGIN);
    }

    public void cubicOrigin(int v) {
        MEMORY.set(INT, base + CUBIC_ORIGIN, v);
    }

    /** CUBIC: W_est, the window Reno would have now (RFC 9438 4.3), bytes. */
    public int cubicWest() {
        return MEMORY.get(INT, base + CUBIC_WEST);
    }

    public void cubicWest(int v) {
        MEMORY.set(INT, base + CUBIC_WEST, v);
    }

    /** HyStart: the round ends when this sequence number is acknowledged. */
    public int hsRoundEnd() {
        return MEMORY.get(INT, base + HS_ROUND_END);
    }

    public void hsRoundEnd(int v) {
        MEMORY.set(INT, base + HS_ROUND_END, v);
    }

    /**
     * ECN (RFC 3168 6.1.2): the window was reduced for congestion until SND.UNA reaches this; an
     * ECE before then belongs to the same window and causes no second reduction.
     */
    public int ecnCwrSeq() {
        return MEMORY.get(INT, base + ECN_CWR_SEQ);
    }

    public void ecnCwrSeq(int v) {
        MEMORY.set(INT, base + ECN_CWR_SEQ, v);
    }

    /**
     * All boolean flags at once ({@code F_*} bits), for code that tests several per segment: one
     * read instead of one per flag.
     */
    public int flags() {
        return MEMORY.get(INT, base + FLAGS);
    }

    public void flags(int v) {
        MEMORY.set(INT, base + FLAGS, v);
    }

    private void flag(int bit, boolean on) {
        int v = MEMORY.get(INT, base + FLAGS);
        MEMORY.set(INT, base + FLAGS, on ? v | bit : v & ~bit);
    }

    private static long offset(String name) {
        return TCB.byteOffset(MemoryLayout.PathElement.groupElement(name));
    }

    /** A struct of {@code members} with the padding each needs, rounded up to whole cache lines. */
    private static StructLayout cacheAligned(MemoryLayout... members) {
        List<MemoryLayout> out = new ArrayList<>();
        long at = 0;
        for (MemoryLayout m : members) {
            long gap = (m.byteAlignment() - at % m.byteAlignment()) % m.byteAlignment();
            if (gap > 0) {
                out.add(MemoryLayout.paddingLayout(gap));
                at += gap;
            }
            out.add(m);
            at += m.byteSize();
        }
        long tail = (64 - at % 64) % 64;
        if (tail > 0) {
            out.add(MemoryLayout.paddingLayout(tail));
        }
        return MemoryLayout.structLayout(out.toArray(MemoryLayout[]::new)).withByteAlignment(64);
    }

    @Override
    public String toString() {
        return "TasFlow[" + io.tasnetty.engine.wire.Ipv4.toString(localIp) + ":" + localPort + " -> "
            + io.tasnetty.engine.wire.Ipv4.toString(remoteIp) + ":" + remotePort + " "
            + TcpState.name(publishedState) + "]";
    }
}
