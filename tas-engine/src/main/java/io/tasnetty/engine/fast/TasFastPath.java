package io.tasnetty.engine.fast;

import io.tasnetty.engine.TasEngineParams;
import io.tasnetty.engine.cc.TasCcAlgorithm;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.context.TasSocket;
import io.tasnetty.engine.flow.TasByteRing;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TasFlowTable;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.port.PacketBuffer;
import io.tasnetty.engine.port.TasPort;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;
import io.tasnetty.engine.wire.Ethernet;
import io.tasnetty.engine.wire.Ipv4;
import io.tasnetty.engine.wire.Tcp;
import io.tasnetty.engine.wire.TcpOptions;
import org.jctools.queues.MpscArrayQueue;
import org.jctools.queues.MpscUnboundedArrayQueue;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static io.tasnetty.engine.flow.TasSeq.ge;
import static io.tasnetty.engine.flow.TasSeq.gt;
import static io.tasnetty.engine.flow.TasSeq.le;
import static io.tasnetty.engine.flow.TasSeq.lt;

/**
 * One fast-path agent: owns one RX/TX queue pair of the port and the flows steered to it.
 *
 * <p>Duty cycle ({@link #doWork}): receive a burst, take looped-back frames, run control commands
 * from the slow path, run application commands (transmit bumps, window updates, closes), expire
 * timers, release segments of flows with something to send, flush the transmit batch. Segments
 * that are not for a known flow (SYN to a listener, ARP, strays) go to the slow path as exceptions.
 * Nothing on this path allocates, locks or logs; every drop is counted.
 */
public final class TasFastPath {
    private static final int RX_BURST = 32;
    private static final int TX_BATCH = 64;
    private static final int MAX_SEGMENTS_PER_TURN = 16;
    private static final long TIMER_TICK_NANOS = 1_000_000L;
    private static final long PERSIST_MIN_NANOS = 200_000_000L;
    private static final long PERSIST_MAX_NANOS = 60_000_000_000L;

    /** What the fast path needs from the rest of the engine. */
    public interface Engine {
        /** Hands a packet the fast path does not handle to the slow path (ownership passes). */
        boolean exception(PacketBuffer buf);

        /** A flow is gone from the fast path: reclaim its rings and identity. */
        void flowDead(TasFlow f);

        /** The fast-path agent that owns loopback frames for this flow tuple. */
        TasFastPath loopbackTarget(int srcIp, int srcPort, int dstIp, int dstPort);

        /** True for the engine's own address and 127.0.0.0/8. */
        boolean isLocal(int ip);

        /** The engine no longer needs the flow's rings (they are freed once the application is done too). */
        void engineDoneWithRings(TasFlow f);

        /** The application will never see this flow (a passive open not accepted): drop its hold on the rings. */
        void forgetUnaccepted(TasFlow f);

        /** True with kni-name: frames the engine does not consume go to the slow path (and on to the kernel). */
        default boolean hasKernelPath() {
            return false;
        }
    }

    private final int queue;
    private final TasPort port;
    private final TasEngineParams params;
    private final TasCounters counters;
    private final TasCcAlgorithm cc;
    private final Engine engine;
    private final boolean softwareChecksums;
    /** kni-name: what the engine does not consume goes to the slow path, which passes it to the kernel. */
    private final boolean kernelPath;

    private final TasFlowTable<TasFlow> flows;
    private final TasTimerWheel timers;
    private final PacketBuffer[] rxBufs = new PacketBuffer[RX_BURST];
    private final PacketBuffer[] txBatch = new PacketBuffer[TX_BATCH];
    private final PacketBuffer[] oneBuf = new PacketBuffer[1];
    private int txCount;
    private final MpscArrayQueue<TasFlow> commands;
    private final MpscUnboundedArrayQueue<Runnable> control = new MpscUnboundedArrayQueue<>(64);
    private final MpscArrayQueue<PacketBuffer> loopbackIn = new MpscArrayQueue<>(4096);
    private final MpscArrayQueue<PacketBuffer> foreignTx = new MpscArrayQueue<>(1024);
    /** Segments of flows owned here that arrived on another core's queue (see {@link #handOver}). */
    private final MpscArrayQueue<PacketBuffer> handedIn = new MpscArrayQueue<>(4096);
    private final PacketBuffer[] handedBatch = new PacketBuffer[RX_BURST];
    /** True while {@link #receive} runs on a handed-over segment. */
    private boolean rxHandedOver;
    private final TcpOptions opts = new TcpOptions();
    /** SACK blocks of the segment being built (copied from the flow's out-of-order intervals). */
    private final int[] sackLeft = new int[TasFlow.OOO_MAX];
    private final int[] sackRight = new int[TasFlow.OOO_MAX];
    private final TimerExpiry timerExpiry = new TimerExpiry();

    /** Flows with something to send, in FIFO order (intrusive list through {@code txNext}). */
    private TasFlow txHead;
    private TasFlow txTail;
    /** Flows that owe an ACK at the end of this cycle (intrusive list through {@code bumpNext}). */
    private TasFlow ackHead;
    private int ipId;
    private static final int CHALLENGE_ACKS_PER_SECOND = 1000;
    private long challengeWindowStart;
    private int challengeAcksInWindow;
    private long lastNow;
    private volatile boolean sleeping;

    // Per-segment scratch, valid during one processSegment call.
    private int segSeq;
    private int segAck;
    private int segFlags;
    private int segWnd;
    private int segLen;
    private long segPayloadOff;
    private boolean segCe;
    private MemorySegment segMem;

    public TasFastPath(int queue, TasPort port, TasEngineParams params, TasCounters counters, TasCcAlgorithm cc,
                       Engine engine, long now) {
        this.queue = queue;
        this.port = port;
        this.params = params;
        this.counters = counters;
        this.cc = cc;
        this.engine = engine;
        this.softwareChecksums = params.softwareChecksums() || !port.capabilities().txChecksumOffload();
        this.kernelPath = engine.hasKernelPath();
        this.flows = new TasFlowTable<>(1024);
        this.timers = new TasTimerWheel(TIMER_TICK_NANOS, now);
        int cap = Integer.highestOneBit(Math.max(1024, params.maxFlows() * 2) - 1) << 1;
        this.commands = new MpscArrayQueue<>(cap);
    }

    public int queue() {
        return queue;
    }

    public TasCounters counters() {
        return counters;
    }

    /** Flows currently installed on this core. */
    public int flowCount() {
        return flows.size();
    }

    // ------------------------------------------------------------------ cross-thread entry points

    /** Any thread: application commands for a flow owned here. */
    public void command(TasFlow f, int bits) {
        if (f.postCommand(bits)) {
            enqueueCommand(f);
        }
    }

    /** Any thread: queues a flow whose command bits were set. */
    public void enqueueCommand(TasFlow f) {
        while (!commands.offer(f)) {
            // Cannot happen while the queue holds twice the flow limit (each flow is queued at
            // most once at a time); never drop a command. (No counter: this is not our thread.)
            Thread.onSpinWait();
        }
        wake();
    }

    /** Slow path: installs a new flow here (its queue field already names this agent). */
    public void install(TasFlow f) {
        control(() -> install(f, lastNow));
    }

    /** Any thread: run {@code r} on this agent (slow-path control: install, remove). */
    public void control(Runnable r) {
        control.offer(r);
        wake();
    }

    /**
     * Any thread: a frame looped back inside the engine, to be received here. Returns false (and
     * frees the frame) when the queue is full; the caller counts the drop in its own counters,
     * since only this agent's thread may write ours.
     */
    public boolean deliverLoopback(PacketBuffer buf) {
        if (!loopbackIn.offer(buf)) {
            port.free(buf);
            return false;
        }
        wake();
        return true;
    }

    /**
     * Slow path: a validated IPv4/TCP segment of a flow installed (or being installed) on this
     * core that the port delivered to another core's queue. Ownership passes on success; on false
     * (queue full) the caller keeps the buffer. The slow path queues a flow's install before it
     * hands over any segment of it, and this agent runs its control queue before such segments
     * (see {@link #drainHandedOver}), so they find their flow unless it has left meanwhile.
     */
    public boolean handOver(PacketBuffer buf) {
        if (!handedIn.offer(buf)) {
            return false;
        }
        wake();
        return true;
    }

    /** Any thread (slow path): a finished frame to transmit from this queue. */
    public boolean transmitForeign(PacketBuffer buf) {
        if (!foreignTx.offer(buf)) {
            return false;
        }
        wake();
        return true;
    }

    private void wake() {
        // Dekker pairing with idle(): the offer above is a full fence (CAS), so reading `sleeping`
        // after it sees the agent's store made before it re-checked the queues.
        if (sleeping) {
            port.wakeup(queue);
        }
    }

    // ------------------------------------------------------------------ duty cycle

    /** One duty cycle; returns the amount of work done (0 = idle). */
    public int doWork(long now) {
        int work = 0;
        lastNow = now;
        int n = port.rxBurst(queue, rxBufs, RX_BURST);
        for (int i = 0; i < n; i++) {
            PacketBuffer b = rxBufs[i];
            rxBufs[i] = null;
            receive(b, now, false);
        }
        work += n;
        for (int i = 0; i < RX_BURST; i++) {
            PacketBuffer b = loopbackIn.relaxedPoll();
            if (b == null) {
                break;
            }
            receive(b, now, true);
            work++;
        }
        work += runControl();
        work += drainHandedOver(now);
        work += runCommands(now);
        work += timers.advance(now, timerExpiry);
        work += transmitPending(now);
        work += sendAcks(now);
        work += drainForeign();
        flush();
        return work;
    }

    /** Nanoseconds this agent may sleep before a timer is due (-1: no timer). */
    public long nanosToNextTimer(long now) {
        return timers.nanosToNext(now);
    }

