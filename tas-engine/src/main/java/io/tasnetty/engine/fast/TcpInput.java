package io.tasnetty.engine.fast;

import io.tasnetty.engine.TasEngineParams;
import io.tasnetty.engine.cc.TasCcAlgorithm;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.flow.TasByteRing;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;
import io.tasnetty.engine.wire.Ipv4;
import io.tasnetty.engine.wire.Tcp;
import io.tasnetty.engine.wire.TcpOptions;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static io.tasnetty.engine.fast.TasFastPath.post;
import static io.tasnetty.engine.flow.TasSeq.ge;
import static io.tasnetty.engine.flow.TasSeq.gt;
import static io.tasnetty.engine.flow.TasSeq.le;
import static io.tasnetty.engine.flow.TasSeq.lt;

/**
 * Input side of one fast-path agent ({@link TasFastPath}): RFC 9293 3.10.7 SEGMENT ARRIVES for a
 * segment the agent validated and matched to one of its flows. The common case (ESTABLISHED,
 * in order, ACK only) takes {@link #segment}'s short path; everything else goes through the
 * full sequence of checks: SYN-SENT, acceptability, RST and SYN (with RFC 5961 challenge ACKs),
 * ACK processing (RTT, congestion control, fast retransmit, window update), payload into the
 * receive ring (out of order kept in place), FIN.
 *
 * <p>Runs on the agent's thread only. Replies go out through {@link TcpOutput}, deadlines through
 * {@link TcpTimers}, and a flow's end through the agent's teardown.
 */
final class TcpInput {
    private static final long CHALLENGE_ACK_INTERVAL_NANOS = 500_000_000L;

    private final TasFastPath fp;
    private final TcpOutput out;
    private final TcpTimers timers;
    private final TasEngineParams params;
    private final TasCounters counters;
    private final TasCcAlgorithm cc;
    /** Options of the segment being processed (parsed by the agent while validating the frame). */
    private final TcpOptions opts;
    private final TcpSack sack;


    // Per-segment scratch, valid during one arrive call.
    private int segSeq;
    private int segAck;
    private int segFlags;
    private int segWnd;
    private int segLen;
    private long segPayloadOff;
    private boolean segCe;
    /** Set by {@link #arrive}: the segment (a SYN) opens a new connection on a tuple that was in TIME_WAIT. */
    private boolean segReopens;
    /** The segment would establish a half-open connection that has no rings yet (see {@link #needsRings}). */
    private boolean segNeedsRings;
    /** The segment goes to the slow path for a SYN cookie check (see {@link #cookieCheck}). */
    private boolean segCookieCheck;
    /** The options a SYN cookie restores (what negotiatePassive reads). */
    private final TcpOptions cookieOpts = new TcpOptions();
    /** With {@link #segReopens}: past the old connection's sequence space, as Linux's TIME_WAIT reuse. */
    private int reopenMinIss;
    private MemorySegment segMem;
    /**
     * A looped segment's sender, whose transmit ring holds the payload from {@link #segSourcePos}
     * (see {@link io.tasnetty.engine.port.PacketBuffer#payloadSource}); null: the payload is in
     * {@link #segMem} at {@link #segPayloadOff}.
     */
    private TasFlow segSource;
    private long segSourcePos;

    TcpInput(TasFastPath fp, TcpOutput out, TcpTimers timers, TasEngineParams params, TasCounters counters,
             TasCcAlgorithm cc, TcpOptions opts) {
        this.fp = fp;
        this.out = out;
        this.timers = timers;
        this.params = params;
        this.counters = counters;
        this.cc = cc;
        this.opts = opts;
        this.sack = new TcpSack(counters);
    }

    /**
     * A validated segment of {@code f}: IPv4 header at {@code ipOff}, TCP header of {@code thl}
     * bytes at {@code tcpOff}, {@code tcpLen} bytes of TCP in all; its options are in {@code opts}.
     */
    void arrive(TasFlow f, MemorySegment s, long ipOff, long tcpOff, int tcpLen, int thl, Object payloadSource,
                long payloadPos, long now) {
        segMem = s;
        segSource = (TasFlow) payloadSource;
        segSourcePos = payloadPos;
        segSeq = Tcp.seq(s, tcpOff);
        segAck = Tcp.ack(s, tcpOff);
        segFlags = Tcp.flags(s, tcpOff);
        segWnd = Tcp.window(s, tcpOff);
        segLen = tcpLen - thl;
        segPayloadOff = tcpOff + thl;
        segCe = Ipv4.ecn(s, ipOff) == Ipv4.ECN_CE;
        segReopens = false;
        segNeedsRings = false;
        segCookieCheck = false;
        segment(f, now);
        segMem = null;
        segSource = null;
    }

