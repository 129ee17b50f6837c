package io.tasnetty.engine.fast;

import io.tasnetty.engine.TasEngineParams;
import io.tasnetty.engine.cc.TasCcAlgorithm;
import io.tasnetty.engine.flow.TasByteRing;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.port.PacketBuffer;
import io.tasnetty.engine.port.TasPort;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;
import io.tasnetty.engine.wire.Ethernet;
import io.tasnetty.engine.wire.Ipv4;
import io.tasnetty.engine.wire.Tcp;
import io.tasnetty.engine.wire.TcpOptions;

import java.lang.foreign.MemorySegment;

import static io.tasnetty.engine.flow.TasSeq.ge;
import static io.tasnetty.engine.flow.TasSeq.gt;
import static io.tasnetty.engine.flow.TasSeq.lt;

/**
 * Output side of one fast-path agent ({@link TasFastPath}): which flows have something to send and
 * how much each may release (peer window, congestion window, pacing, MSS, sender SWS avoidance),
 * segment construction ({@link #emit}: ACK, window, timestamps, SACK blocks, checksums or their
 * offload), SYN/SYN-ACK and RST, the once-per-cycle ACK list, fast retransmission of the first
 * unacknowledged segment, and the transmit batch handed to the port (or looped back in the engine).
 *
 * <p>Runs on the agent's thread only. Deadlines it sets (RTO, persist, pacing) are armed through
 * {@link TcpTimers#arm(TasTimerWheel, TasFlow)} on the agent's wheel: the timers send through this
 * class, so this class holds the wheel rather than the timers.
 */
final class TcpOutput {
    private static final int TX_BATCH = 64;
    private static final int MAX_SEGMENTS_PER_TURN = 16;

    private final int queue;
    private final TasPort port;
    private final TasEngineParams params;
    private final TasCounters counters;
    private final TasFastPath.Engine engine;
    private final TasTimerWheel wheel;
    private final boolean softwareChecksums;

    private final PacketBuffer[] txBatch = new PacketBuffer[TX_BATCH];
    private final PacketBuffer[] oneBuf = new PacketBuffer[1];
    private int txCount;
    /** SACK blocks of the segment being built (copied from the flow's out-of-order intervals). */
    private final int[] sackLeft = new int[TasFlow.OOO_INLINE + 1];
    private final int[] sackRight = new int[TasFlow.OOO_INLINE + 1];

    /** Flows with something to send, in FIFO order (intrusive list through {@code txNext}). */
    private TasFlow txHead;
    private TasFlow txTail;
    /** Flows that owe an ACK at the end of this cycle (intrusive list through {@code bumpNext}). */
    private TasFlow ackHead;
    private int ipId;

    TcpOutput(int queue, TasPort port, TasEngineParams params, TasCounters counters, TasFastPath.Engine engine,
              TasTimerWheel wheel) {
        this.queue = queue;
        this.port = port;
        this.params = params;
        this.counters = counters;
        this.engine = engine;
        this.wheel = wheel;
        this.softwareChecksums = params.softwareChecksums() || !port.capabilities().txChecksumOffload();
    }

    /** Flows waiting to transmit, or frames waiting in the batch (the agent must not sleep). */
    boolean hasWork() {
        return txHead != null || txCount > 0;
    }

    /** The transmit batch is full (until the next {@link #flush}). */
    boolean batchFull() {
        return txCount >= TX_BATCH;
    }

    /** Frees the frames still in the batch (engine shutdown). */
    void close() {
        for (int i = 0; i < txCount; i++) {
            port.free(txBatch[i]);
            txBatch[i] = null;
        }
        txCount = 0;
    }

