package io.tasnetty.engine.cc;

import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TasSeq;

/**
 * CUBIC (RFC 9438), Linux's default: a loss-based window. After a reduction the window follows
 * {@code W(t) = C (t - K)^3 + W_max}: fast while far below the window at which loss last came, flat
 * around it, then probing beyond; never slower than Reno would be (the Reno-friendly W_est, 4.3).
 * Slow start ends on loss or, with HyStart (RFC 9406 4.2, delay increase), when a round's RTT
 * rises by a clear margin over the previous round's, before the bottleneck queue overflows.
 *
 * <p>Stateless like every {@link TasCcAlgorithm}: the state lives in the flow's record. Windows are
 * bytes; the formulae of the RFC work in segments of {@code mss} bytes.
 */
public final class TasCubic implements TasCcAlgorithm {
    /** RFC 9438 4.6: multiplicative decrease factor. */
    static final double BETA = 0.7;
    /** RFC 9438 4.2: the cubic curve's scaling constant, in segments per second cubed. */
    static final double C = 0.4;
    /** RFC 9438 4.3: Reno-friendly additive increase, 3 (1 - beta) / (1 + beta) segments per RTT. */
    static final double ALPHA = 3 * (1 - BETA) / (1 + BETA);
    /** RFC 9406: HyStart acts only once the window holds this many segments. */
    static final int HYSTART_LOW_WINDOW = 16;
    /** RFC 9406 4.2: the RTT increase that ends slow start lies between these (MIN_RTT_THRESH, MAX_RTT_THRESH). */
    static final long HYSTART_MIN_ETA_NANOS = 4_000_000;
    static final long HYSTART_MAX_ETA_NANOS = 16_000_000;

    @Override
    public void init(TasFlow f, long now) {
        f.cwnd(10 * f.mss()); // RFC 6928: an initial window of 10 segments
        f.ssthresh(UNLIMITED_WINDOW);
        f.rateBytesPerSec(0); // a window, not a rate: no pacing
        f.cubicEpochNanos(0);
        f.cubicWmax(0);
        f.hsRoundEnd(f.sndMax());
        f.hsLastRoundMinRtt(0);
        f.hsRoundMinRtt(0);
    }

    @Override
    public void onAck(TasFlow f, int acked, boolean ece, long now) {
        if (f.inRecovery() || acked <= 0 || (f.flags() & TasFlow.F_CWR_WINDOW) != 0) {
            return; // RFC 9438 4.6: no growth while the window of the last reduction drains
        }
        int mss = f.mss();
        int cwnd = f.cwnd();
        if (cwnd < f.ssthresh()) {
            f.cwnd(Math.min(cwnd + Math.min(acked, mss), UNLIMITED_WINDOW)); // RFC 5681 3.1, ABC with L = 1
            hystart(f, cwnd, mss);
            return;
        }
        long epoch = f.cubicEpochNanos();
        if (epoch == 0) {
            // A new epoch (RFC 9438 4.2): K is how long the curve takes from here back to W_max.
            epoch = now;
            f.cubicEpochNanos(now);
            int wmax = f.cubicWmax();
            if (cwnd < wmax) {
                double k = Math.cbrt((double) (wmax - cwnd) / mss / C);
                f.cubicKNanos((long) (k * 1e9));
                f.cubicOrigin(wmax);
            } else {
                f.cubicKNanos(0);
                f.cubicOrigin(cwnd);
            }
            f.cubicWest(cwnd);
        }
        // RFC 9438 4.2: aim where the curve will be one RTT from now.
        long rtt = f.srttNanos() > 0 ? f.srttNanos() : 0;
        double t = (now - epoch + rtt - f.cubicKNanos()) / 1e9;
        double target = C * t * t * t * mss + f.cubicOrigin();
        // 4.3: Reno-friendly region. W_est grows ALPHA segments per window of acknowledged data.
        int west = f.cubicWest() + (int) Math.max(1, ALPHA * mss * acked / cwnd);
        f.cubicWest(west);
        if (west >= target) {
            f.cwnd(Math.min(Math.max(cwnd, west), UNLIMITED_WINDOW)); // 4.3: where Reno would be faster, be Reno
            return;
        }
        // 4.4/4.5: at most 1.5x per RTT; the window moves (target - cwnd) / cwnd per acknowledged segment.
        target = Math.min(target, 1.5 * cwnd);
        if (target > cwnd) {
            long grow = (long) ((target - cwnd) * acked / cwnd);
            f.cwnd((int) Math.min(cwnd + Math.max(grow, 1), UNLIMITED_WINDOW));
        }
    }

    /**
     * RFC 9406 4.2 (delay increase): per round of data, the smallest RTT sample; once the window
     * is at least HYSTART_LOW_WINDOW segments, a round whose minimum exceeds the previous round's by
     * eta = clamp(previous / 8, 4 ms, 16 ms) ends slow start: the queue at the bottleneck is
     * filling, and doubling once more would overflow it.
     */
    private static void hystart(TasFlow f, int cwnd, int mss) {
        long sample = f.rttLastNanos();
        if (sample > 0 && (f.hsRoundMinRtt() == 0 || sample < f.hsRoundMinRtt())) {
            f.hsRoundMinRtt(sample);
        }
        if (TasSeq.ge(f.sndUna(), f.hsRoundEnd())) {
            // The round is over: its minimum becomes the baseline of the next.
            long last = f.hsLastRoundMinRtt();
            long cur = f.hsRoundMinRtt();
            if (last > 0 && cur > 0 && cwnd >= HYSTART_LOW_WINDOW * mss) {
                long eta = Math.clamp(last / 8, HYSTART_MIN_ETA_NANOS, HYSTART_MAX_ETA_NANOS);
                if (cur >= last + eta) {
                    f.ssthresh(f.cwnd());
                    return;
                }
            }
            if (cur > 0) {
                f.hsLastRoundMinRtt(last == 0 ? cur : Math.min(last, cur));
            }
            f.hsRoundMinRtt(0);
            f.hsRoundEnd(f.sndMax());
        }
    }

    @Override
    public void onFastRetransmit(TasFlow f, long now) {
        reduce(f, f.cwnd());
    }

    @Override
    public void onEcnEcho(TasFlow f, long now) {
        reduce(f, f.cwnd()); // RFC 3168 6.1.2, RFC 9438 4.6: a CE mark counts as a loss
    }

    @Override
    public void onTimeout(TasFlow f, long now) {
        // RFC 9438 4.8: the reduction of a loss, and then slow start from one segment.
        reduce(f, f.cwnd());
        f.cwnd(f.mss());
    }

    /** RFC 9438 4.6 and 4.7 (fast convergence): remember where loss came and cut by beta. */
    private static void reduce(TasFlow f, int cwnd) {
        int mss = f.mss();
        f.cubicEpochNanos(0);
        if (cwnd < f.cubicWmax()) {
            f.cubicWmax((int) (cwnd * (1 + BETA) / 2)); // a flow losing ground releases bandwidth sooner
        } else {
            f.cubicWmax(cwnd);
        }
        int ssthresh = Math.max((int) (cwnd * BETA), 2 * mss);
        f.ssthresh(ssthresh);
        f.cwnd(ssthresh);
    }

    @Override
    public String name() {
        return "cubic";
    }
}
