package io.tasnetty.engine.fast;

import io.tasnetty.engine.TasEngineParams;
import io.tasnetty.engine.cc.TasCcAlgorithm;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.flow.TasByteRing;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;
import io.tasnetty.engine.wire.Tcp;

/**
 * Timers of one fast-path agent ({@link TasFastPath}): a flow's deadlines (retransmission, zero-window
 * persist, keepalive, TIME_WAIT / orphaned FIN_WAIT_2, pacing) live in its record; {@link #arm}
 * puts the flow on the agent's {@link TasTimerWheel} at the earliest of them, and {@link #expired}
 * runs the actions of every deadline that has passed: RTO retransmission and back-off (RFC 6298),
 * zero-window probes (RFC 9293 3.8.6.1), keepalive probes (RFC 1122 4.2.3.6), end of TIME_WAIT.
 *
 * <p>Runs on the agent's thread only.
 */
final class TcpTimers implements TasTimerWheel.Expiry {
    static final long TIMER_TICK_NANOS = 1_000_000L;
    static final long PERSIST_MIN_NANOS = 200_000_000L;
    private static final long PERSIST_MAX_NANOS = 60_000_000_000L;
    /**
     * Unanswered retransmissions (of a FIN or of data left in the ring) or zero-window probes
     * before an orphaned connection, one the application closed, gives up: Linux's
     * tcp_orphan_retries default (8, about 100 s at a 200 ms RTO), not tcp_retries2 (15, up to
     * 15 minutes), since no application waits for it and a peer that vanished would hold its
     * record and rings that long.
     */
    static final int ORPHAN_RETRIES = 8;
    /** MSS after black-hole detection (Linux tcp_base_mss): 1,024 bytes fit every path worth using. */
    private static final int BLACK_HOLE_MSS = 1024;

    private final TasFastPath fp;
    private final TcpOutput out;
    private final TasTimerWheel wheel;
    private final TasEngineParams params;
    private final TasCounters counters;
    private final TasCcAlgorithm cc;

    TcpTimers(TasFastPath fp, TcpOutput out, TasTimerWheel wheel, TasEngineParams params, TasCounters counters,
              TasCcAlgorithm cc) {
        this.fp = fp;
        this.out = out;
        this.wheel = wheel;
        this.params = params;
        this.counters = counters;
        this.cc = cc;
    }

    /** (Re)schedules {@code f} at its earliest deadline, or takes it off the wheel if it has none. */
    void arm(TasFlow f) {
        arm(wheel, f);
    }

    /** As {@link #arm(TasFlow)}, for {@link TcpOutput}: it is built before the timers, which send through it. */
    static void arm(TasTimerWheel wheel, TasFlow f) {
        arm(wheel, f, false);
    }

    /**
     * As {@link #arm(TasTimerWheel, TasFlow)} for a deadline that may fire late (a delayed ACK on
     * the loopback: an ACK a little later costs nothing there, a wake-up of the sleeping agent
     * thread for every request would).
     */
    static void armLazily(TasTimerWheel wheel, TasFlow f) {
        arm(wheel, f, true);
    }

    private static void arm(TasTimerWheel wheel, TasFlow f, boolean lazy) {
        long d = 0;
        d = earliest(d, f.rtoDeadline());
        d = earliest(d, f.persistDeadline());
        d = earliest(d, f.keepaliveDeadline());
        d = earliest(d, f.timeWaitDeadline());
        d = earliest(d, f.paceDeadline());
        d = earliest(d, f.delackDeadline);
        d = earliest(d, f.ptoDeadline);
        if (d == 0) {
            if (f.timerSlot() >= 0) {
                wheel.cancel(f);
            }
        } else if (f.timerSlot() < 0 || d != f.timerDeadline()) {
            wheel.schedule(f, d, lazy);
        }
    }

    private static long earliest(long a, long b) {
        return a == 0 ? b : b == 0 ? a : Math.min(a, b);
    }

    /** Starts (or stops) the keepalive idle period from now, as the flow's keepalive flag says. */
    void armKeepalive(TasFlow f, long now) {
        f.keepaliveProbes(0);
        f.keepaliveDeadline(f.keepalive && f.state() == TcpState.ESTABLISHED ? now + keepaliveIdle(f) : 0);
        arm(f);
    }

    /**
     * An orphaned FIN_WAIT_2 (the application closed; the peer never sends FIN) would live
     * forever: like Linux's tcp_fin_timeout, give up after the TIME_WAIT period.
     */
    void finWait2Timeout(TasFlow f, long now) {
        if (f.state() == TcpState.FIN_WAIT_2 && f.released && f.timeWaitDeadline() == 0) {
            f.timeWaitDeadline(now + params.timeWaitNanos());
            arm(f);
        }
    }