    /**
     * Blocks until work may be waiting (frames, commands, a timer). Called by the agent's thread
     * after it found nothing to do for the poll interval.
     */
    public void idle(long now, long maxNanos) {
        long t = timers.nanosToNext(now);
        long timeout = t < 0 ? maxNanos : Math.min(t, maxNanos);
        sleeping = true;
        try {
            if (!commands.isEmpty() || !control.isEmpty() || !loopbackIn.isEmpty() || !foreignTx.isEmpty()
                || !handedIn.isEmpty() || txHead != null || txCount > 0) {
                return;
            }
            port.awaitRx(queue, timeout);
        } finally {
            sleeping = false;
        }
    }

    private int runControl() {
        int n = 0;
        Runnable r;
        while ((r = control.relaxedPoll()) != null) {
            r.run();
            n++;
        }
        return n;
    }

    /**
     * Receives the segments the slow path handed over, each as a frame from the port (counted in
     * RX_PACKETS where it arrived, not again here). Up to a burst is taken first,
     * then the control queue runs: each take is an acquire that makes visible every install the
     * slow path queued before handing the segment over, so its flow is in the table now. A segment
     * whose flow is no longer here is dropped and counted, never sent back (no ping-pong).
     */
    private int drainHandedOver(long now) {
        int n = 0;
        PacketBuffer b;
        while (n < RX_BURST && (b = handedIn.relaxedPoll()) != null) {
            handedBatch[n++] = b;
        }
        if (n == 0) {
            return 0;
        }
        int work = runControl() + n;
        rxHandedOver = true;
        try {
            for (int i = 0; i < n; i++) {
                b = handedBatch[i];
                handedBatch[i] = null;
                // As a looped frame: the core it arrived on already validated it (headers,
                // checksums, addresses), and it is IPv4/TCP for us, so nothing goes to the kernel.
                receive(b, now, true);
            }
        } finally {
            rxHandedOver = false;
        }
        return work;
    }

    private int drainForeign() {
        int n = 0;
        PacketBuffer b;
        while (txCount < TX_BATCH && (b = foreignTx.relaxedPoll()) != null) {
            // Foreign frames are ARP from the slow path, or anything from the kernel (kni-name):
            // only an IPv4 destination can mean in-engine loopback.
            boolean ipv4 = b.length >= Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH
                && Ethernet.etherType(b.segment, b.offset) == Ethernet.TYPE_IPV4;
            enqueueTx(b, ipv4 ? Ipv4.dst(b.segment, b.offset + Ethernet.HEADER_LENGTH) : 0);
            n++;
        }
        return n;
    }

    // ------------------------------------------------------------------ receive

    private void receive(PacketBuffer b, long now, boolean looped) {
        MemorySegment s = b.segment;
        long o = b.offset;
        int len = b.length;
        if (!rxHandedOver) {
            counters.increment(TasCounter.RX_PACKETS);
            counters.add(TasCounter.RX_BYTES, len);
        }
        if (len < Ethernet.HEADER_LENGTH) {
            drop(b, TasCounter.DROP_MALFORMED_ETH);
            return;
        }
        int type = Ethernet.etherType(s, o);
        if (type != Ethernet.TYPE_IPV4) {
            if (type == Ethernet.TYPE_ARP || kernelPath) {
                toSlowPath(b);
            } else {
                drop(b, TasCounter.DROP_UNKNOWN_ETHERTYPE);
            }
            return;
        }
        long ipOff = o + Ethernet.HEADER_LENGTH;
        int ihl = Ipv4.validate(s, ipOff, len - Ethernet.HEADER_LENGTH);
        if (ihl < 0) {
            drop(b, TasCounter.DROP_MALFORMED_IP);
            return;
        }
        // Unlike TAS, verify checksums unless the port (or the in-engine loopback) already did.
        boolean trusted = looped;
        if (!trusted && (b.flags & PacketBuffer.RX_IP_CSUM_GOOD) == 0 && !Ipv4.isHeaderChecksumValid(s, ipOff, ihl)) {
            drop(b, TasCounter.DROP_IP_CHECKSUM);
            return;
        }
        if (Ipv4.isFragment(s, ipOff)) {
            dropOrKernel(b, TasCounter.DROP_IP_FRAGMENT, looped);
            return;
        }
        int dstIp = Ipv4.dst(s, ipOff);
        if (!engine.isLocal(dstIp)) {
            dropOrKernel(b, TasCounter.DROP_NOT_FOR_US, looped);
            return;
        }
        int srcIp = Ipv4.src(s, ipOff);
        if (!looped && isMartian(srcIp, dstIp)) {
            drop(b, TasCounter.DROP_MARTIAN);
            return;
        }
        if (Ipv4.protocol(s, ipOff) != Ipv4.PROTO_TCP) {
            dropOrKernel(b, TasCounter.DROP_NOT_TCP, looped);
            return;
        }
        long tcpOff = ipOff + ihl;
        int tcpLen = Ipv4.totalLength(s, ipOff) - ihl;
        int thl = Tcp.validate(s, tcpOff, tcpLen);
        if (thl < 0) {
            drop(b, TasCounter.DROP_MALFORMED_TCP);
            return;
        }
        if (!trusted && (b.flags & PacketBuffer.RX_L4_CSUM_GOOD) == 0
            && !Tcp.isChecksumValid(s, tcpOff, tcpLen, srcIp, dstIp)) {
            drop(b, TasCounter.DROP_TCP_CHECKSUM);
            return;
        }
        TasFlow f = flows.get(dstIp, Tcp.dstPort(s, tcpOff), srcIp, Tcp.srcPort(s, tcpOff));
        if (f == null) {
            if (rxHandedOver) {
                drop(b, TasCounter.DROP_STEERED_NO_FLOW); // its flow left this core meanwhile
                return;
            }
            toSlowPath(b); // SYN for a listener, or a stray: the slow path decides
            return;
        }
        if (thl > Tcp.MIN_HEADER_LENGTH) {
            if (!opts.parse(s, tcpOff + Tcp.MIN_HEADER_LENGTH, thl - Tcp.MIN_HEADER_LENGTH)) {
                drop(b, TasCounter.DROP_MALFORMED_TCP);
                return;
            }
        } else {
            opts.clear();
        }
        counters.increment(TasCounter.RX_FLOW_SEGMENTS);
        segMem = s;
        segSeq = Tcp.seq(s, tcpOff);
        segAck = Tcp.ack(s, tcpOff);
        segFlags = Tcp.flags(s, tcpOff);
        segWnd = Tcp.window(s, tcpOff);
        segLen = tcpLen - thl;
        segPayloadOff = tcpOff + thl;
        segCe = Ipv4.ecn(s, ipOff) == Ipv4.ECN_CE;
        segment(f, now);
        segMem = null;
        port.free(b);
    }

    /**
     * RFC 1122 3.2.1.3: from the wire, no packet may come from 0/8, 127/8, a multicast or
     * reserved address (224/4, 240/4, broadcast) or from our own address, nor be addressed to
     * 127/8. Such a packet is spoofed; answering it would loop our replies back into the engine
     * (a LAND attack: a SYN "from" ourselves made two looped flows ACK each other without end).
     */
    private boolean isMartian(int src, int dst) {
        int srcNet = src >>> 24;
        return (dst >>> 24) == 127 || srcNet == 127 || srcNet == 0 || (src >>> 28) >= 0xE || src == params.ip();
    }

    private void drop(PacketBuffer b, TasCounter why) {
        counters.increment(why);
        port.free(b);
    }

    /** With kni-name, a frame from the port that the engine does not consume goes to the kernel (via the slow path). */
    private void dropOrKernel(PacketBuffer b, TasCounter why, boolean looped) {
        if (kernelPath && !looped) {
            toSlowPath(b);
        } else {
            drop(b, why);
        }
    }

    private void toSlowPath(PacketBuffer b) {
        if (!engine.exception(b)) {
            drop(b, TasCounter.DROP_EXCEPTION_QUEUE_FULL);
            return;
        }
        counters.increment(TasCounter.RX_EXCEPTIONS);
    }

    /** RFC 9293 3.10.7: SEGMENT ARRIVES, for a flow in a state other than LISTEN/CLOSED. */
    private void segment(TasFlow f, long now) {
        // Any segment shows the peer is alive (RFC 1122 4.2.3.6); the keepalive timer checks
        // this lazily instead of being rescheduled per segment.
        f.lastRxNanos(now);
        f.keepaliveProbes(0);
        if (f.state() == TcpState.SYN_SENT) {
            synSent(f, now);
            return;
        }
        int flags = segFlags;
        // Fast path proper: ESTABLISHED, ACK set, no SYN/RST/FIN/URG, in order. (TAS's common case.)
        if (f.state() == TcpState.ESTABLISHED && (flags & (Tcp.SYN | Tcp.RST | Tcp.FIN | Tcp.URG | Tcp.ACK)) == Tcp.ACK
            && segSeq == f.rcvNxt() && !f.released && pawsOk(f)) {
            if (!processAck(f, now)) {
                return;
            }
            // RFC 7323 4.3, after the ACK check as Linux does: a forged segment with an
            // unacceptable ACK must not move TS.Recent, or PAWS would then drop the peer's own.
            if (f.tsOn() && opts.hasTimestamp) {
                f.tsRecent(opts.tsVal);
            }
            if (f.state() == TcpState.ESTABLISHED && segLen > 0) {
                receivePayload(f, now);
            }
            return;
        }
        slowSegment(f, now);
    }

    private boolean pawsOk(TasFlow f) {
        // RFC 7323 5.3: reject old duplicates whose timestamp is older than TS.Recent.
        return !f.tsOn() || !opts.hasTimestamp || (opts.tsVal - f.tsRecent()) >= 0;
    }

    private int receiveWindow(TasFlow f) {
        TasByteRing rx = f.rx;
        if (rx == null || f.state() == TcpState.TIME_WAIT) {
            return 0; // TIME_WAIT: the rings may be reclaimed by now and nothing more is received
        }
        return (int) (rx.head() + rx.capacity() - rx.tailPlain());
    }