    boolean hasUnsent(TasFlow f) {
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

    void markTx(TasFlow f) {
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

    void unlinkTx(TasFlow f) {
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
    int transmitPending(long now) {
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
    int sendData(TasFlow f, long now, int maxSegments) {
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
        // RFC 6675 5 (pipe): in recovery, bytes the peer SACKed have left the network, so new data
        // may take their place in the congestion window (the peer's window still counts them).
        int cwnd = f.cwnd();
        if (f.sackedCount > 0 && f.inRecovery()) {
            cwnd = (int) Math.min((long) cwnd + TcpSack.sackedBytes(f), TasCcAlgorithm.UNLIMITED_WINDOW);
        }
        int window = Math.min(sndWnd, cwnd);
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
                            f.persistDeadline(now + Math.max(TcpTimers.PERSIST_MIN_NANOS, f.rtoNanos()));
                            if (f.persistSinceNanos == 0) {
                                f.persistSinceNanos = now;
                            }
                            TcpTimers.arm(wheel, f);
                        }
                        break;
                    }
                    len = usable;
                }
                if (len < segMax && len == avail && f.nagle && nagleHolds(f, sndNxt, sndUna)) {
                    break; // the ACK that releases it marks the flow for transmission again
                }
                // Loopback flows never cross the link that tcp-link-bw and the rate controller
                // describe: only the peer's window bounds them.
                if (!f.loopback && f.rateBytesPerSec() > 0 && !paceAllows(f, len, now)) {
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
                    TcpSack.retransmitted(f, sndNxt);
                } else if (!f.rttTiming()) {
                    f.rttTiming(true);
                    f.rttSeq(sndNxt);
                    f.rttSentNanos(now);
                }
                sndNxt += len;
                f.sndNxt(sndNxt);
                if (gt(sndNxt, sndMax)) {
                    f.sndMax(sndNxt);
                    if (len < segMax) {
                        f.sndSml = sndNxt;
                    }
                }
                if (sndUna == sndMax) {
                    f.unackedSinceNanos = now; // nothing was outstanding: RFC 5482's clock starts
                }
                if (f.rtoDeadline() == 0) {
                    f.rtoDeadline(now + f.rtoNanos());
                    TcpTimers.arm(wheel, f);
                }
                if (f.ptoDeadline == 0 && !f.loopback && f.sackOn()) {
                    armProbe(f, now);
                    TcpTimers.arm(wheel, f);
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
                if (f.sndUna() == f.sndMax()) {
                    f.unackedSinceNanos = now;
                }
                f.sndNxt(f.sndNxt() + 1);
                if (gt(f.sndNxt(), f.sndMax())) {
                    f.sndMax(f.sndNxt());
                }
                if (f.rtoDeadline() == 0) {
                    f.rtoDeadline(now + f.rtoNanos());
                    TcpTimers.arm(wheel, f);
                }
                sent++;
            }
            break;
        }
        return sent;
    }

    /**
     * Nagle's algorithm (RFC 896, RFC 9293 3.7.4) in Minshall's form, as Linux's tcp_nagle_check:
     * new data shorter than a segment waits while a sub-MSS segment sent earlier is still
     * unacknowledged (full segments never wait). Classic Nagle would also hold it behind full
     * segments in flight, which with the peer's delayed ACK stalls the tail of every response.
     * Retransmissions and data before a requested FIN (the last segment) are never held.
     */
    private static boolean nagleHolds(TasFlow f, int sndNxt, int sndUna) {
        int sndMax = f.sndMax();
        return sndNxt == sndMax && !f.finRequested() && gt(f.sndSml, sndUna) && !gt(f.sndSml, sndMax);
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
        TcpTimers.arm(wheel, f);
        return false;
    }

    /**
     * Looped connections: acknowledge in-order data later, so the reply the application is about
     * to write carries the ACK (one segment each way per request instead of two; Linux delays ACKs
     * on {@code lo} too). The ACK goes at once when two full segments or a quarter of the
     * receive ring are unacknowledged (RFC 1122 4.2.3.2: at least every second full segment), or
     * when the sender ({@code sender}, in this engine: its transmit ring holds the payload until
     * acknowledged) has half its ring waiting, whatever our ring's size, so that a writer with a
     * small SO_SNDBUF never waits for the timer; and at the latest after {@link #DELAYED_ACK_NANOS},
     * or when the agent's thread next wakes if every thread sleeps by then (within its sleep cap,
     * under the 200 ms minimum RTO).
     */
    void delayAck(TasFlow f, TasFlow sender, long now) {
        int unacked = f.rcvNxt() - f.lastAckSent;
        TasByteRing rx = f.rx;
        int limit = Math.min(2 * f.mss(), rx == null ? 0 : rx.capacity() >> 2);
        TasByteRing tx = sender == null ? null : sender.tx;
        if (unacked >= limit || (tx != null && tx.tail() - tx.head() >= tx.capacity() >> 1)) {
            scheduleAck(f);
            return;
        }
        f.ackPending(true);
        if (f.delackDeadline == 0) {
            f.delackDeadline = now + DELAYED_ACK_NANOS;
            TcpTimers.armLazily(wheel, f); // no wake-up of a sleeping agent thread for it
        }
    }