    @Override
    public void expired(TasFlow f, long now) {
        onTimer(f, now);
    }

    private void onTimer(TasFlow f, long now) {
        if (f.dead) {
            return;
        }
        if (f.timeWaitDeadline() != 0 && now >= f.timeWaitDeadline()) {
            f.timeWaitDeadline(0);
            fp.closeFlow(f, now);
            return;
        }
        if (f.delackDeadline != 0 && now >= f.delackDeadline) {
            f.delackDeadline = 0;
            if (f.ackPending()) {
                counters.increment(TasCounter.TCP_DELAYED_ACKS);
                out.sendAckNow(f, now); // no reply came to carry it
            }
        }
        if (f.rtoDeadline() != 0 && now >= f.rtoDeadline()) {
            f.rtoDeadline(0);
            retransmitTimeout(f, now);
            if (f.dead) {
                return;
            }
        } else if (f.ptoDeadline != 0 && now >= f.ptoDeadline) {
            out.tailLossProbe(f, now);
        }
        if (f.persistDeadline() != 0 && now >= f.persistDeadline()) {
            // A peer that answers probes may keep its window shut as long as it likes (RFC 9293
            // 3.8.6.1); one that answers none is gone. As Linux's tcp_probe_timer: give up after
            // tcp_retries2 (15) unanswered probes, or ORPHAN_RETRIES once the application closed.
            int limit = f.released ? ORPHAN_RETRIES : params.dataRetries();
            // RFC 5482 / Linux: with TCP_USER_TIMEOUT, a window that stays shut that long ends the
            // connection even while the peer answers every probe (it may never open again).
            boolean userTimedOut = f.userTimeoutNanos > 0 && f.persistSinceNanos != 0
                && now - f.persistSinceNanos >= f.userTimeoutNanos;
            if (f.persistProbesOut >= limit || userTimedOut) {
                f.persistDeadline(0);
                counters.increment(userTimedOut ? TasCounter.CONN_USER_TIMEOUTS : TasCounter.CONN_PERSIST_GIVE_UPS);
                f.error = TasError.TIMED_OUT.ordinal();
                fp.abortFlow(f, true, TasError.TIMED_OUT, now);
                return;
            }
            f.persistProbesOut++;
            // RFC 9293 3.8.6.1: probe the zero window; an out-of-window ACK makes the peer answer
            // with its current window, so no data is committed to a closed window.
            counters.increment(TasCounter.TCP_ZERO_WINDOW_PROBES);
            out.emit(f, Tcp.ACK, f.sndUna() - 1, 0, 0, now);
            f.backoff(Math.min(f.backoff() + 1, 16));
            long next = now + Math.min(PERSIST_MAX_NANOS, Math.max(PERSIST_MIN_NANOS, f.rtoNanos()) << f.backoff());
            if (f.userTimeoutNanos > 0 && f.persistSinceNanos != 0) {
                // As Linux's tcp_clamp_probe0_to_user_timeout: the verdict comes on time, not a backed-off probe later.
                next = Math.min(next, Math.max(now + 1, f.persistSinceNanos + f.userTimeoutNanos));
            }
            f.persistDeadline(next);
        }
        if (f.keepaliveDeadline() != 0 && now >= f.keepaliveDeadline()) {
            keepaliveTimer(f, now);
            if (f.dead) {
                return;
            }
        }
        if (f.paceDeadline() != 0 && now >= f.paceDeadline()) {
            f.paceDeadline(0);
            out.markTx(f);
        }
        arm(f);
    }

    private void keepaliveTimer(TasFlow f, long now) {
        f.keepaliveDeadline(0);
        if (!f.keepalive || f.state() != TcpState.ESTABLISHED) {
            return;
        }
        long idle = keepaliveIdle(f);
        if (f.keepaliveProbes() == 0 && now - f.lastRxNanos() < idle) {
            // Something arrived since the timer was set (or the last probe was answered):
            // the idle period runs from that segment (RFC 1122 4.2.3.6).
            f.keepaliveDeadline(f.lastRxNanos() + idle);
            return;
        }
        // With TCP_USER_TIMEOUT, as Linux's tcp_keepalive_timer: unanswered probes for that long
        // end the connection, whatever the probe count.
        boolean expired = f.userTimeoutNanos > 0
            ? f.keepaliveProbes() > 0 && now - f.lastRxNanos() >= f.userTimeoutNanos
            : f.keepaliveProbes() >= (f.keepaliveCount > 0 ? f.keepaliveCount : params.keepaliveProbes());
        if (expired) {
            f.error = TasError.TIMED_OUT.ordinal();
            fp.abortFlow(f, true, TasError.TIMED_OUT, now);
            return;
        }
        f.keepaliveProbes(f.keepaliveProbes() + 1);
        counters.increment(TasCounter.TCP_KEEPALIVES);
        out.emit(f, Tcp.ACK, f.sndUna() - 1, 0, 0, now); // RFC 1122 4.2.3.6: SEG.SEQ = SND.NXT-1
        f.keepaliveDeadline(now + (f.keepaliveIntervalNanos > 0 ? f.keepaliveIntervalNanos : params.keepaliveIntervalNanos()));
    }