    private void slowSegment(TasFlow f, long now) {
        int flags = segFlags;
        int state = f.state();
        if (state == TcpState.CLOSED) {
            counters.increment(TasCounter.DROP_BAD_STATE);
            return;
        }
        if (state == TcpState.SYN_RCVD && (flags & (Tcp.SYN | Tcp.ACK | Tcp.RST)) == Tcp.SYN && segSeq == f.irs()) {
            // The peer retransmitted its SYN: our SYN-ACK was lost. It sits before RCV.NXT, so the
            // acceptability test below would answer with a bare ACK, which a peer in SYN-SENT
            // drops (RFC 9293 3.10.7.3); answer with the SYN-ACK again (as Linux's tcp_check_req).
            sendSynAck(f, now);
            return;
        }
        int len = segLen + ((flags & Tcp.SYN) != 0 ? 1 : 0) + ((flags & Tcp.FIN) != 0 ? 1 : 0);
        int wnd = receiveWindow(f);
        // Step 1: acceptability (RFC 9293 3.10.7.4, table of four cases).
        boolean acceptable;
        if (len == 0) {
            acceptable = wnd == 0 ? segSeq == f.rcvNxt() : inWindow(segSeq, f.rcvNxt(), wnd);
        } else {
            acceptable = wnd > 0 && (inWindow(segSeq, f.rcvNxt(), wnd) || inWindow(segSeq + len - 1, f.rcvNxt(), wnd));
        }
        if (acceptable && (flags & Tcp.RST) == 0 && !pawsOk(f)) {
            acceptable = false;
        }
        if (!acceptable) {
            if ((flags & Tcp.RST) != 0) {
                counters.increment(TasCounter.DROP_RST_INVALID);
                return;
            }
            if (state == TcpState.TIME_WAIT && (flags & Tcp.FIN) != 0) {
                scheduleAck(f); // retransmitted FIN: re-acknowledge and restart 2MSL (RFC 9293 3.10.7.4)
                f.timeWaitDeadline(now + params.timeWaitNanos());
                armTimer(f);
                return;
            }
            // A zero-window probe (seq == rcvNxt) still carries a valid ACK: process it below.
            if (!(wnd == 0 && segSeq == f.rcvNxt())) {
                counters.increment(segLen > 0 && lt(segSeq, f.rcvNxt())
                    ? TasCounter.TCP_DUPLICATE_SEGMENTS : TasCounter.DROP_OUT_OF_WINDOW);
                scheduleAck(f);
                return;
            }
        }
        // Step 2: RST (RFC 5961 3.2: only an exact match resets; in-window gets a challenge ACK).
        if ((flags & Tcp.RST) != 0) {
            if (segSeq == f.rcvNxt()) {
                peerReset(f, now);
            } else {
                challengeAck(f);
            }
            return;
        }
        // Step 4: SYN in a synchronized state (RFC 5961 4.2): challenge ACK.
        if ((flags & Tcp.SYN) != 0) {
            // (A retransmitted SYN in SYN_RCVD was answered above, before the acceptability test.)
            challengeAck(f);
            return;
        }
        if ((flags & Tcp.ACK) == 0) {
            counters.increment(TasCounter.DROP_BAD_STATE);
            return;
        }
        // Step 5: ACK.
        if (state == TcpState.SYN_RCVD) {
            if (gt(segAck, f.sndUna()) && le(segAck, f.sndMax())) {
                establishPassive(f, now);
            } else {
                sendRst(f.localIp, f.localPort, f.remoteIp, f.remotePort, f.remoteMac, segAck, 0, false, f.loopback);
                return;
            }
        }
        if (!processAck(f, now)) {
            return;
        }
        if (f.tsOn() && opts.hasTimestamp && le(segSeq, f.rcvNxt())) {
            f.tsRecent(opts.tsVal); // RFC 7323 4.3, once the ACK passed (see segment())
        }
        state = f.state();
        if (state == TcpState.CLOSED || f.dead) {
            return;
        }
        // Step 7: payload.
        if (segLen > 0) {
            if (state == TcpState.ESTABLISHED || state == TcpState.FIN_WAIT_1 || state == TcpState.FIN_WAIT_2) {
                if (f.released) {
                    // The application closed: data that can never be read means RST (RFC 9293 3.10.7.4, as Linux).
                    abortFlow(f, true, TasError.ABORTED, now);
                    return;
                }
                if (wnd > 0) {
                    receivePayload(f, now);
                } else {
                    counters.add(TasCounter.DROP_RX_RING_FULL, segLen);
                    scheduleAck(f);
                }
            } else {
                counters.increment(TasCounter.DROP_BAD_STATE);
            }
        }
        // Step 8: FIN.
        if ((flags & Tcp.FIN) != 0 && !f.finReceived()) {
            f.finReceived(true);
            f.finSeq(segSeq + segLen);
        }
        if (f.finReceived() && !f.inputClosed && f.rcvNxt() == f.finSeq()) {
            consumeFin(f, now);
        }
    }

    private static boolean inWindow(int seq, int lo, int wnd) {
        return ge(seq, lo) && lt(seq, lo + wnd);
    }

    private void consumeFin(TasFlow f, long now) {
        f.rcvNxt(f.rcvNxt() + 1);
        f.inputClosed = true;
        post(f, TasEvents.INPUT_CLOSED);
        scheduleAck(f);
        switch (f.state()) {
            case TcpState.SYN_RCVD, TcpState.ESTABLISHED -> f.state(TcpState.CLOSE_WAIT);
            case TcpState.FIN_WAIT_1 -> {
                if (f.finSent() && ge(f.sndUna(), f.finSentSeq() + 1)) {
                    enterTimeWait(f, now);
                } else {
                    f.state(TcpState.CLOSING);
                }
            }
            case TcpState.FIN_WAIT_2 -> enterTimeWait(f, now);
            default -> {
            }
        }
    }

    /**
     * RFC 9293 3.10.7.4 step 5 for synchronized states; returns false if the segment must be
     * dropped. Also the whole work for a pure ACK on the fast path.
     */
    private boolean processAck(TasFlow f, long now) {
        int ack = segAck;
        int sndUna = f.sndUna();
        int sndMax = f.sndMax();
        // RFC 9293: an ACK for something not yet sent: send ACK, drop. RFC 5961 5.2: so is an
        // ACK older than SND.UNA - MAX.SND.WND (else a blind in-window guess injects data with
        // half of all ACK values).
        if (gt(ack, sndMax) || lt(ack, sndUna - f.maxSndWnd())) {
            counters.increment(TasCounter.DROP_BAD_ACK);
            scheduleAck(f);
            return false;
        }
        int wnd = segWnd << f.sndWscale();
        if (gt(ack, sndUna)) {
            int acked = ack - sndUna;
            int dataAcked = acked;
            boolean finAcked = false;
            if (f.finSent() && gt(ack, f.finSentSeq())) {
                dataAcked--;
                finAcked = true;
            }
            TasByteRing tx = f.tx;
            if (dataAcked > 0 && tx != null) {
                tx.publishHead(tx.headPlain() + dataAcked);
            }
            f.sndUna(ack);
            if (lt(f.sndNxt(), ack)) {
                f.sndNxt(ack); // after a go-back-N rewind the peer may ack beyond what we re-sent
            }
            f.dupAcks(0);
            f.retries(0);
            f.backoff(0);
            rttSample(f, ack, now);
            boolean recovered = false;
            if (f.inRecovery()) {
                if (ge(ack, f.recover())) {
                    recovered = true;
                } else {
                    retransmitFirst(f, now); // partial ACK: the next hole is lost too (RFC 6582)
                }
            }
            cc.onAck(f, acked, (segFlags & Tcp.ECE) != 0, now);
            if (recovered) {
                // RFC 6582 3.2 step 3: the full ACK sets cwnd to ssthresh and ends recovery. Leave
                // recovery only after cc.onAck, so this ACK does not also grow the deflated window.
                f.inRecovery(false);
                if (f.cwnd() > f.ssthresh() && f.ssthresh() > 0) {
                    f.cwnd(f.ssthresh());
                }
            }
            f.rtoDeadline(f.sndUna() == f.sndMax() ? 0 : now + f.rtoNanos()); // RFC 6298 5.2, 5.3
            if (f.keepalive) {
                f.keepaliveProbes(0);
            }
            armTimer(f);
            if (dataAcked > 0) {
                // Dekker pairing with TasConnection.wantWritable(), which stores wantWritable and then
                // reads the head: our head store (a release store, no StoreLoad barrier) must be
                // visible before we read the flag, or both sides can miss each other and the writer
                // waits for a WRITABLE that never comes.
                VarHandle.fullFence();
                if (f.wantWritable) {
                    f.wantWritable = false;
                    post(f, TasEvents.WRITABLE);
                }
            }
            if (finAcked) {
                finAcked(f, now);
                if (f.dead) {
                    return false;
                }
            }
        } else if (ack == sndUna && segLen == 0 && (segFlags & (Tcp.SYN | Tcp.FIN)) == 0
            && sndUna != sndMax && wnd == f.sndWnd()) {
            // RFC 5681 2: a duplicate ACK.
            counters.increment(TasCounter.TCP_DUPLICATE_ACKS);
            f.dupAcks(f.dupAcks() + 1);
            if (f.dupAcks() == 3 && !f.inRecovery()) {
                counters.increment(TasCounter.TCP_FAST_RETRANSMITS);
                f.inRecovery(true);
                f.recover(f.sndMax());
                cc.onFastRetransmit(f, now);
                retransmitFirst(f, now);
            }
        }
        // Window update (RFC 9293 3.10.7.4: SND.WL1/WL2 guard against old segments).
        int wl1 = f.sndWl1();
        if (lt(wl1, segSeq) || (wl1 == segSeq && le(f.sndWl2(), ack))) {
            int oldWnd = f.sndWnd();
            boolean opened = wnd > oldWnd;
            if (wnd != oldWnd) {
                f.sndWnd(wnd);
                if (wnd > f.maxSndWnd()) {
                    f.maxSndWnd(wnd);
                }
            }
            f.sndWl1(segSeq);
            f.sndWl2(ack);
            if (wnd > 0 && f.persistDeadline() != 0) {
                f.persistDeadline(0);
                f.backoff(0);
                armTimer(f);
            }
            if (opened) {
                markTx(f);
            }
        }
        if (hasUnsent(f)) {
            markTx(f);
        }
        return true;
    }