    /**
     * How long a looped connection's ACK may wait for a reply to carry it: Linux's TCP_ATO_MIN, as
     * on {@code lo}. It was 1 ms, shorter than the gap between requests on a connection at
     * moderate rates (8 connections at 1,160 requests/s: 6.9 ms each), so every reply drew a pure
     * ACK of its own, mostly sent by the fast-path thread woken for the timer: 3 segments per
     * request instead of 2, the engine threads' CPU 110-132 ms per 5 s against 12 ms with 40 ms,
     * and open-loop p99 2.1-2.5 ms in 3 of 4 runs against 0.26-0.75 ms in 3 of 4.
     */
    static final long DELAYED_ACK_NANOS = TcpOutput.DELAYED_ACK_WAN_NANOS;
    /**
     * How long a network connection's ACK of in-order data may wait for a reply to carry it:
     * Linux's TCP_ATO_MIN (40 ms), well under RFC 9293 3.8.6.3's 500 ms and a peer's 200 ms
     * minimum RTO, and about what a peer's tail loss probe allows for (RFC 8985 7.2 WCDelAckT).
     */
    static final long DELAYED_ACK_WAN_NANOS = 40_000_000L;
    /** Linux's TCP_MAX_QUICKACKS: segments acknowledged at once at the start or after idle. */
    static final int MAX_QUICK_ACKS = 16;

    /**
     * In-order data on a network connection (RFC 1122 4.2.3.2, RFC 9293 3.8.6.3): acknowledged at
     * once during the quick-ack phase (the first segments of a connection, or after an RTO of
     * silence, as Linux: slow start needs every ACK then), at once when more than one full-sized
     * segment is unacknowledged, and otherwise within {@link #DELAYED_ACK_WAN_NANOS} unless a segment
     * we send first carries it. (Segments of one receive burst still share one ACK.)
     */
    /** TCP_QUICKACK: the quick-ack phase again, and a delayed ACK goes now (Linux's tcp_enter_quickack_mode). */
    void quickAck(TasFlow f) {
        f.quickAcks = MAX_QUICK_ACKS;
        if (f.ackPending() && TcpState.isSynchronized(f.state())) {
            scheduleAck(f);
        }
    }

    void ackData(TasFlow f, long now) {
        long last = f.lastDataRxNanos;
        f.lastDataRxNanos = now;
        if ((last == 0 || now - last > f.rtoNanos()) && f.quickAcks < 2) {
            TasByteRing rx = f.rx;
            int wnd = rx == null ? 0 : rx.capacity();
            f.quickAcks = Math.clamp(wnd / (2 * Math.max(1, f.mss())), 2, MAX_QUICK_ACKS);
        }
        if (f.quickAcks > 0) {
            f.quickAcks--;
            scheduleAck(f);
            return;
        }
        // More than one full-sized segment unacknowledged: ACK now. That is "every second
        // full-sized segment" for a stream of them, and, as Linux's __tcp_ack_snd_check (more
        // than rcv_mss), also a full segment followed by a short one: a sender's tail loss probe
        // waits only 2 SRTT when two segments are out (RFC 8985 7.2), so a delayed ACK there
        // would cost a spurious retransmission.
        if (f.rcvNxt() - f.lastAckSent > f.mss()) {
            scheduleAck(f);
            return;
        }
        f.ackPending(true);
        if (f.delackDeadline == 0) {
            f.delackDeadline = now + DELAYED_ACK_WAN_NANOS;
            TcpTimers.arm(wheel, f);
        }
    }
    /** The shortest tail loss probe timeout (Linux waits at least two jiffies; RTTs here may be µs). */
    static final long PTO_MIN_NANOS = 10_000_000L;
    /** RFC 8985 7.2 WCDelAckT: a lone segment's ACK may be delayed this long by the peer. */
    static final long PTO_DELACK_NANOS = 200_000_000L;