    /**
     * True when the segment {@link #arrive} just handled ended its flow's TIME_WAIT to open a new
     * connection: the caller passes it on as a SYN for a listener.
     */
    boolean reopens() {
        return segReopens;
    }

    /**
     * True when the segment {@link #arrive} just handled is the ACK that completes a passive
     * open whose rings have not been granted: nothing of it was processed, and the caller passes
     * it to the slow path, which allocates the rings (or refuses the connection) and hands it back.
     */
    boolean needsRings() {
        return segNeedsRings;
    }

    /**
     * True when the segment {@link #arrive} just handled is an ACK its half-open connection cannot
     * take while SYN cookies are out: unprocessed, the caller passes it to the slow path, which
     * checks whether it carries a cookie for the same SYN (see {@link #rebaseToCookie}).
     */
    boolean cookieCheck() {
        return segCookieCheck;
    }

    /** With {@link #reopens()}: the least ISS the new connection may use. */
    int reopenMinIss() {
        return reopenMinIss;
    }

    /** RFC 9293 3.10.7: SEGMENT ARRIVES, for a flow in a state other than LISTEN/CLOSED. */
    private void segment(TasFlow f, long now) {
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
            alive(f, now);
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

    /**
     * An acceptable segment (in the window, PAWS passed, an acceptable ACK) proves the peer alive
     * (RFC 1122 4.2.3.6). Out-of-window or stale segments do not: anyone can send those, and a
     * dead peer's old duplicates must not keep its connection open (Linux counts only segments
     * tcp_ack accepts). The keepalive timer reads this lazily instead of being rescheduled.
     */
    private static void alive(TasFlow f, long now) {
        f.lastRxNanos(now);
        f.keepaliveProbes(0);
    }

    /**
     * RFC 6191 2: with timestamps on both connections, the SYN's TSval must be newer than
     * TS.Recent; without them, its sequence number must lie beyond the old connection's RCV.NXT
     * (RFC 1122 4.2.2.13). Either way an old duplicate of the last incarnation cannot pass. As
     * Linux's tcp_timewait_state_process, a newer timestamp admits the SYN even when its sequence
     * number does not advance.
     */
    private boolean synMayReopen(TasFlow f) {
        boolean ts = f.tsOn() && opts.hasTimestamp;
        if (ts && opts.tsVal - f.tsRecent() < 0) {
            return false; // PAWS: older than the last connection's segments
        }
        return gt(segSeq, f.rcvNxt()) || (ts && opts.tsVal - f.tsRecent() > 0);
    }

    private boolean pawsOk(TasFlow f) {
        // RFC 7323 5.3: reject old duplicates whose timestamp is older than TS.Recent.
        return !f.tsOn() || !opts.hasTimestamp || (opts.tsVal - f.tsRecent()) >= 0;
    }

    static int receiveWindow(TasFlow f) {
        TasByteRing rx = f.rx;
        if (rx == null || f.state() == TcpState.TIME_WAIT) {
            // A half-open connection announces the ring it will get at ESTABLISHED. TIME_WAIT:
            // the rings may be reclaimed by now and nothing more is received.
            return rx == null && f.state() == TcpState.SYN_RCVD ? f.rxPlanned : 0;
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
            out.sendSynAck(f, now);
            return;
        }
        if (state == TcpState.TIME_WAIT && (flags & (Tcp.SYN | Tcp.ACK | Tcp.RST | Tcp.FIN)) == Tcp.SYN
            && synMayReopen(f)) {
            // RFC 6191 (and RFC 1122 4.2.2.13): a new SYN that cannot be an old duplicate ends
            // TIME_WAIT at once, so a client reusing its port connects now, not after 2MSL.
            counters.increment(TasCounter.CONN_TIME_WAIT_REUSED);
            reopenMinIss = f.sndNxt() + 65535 + 2;
            fp.closeFlow(f, now);
            segReopens = true;
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
        if ((flags & Tcp.RST) == 0 && !pawsOk(f)) {
            // RFC 7323 5.3 R1: an old duplicate is acknowledged and dropped, whatever the window:
            // at a zero window the exception below for probes must not let it through.
            counters.increment(TasCounter.TCP_PAWS_REJECTED);
            out.scheduleAck(f);
            return;
        }
        if (!acceptable) {
            if ((flags & Tcp.RST) != 0) {
                counters.increment(TasCounter.DROP_RST_INVALID);
                return;
            }
            if (state == TcpState.TIME_WAIT && (flags & Tcp.FIN) != 0) {
                out.scheduleAck(f); // retransmitted FIN: re-acknowledge and restart 2MSL (RFC 9293 3.10.7.4)
                f.timeWaitDeadline(now + params.timeWaitNanos());
                timers.arm(f);
                return;
            }
            // A zero-window probe (seq == rcvNxt) still carries a valid ACK: process it below.
            if (!(wnd == 0 && segSeq == f.rcvNxt())) {
                boolean duplicate = segLen > 0 && lt(segSeq, f.rcvNxt());
                counters.increment(duplicate ? TasCounter.TCP_DUPLICATE_SEGMENTS : TasCounter.DROP_OUT_OF_WINDOW);
                if (duplicate && f.sackOn() && len > 0) {
                    // RFC 2883 4.1: tell the sender this arrived twice (its retransmission was
                    // needless, and it may undo the window cut); clipped at RCV.NXT as Linux does.
                    f.dsackPending = true;
                    f.dsackLeft = segSeq;
                    f.dsackRight = gt(segSeq + len, f.rcvNxt()) ? f.rcvNxt() : segSeq + len;
                }
                out.scheduleAck(f);
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
            if (!(gt(segAck, f.sndUna()) && le(segAck, f.sndMax())) && f.listener != null && !f.loopback) {
                TasFlow.CookieRebase r = f.cookieRebase;
                if (r != null && segAck == r.iss() + 1) {
                    rebaseToCookie(f, r);
                } else if (fp.cookiesOut(now)) {
                    segCookieCheck = true; // nothing changed: the slow path checks, then hands it back or resets
                    return;
                }
            }
            if (gt(segAck, f.sndUna()) && le(segAck, f.sndMax())) {
                if (f.rx == null && !adoptGrantedRings(f)) {
                    segNeedsRings = true; // nothing changed yet: the segment comes back with the rings
                    return;
                }
                establishPassive(f, now);
            } else {
                out.sendRst(f.localIp, f.localPort, f.remoteIp, f.remotePort, f.remoteMac, segAck, 0, false, f.loopback);
                return;
            }
        }
        if (!processAck(f, now)) {
            return;
        }
        alive(f, now);
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
                    fp.abortFlow(f, true, TasError.ABORTED, now);
                    return;
                }
                if (wnd > 0) {
                    receivePayload(f, now);
                } else {
                    counters.add(TasCounter.DROP_RX_RING_FULL, segLen);
                    out.scheduleAck(f);
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

    /**
     * The peer of half-open {@code f} completed its handshake with a SYN cookie: a SYN of it met a
     * full backlog and was answered with a cookie, and its retransmission, meeting a backlog with
     * room, made this connection with another ISS. The peer is ESTABLISHED on the cookie's ISS, so
     * a RST here would reset a good connection; Linux instead builds the connection from the cookie
     * (tcp_check_req refuses the ACK, then the listener's cookie check takes it). So do we: this
     * flow moves onto the cookie's ISS and the options its SYN-ACK agreed, and the ACK establishes it.
     */
    private void rebaseToCookie(TasFlow f, TasFlow.CookieRebase r) {
        int iss = r.iss();
        f.iss(iss);
        f.sndUna(iss);
        f.sndNxt(iss + 1);
        f.sndMax(iss + 1);
        f.recover(iss); // RFC 6582 3.2 step 1
        TcpOptions syn = cookieOpts;
        syn.clear();
        syn.mss = r.mss();
        if (r.ts()) {
            syn.windowScale = r.peerWscale();
            syn.sackPermitted = r.sack();
            syn.hasTimestamp = true;
            syn.tsVal = opts.tsVal; // TS.Recent: this ACK's (RFC 7323 4.3)
        }
        TasFastPath.negotiatePassive(f, syn, r.ecn(), params);
        if (params.windowScale() && syn.windowScale >= 0) {
            f.rcvWscale(r.rcvWscale()); // what the cookie SYN-ACK announced
        }
        f.rttTiming(false); // this flow did not time the cookie's SYN-ACK
        f.cookieRebase = null;
    }

    /**
     * Receive-buffer autotuning, after Linux's tcp_rcv_space_adjust (DRS): once per smoothed RTT,
     * if the peer delivered half the ring or more in that time, our window is probably what
     * limits it (a window-limited sender delivers one window per RTT), so ask the slow path for a
     * ring twice as large, up to tcp-rxbuf-max. A peer held back by the path or by its own
     * application delivers less, and an idle connection nothing: their rings stay small.
     */
    private void rcvSpace(TasFlow f, TasByteRing rx, long now) {
        long srtt = f.srttNanos();
        if (srtt <= 0) {
            return; // no RTT yet (the handshake's SYN-ACK was retransmitted): measure from the next
        }
        long start = f.rcvSpaceStartNanos;
        int rcvNxt = f.rcvNxt();
        long elapsed = now - start;
        if (start == 0 || elapsed > 8 * srtt) {
            f.rcvSpaceStartNanos = now; // first data, or after a pause: a new measurement
            f.rcvSpaceSeq = rcvNxt;
            return;
        }
        if (elapsed < srtt) {
            return;
        }
        double perRtt = (double) ((rcvNxt - f.rcvSpaceSeq) & 0xFFFF_FFFFL) * srtt / elapsed;
        f.rcvSpaceStartNanos = now;
        f.rcvSpaceSeq = rcvNxt;
        if (perRtt * 2 >= rx.capacity()) {
            f.rxGrowAsked = true;
            fp.wantLargerRxRing(f, Math.min(rx.capacity() << 1, f.rxMax));
        }
    }

    /**
     * Send-buffer autotuning (Linux's tcp_sndbuf_expand, by its effect): the application filled
     * the transmit ring, yet the congestion window and the peer's window would each carry half
     * of it or more in one round trip: the ring is what limits this sender. Ask for one twice as
     * large, up to tcp-txbuf-max; the application moves the ring at its next write. A sender held
     * back by the path or the peer never gets here with both windows that large.
     */
    private void sndSpace(TasFlow f) {
        TasByteRing tx = f.tx;
        int cap = tx.capacity();
        if (cap >= f.txMax) {
            return;
        }
        int half = cap >> 1;
        if (f.cwnd() >= half && f.sndWnd() >= half) {
            f.txGrowAsked = true;
            fp.wantLargerTxRing(f, Math.min(cap << 1, f.txMax));
        }
    }

    /**
     * Moves the receive ring to the larger memory the slow path allocated for it, once the
     * application has read everything and no out-of-order data waits in it (TasByteRing.grow):
     * nothing is copied, nobody waits. The old memory goes back through the slow path.
     */
    private void growRx(TasFlow f, TasByteRing rx) {
        java.lang.foreign.MemorySegment bigger = f.rxGrowBlock;
        if (bigger == null || f.oooCount() > 0) {
            return;
        }
        java.lang.foreign.MemorySegment old = rx.grow(bigger);
        if (old == null) {
            return; // unread bytes: at a later segment
        }
        f.rxGrowBlock = null;
        f.rxGrowAsked = false;
        f.rcvSpaceStartNanos = 0;
        counters.increment(TasCounter.TCP_RX_RING_GROWN);
        fp.ringMemoryLeft(f, old);
    }

    /**
     * A passive open got no rings with its SYN; the slow path grants them when the final ACK
     * comes (and hands that ACK back here). Returns false while there is no grant yet.
     */
    private static boolean adoptGrantedRings(TasFlow f) {
        TasByteRing rx = f.grantedRx;
        if (rx == null) {
            return false;
        }
        f.rx = rx;
        f.tx = f.grantedTx;
        f.grantAdopted = true;
        return true;
    }

    private static boolean inWindow(int seq, int lo, int wnd) {
        return ge(seq, lo) && lt(seq, lo + wnd);
    }

    private void consumeFin(TasFlow f, long now) {
        f.rcvNxt(f.rcvNxt() + 1);
        f.inputClosed = true;
        post(f, TasEvents.INPUT_CLOSED);
        out.scheduleAck(f);
        switch (f.state()) {
            case TcpState.SYN_RCVD, TcpState.ESTABLISHED -> f.state(TcpState.CLOSE_WAIT);
            case TcpState.FIN_WAIT_1 -> {
                if (f.finSent() && ge(f.sndUna(), f.finSentSeq() + 1)) {
                    fp.enterTimeWait(f, now);
                } else {
                    f.state(TcpState.CLOSING);
                }
            }
            case TcpState.FIN_WAIT_2 -> fp.enterTimeWait(f, now);
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
            out.scheduleAck(f);
            return false;
        }
        int wnd = segWnd << f.sndWscale();
        f.persistProbesOut = 0; // the peer is there (it answered; Linux's tcp_ack does the same)
        boolean partialAck = false;
        int fl = f.flags();
        if ((fl & TasFlow.F_CWR_WINDOW) != 0 && !lt(ack, f.ecnCwrSeq())) {
            f.flags(fl & ~TasFlow.F_CWR_WINDOW); // the reduced window is acknowledged: the next mark counts again
        }
        if ((segFlags & Tcp.ECE) != 0 && (fl & TasFlow.F_ECN_ON) != 0) {
            ecnEcho(f, now); // before the window grows on this ACK, as Linux enters CWR first
        }
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
            f.unackedSinceNanos = now; // progress: TCP_USER_TIMEOUT counts from here
            if (lt(f.sndNxt(), ack)) {
                f.sndNxt(ack); // after a go-back-N rewind the peer may ack beyond what we re-sent
            }
            TcpSack.prune(f);
            if (f.tlpOut && !lt(ack, f.tlpHighSeq)) {
                f.tlpOut = false; // the probe's episode is over (RFC 8985 7.4)
            }
            f.dupAcks(0);
            f.retries(0);
            f.backoff(0);
            if (!f.inRecovery() && lt(f.recover(), ack)) {
                f.recover(ack); // keeps "recover" within 2^31 of SND.UNA, where comparisons hold
            }
            rttSample(f, ack, now);
            boolean recovered = false;
            if (f.inRecovery()) {
                if (ge(ack, f.recover())) {
                    recovered = true;
                } else if (!f.sackOn()) {
                    out.retransmitFirst(f, now); // partial ACK: the next hole is lost too (RFC 6582)
                } else {
                    partialAck = true; // with SACK, the scoreboard below says which holes to fill
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
            out.armProbe(f, now); // RFC 8985 7.2: restart the probe timer on each ACK
            if (f.keepalive) {
                f.keepaliveProbes(0);
            }
            timers.arm(f);
            if (dataAcked > 0) {
                // Dekker pairing with TasConnection.wantWritable(), which stores wantWritable and then
                // reads the head: our head store (a release store, no StoreLoad barrier) must be
                // visible before we read the flag, or both sides can miss each other and the writer
                // waits for a WRITABLE that never comes.
                VarHandle.fullFence();
                if (f.wantWritable) {
                    if (f.txMax > 0 && !f.txGrowAsked) {
                        sndSpace(f);
                    }
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
            // RFC 6582 3.2 step 2: only when the ACK covers more than "recover", so the duplicate
            // ACKs that data re-sent after a timeout (or a previous recovery) provokes do not start
            // a second, spurious recovery and a second window cut.
            if (f.dupAcks() == 3 && !f.inRecovery() && ge(ack, f.recover())) {
                counters.increment(TasCounter.TCP_FAST_RETRANSMITS);
                f.inRecovery(true);
                f.recover(f.sndMax());
                TcpSack.beginUndoEpisode(f, false);
                cc.onFastRetransmit(f, now);
                congestionWindowReduced(f);
                out.retransmitFirst(f, now);
                f.tlpOut = false;
                f.ptoDeadline = 0;
            }
        }
        if (f.sackOn() && (opts.sackBlocks > 0 || partialAck)) {
            sackRecovery(f, ack, partialAck, now);
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
            if (wnd > 0) {
                f.persistSinceNanos = 0; // the window opened: probing (and its user timeout) ends
                if (f.persistDeadline() != 0) {
                    f.persistDeadline(0);
                    f.backoff(0);
                    timers.arm(f);
                }
            }
            if (opened) {
                out.markTx(f);
            }
        }
        if (out.hasUnsent(f)) {
            out.markTx(f);
        }
        return true;
    }

    private void finAcked(TasFlow f, long now) {
        post(f, TasEvents.OUTPUT_CLOSED);
        switch (f.state()) {
            case TcpState.FIN_WAIT_1 -> {
                f.state(TcpState.FIN_WAIT_2);
                timers.finWait2Timeout(f, now);
            }
            case TcpState.CLOSING -> fp.enterTimeWait(f, now);
            case TcpState.LAST_ACK -> fp.closeFlow(f, now);
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
        f.rtoNanos(Math.clamp(f.srttNanos() + Math.max(TcpTimers.TIMER_TICK_NANOS, 4 * f.rttvarNanos()),
            params.rtoMinNanos(), params.rtoMaxNanos()));
    }

    /**
     * SACK-based loss recovery (RFC 6675, simplified). Recovery starts as soon as the peer SACKs
     * three segments' worth above SND.UNA (its IsLost), without waiting for the third duplicate
     * ACK, or on any SACK that answers a tail loss probe (RFC 8985 7.4: the probe's ACK shows the
     * tail before it was lost). In recovery each ACK that delivers something lets the holes below
     * the highest SACKed byte be re-sent, a few segments per ACK (about what left the network,
     * as RFC 6937's conservation asks), instead of one hole per round trip.
     */
    private void sackRecovery(TasFlow f, int ack, boolean partialAck, long now) {
        int newly = opts.sackBlocks > 0 ? sack.update(f, opts) : 0;
        if (!f.inRecovery()) {
            if (f.sackedCount > 0 && ge(ack, f.recover())
                && (f.tlpOut || TcpSack.sackedBytes(f) >= 3 * f.mss())) {
                counters.increment(TasCounter.TCP_FAST_RETRANSMITS);
                counters.increment(TasCounter.TCP_SACK_RECOVERIES);
                f.inRecovery(true);
                f.recover(f.sndMax());
                TcpSack.beginUndoEpisode(f, false);
                cc.onFastRetransmit(f, now);
                congestionWindowReduced(f);
                f.tlpOut = false;
                f.ptoDeadline = 0;
                f.highRxt = f.sndUna();
                out.retransmitHoles(f, 2, now);
            }
            return;
        }
        if (f.sackedCount == 0) {
            if (partialAck) {
                out.retransmitFirst(f, now); // no SACK news: NewReno's rule
            }
            return;
        }
        int delivered = newly + (partialAck ? f.mss() : 0);
        if (delivered > 0 && !partialAck && f.firstRxtNanos != 0 && f.srttNanos() > 0
            && now - f.firstRxtNanos > f.srttNanos() + (f.srttNanos() >> 2)
            && gt(f.sacked[2 * f.sackedCount - 1], f.firstRxtSndMax)) {
            // A lost retransmission (RFC 8985's idea in its simplest form): the hole at SND.UNA
            // was re-sent more than 1.25 RTT ago, and the peer has since SACKed data first sent
            // after that copy, yet not the copy. Send it again now rather than wait for the RTO.
            // Only data sent later counts (RFC 8985 6.2, by transmission order): SACKs that are
            // merely slow to come for data sent before the copy prove nothing, and resending on
            // them made a needless copy whenever the peer's ACKs lagged.
            // Only that copy is known lost: the copies of the holes above it went out later and
            // (at 1% loss, 99 times in 100) arrive. Re-sending every hole from SND.UNA again, as
            // this once did, resent each of them for nothing: about 300 D-SACKs per 256 MiB on a
            // 1%-loss path, against about 40 lost copies.
            counters.increment(TasCounter.TCP_LOST_RETRANSMITS);
            out.retransmitFirst(f, now);
        }
        if (delivered > 0) {
            out.retransmitHoles(f, Math.clamp(delivered / f.mss() + 1, 1, 4), now);
        }
    }

    /**
     * RFC 3168 6.1.2: the first ECE of a window reduces the window once (CUBIC: as a loss; DCTCP
     * weighs marks in onAck instead) and asks for CWR on the next new data; further ECEs until
     * that window is acknowledged belong to the same congestion event.
     */
    private void ecnEcho(TasFlow f, long now) {
        if ((f.flags() & TasFlow.F_CWR_WINDOW) != 0) {
            return; // the same congestion event as the last reduction
        }
        counters.increment(TasCounter.TCP_ECN_REDUCTIONS);
        cc.onEcnEcho(f, now);
        congestionWindowReduced(f);
    }

    /** After any reduction (ECE, fast retransmit, timeout): CWR on the next new data, no second cut this window. */
    static void congestionWindowReduced(TasFlow f) {
        if (f.ecnOn()) {
            f.ecnCwrSeq(f.sndMax());
            f.flags(f.flags() | TasFlow.F_CWR_WINDOW | TasFlow.F_CWR_PENDING);
        }
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
                out.scheduleAck(f);
                return;
            }
            seq += skip;
            off += skip;
            len -= skip;
        }
        if (f.rxGrowAsked) {
            growRx(f, rx);
        }
        long tail = rx.tailPlain();
        int rel = seq - rcvNxt;
        // Trim to the ring's free space (the window's true right edge).
        int room = (int) (rx.head() + rx.capacity() - tail) - rel;
        if (len > room) {
            counters.add(TasCounter.DROP_RX_RING_FULL, len - Math.max(room, 0));
            len = room;
            if (len <= 0) {
                out.scheduleAck(f);
                return;
            }
        }
        if (f.finReceived() && gt(seq + len, f.finSeq())) {
            len = f.finSeq() - seq; // nothing is valid beyond the peer's FIN
            if (len <= 0) {
                return;
            }
        }
        TasFlow src = segSource;
        if (src == null) {
            rx.copyIn(tail + rel, segMem, off, len);
        } else {
            // Looped: straight from the sender's transmit ring. Both ends live on this core, and
            // the bytes stay there until we acknowledge them; a sender that ended meanwhile keeps
            // its rings until its looped segments are through (TasFlow.ringsPinned).
            TasByteRing tx = src.tx;
            if (tx == null) {
                counters.increment(TasCounter.DROP_BAD_STATE);
                return;
            }
            rx.copyFromRing(tail + rel, tx, segSourcePos + (off - segPayloadOff), len);
        }
        if (segCe) {
            counters.increment(TasCounter.TCP_ECN_MARKED);
        }
        int fl = f.flags();
        if ((fl & TasFlow.F_ECN_ON) != 0) {
            if (cc.perSegmentEcnEcho()) {
                // DCTCP receiver (RFC 8257 3.2): ECE on an ACK says whether the segments it covers
                // were marked; when the mark state changes, first acknowledge what came before
                // with the old state, so that no mark is lost in a shared ACK.
                boolean echoing = (fl & TasFlow.F_ECE_ECHO) != 0;
                if (segCe != echoing) {
                    if (f.rcvNxt() != f.lastAckSent) {
                        out.sendAckNow(f, now);
                        fl = f.flags();
                    }
                    f.flags(segCe ? fl | TasFlow.F_ECE_ECHO : fl & ~TasFlow.F_ECE_ECHO);
                }
            } else {
                // RFC 3168 6.1.3: from a CE mark on, ECE on every ACK until the sender's CWR.
                if ((segFlags & Tcp.CWR) != 0) {
                    fl &= ~TasFlow.F_ECE_ECHO;
                }
                if (segCe) {
                    fl |= TasFlow.F_ECE_ECHO;
                }
                f.flags(fl);
            }
        }
        if (rel == 0) {
            int advance = len;
            f.rcvNxt(rcvNxt + len);
            if (f.rxMax > rx.capacity() && !f.rxGrowAsked) {
                rcvSpace(f, rx, now);
            }
            boolean hadHoles = f.oooCount() > 0;
            if (hadHoles) {
                advance += mergeOoo(f);
            }
            rx.publishTail(tail + advance);
            post(f, TasEvents.READABLE);
            if (f.loopback && !hadHoles) {
                out.delayAck(f, segSource, now); // the reply will carry it
            } else if (hadHoles || segCe) {
                // RFC 5681 4.2: a segment that fills (part of) a gap is acknowledged at once, so the
                // sender learns of the repair; a CE mark too (its echo is news, as Linux quick-acks).
                out.scheduleAck(f);
            } else {
                out.ackData(f, now);
            }
            if (f.finReceived() && !f.inputClosed && f.rcvNxt() == f.finSeq()) {
                consumeFin(f, now);
            }
        } else {
            // Out of order: keep the bytes in place and remember the interval (TAS keeps one;
            // we keep TasFlow.OOO_MAX).
            if ((fl & TasFlow.F_SACK_ON) != 0) {
                heldAlready(f, seq, seq + len);
            }
            if (!addOoo(f, seq, seq + len)) {
                counters.increment(TasCounter.DROP_OOO_NO_SLOT);
            } else {
                counters.increment(TasCounter.TCP_OUT_OF_ORDER);
            }
            out.sendAckNow(f, now); // RFC 5681 4.2: immediate duplicate ACK for out-of-order data
        }
    }

    /**
     * RFC 2883 4.2: a segment whose bytes (some of them) are held out of order already arrived
     * twice: the first SACK block of the ACK it draws reports the duplicate part (a D-SACK), so
     * that the sender learns its retransmission was needless (Linux's tcp_data_queue_ofo alike).
     */
    private void heldAlready(TasFlow f, int start, int end) {
        for (int i = 0, n = f.oooCount(); i < n; i++) {
            int si = f.oooStart(i);
            int ei = f.oooEnd(i);
            if (lt(start, ei) && gt(end, si)) {
                counters.increment(TasCounter.TCP_DUPLICATE_SEGMENTS);
                f.dsackPending = true;
                f.dsackLeft = lt(start, si) ? si : start;
                f.dsackRight = gt(end, ei) ? ei : end;
                return;
            }
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
        if (n == f.oooCapacity()) {
            if (n == TasFlow.OOO_MAX) {
                f.oooCount(n);
                return false;
            }
            f.growOoo(); // once per flow: more holes than the record holds
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
                    out.sendRst(f.localIp, f.localPort, f.remoteIp, f.remotePort, f.remoteMac, segAck, 0, false, f.loopback);
                }
                counters.increment(TasCounter.DROP_BAD_ACK);
                return;
            }
            ackOk = true;
        }
        if ((flags & Tcp.RST) != 0) {
            if (ackOk) {
                counters.increment(TasCounter.CONN_REFUSED);
                fp.failConnect(f, TasError.REFUSED, now);
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
            timers.arm(f);
            counters.increment(TasCounter.CONN_ESTABLISHED);
            if (f.keepalive) {
                timers.armKeepalive(f, now); // turned on before the connection was established
            }
            out.sendAckNow(f, now);
            post(f, TasEvents.CONNECTED);
            if (out.hasUnsent(f)) {
                out.markTx(f);
            }
        } else {
            // Simultaneous open (RFC 9293 3.5, figure 8).
            f.state(TcpState.SYN_RCVD);
            out.sendSynAck(f, now);
        }
    }

    /** Applies the peer's SYN options; ours were offered according to configuration. */
    private void negotiate(TasFlow f, TcpOptions o, boolean ecnOffered) {
        int peerMss = o.mss > 0 ? o.mss : 536; // RFC 9293 3.7.1: default 536 when absent
        f.tsOn(params.timestamps() && o.hasTimestamp);
        f.sackOn(params.sack() && o.sackPermitted);
        // Recorded for our SYN-ACK in a simultaneous open, which must repeat the option (RFC 7323
        // 2.2: a SYN-ACK may carry it only when the SYN did, and then must, as the SYN we sent did).
        f.peerWscale(o.windowScale);
        if (params.windowScale() && o.windowScale >= 0) {
            f.sndWscale(o.windowScale);
        } else {
            f.sndWscale(0);
            f.rcvWscale(0); // RFC 7323 2.2: scaling only if both sides sent the option
        }
        f.ecnOn(params.ecn() && ecnOffered);
        f.optLen(f.tsOn() ? 12 : 0);
        f.mss(Math.max(64, Math.min(peerMss, params.mssFor(f.loopback)) - f.optLen()));
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
        timers.arm(f);
        rttSample(f, segAck, now); // the SYN-ACK was timed unless retransmitted (Karn)
        handshakeRto(f, synAckRetransmitted);
        cc.init(f, now);
        counters.increment(TasCounter.CONN_ESTABLISHED);
        TasListener l = (TasListener) f.listener;
        if (l == null) {
            // No listener: an active open that crossed the peer's SYN (simultaneous open,
            // RFC 9293 3.5 figure 8) and went SYN-SENT -> SYN-RECEIVED -> ESTABLISHED.
            if (f.keepalive) {
                timers.armKeepalive(f, now);
            }
            post(f, TasEvents.CONNECTED);
        } else if (l.isOpen()) {
            f.listener = null;
            l.enqueueEstablished((io.tasnetty.engine.context.TasConnection) f.handle);
        } else {
            fp.abortFlow(f, true, TasError.ABORTED, now); // the listener closed meanwhile
        }
    }

    private void peerReset(TasFlow f, long now) {
        counters.increment(TasCounter.CONN_RESETS_RECEIVED);
        if (f.state() == TcpState.SYN_RCVD && f.listener != null) {
            // RFC 9293 3.10.7.4: a passive open reset by the peer goes back to LISTEN: just forget it.
            fp.forgetUnaccepted(f);
            fp.removeFlow(f, now, 0);
            return;
        }
        if (f.state() == TcpState.SYN_RCVD) {
            // RFC 9293 3.10.7.4: an active open (simultaneous open) reset in SYN-RECEIVED was refused.
            counters.increment(TasCounter.CONN_REFUSED);
            fp.failConnect(f, TasError.REFUSED, now);
            return;
        }
        if (f.state() == TcpState.TIME_WAIT) {
            // RFC 1337 (TIME-WAIT assassination): ignore RST here, so a stray RST cannot end
            // TIME_WAIT early and let old duplicates into a new incarnation.
            counters.increment(TasCounter.DROP_BAD_STATE);
            return;
        }
        f.error = TasError.RESET.ordinal();
        fp.removeFlow(f, now, TasEvents.RESET | TasEvents.CLOSED);
    }

    /**
     * RFC 5961 7: challenge ACKs are rate limited, per connection, to one per
     * CHALLENGE_ACK_INTERVAL_NANOS (Linux's tcp_invalid_ratelimit), so a blind attacker cannot turn
     * us into an ACK amplifier. Not per core or engine: a shared budget is a side channel that
     * tells an off-path attacker when another connection is being challenged (CVE-2016-5696).
     */
    private void challengeAck(TasFlow f) {
        long now = fp.lastNow();
        counters.increment(TasCounter.TCP_CHALLENGE_ACKS);
        if (f.lastChallengeAckNanos != 0 && now - f.lastChallengeAckNanos < CHALLENGE_ACK_INTERVAL_NANOS) {
            counters.increment(TasCounter.TCP_CHALLENGE_ACKS_LIMITED);
            return;
        }
        f.lastChallengeAckNanos = now;
        out.scheduleAck(f);
    }
}