    private void finAcked(TasFlow f, long now) {
        post(f, TasEvents.OUTPUT_CLOSED);
        switch (f.state()) {
            case TcpState.FIN_WAIT_1 -> {
                f.state(TcpState.FIN_WAIT_2);
                finWait2Timeout(f, now);
            }
            case TcpState.CLOSING -> enterTimeWait(f, now);
            case TcpState.LAST_ACK -> closeFlow(f, now);
            default -> {
            }
        }
    }

    private void rttSample(TasFlow f, int ack, long now) {
        // One timed segment per round trip at nanosecond resolution (RFC 6298 3, Karn's rule).
        // Timestamps tick in milliseconds (below), too coarse for RTTs of microseconds.
        long sample = -1;
        if (f.rttTiming() && gt(ack, f.rttSeq())) {
            sample = now - f.rttSentNanos(); // Karn: timing stops on retransmission
            f.rttTiming(false);
        }
        if (sample < 0) {
            return;
        }
        f.rttLastNanos(sample); // for delay-based control (TIMELY)
        if (f.rttMinNanos() == 0 || sample < f.rttMinNanos()) {
            f.rttMinNanos(sample);
        }
        if (f.srttNanos() == 0) {
            // RFC 6298 2.2
            f.srttNanos(sample);
            f.rttvarNanos(sample / 2);
        } else {
            // RFC 6298 2.3 (alpha 1/8, beta 1/4)
            long err = Math.abs(f.srttNanos() - sample);
            f.rttvarNanos((3 * f.rttvarNanos() + err) / 4);
            f.srttNanos((7 * f.srttNanos() + sample) / 8);
        }
        f.rtoNanos(Math.clamp(f.srttNanos() + Math.max(TIMER_TICK_NANOS, 4 * f.rttvarNanos()),
            params.rtoMinNanos(), params.rtoMaxNanos()));
    }

    private void receivePayload(TasFlow f, long now) {
        TasByteRing rx = f.rx;
        int seq = segSeq;
        int len = segLen;
        long off = segPayloadOff;
        int rcvNxt = f.rcvNxt();
        if (lt(seq, rcvNxt)) {
            int skip = rcvNxt - seq;
            if (skip >= len) {
                counters.increment(TasCounter.TCP_DUPLICATE_SEGMENTS);
                scheduleAck(f);
                return;
            }
            seq += skip;
            off += skip;
            len -= skip;
        }
        long tail = rx.tailPlain();
        int rel = seq - rcvNxt;
        // Trim to the ring's free space (the window's true right edge).
        int room = (int) (rx.head() + rx.capacity() - tail) - rel;
        if (len > room) {
            counters.add(TasCounter.DROP_RX_RING_FULL, len - Math.max(room, 0));
            len = room;
            if (len <= 0) {
                scheduleAck(f);
                return;
            }
        }
        if (f.finReceived() && gt(seq + len, f.finSeq())) {
            len = f.finSeq() - seq; // nothing is valid beyond the peer's FIN
            if (len <= 0) {
                return;
            }
        }
        rx.copyIn(tail + rel, segMem, off, len);
        if (segCe) {
            counters.increment(TasCounter.TCP_ECN_MARKED);
        }
        int fl = f.flags();
        if ((fl & TasFlow.F_ECN_ON) != 0) {
            // DCTCP receiver: echo marks per ACK (RFC 8257 3.2).
            f.flags(segCe ? fl | TasFlow.F_ECE_ECHO : fl & ~TasFlow.F_ECE_ECHO);
        }
        if (rel == 0) {
            int advance = len;
            f.rcvNxt(rcvNxt + len);
            if (f.oooCount() > 0) {
                advance += mergeOoo(f);
            }
            rx.publishTail(tail + advance);
            post(f, TasEvents.READABLE);
            scheduleAck(f);
            if (f.finReceived() && !f.inputClosed && f.rcvNxt() == f.finSeq()) {
                consumeFin(f, now);
            }
        } else {
            // Out of order: keep the bytes in place and remember the interval (TAS keeps one; we keep four).
            if (!addOoo(f, seq, seq + len)) {
                counters.increment(TasCounter.DROP_OOO_NO_SLOT);
            } else {
                counters.increment(TasCounter.TCP_OUT_OF_ORDER);
            }
            sendAckNow(f, now); // RFC 5681 4.2: immediate duplicate ACK for out-of-order data
        }
    }

    private boolean addOoo(TasFlow f, int start, int end) {
        int n = f.oooCount();
        // Merge with every overlapping or adjacent interval.
        for (int i = 0; i < n; i++) {
            int si = f.oooStart(i);
            int ei = f.oooEnd(i);
            if (le(start, ei) && ge(end, si)) {
                start = lt(start, si) ? start : si;
                end = gt(end, ei) ? end : ei;
                // Remove by shifting, not by moving the last one here: the list is newest first
                // and SACK reports its head, so the order must survive (RFC 2018 4).
                for (int j = i; j < n - 1; j++) {
                    f.oooStart(j, f.oooStart(j + 1));
                    f.oooEnd(j, f.oooEnd(j + 1));
                }
                n--;
                i = -1; // restart: the grown interval may now touch another
            }
        }
        if (n == TasFlow.OOO_MAX) {
            f.oooCount(n);
            return false;
        }
        // Most recent first, so SACK reports it first (RFC 2018 4).
        for (int i = n; i > 0; i--) {
            f.oooStart(i, f.oooStart(i - 1));
            f.oooEnd(i, f.oooEnd(i - 1));
        }
        f.oooStart(0, start);
        f.oooEnd(0, end);
        f.oooCount(n + 1);
        return true;
    }

    /** Consumes intervals now contiguous with rcvNxt; returns how far rcvNxt advanced. */
    private int mergeOoo(TasFlow f) {
        int advanced = 0;
        boolean again = true;
        while (again) {
            again = false;
            for (int i = 0; i < f.oooCount(); i++) {
                if (le(f.oooStart(i), f.rcvNxt())) {
                    if (gt(f.oooEnd(i), f.rcvNxt())) {
                        advanced += f.oooEnd(i) - f.rcvNxt();
                        f.rcvNxt(f.oooEnd(i));
                    }
                    for (int j = i; j < f.oooCount() - 1; j++) {
                        f.oooStart(j, f.oooStart(j + 1));
                        f.oooEnd(j, f.oooEnd(j + 1));
                    }
                    f.oooCount(f.oooCount() - 1);
                    again = true;
                    break;
                }
            }
        }
        return advanced;
    }

    /** RFC 9293 3.10.7.3: SYN-SENT. */
    private void synSent(TasFlow f, long now) {
        int flags = segFlags;
        boolean ackOk = false;
        if ((flags & Tcp.ACK) != 0) {
            if (le(segAck, f.iss()) || gt(segAck, f.sndMax())) {
                if ((flags & Tcp.RST) == 0) {
                    sendRst(f.localIp, f.localPort, f.remoteIp, f.remotePort, f.remoteMac, segAck, 0, false, f.loopback);
                }
                counters.increment(TasCounter.DROP_BAD_ACK);
                return;
            }
            ackOk = true;
        }
        if ((flags & Tcp.RST) != 0) {
            if (ackOk) {
                counters.increment(TasCounter.CONN_REFUSED);
                failConnect(f, TasError.REFUSED, now);
            } else {
                counters.increment(TasCounter.DROP_RST_INVALID);
            }
            return;
        }
        if ((flags & Tcp.SYN) == 0) {
            counters.increment(TasCounter.DROP_BAD_STATE);
            return;
        }
        f.irs(segSeq);
        f.rcvNxt(segSeq + 1);
        negotiate(f, opts, (flags & Tcp.ECE) != 0 && (flags & Tcp.CWR) == 0);
        if (f.tsOn()) {
            f.tsRecent(opts.tsVal);
        }
        if (ackOk) {
            f.sndUna(segAck);
            f.sndWnd(segWnd); // RFC 7323 2.2: the window of a <SYN,ACK> is never scaled
            f.maxSndWnd(f.sndWnd());
            f.sndWl1(segSeq);
            f.sndWl2(segAck);
            f.state(TcpState.ESTABLISHED);
            boolean synRetransmitted = f.retries() > 0;
            f.retries(0);
            f.backoff(0);
            f.rtoDeadline(0);
            rttSample(f, segAck, now); // the SYN was timed unless retransmitted (Karn)
            handshakeRto(f, synRetransmitted);
            cc.init(f, now);
            armTimer(f);
            counters.increment(TasCounter.CONN_ESTABLISHED);
            if (f.keepalive) {
                armKeepalive(f, now); // turned on before the connection was established
            }
            sendAckNow(f, now);
            post(f, TasEvents.CONNECTED);
            if (hasUnsent(f)) {
                markTx(f);
            }
        } else {
            // Simultaneous open (RFC 9293 3.5, figure 8).
            f.state(TcpState.SYN_RCVD);
            sendSynAck(f, now);
        }
    }

    /** Applies the peer's SYN options; ours were offered according to configuration. */
    private void negotiate(TasFlow f, TcpOptions o, boolean ecnOffered) {
        int peerMss = o.mss > 0 ? o.mss : 536; // RFC 9293 3.7.1: default 536 when absent
        f.tsOn(params.timestamps() && o.hasTimestamp);
        f.sackOn(params.sack() && o.sackPermitted);
        if (params.windowScale() && o.windowScale >= 0) {
            f.sndWscale(o.windowScale);
        } else {
            f.sndWscale(0);
            f.rcvWscale(0); // RFC 7323 2.2: scaling only if both sides sent the option
        }
        f.ecnOn(params.ecn() && ecnOffered);
        f.optLen(f.tsOn() ? 12 : 0);
        f.mss(Math.max(64, Math.min(peerMss, params.mss()) - f.optLen()));
    }