    /** The connection's own TCP_KEEPIDLE, or the engine's tcp-keepalive-idle. */
    private long keepaliveIdle(TasFlow f) {
        return f.keepaliveIdleNanos > 0 ? f.keepaliveIdleNanos : params.keepaliveIdleNanos();
    }

    /** True when the segment at SND.UNA would be full-sized (only such segments meet an MTU). */
    private static boolean fullSizedAtUna(TasFlow f) {
        TasByteRing tx = f.tx;
        return tx != null && tx.tail() - tx.headPlain() >= f.mss();
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
                    fp.failConnect(f, TasError.TIMED_OUT, now);
                } else {
                    fp.abortFlow(f, false, TasError.TIMED_OUT, now);
                }
                return;
            }
            f.rtoNanos(Math.min(f.rtoNanos() * 2, params.rtoMaxNanos()));
            if (state == TcpState.SYN_SENT) {
                out.sendSyn(f, now);
            } else {
                out.sendSynAck(f, now);
            }
            return;
        }
        if (f.sndUna() == f.sndMax()) {
            return;
        }
        f.retries(f.retries() + 1);
        // RFC 5482: with TCP_USER_TIMEOUT, time since the last progress decides instead of the
        // retransmission count (as Linux's retransmits_timed_out); an orphan (LAST_ACK, FIN_WAIT_1,
        // CLOSING after close()) has the shorter count, as Linux's tcp_write_timeout for SOCK_DEAD.
        long ut = f.userTimeoutNanos;
        int limit = f.released ? ORPHAN_RETRIES : params.dataRetries();
        if (ut > 0 ? now - f.unackedSinceNanos >= ut : f.retries() > limit) {
            if (ut > 0) {
                counters.increment(TasCounter.CONN_USER_TIMEOUTS);
            }
            f.error = TasError.TIMED_OUT.ordinal();
            fp.abortFlow(f, true, TasError.TIMED_OUT, now);
            return;
        }
        TcpSack.beginUndoEpisode(f, f.inRecovery() || f.backoff() > 0);
        cc.onTimeout(f, now);
        TcpSack.clear(f); // RFC 2018 8: the peer may have reneged on what it SACKed
        f.highRxt = f.sndUna();
        f.tlpOut = false;
        f.ptoDeadline = 0;
        if (f.backoff() == 2 && !f.loopback && f.mss() > BLACK_HOLE_MSS - f.optLen() && fullSizedAtUna(f)) {
            // RFC 4821 / Linux's tcp_mtu_probing: a third timeout in a row of a full-sized segment
            // may be a path that drops such segments without telling us (ICMP filtered): fall
            // back to segments that fit any sane path, as Linux's tcp_base_mss does. Small
            // segments timing out say nothing about the MTU.
            f.mss(BLACK_HOLE_MSS - f.optLen());
            counters.increment(TasCounter.TCP_MTU_BLACK_HOLE);
        }
        TcpInput.congestionWindowReduced(f);
        f.recover(f.sndMax()); // RFC 6582 4: after a timeout, no fast retransmit until all sent so far is acked
        f.inRecovery(false);
        f.dupAcks(0);
        f.rttTiming(false);
        f.rtoNanos(Math.min(f.rtoNanos() * 2, params.rtoMaxNanos())); // 5.5: back off
        f.backoff(f.backoff() + 1);
        // Go back N from the first unacknowledged byte (everything after it is re-sent as the
        // window allows; the receiver's out-of-order store keeps what it already has).
        f.sndNxt(f.sndUna());
        f.paceTokens(Math.max(f.paceTokens(), f.mss()));
        out.sendData(f, now, 1);
        f.rtoDeadline(clampToUserTimeout(f, now, now + f.rtoNanos()));
        out.markTx(f);
    }

    /**
     * An RTO deadline no later than the TCP_USER_TIMEOUT verdict, as Linux's
     * tcp_clamp_rto_to_user_timeout: the verdict comes on time, not one backed-off RTO later.
     */
    static long clampToUserTimeout(TasFlow f, long now, long deadline) {
        long ut = f.userTimeoutNanos;
        return ut > 0 ? Math.min(deadline, Math.max(now + 1, f.unackedSinceNanos + ut)) : deadline;
    }
}