    void scheduleAck(TasFlow f) {
        f.ackPending(true);
        if (!f.inAckList) {
            f.inAckList = true;
            f.bumpNext = ackHead;
            ackHead = f;
        }
    }

    /** One ACK per flow per cycle: a burst of segments is acknowledged once (TAS acks each). */
    int sendAcks(long now) {
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

    void sendAckNow(TasFlow f, long now) {
        // SEQ = SND.MAX, not SND.NXT: after a go-back-N rewind the peer may already hold data up
        // to SND.MAX, and a pure ACK below its RCV.NXT would be unacceptable (RFC 9293 3.10.7.4)
        // and dropped with the acknowledgment it carries.
        if (emit(f, Tcp.ACK, f.sndMax(), 0, 0, now)) {
            counters.increment(TasCounter.TCP_ACKS_SENT);
        }
    }

    void sendSyn(TasFlow f, long now) {
        timeHandshake(f, now);
        emitSyn(f, Tcp.SYN | (params.ecn() ? Tcp.ECE | Tcp.CWR : 0), f.iss(), now);
        f.sndNxt(f.iss() + 1);
        f.sndMax(f.sndNxt());
        f.rtoDeadline(now + f.rtoNanos());
        TcpTimers.arm(wheel, f);
    }

    void sendSynAck(TasFlow f, long now) {
        timeHandshake(f, now);
        emitSyn(f, Tcp.SYN | Tcp.ACK | (f.ecnOn() ? Tcp.ECE : 0), f.iss(), now);
        f.sndNxt(f.iss() + 1);
        f.sndMax(f.sndNxt());
        f.rtoDeadline(now + f.rtoNanos());
        TcpTimers.arm(wheel, f);
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

    /** Fast retransmit / partial ACK: re-send one segment at sndUna. */
    void retransmitFirst(TasFlow f, long now) {
        int seq = f.sndUna();
        TasByteRing tx = f.tx;
        int unacked = (int) (tx.tail() - tx.headPlain());
        int len = Math.min(maxPayload(f), Math.min(unacked, f.sndMax() - seq));
        if (f.sackedCount > 0 && gt(f.sacked[0], seq)) {
            len = Math.min(len, f.sacked[0] - seq); // the hole only: the peer holds what follows
        }
        counters.increment(TasCounter.TCP_RETRANSMITTED_SEGMENTS);
        TcpSack.retransmitted(f, seq);
        f.rttTiming(false);
        if (len > 0) {
            emit(f, Tcp.ACK | Tcp.PSH, seq, tx.headPlain(), len, now);
            if (lt(f.highRxt, seq + len)) {
                f.highRxt = seq + len; // holes above were re-sent already: not again
            }
            f.firstRxtNanos = now;
            f.firstRxtSndMax = f.sndMax();
        } else if (f.finSent() && seq == f.finSentSeq()) {
            emit(f, Tcp.ACK | Tcp.FIN, seq, 0, 0, now);
        }
        f.rtoDeadline(now + f.rtoNanos());
        TcpTimers.arm(wheel, f);
    }

    /**
     * RFC 6675 5 (NextSeg rule 1, simplified): in loss recovery, re-sends up to {@code maxSegments}
     * segments from the holes below the highest SACKed byte, from HighRxt on. A hole there is
     * taken as lost: the peer holds data sent after it. Holes above the last SACKed range are not
     * known to be lost and wait for more ACKs, a probe, or the RTO.
     */
    void retransmitHoles(TasFlow f, int maxSegments, long now) {
        int una = f.sndUna();
        TasByteRing tx = f.tx;
        int n = f.sackedCount;
        if (n == 0 || tx == null) {
            return;
        }
        int seq = lt(f.highRxt, una) ? una : f.highRxt;
        int[] a = f.sacked;
        int sent = 0;
        int segMax = maxPayload(f);
        for (int i = 0; i < n && sent < maxSegments; ) {
            int l = a[2 * i];
            int r = a[2 * i + 1];
            if (!lt(seq, r)) {
                i++;
                continue;
            }
            if (!lt(seq, l)) {
                seq = r; // SACKed: the peer has it
                i++;
                continue;
            }
            int len = Math.min(segMax, l - seq);
            if (!emit(f, Tcp.ACK, seq, tx.headPlain() + (seq - una), len, now)) {
                break; // no buffer: the next ACK tries again
            }
            if (seq == una) {
                f.firstRxtNanos = now;
                f.firstRxtSndMax = f.sndMax();
            }
            counters.increment(TasCounter.TCP_RETRANSMITTED_SEGMENTS);
            TcpSack.retransmitted(f, seq);
            counters.increment(TasCounter.TCP_SACK_RETRANSMITS);
            seq += len;
            f.highRxt = seq;
            sent++;
        }
        if (sent > 0) {
            f.rttTiming(false); // Karn
            f.rtoDeadline(now + f.rtoNanos());
            TcpTimers.arm(wheel, f);
        }
    }

    /**
     * RFC 8985 7.2: when the last ACK leaves data unacknowledged, a probe fires after PTO = 2 SRTT
     * (at least 10 ms; with one segment in flight, allowing the peer's delayed ACK), well before
     * the RTO. Not on the loopback (nothing is lost there), nor during recovery or while a probe
     * is out. Requires SACK: the probe's ACK is what reveals the loss.
     */
    void armProbe(TasFlow f, long now) {
        // Nor after a retransmission timeout until an ACK makes progress (backoff 0 again): that
        // is loss recovery too (RFC 8985 7.2; Linux probes only in CA_Open), and a probe there
        // would push the backed-off RTO (and a TCP_USER_TIMEOUT verdict) out by a PTO each time.
        if (f.loopback || f.tlpOut || f.inRecovery() || !f.sackOn() || f.srttNanos() == 0
            || f.sndUna() == f.sndMax() || f.backoff() > 0) {
            f.ptoDeadline = 0;
            return;
        }
        long pto = Math.max(2 * f.srttNanos(), PTO_MIN_NANOS);
        if (f.sndMax() - f.sndUna() <= f.mss()) {
            pto = Math.max(pto, f.srttNanos() * 3 / 2 + PTO_DELACK_NANOS);
        }
        if (pto >= f.rtoNanos()) {
            f.ptoDeadline = 0; // the RTO comes first anyway
            return;
        }
        f.ptoDeadline = now + pto;
    }

    /**
     * RFC 8985 7.3: the probe. New data if the window lets it go (it elicits an ACK with the same
     * news), else the last segment sent again; its ACK SACKs the probe and so marks the holes
     * before it lost, and recovery repairs them without waiting for the RTO.
     */
    void tailLossProbe(TasFlow f, long now) {
        f.ptoDeadline = 0;
        TasByteRing tx = f.tx;
        if (tx == null || f.sndUna() == f.sndMax() || f.inRecovery()) {
            return;
        }
        counters.increment(TasCounter.TCP_TAIL_LOSS_PROBES);
        f.tlpOut = true;
        f.tlpHighSeq = f.sndMax();
        if (hasUnsent(f) && sendData(f, now, 1) > 0) {
            f.tlpHighSeq = f.sndMax();
            return;
        }
        int dataEnd = f.finSent() ? f.finSentSeq() : f.sndMax();
        int len = Math.min(maxPayload(f), dataEnd - f.sndUna());
        if (len > 0) {
            int seq = dataEnd - len;
            if (emit(f, Tcp.ACK, seq, tx.headPlain() + (seq - f.sndUna()), len, now)) {
                counters.increment(TasCounter.TCP_RETRANSMITTED_SEGMENTS);
                TcpSack.retransmitted(f, seq);
                f.rttTiming(false);
            }
        } else if (f.finSent()) {
            emit(f, Tcp.ACK | Tcp.FIN, f.finSentSeq(), 0, 0, now);
        }
        f.rtoDeadline(TcpTimers.clampToUserTimeout(f, now, now + f.rtoNanos()));
        TcpTimers.arm(wheel, f);
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
        int optLen = TcpOptions.writeSynOptions(s, tcpOff + Tcp.MIN_HEADER_LENGTH, params.mssFor(f.loopback), wscale,
            sack, ts,
            tsClock(now), synAck ? f.tsRecent() : 0);
        int hdr = Tcp.MIN_HEADER_LENGTH + optLen;
        int window = Math.min(65535, TcpInput.receiveWindow(f)); // RFC 7323 2.2: windows in SYNs are never scaled
        Tcp.writeHeader(s, tcpOff, f.localPort, f.remotePort, seq, synAck ? f.rcvNxt() : 0, hdr, flags, window);
        TasByteRing rx = f.rx;
        f.rcvAdvEdgePos = (rx == null ? 0 : rx.tailPlain()) + window; // (a half-open flow's ring starts at 0)
        f.lastAckSent = f.rcvNxt();
        finishFrame(f, b, hdr, 0, Ipv4.ECN_NOT_ECT);
        return true;
    }

    /**
     * Builds and queues one segment of {@code f}: {@code len} payload bytes from transmit-ring
     * position {@code pos}, our current ACK and window, timestamps and SACK blocks as negotiated.
     */
    boolean emit(TasFlow f, int flags, int seq, long pos, int len, long now) {
        PacketBuffer b = allocTx();
        if (b == null) {
            return false;
        }
        MemorySegment s = b.segment;
        long o = b.offset;
        long tcpOff = o + Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH;
        int fl = f.flags(); // the record is off-heap: read each field once per segment
        boolean ts = (fl & TasFlow.F_TS_ON) != 0;
        // The most recent intervals first (RFC 2018 4); the option holds four blocks at most.
        int sackBlocks = (fl & TasFlow.F_SACK_ON) != 0 ? Math.min(f.oooCount(), TasFlow.OOO_INLINE) : 0;
        // A D-SACK goes first (RFC 2883 4.1), on a pure ACK only: a data segment's payload was
        // sized without its 8 bytes (maxPayload). Reported once, as Linux does.
        int first = 0;
        if (f.dsackPending) {
            f.dsackPending = false;
            if (len == 0 && (fl & TasFlow.F_SACK_ON) != 0) {
                sackLeft[0] = f.dsackLeft;
                sackRight[0] = f.dsackRight;
                first = 1;
            }
        }
        int optLen = 0;
        if (ts || sackBlocks > 0 || first > 0) {
            for (int i = 0; i < sackBlocks; i++) {
                sackLeft[first + i] = f.oooStart(i);
                sackRight[first + i] = f.oooEnd(i);
            }
            sackBlocks += first;
            optLen = TcpOptions.writeAckOptions(s, tcpOff + Tcp.MIN_HEADER_LENGTH, ts, tsClock(now), f.tsRecent(),
                sackLeft, sackRight, sackBlocks);
        }
        int hdr = Tcp.MIN_HEADER_LENGTH + optLen;
        if ((fl & TasFlow.F_ECE_ECHO) != 0) {
            flags |= Tcp.ECE;
        }
        boolean newData = len > 0 && !lt(seq, f.sndMax()); // not a retransmission
        if ((fl & TasFlow.F_CWR_PENDING) != 0 && newData) {
            flags |= Tcp.CWR; // RFC 3168 6.1.2: on the first new data after the reduction
            fl &= ~TasFlow.F_CWR_PENDING;
        }
        int wnd = TcpInput.receiveWindow(f);
        int wscale = f.rcvWscale();
        // A few units of the scale stay unannounced (see below): wscale 2 keeps 32 bytes of a
        // 128 KiB ring back, wscale 14 (a 1 GiB ring) 128 KiB.
        int adv = Math.min(Math.max(0, wnd - TasFlow.rcvWindowSlack(wscale)) >>> wscale, 65535);
        TasByteRing rx = f.rx;
        long tailPos = rx == null ? 0 : rx.tailPlain();
        if (rx != null && f.rcvAdvEdgePos - tailPos > ((long) adv << wscale)) {
            // RFC 7323 2.4 / RFC 9293 3.8.6.2.2: shifting rounds down, which could pull the right
            // edge left of the one already announced; round up instead (as Linux's ALIGN in
            // tcp_select_window), so the edge never shrinks. Rounding up drifts the edge past
            // the free space by less than a unit per segment while the application does not
            // read; the slack held back above absorbs that, so we never announce bytes we would
            // have to drop. Past it (many tiny segments, no reads) a shrink of less than one
            // unit is the lesser evil.
            long up = (f.rcvAdvEdgePos - tailPos + (1L << wscale) - 1) >>> wscale;
            if (up << wscale <= wnd) {
                adv = (int) Math.min(up, 65535);
            }
        }
        Tcp.writeHeader(s, tcpOff, f.localPort, f.remotePort, seq, f.rcvNxt(), hdr, flags, adv);
        int advertised = adv << wscale;
        f.rcvAdvEdgePos = rx == null ? 0 : tailPos + advertised;
        if (len > 0) {
            if (f.loopback) {
                // The peer is ours, on this core: it copies the bytes from our ring when it
                // receives the segment (they stay there until it acknowledges them): one copy
                // per segment instead of two.
                b.payloadSource = f;
                b.payloadPos = pos;
                f.loopRefs++;
            } else {
                f.tx.copyOut(pos, s, tcpOff + hdr, len);
            }
        }
        f.flags(fl & ~TasFlow.F_ACK_PENDING); // this segment carries the ACK
        f.lastAckSent = f.rcvNxt();
        f.delackDeadline = 0; // (its wheel entry, if any, finds nothing to do)
        // RFC 3168 6.1.5: only new data is ECN-capable; a retransmission (or a pure ACK) is not.
        int ecn = (fl & TasFlow.F_ECN_ON) != 0 && newData ? Ipv4.ECN_ECT0 : Ipv4.ECN_NOT_ECT;
        finishFrame(f, b, hdr, len, ecn);
        return true;
    }

    private void finishFrame(TasFlow f, PacketBuffer b, int tcpHdrLen, int payload, int ecn) {
        MemorySegment s = b.segment;
        long o = b.offset;
        long ipOff = o + Ethernet.HEADER_LENGTH;
        long tcpOff = ipOff + Ipv4.MIN_HEADER_LENGTH;
        int tcpLen = tcpHdrLen + payload;
        Ethernet.write(s, o, f.remoteMac, params.mac(), Ethernet.TYPE_IPV4);
        Ipv4.writeHeader(s, ipOff, Ipv4.MIN_HEADER_LENGTH + tcpLen, ipId++ & 0xFFFF, f.tos | ecn, Ipv4.DEFAULT_TTL,
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
    void sendRst(int localIp, int localPort, int remoteIp, int remotePort, long remoteMac, int seq, int ack,
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

    /**
     * A looped segment of {@code src} was received (or dropped): one fewer points into its
     * transmit ring. The last one out lets go of the rings of a flow that ended meanwhile.
     */
    void loopRefDone(TasFlow src) {
        if (--src.loopRefs == 0 && src.ringsPinned) {
            src.ringsPinned = false;
            engine.releaseRingsLater(src);
        }
    }

    void enqueueTx(PacketBuffer b, int dstIp) {
        if (engine.isLocal(dstIp)) {
            // In-engine loopback: hand the frame to the agent that owns the reverse tuple.
            MemorySegment s = b.segment;
            long ipOff = b.offset + Ethernet.HEADER_LENGTH;
            long tcpOff = ipOff + Ipv4.MIN_HEADER_LENGTH;
            counters.increment(TasCounter.TX_PACKETS);
            counters.add(TasCounter.TX_BYTES, b.length);
            Object source = b.payloadSource;
            if (!engine.loopbackTarget(Ipv4.src(s, ipOff), Tcp.srcPort(s, tcpOff), dstIp, Tcp.dstPort(s, tcpOff))
                .deliverLoopback(b)) {
                counters.increment(TasCounter.DROP_LOOPBACK_QUEUE_FULL);
                if (source != null) {
                    loopRefDone((TasFlow) source); // lost like a dropped frame: retransmitted later
                }
            }
            return;
        }
        txBatch[txCount++] = b;
        if (txCount == TX_BATCH) {
            flush();
        }
    }

    /** Hands the batch to the port; what it does not take stays for the next cycle. */
    void flush() {
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
}