    /**
     * RTO when data transmission begins: from the handshake's RTT sample if there is one; else
     * the initial RTO, or 3 s if the SYN had to be retransmitted (RFC 6298 5.7).
     */
    private void handshakeRto(TasFlow f, boolean retransmitted) {
        if (f.srttNanos() == 0) {
            long rto = retransmitted ? Math.max(3_000_000_000L, params.rtoInitNanos()) : params.rtoInitNanos();
            f.rtoNanos(Math.clamp(rto, params.rtoMinNanos(), params.rtoMaxNanos()));
        }
    }

    private void establishPassive(TasFlow f, long now) {
        f.state(TcpState.ESTABLISHED);
        f.sndUna(f.iss() + 1); // the SYN is acknowledged; processAck then counts only data
        f.sndWnd(segWnd << f.sndWscale());
        f.maxSndWnd(f.sndWnd());
        f.sndWl1(segSeq);
        f.sndWl2(segAck);
        boolean synAckRetransmitted = f.retries() > 0;
        f.retries(0);
        f.backoff(0);
        // RFC 6298 5.2: nothing is outstanding once the SYN-ACK is acknowledged, so stop its
        // retransmission timer (processAck does not: this ACK does not move sndUna past iss + 1).
        f.rtoDeadline(0);
        armTimer(f);
        rttSample(f, segAck, now); // the SYN-ACK was timed unless retransmitted (Karn)
        handshakeRto(f, synAckRetransmitted);
        cc.init(f, now);
        counters.increment(TasCounter.CONN_ESTABLISHED);
        TasListener l = (TasListener) f.listener;
        if (l == null) {
            // No listener: an active open that crossed the peer's SYN (simultaneous open,
            // RFC 9293 3.5 figure 8) and went SYN-SENT -> SYN-RECEIVED -> ESTABLISHED.
            if (f.keepalive) {
                armKeepalive(f, now);
            }
            post(f, TasEvents.CONNECTED);
        } else if (l.isOpen()) {
            f.listener = null;
            l.enqueueEstablished((io.tasnetty.engine.context.TasConnection) f.handle);
        } else {
            abortFlow(f, true, TasError.ABORTED, now); // the listener closed meanwhile
        }
    }

    private void peerReset(TasFlow f, long now) {
        counters.increment(TasCounter.CONN_RESETS_RECEIVED);
        if (f.state() == TcpState.SYN_RCVD && f.listener != null) {
            // RFC 9293 3.10.7.4: a passive open reset by the peer goes back to LISTEN: just forget it.
            forgetUnaccepted(f);
            removeFlow(f, now, 0);
            return;
        }
        if (f.state() == TcpState.SYN_RCVD) {
            // RFC 9293 3.10.7.4: an active open (simultaneous open) reset in SYN-RECEIVED was refused.
            counters.increment(TasCounter.CONN_REFUSED);
            failConnect(f, TasError.REFUSED, now);
            return;
        }
        if (f.state() == TcpState.TIME_WAIT) {
            // RFC 1337 (TIME-WAIT assassination): ignore RST here, so a stray RST cannot end
            // TIME_WAIT early and let old duplicates into a new incarnation.
            counters.increment(TasCounter.DROP_BAD_STATE);
            return;
        }
        f.error = TasError.RESET.ordinal();
        removeFlow(f, now, TasEvents.RESET | TasEvents.CLOSED);
    }

    /** A passive open that will never reach the application: free its backlog slot and its rings. */
    private void forgetUnaccepted(TasFlow f) {
        ((TasListener) f.listener).unreserve();
        f.listener = null;
        engine.forgetUnaccepted(f);
    }

    private void failConnect(TasFlow f, TasError why, long now) {
        f.error = why.ordinal();
        removeFlow(f, now, TasEvents.CONNECT_FAILED | TasEvents.CLOSED);
    }

    /**
     * RFC 5961 7: challenge ACKs are rate limited (here per core, CHALLENGE_ACKS_PER_SECOND), so
     * a blind attacker cannot turn us into an ACK amplifier.
     */
    private void challengeAck(TasFlow f) {
        long now = lastNow;
        if (now - challengeWindowStart >= 1_000_000_000L) {
            challengeWindowStart = now;
            challengeAcksInWindow = 0;
        }
        if (challengeAcksInWindow >= CHALLENGE_ACKS_PER_SECOND) {
            counters.increment(TasCounter.TCP_CHALLENGE_ACKS_LIMITED);
            return;
        }
        challengeAcksInWindow++;
        counters.increment(TasCounter.TCP_CHALLENGE_ACKS);
        scheduleAck(f);
    }

    // ------------------------------------------------------------------ commands from the application

    private int runCommands(long now) {
        int n = 0;
        TasFlow f;
        while ((f = commands.relaxedPoll()) != null) {
            n++;
            if (f.installed) {
                applyCommands(f, f.takeCommands(), now);
            }
        }
        return n;
    }

    private void applyCommands(TasFlow f, int cmd, long now) {
        if (f.dead || cmd == 0) {
            return;
        }
        if ((cmd & TasFlow.CMD_ABORT) != 0) {
            if ((cmd & TasFlow.CMD_TX) != 0) {
                // Bytes flushed before the abort leave first, as on Linux, where write() transmits
                // at once and close() with SO_LINGER 0 discards only what the window held back.
                sendData(f, now, Integer.MAX_VALUE);
            }
            abortFlow(f, true, TasError.ABORTED, now);
            return;
        }
        if ((cmd & TasFlow.CMD_CLOSE) != 0) {
            appClose(f, now);
            if (f.dead) {
                return;
            }
        }
        if ((cmd & TasFlow.CMD_SHUTDOWN) != 0) {
            f.finRequested(true);
            markTx(f);
        }
        if ((cmd & TasFlow.CMD_TX) != 0) {
            markTx(f);
        }
        if ((cmd & TasFlow.CMD_RX_CONSUMED) != 0 && TcpState.isSynchronized(f.state()) && !f.inputClosed) {
            // Window update, while the peer may still send: after its FIN it sends nothing, and
            // it may be CLOSED already (our last ACK ended its LAST_ACK), where Linux answers with RST.
            scheduleAck(f);
        }
        if ((cmd & TasFlow.CMD_KEEPALIVE) != 0) {
            armKeepalive(f, now);
        }
    }

    /** Starts (or stops) the keepalive idle period from now, as the flow's keepalive flag says. */
    private void armKeepalive(TasFlow f, long now) {
        f.keepaliveProbes(0);
        f.keepaliveDeadline(f.keepalive && f.state() == TcpState.ESTABLISHED ? now + params.keepaliveIdleNanos() : 0);
        armTimer(f);
    }

    private void appClose(TasFlow f, long now) {
        int s = f.state();
        if (s == TcpState.SYN_SENT) {
            f.error = TasError.ABORTED.ordinal();
            removeFlow(f, now, TasEvents.CLOSED);
            return;
        }
        TasByteRing rx = f.rx;
        if (s == TcpState.TIME_WAIT || s == TcpState.CLOSED) {
            return;
        }
        if (rx != null && rx.readable() > 0) {
            // Unread data would be lost silently: tell the peer (RFC 9293 3.10.4, RFC 2525 2.17).
            abortFlow(f, true, TasError.ABORTED, now);
            return;
        }
        f.finRequested(true);
        finWait2Timeout(f, now);
        markTx(f);
    }

    /** Slow path → fast path: the flow enters this core. */
    private void install(TasFlow f, long now) {
        flows.put(f.localIp, f.localPort, f.remoteIp, f.remotePort, f);
        f.installed = true;
        f.rtoNanos(params.rtoInitNanos());
        f.createdNanos(now);
        if (f.state() == TcpState.SYN_SENT) {
            sendSyn(f, now);
        } else if (f.state() == TcpState.SYN_RCVD) {
            sendSynAck(f, now);
        }
        // Commands the application posted before the flow had a home (e.g. close while connecting).
        applyCommands(f, f.takeCommands(), now);
    }

    // ------------------------------------------------------------------ teardown

    private void enterTimeWait(TasFlow f, long now) {
        f.state(TcpState.TIME_WAIT);
        counters.increment(TasCounter.CONN_TIME_WAIT);
        f.rtoDeadline(0);
        f.persistDeadline(0);
        f.keepaliveDeadline(0);
        f.timeWaitDeadline(now + params.timeWaitNanos());
        post(f, TasEvents.CLOSED);
        engine.engineDoneWithRings(f); // TIME_WAIT needs no buffers: only the small flow object stays
        armTimer(f);
    }

    /**
     * An orphaned FIN_WAIT_2 (the application closed; the peer never sends FIN) would live
     * forever: like Linux's tcp_fin_timeout, give up after the TIME_WAIT period.
     */
    private void finWait2Timeout(TasFlow f, long now) {
        if (f.state() == TcpState.FIN_WAIT_2 && f.released && f.timeWaitDeadline() == 0) {
            f.timeWaitDeadline(now + params.timeWaitNanos());
            armTimer(f);
        }
    }

    /** Normal end (LAST_ACK acknowledged, TIME_WAIT over, orphaned FIN_WAIT_2 expired). */
    private void closeFlow(TasFlow f, long now) {
        boolean announced = f.state() == TcpState.TIME_WAIT;
        removeFlow(f, now, announced ? 0 : TasEvents.CLOSED);
    }

