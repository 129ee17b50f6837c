package io.tasnetty.engine.cc;

import io.tasnetty.engine.flow.TasFlow;

/**
 * TIMELY (Mittal et al., SIGCOMM 2015): rate control from the RTT and its gradient, no ECN
 * needed. Once per control interval (a few RTTs, as {@link TasDctcpRate}) with the newest RTT
 * sample:
 * <ul>
 *   <li>below {@code T_low}: add one step (the queue is short, whatever its trend);</li>
 *   <li>above {@code T_high}: multiply by {@code 1 - beta * (1 - T_high / rtt)};</li>
 *   <li>otherwise follow the gradient, the moving average (weight {@code alpha}) of RTT
 *       differences between intervals, normalised by the smallest RTT seen: if it is not
 *       positive add one step, or five after five such intervals in a row ("hyperactive
 *       increase"); if positive multiply by {@code 1 - beta * gradient}.</li>
 * </ul>
 * The paper assumes a lossless fabric; here a loss in the interval halves the rate, as the
 * other rate controllers do. A decrease never takes more than half the rate at once.
 */
public final class TasTimely implements TasCcAlgorithm {
    /** Intervals in a row with a non-positive gradient before increases grow fivefold. */
    static final int HAI_THRESHOLD = 5;

    private final long initRate;
    private final long stepRate;
    private final long minRate;
    private final long maxRate;
    private final long tLowNanos;
    private final long tHighNanos;
    private final double alpha;
    private final double beta;
    private final long intervalRtts;
    private final long minIntervalNanos;
    /** tcp-rtt-init: the RTT a control interval is measured in until the flow has a sample. */
    private final long rttInitNanos;

    /**
     * @param initBytesPerSec starting rate
     * @param stepBytesPerSec additive increase per interval
     * @param minBytesPerSec floor
     * @param maxBytesPerSec ceiling (the link rate)
     * @param tLowNanos T_low
     * @param tHighNanos T_high (above T_low)
     * @param alpha weight of the newest RTT difference
     * @param beta multiplicative decrease factor
     * @param intervalRtts control interval in RTTs
     * @param rttInitNanos RTT assumed until one is measured (tcp-rtt-init)
     */
    public TasTimely(long initBytesPerSec, long stepBytesPerSec, long minBytesPerSec, long maxBytesPerSec,
                     long tLowNanos, long tHighNanos, double alpha, double beta, long intervalRtts,
                     long rttInitNanos) {
        this.initRate = initBytesPerSec;
        this.stepRate = stepBytesPerSec;
        this.minRate = Math.max(1, minBytesPerSec);
        this.maxRate = maxBytesPerSec;
        this.tLowNanos = tLowNanos;
        this.tHighNanos = tHighNanos;
        this.alpha = alpha;
        this.beta = beta;
        this.intervalRtts = Math.max(1, intervalRtts);
        this.minIntervalNanos = 20_000;
        this.rttInitNanos = Math.max(0, rttInitNanos);
    }

    @Override
    public void init(TasFlow f, long now) {
        f.cwnd(UNLIMITED_WINDOW);
        f.ssthresh(UNLIMITED_WINDOW);
        f.rateBytesPerSec(Math.clamp(initRate, minRate, maxRate));
        f.paceLastNanos(now);
        f.paceTokens(10L * f.mss()); // an initial burst like RFC 6928's initial window
        f.ccLastControlNanos(now);
        f.timelyPrevRttNanos(0);
        f.timelyRttDiffNanos(0);
        f.timelyIncreases(0);
    }

    @Override
    public void onAck(TasFlow f, int acked, boolean ece, long now) {
        long rtt = f.srttNanos() > 0 ? f.srttNanos() : rttInitNanos;
        long interval = Math.max(minIntervalNanos, intervalRtts * rtt);
        if (now - f.ccLastControlNanos() >= interval) {
            control(f, now);
        }
    }

    private void control(TasFlow f, long now) {
        f.ccLastControlNanos(now);
        long rate = f.rateBytesPerSec();
        if (f.ccLosses() > 0) {
            f.ccLosses(0);
            f.timelyIncreases(0);
            f.rateBytesPerSec(Math.clamp(rate >> 1, minRate, maxRate));
            return;
        }
        long rtt = f.rttLastNanos();
        if (rtt <= 0) {
            return; // no sample yet
        }
        long prev = f.timelyPrevRttNanos();
        f.timelyPrevRttNanos(rtt);
        if (prev == 0) {
            return; // a gradient needs two samples
        }
        double diff = (1 - alpha) * f.timelyRttDiffNanos() + alpha * (rtt - prev);
        f.timelyRttDiffNanos(diff);
        double next;
        if (rtt < tLowNanos) {
            f.timelyIncreases(0);
            next = rate + stepRate;
        } else if (rtt > tHighNanos) {
            f.timelyIncreases(0);
            next = rate * (1 - beta * (1 - (double) tHighNanos / rtt));
        } else {
            double gradient = diff / Math.max(1, f.rttMinNanos());
            if (gradient <= 0) {
                int n = f.timelyIncreases() + 1;
                f.timelyIncreases(n);
                next = rate + (n >= HAI_THRESHOLD ? HAI_THRESHOLD : 1) * (double) stepRate;
            } else {
                f.timelyIncreases(0);
                next = rate * (1 - beta * gradient);
            }
        }
        f.rateBytesPerSec(Math.clamp((long) Math.max(next, rate / 2.0), minRate, maxRate));
    }

    @Override
    public void onFastRetransmit(TasFlow f, long now) {
        f.ccLosses(f.ccLosses() + 1);
    }

    @Override
    public void onTimeout(TasFlow f, long now) {
        f.ccLosses(f.ccLosses() + 1);
        control(f, now);
    }

    @Override
    public String name() {
        return "timely";
    }
}