    /** Abort: optionally send RST, then remove (RFC 9293 3.10.4 ABORT). */
    private void abortFlow(TasFlow f, boolean sendRst, TasError why, long now) {
        if (sendRst && (TcpState.isSynchronized(f.state()) || f.state() == TcpState.SYN_RCVD)) {
            sendRst(f.localIp, f.localPort, f.remoteIp, f.remotePort, f.remoteMac, f.sndNxt(), 0, false, f.loopback);
        }
        if (f.listener != null) {
            forgetUnaccepted(f);
        }
        if (f.error == 0 && why != TasError.ABORTED) {
            f.error = why.ordinal();
        }
        removeFlow(f, now, (why == TasError.ABORTED ? 0 : TasEvents.RESET) | TasEvents.CLOSED);
    }

    private void removeFlow(TasFlow f, long now, int events) {
        if (f.dead) {
            return;
        }
        f.state(TcpState.CLOSED);
        f.dead = true;
        timers.cancel(f);
        unlinkTx(f);
        flows.remove(f.localIp, f.localPort, f.remoteIp, f.remotePort);
        if (events != 0) {
            post(f, events);
        }
        engine.flowDead(f);
    }

    // ------------------------------------------------------------------ timers

    private void armTimer(TasFlow f) {
        long d = 0;
        d = earliest(d, f.rtoDeadline());
        d = earliest(d, f.persistDeadline());
        d = earliest(d, f.keepaliveDeadline());
        d = earliest(d, f.timeWaitDeadline());
        d = earliest(d, f.paceDeadline());
        if (d == 0) {
            if (f.timerSlot() >= 0) {
                timers.cancel(f);
            }
        } else if (f.timerSlot() < 0 || d != f.timerDeadline()) {
            timers.schedule(f, d);
        }
    }

    private static long earliest(long a, long b) {
        return a == 0 ? b : b == 0 ? a : Math.min(a, b);
    }

    private final class TimerExpiry implements TasTimerWheel.Expiry {
        @Override
        public void expired(TasFlow f, long now) {
            onTimer(f, now);
        }
    }

    private void onTimer(TasFlow f, long now) {
        if (f.dead) {
            return;
        }
        if (f.timeWaitDeadline() != 0 && now >= f.timeWaitDeadline()) {
            f.timeWaitDeadline(0);
            closeFlow(f, now);
            return;
        }
        if (f.rtoDeadline() != 0 && now >= f.rtoDeadline()) {
            f.rtoDeadline(0);
            retransmitTimeout(f, now);
            if (f.dead) {
                return;
            }
        }
        if (f.persistDeadline() != 0 && now >= f.persistDeadline()) {
            // RFC 9293 3.8.6.1: probe the zero window; an out-of-window ACK makes the peer answer
            // with its current window, so no data is committed to a closed window.
            counters.increment(TasCounter.TCP_ZERO_WINDOW_PROBES);
            emit(f, Tcp.ACK, f.sndUna() - 1, 0, 0, now);
            f.backoff(Math.min(f.backoff() + 1, 16));
            f.persistDeadline(now + Math.min(PERSIST_MAX_NANOS,
                Math.max(PERSIST_MIN_NANOS, f.rtoNanos()) << f.backoff()));
        }
        if (f.keepaliveDeadline() != 0 && now >= f.keepaliveDeadline()) {
            keepaliveTimer(f, now);
            if (f.dead) {
                return;
            }
        }
        if (f.paceDeadline() != 0 && now >= f.paceDeadline()) {
            f.paceDeadline(0);
            markTx(f);
        }
        armTimer(f);
    }

    private void keepaliveTimer(TasFlow f, long now) {
        f.keepaliveDeadline(0);
        if (!f.keepalive || f.state() != TcpState.ESTABLISHED) {
            return;
        }
        if (f.keepaliveProbes() == 0 && now - f.lastRxNanos() < params.keepaliveIdleNanos()) {
            // Something arrived since the timer was set (or the last probe was answered):
            // the idle period runs from that segment (RFC 1122 4.2.3.6).
            f.keepaliveDeadline(f.lastRxNanos() + params.keepaliveIdleNanos());
            return;
        }
        if (f.keepaliveProbes() >= params.keepaliveProbes()) {
            f.error = TasError.TIMED_OUT.ordinal();
            abortFlow(f, true, TasError.TIMED_OUT, now);
            return;
        }
        f.keepaliveProbes(f.keepaliveProbes() + 1);
        counters.increment(TasCounter.TCP_KEEPALIVES);
        emit(f, Tcp.ACK, f.sndUna() - 1, 0, 0, now); // RFC 1122 4.2.3.6: SEG.SEQ = SND.NXT-1
        f.keepaliveDeadline(now + params.keepaliveIntervalNanos());
    }

    /** RFC 6298 5.4-5.7: retransmit the earliest unacknowledged segment, back off the timer. */
    private void retransmitTimeout(TasFlow f, long now) {
        counters.increment(TasCounter.TCP_RETRANSMIT_TIMEOUTS);
        int state = f.state();
        if (state == TcpState.SYN_SENT || state == TcpState.SYN_RCVD) {
            f.retries(f.retries() + 1);
            if (f.retries() > params.handshakeRetries()) {
                if (state == TcpState.SYN_SENT || f.listener == null) { // incl. simultaneous open
                    counters.increment(TasCounter.CONN_TIMEOUT);
                    failConnect(f, TasError.TIMED_OUT, now);
                } else {
                    abortFlow(f, false, TasError.TIMED_OUT, now);
                }
                return;
            }
            f.rtoNanos(Math.min(f.rtoNanos() * 2, params.rtoMaxNanos()));
            if (state == TcpState.SYN_SENT) {
                sendSyn(f, now);
            } else {
                sendSynAck(f, now);
            }
            return;
        }
        if (f.sndUna() == f.sndMax()) {
            return;
        }
        f.retries(f.retries() + 1);
        if (f.retries() > params.dataRetries()) {
            f.error = TasError.TIMED_OUT.ordinal();
            abortFlow(f, true, TasError.TIMED_OUT, now);
            return;
        }
        cc.onTimeout(f, now);
        f.inRecovery(false);
        f.dupAcks(0);
        f.rttTiming(false);
        f.rtoNanos(Math.min(f.rtoNanos() * 2, params.rtoMaxNanos())); // 5.5: back off
        f.backoff(f.backoff() + 1);
        // Go back N from the first unacknowledged byte (everything after it is re-sent as the
        // window allows; the receiver's out-of-order store keeps what it already has).
        f.sndNxt(f.sndUna());
        f.paceTokens(Math.max(f.paceTokens(), f.mss()));
        sendData(f, now, 1);
        f.rtoDeadline(now + f.rtoNanos());
        markTx(f);
    }

    /** Fast retransmit / partial ACK: re-send one segment at sndUna. */
    private void retransmitFirst(TasFlow f, long now) {
        int seq = f.sndUna();
        TasByteRing tx = f.tx;
        int unacked = (int) (tx.tail() - tx.headPlain());
        int len = Math.min(maxPayload(f), Math.min(unacked, f.sndMax() - seq));
        counters.increment(TasCounter.TCP_RETRANSMITTED_SEGMENTS);
        f.rttTiming(false);
        if (len > 0) {
            emit(f, Tcp.ACK | Tcp.PSH, seq, tx.headPlain(), len, now);
        } else if (f.finSent() && seq == f.finSentSeq()) {
            emit(f, Tcp.ACK | Tcp.FIN, seq, 0, 0, now);
        }
        f.rtoDeadline(now + f.rtoNanos());
        armTimer(f);
    }

    // ------------------------------------------------------------------ transmit

    private boolean hasUnsent(TasFlow f) {
        TasByteRing tx = f.tx;
        if (tx == null) {
            return false;
        }
        int fl = f.flags();
        boolean finSent = (fl & TasFlow.F_FIN_SENT) != 0;
        int sndNxt = f.sndNxt();
        int finSentSeq = finSent ? f.finSentSeq() : 0;
        long sentPos = tx.headPlain() + dataOffset(sndNxt, f.sndUna(), finSent, finSentSeq);
        return tx.tail() > sentPos
            || ((fl & TasFlow.F_FIN_REQUESTED) != 0 && !(finSent && gt(sndNxt, finSentSeq))); // FIN still to send
    }

    /** Data bytes between sndUna and seq (excluding a FIN at or before seq). */
    private static int dataOffset(TasFlow f, int seq) {
        return dataOffset(seq, f.sndUna(), f.finSent(), f.finSentSeq());
    }

    private static int dataOffset(int seq, int sndUna, boolean finSent, int finSentSeq) {
        int d = seq - sndUna;
        if (finSent && gt(seq, finSentSeq) && ge(finSentSeq, sndUna)) {
            d--;
        }
        return d;
    }

    /** Our FIN is in flight at sndNxt (not rewound). */
    private static boolean finOut(TasFlow f) {
        return f.finSent() && gt(f.sndNxt(), f.finSentSeq());
    }

    private void markTx(TasFlow f) {
        if (!f.inTxList && !f.dead) {
            f.inTxList = true;
            f.txNext = null;
            if (txTail == null) {
                txHead = f;
            } else {
                txTail.txNext = f;
            }
            txTail = f;
        }
    }

    private void unlinkTx(TasFlow f) {
        if (!f.inTxList) {
            return;
        }
        TasFlow prev = null;
        for (TasFlow x = txHead; x != null; prev = x, x = x.txNext) {
            if (x == f) {
                if (prev == null) {
                    txHead = x.txNext;
                } else {
                    prev.txNext = x.txNext;
                }
                if (txTail == x) {
                    txTail = prev;
                }
                break;
            }
        }
        f.inTxList = false;
        f.txNext = null;
    }

    /** Round-robin over flows with data: each turn releases at most MAX_SEGMENTS_PER_TURN segments. */
    private int transmitPending(long now) {
        int work = 0;
        TasFlow end = txTail;
        while (txHead != null) {
            TasFlow f = txHead;
            txHead = f.txNext;
            if (txHead == null) {
                txTail = null;
            }
            f.inTxList = false;
            f.txNext = null;
            if (!f.dead) {
                int sent = sendData(f, now, MAX_SEGMENTS_PER_TURN);
                work += sent;
                if (sent == MAX_SEGMENTS_PER_TURN && hasUnsent(f)) {
                    markTx(f); // more to send: go to the back of the line
                }
            }
            if (f == end) {
                break;
            }
        }
        return work;
    }

    /**
     * Releases up to {@code maxSegments} segments of {@code f} bounded by the peer's window, the
     * congestion window, the pacing rate and the MSS; then the FIN if requested and all data is out.
     */
    private int sendData(TasFlow f, long now, int maxSegments) {
        int state = f.state();
        if (state != TcpState.ESTABLISHED && state != TcpState.CLOSE_WAIT && state != TcpState.FIN_WAIT_1
            && state != TcpState.LAST_ACK && state != TcpState.CLOSING) {
            return 0;
        }
        TasByteRing tx = f.tx;
        long head = tx.headPlain();
        long tail = tx.tail();
        int sent = 0;
        int segMax = maxPayload(f);
        // Nothing below changes these but this loop (ACKs are processed elsewhere): keep them in
        // registers rather than re-reading the off-heap record per use.
        int sndUna = f.sndUna();
        int sndWnd = f.sndWnd();
        int window = Math.min(sndWnd, f.cwnd());
        boolean finSent = f.finSent();
        int finSentSeq = f.finSentSeq();
        while (sent < maxSegments) {
            int sndNxt = f.sndNxt();
            int off = dataOffset(sndNxt, sndUna, finSent, finSentSeq);
            long pos = head + off;
            int avail = (int) (tail - pos);
            int usable = sndUna + window - sndNxt;
            if (avail > 0 && !(finSent && ge(sndNxt, finSentSeq))) {
                int len = Math.min(avail, segMax);
                if (usable < len) {
                    if (usable <= 0 || (usable < segMax && usable < avail && sndUna != sndNxt)) {
                        // Sender SWS avoidance (RFC 9293 3.8.6.2.1): wait for a worthwhile window,
                        // unless nothing is in flight (then the window is all we get).
                        if (sndWnd == 0 && sndUna == sndNxt && f.persistDeadline() == 0) {
                            f.persistDeadline(now + Math.max(PERSIST_MIN_NANOS, f.rtoNanos()));
                            armTimer(f);
                        }
                        break;
                    }
                    len = usable;
                }
                if (f.rateBytesPerSec() > 0 && !paceAllows(f, len, now)) {
                    break;
                }
                int flags = Tcp.ACK;
                if (len == avail) {
                    flags |= Tcp.PSH;
                }
                if (!emit(f, flags, sndNxt, pos, len, now)) {
                    markTx(f); // no buffer: try again next cycle
                    break;
                }
                int sndMax = f.sndMax();
                if (sndNxt != sndMax) {
                    counters.increment(TasCounter.TCP_RETRANSMITTED_SEGMENTS);
                } else if (!f.rttTiming()) {
                    f.rttTiming(true);
                    f.rttSeq(sndNxt);
                    f.rttSentNanos(now);
                }
                sndNxt += len;
                f.sndNxt(sndNxt);
                if (gt(sndNxt, sndMax)) {
                    f.sndMax(sndNxt);
                }
                if (f.rtoDeadline() == 0) {
                    f.rtoDeadline(now + f.rtoNanos());
                    armTimer(f);
                }
                sent++;
                continue;
            }
            if (f.finRequested() && avail <= 0 && !finOut(f)) {
                if (!emit(f, Tcp.ACK | Tcp.FIN, f.sndNxt(), 0, 0, now)) {
                    markTx(f);
                    break;
                }
                if (!f.finSent()) {
                    f.finSent(true);
                    f.finSentSeq(f.sndNxt());
                    if (state == TcpState.ESTABLISHED) {
                        f.state(TcpState.FIN_WAIT_1);
                    } else if (state == TcpState.CLOSE_WAIT) {
                        f.state(TcpState.LAST_ACK);
                    }
                }
                f.sndNxt(f.sndNxt() + 1);
                if (gt(f.sndNxt(), f.sndMax())) {
                    f.sndMax(f.sndNxt());
                }
                if (f.rtoDeadline() == 0) {
                    f.rtoDeadline(now + f.rtoNanos());
                    armTimer(f);
                }
                sent++;
            }
            break;
        }
        return sent;
    }

    /**
     * Payload per segment: the MSS, less SACK blocks when we report holes (they ride on data
     * segments too, and header + options + payload must fit the MTU; f.mss already excludes
     * timestamps).
     */
    private static int maxPayload(TasFlow f) {
        if (f.sackOn() && f.oooCount() > 0) {
            return f.mss() - (TcpOptions.ackOptionsLength(f.tsOn(), f.oooCount()) - f.optLen());
        }
        return f.mss();
    }

    private boolean paceAllows(TasFlow f, int len, long now) {
        long rate = f.rateBytesPerSec();
        long elapsed = now - f.paceLastNanos();
        if (elapsed > 0) {
            long cap = Math.max(64 * 1024, rate / 500); // a burst of 2 ms at the rate, at least 64 KiB
            long add = elapsed >= 1_000_000_000L ? cap : elapsed * rate / 1_000_000_000L;
            f.paceTokens(Math.min(cap, f.paceTokens() + add));
            f.paceLastNanos(now);
        }
        if (f.paceTokens() >= len) {
            f.paceTokens(f.paceTokens() - len);
            return true;
        }
        long waitNanos = (len - f.paceTokens()) * 1_000_000_000L / rate;
        f.paceDeadline(now + Math.max(1, waitNanos));
        armTimer(f);
        return false;
    }

    private void scheduleAck(TasFlow f) {
        f.ackPending(true);
        if (!f.inAckList) {
            f.inAckList = true;
            f.bumpNext = ackHead;
            ackHead = f;
        }
    }

    /** One ACK per flow per cycle: a burst of segments is acknowledged once (TAS acks each). */
    private int sendAcks(long now) {
        int n = 0;
        TasFlow f = ackHead;
        ackHead = null;
        while (f != null) {
            TasFlow next = f.bumpNext;
            f.bumpNext = null;
            f.inAckList = false;
            // A flow that died this cycle may already be reclaimed: leave its record alone.
            if (!f.dead) {
                // Data segments sent this cycle carried the ACK already (emit clears ackPending).
                if (f.ackPending()) {
                    sendAckNow(f, now);
                    n++;
                }
                f.ackPending(false);
            }
            f = next;
        }
        return n;
    }

    private void sendAckNow(TasFlow f, long now) {
        // SEQ = SND.MAX, not SND.NXT: after a go-back-N rewind the peer may already hold data up
        // to SND.MAX, and a pure ACK below its RCV.NXT would be unacceptable (RFC 9293 3.10.7.4)
        // and dropped with the acknowledgment it carries.
        if (emit(f, Tcp.ACK, f.sndMax(), 0, 0, now)) {
            counters.increment(TasCounter.TCP_ACKS_SENT);
        }
    }

    private void sendSyn(TasFlow f, long now) {
        timeHandshake(f, now);
        emitSyn(f, Tcp.SYN | (params.ecn() ? Tcp.ECE | Tcp.CWR : 0), f.iss(), now);
        f.sndNxt(f.iss() + 1);
        f.sndMax(f.sndNxt());
        f.rtoDeadline(now + f.rtoNanos());
        armTimer(f);
    }

    private void sendSynAck(TasFlow f, long now) {
        timeHandshake(f, now);
        emitSyn(f, Tcp.SYN | Tcp.ACK | (f.ecnOn() ? Tcp.ECE : 0), f.iss(), now);
        f.sndNxt(f.iss() + 1);
        f.sndMax(f.sndNxt());
        f.rtoDeadline(now + f.rtoNanos());
        armTimer(f);
    }

    /** Times the first SYN (or SYN-ACK) for an initial RTT; a retransmission cancels it (Karn). */
    private static void timeHandshake(TasFlow f, long now) {
        if (f.retries() == 0) {
            f.rttTiming(true);
            f.rttSeq(f.iss());
            f.rttSentNanos(now);
        } else {
            f.rttTiming(false);
        }
    }

    /** Slow path → fast path: applies the SYN options the slow path parsed for a passive open. */
    public static void negotiatePassive(TasFlow f, TcpOptions peer, boolean ecn, TasEngineParams params) {
        int peerMss = peer.mss > 0 ? peer.mss : 536;
        f.tsOn(params.timestamps() && peer.hasTimestamp);
        f.sackOn(params.sack() && peer.sackPermitted);
        f.peerWscale(peer.windowScale);
        if (params.windowScale() && peer.windowScale >= 0) {
            f.sndWscale(peer.windowScale);
            f.rcvWscale(params.ourWindowScale(f.rx.capacity()));
        } else {
            f.sndWscale(0);
            f.rcvWscale(0);
        }
        f.ecnOn(params.ecn() && ecn);
        f.optLen(f.tsOn() ? 12 : 0);
        f.mss(Math.max(64, Math.min(peerMss, params.mss()) - f.optLen()));
        f.tsRecent(peer.tsVal);
    }

    private int tsClock(long now) {
        // Milliseconds (RFC 7323 5.4: 1 ms to 1 s per tick). A finer clock would wrap TSval's sign
        // within the 24 days a peer's PAWS allows, and idle connections would be dropped.
        return (int) (now / 1_000_000L);
    }

    private boolean emitSyn(TasFlow f, int flags, int seq, long now) {
        PacketBuffer b = allocTx();
        if (b == null) {
            return false;
        }
        MemorySegment s = b.segment;
        long o = b.offset;
        long tcpOff = o + Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH;
        boolean synAck = (flags & Tcp.ACK) != 0;
        // RFC 7323 2.2: a SYN-ACK may carry the option only if the SYN did.
        int wscale = !params.windowScale() ? -1 : synAck ? (f.peerWscale() >= 0 ? f.rcvWscale() : -1) : f.rcvWscale();
        boolean sack = params.sack() && (!synAck || f.sackOn());
        boolean ts = params.timestamps() && (!synAck || f.tsOn());
        int optLen = TcpOptions.writeSynOptions(s, tcpOff + Tcp.MIN_HEADER_LENGTH, params.mss(), wscale, sack, ts,
            tsClock(now), synAck ? f.tsRecent() : 0);
        int hdr = Tcp.MIN_HEADER_LENGTH + optLen;
        int window = Math.min(65535, receiveWindow(f)); // RFC 7323 2.2: windows in SYNs are never scaled
        Tcp.writeHeader(s, tcpOff, f.localPort, f.remotePort, seq, synAck ? f.rcvNxt() : 0, hdr, flags, window);
        f.rcvWndAdvertised(window);
        f.rcvAdvEdgePos = f.rx.tailPlain() + window;
        finishFrame(f, b, hdr, 0, Ipv4.ECN_NOT_ECT);
        return true;
    }

    /**
     * Builds and queues one segment of {@code f}: {@code len} payload bytes from transmit-ring
     * position {@code pos}, our current ACK and window, timestamps and SACK blocks as negotiated.
     */
    private boolean emit(TasFlow f, int flags, int seq, long pos, int len, long now) {
        PacketBuffer b = allocTx();
        if (b == null) {
            return false;
        }
        MemorySegment s = b.segment;
        long o = b.offset;
        long tcpOff = o + Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH;
        int fl = f.flags(); // the record is off-heap: read each field once per segment
        boolean ts = (fl & TasFlow.F_TS_ON) != 0;
        int sackBlocks = (fl & TasFlow.F_SACK_ON) != 0 ? f.oooCount() : 0;
        int optLen = 0;
        if (ts || sackBlocks > 0) {
            for (int i = 0; i < sackBlocks; i++) {
                sackLeft[i] = f.oooStart(i);
                sackRight[i] = f.oooEnd(i);
            }
            optLen = TcpOptions.writeAckOptions(s, tcpOff + Tcp.MIN_HEADER_LENGTH, ts, tsClock(now), f.tsRecent(),
                sackLeft, sackRight, sackBlocks);
        }
        int hdr = Tcp.MIN_HEADER_LENGTH + optLen;
        if ((fl & TasFlow.F_ECE_ECHO) != 0) {
            flags |= Tcp.ECE;
        }
        int wnd = receiveWindow(f);
        int wscale = f.rcvWscale();
        int adv = Math.min(wnd >>> wscale, 65535);
        Tcp.writeHeader(s, tcpOff, f.localPort, f.remotePort, seq, f.rcvNxt(), hdr, flags, adv);
        int advertised = adv << wscale;
        f.rcvWndAdvertised(advertised);
        TasByteRing rx = f.rx;
        f.rcvAdvEdgePos = rx == null ? 0 : rx.tailPlain() + advertised;
        if (len > 0) {
            f.tx.copyOut(pos, s, tcpOff + hdr, len);
        }
        f.flags(fl & ~TasFlow.F_ACK_PENDING); // this segment carries the ACK
        finishFrame(f, b, hdr, len, (fl & TasFlow.F_ECN_ON) != 0 && len > 0 ? Ipv4.ECN_ECT0 : Ipv4.ECN_NOT_ECT);
        return true;
    }

    private void finishFrame(TasFlow f, PacketBuffer b, int tcpHdrLen, int payload, int ecn) {
        MemorySegment s = b.segment;
        long o = b.offset;
        long ipOff = o + Ethernet.HEADER_LENGTH;
        long tcpOff = ipOff + Ipv4.MIN_HEADER_LENGTH;
        int tcpLen = tcpHdrLen + payload;
        Ethernet.write(s, o, f.remoteMac, params.mac(), Ethernet.TYPE_IPV4);
        Ipv4.writeHeader(s, ipOff, Ipv4.MIN_HEADER_LENGTH + tcpLen, ipId++ & 0xFFFF, ecn, Ipv4.DEFAULT_TTL,
            Ipv4.PROTO_TCP, f.localIp, f.remoteIp);
        b.length = Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH + tcpLen;
        if (f.loopback) {
            // Never leaves the engine: like Linux loopback, skip checksums and mark them good.
            b.flags = PacketBuffer.RX_IP_CSUM_GOOD | PacketBuffer.RX_L4_CSUM_GOOD;
        } else {
            checksum(b, s, ipOff, tcpOff, tcpLen, f.localIp, f.remoteIp);
        }
        enqueueTx(b, f.remoteIp);
    }

    private void checksum(PacketBuffer b, MemorySegment s, long ipOff, long tcpOff, int tcpLen, int src, int dst) {
        if (softwareChecksums) {
            Ipv4.headerChecksum(s, ipOff, Ipv4.computeHeaderChecksum(s, ipOff, Ipv4.MIN_HEADER_LENGTH));
            Tcp.checksum(s, tcpOff, Tcp.checksum(s, tcpOff, tcpLen, src, dst));
        } else {
            b.flags = PacketBuffer.TX_IP_CSUM | PacketBuffer.TX_TCP_CSUM;
            b.l2Length = Ethernet.HEADER_LENGTH;
            b.l3Length = Ipv4.MIN_HEADER_LENGTH;
            Tcp.checksum(s, tcpOff, Tcp.pseudoHeaderChecksum(src, dst, tcpLen));
        }
    }

    /** Sends RST for a segment (RFC 9293 3.10.7.1 rules are applied by the caller). */
    private void sendRst(int localIp, int localPort, int remoteIp, int remotePort, long remoteMac, int seq, int ack,
                         boolean withAck, boolean loopback) {
        PacketBuffer b = allocTx();
        if (b == null) {
            return;
        }
        MemorySegment s = b.segment;
        long o = b.offset;
        long ipOff = o + Ethernet.HEADER_LENGTH;
        long tcpOff = ipOff + Ipv4.MIN_HEADER_LENGTH;
        Tcp.writeHeader(s, tcpOff, localPort, remotePort, seq, ack, Tcp.MIN_HEADER_LENGTH,
            Tcp.RST | (withAck ? Tcp.ACK : 0), 0);
        Ethernet.write(s, o, remoteMac, params.mac(), Ethernet.TYPE_IPV4);
        Ipv4.writeHeader(s, ipOff, Ipv4.MIN_HEADER_LENGTH + Tcp.MIN_HEADER_LENGTH, ipId++ & 0xFFFF,
            Ipv4.ECN_NOT_ECT, Ipv4.DEFAULT_TTL, Ipv4.PROTO_TCP, localIp, remoteIp);
        b.length = Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH + Tcp.MIN_HEADER_LENGTH;
        if (loopback) {
            b.flags = PacketBuffer.RX_IP_CSUM_GOOD | PacketBuffer.RX_L4_CSUM_GOOD;
        } else {
            checksum(b, s, ipOff, tcpOff, Tcp.MIN_HEADER_LENGTH, localIp, remoteIp);
        }
        counters.increment(TasCounter.CONN_RESETS_SENT);
        enqueueTx(b, remoteIp);
    }

    private PacketBuffer allocTx() {
        if (txCount == TX_BATCH) {
            flush();
            if (txCount == TX_BATCH) {
                counters.increment(TasCounter.TX_NO_BUFFER);
                return null;
            }
        }
        if (port.alloc(oneBuf, 1) != 1) {
            counters.increment(TasCounter.TX_NO_BUFFER);
            return null;
        }
        PacketBuffer b = oneBuf[0];
        oneBuf[0] = null;
        return b;
    }

    private void enqueueTx(PacketBuffer b, int dstIp) {
        if (engine.isLocal(dstIp)) {
            // In-engine loopback: hand the frame to the agent that owns the reverse tuple.
            MemorySegment s = b.segment;
            long ipOff = b.offset + Ethernet.HEADER_LENGTH;
            long tcpOff = ipOff + Ipv4.MIN_HEADER_LENGTH;
            counters.increment(TasCounter.TX_PACKETS);
            counters.add(TasCounter.TX_BYTES, b.length);
            if (!engine.loopbackTarget(Ipv4.src(s, ipOff), Tcp.srcPort(s, tcpOff), dstIp, Tcp.dstPort(s, tcpOff))
                .deliverLoopback(b)) {
                counters.increment(TasCounter.DROP_LOOPBACK_QUEUE_FULL);
            }
            return;
        }
        txBatch[txCount++] = b;
        if (txCount == TX_BATCH) {
            flush();
        }
    }

    /** Hands the batch to the port; what it does not take stays for the next cycle. */
    private void flush() {
        int n = txCount;
        if (n == 0) {
            return;
        }
        int sent = port.txBurst(queue, txBatch, n);
        for (int i = 0; i < sent; i++) {
            counters.add(TasCounter.TX_BYTES, txBatch[i].length);
        }
        counters.add(TasCounter.TX_PACKETS, sent);
        if (sent < n) {
            counters.increment(TasCounter.TX_PORT_FULL);
            System.arraycopy(txBatch, sent, txBatch, 0, n - sent);
        }
        for (int i = n - sent; i < n; i++) {
            txBatch[i] = null;
        }
        txCount = n - sent;
    }

    // ------------------------------------------------------------------ events

    private static void post(TasFlow f, int events) {
        Object h = f.handle;
        if (h instanceof TasSocket s) {
            s.post(events);
        }
    }

    /** Frees every buffer still held (engine shutdown). */
    public void close() {
        for (int i = 0; i < txCount; i++) {
            port.free(txBatch[i]);
            txBatch[i] = null;
        }
        txCount = 0;
        PacketBuffer b;
        while ((b = loopbackIn.poll()) != null) {
            port.free(b);
        }
        while ((b = foreignTx.poll()) != null) {
            port.free(b);
        }
        while ((b = handedIn.poll()) != null) {
            port.free(b);
        }
    }

    /** Flows on this core (for shutdown and diagnostics; allocates). */
    public java.util.List<TasFlow> flowList() {
        java.util.List<TasFlow> l = new java.util.ArrayList<>();
        flows.forEach(l::add);
        return l;
    }
}
