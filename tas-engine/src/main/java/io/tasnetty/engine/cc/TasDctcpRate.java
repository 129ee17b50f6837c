package io.tasnetty.engine.cc;

import io.tasnetty.engine.flow.TasFlow;

/**
 * TAS's default: DCTCP on a rate. Every control interval (a few RTTs) the rate is halved if the
 * interval saw a loss, reduced by {@code alpha/2} if ACKs carried ECN-Echo (alpha an EWMA of the
 * marked fraction, weight {@code g}), doubled while in slow start, and raised by a fixed step
 * otherwise. The window is not limited; the pacer enforces the rate.
 */
public final class TasDctcpRate implements TasCcAlgorithm {
    private final long initRate;
    private final long stepRate;
    private final long minRate;
    private final long maxRate;
    private final double weight;
    private final long intervalRtts;
    private final long minIntervalNanos;
    /** tcp-rtt-init: the RTT a control interval is measured in until the flow has a sample. */
    private final long rttInitNanos;
    /** cc-dctcp-minpkts: fewest acknowledged segments alpha is computed from. */
    private final int minPackets;

    /**
     * @param initBytesPerSec starting rate
     * @param stepBytesPerSec additive increase per interval
     * @param minBytesPerSec floor
     * @param maxBytesPerSec ceiling (the link rate)
     * @param weight DCTCP's g
     * @param intervalRtts control interval in RTTs
     * @param rttInitNanos RTT assumed until one is measured (tcp-rtt-init)
     * @param minPackets segments an interval must have acknowledged before ECN marks change alpha
     *                   and the rate (cc-dctcp-minpkts); fewer, and the counts carry over
     */
    public TasDctcpRate(long initBytesPerSec, long stepBytesPerSec, long minBytesPerSec, long maxBytesPerSec,
                        double weight, long intervalRtts, long rttInitNanos, int minPackets) {
        this.initRate = initBytesPerSec;
        this.stepRate = stepBytesPerSec;
        this.minRate = Math.max(1, minBytesPerSec);
        this.maxRate = maxBytesPerSec;
        this.weight = weight;
        this.intervalRtts = Math.max(1, intervalRtts);
        this.minIntervalNanos = 20_000;
        this.rttInitNanos = Math.max(0, rttInitNanos);
        this.minPackets = Math.max(0, minPackets);
    }

    @Override
    public void init(TasFlow f, long now) {
        f.cwnd(UNLIMITED_WINDOW);
        f.ssthresh(UNLIMITED_WINDOW); // slow start until the first congestion signal
        f.rateBytesPerSec(initRate);
        f.paceLastNanos(now);
        f.paceTokens(10L * f.mss()); // an initial burst like RFC 6928's initial window
        f.ccLastControlNanos(now);
        f.dctcpAlpha(0);
    }

    @Override
    public void onAck(TasFlow f, int acked, boolean ece, long now) {
        f.ccAckedBytes(f.ccAckedBytes() + acked);
        if (ece) {
            f.ccEceBytes(f.ccEceBytes() + acked);
        }
        long rtt = f.srttNanos() > 0 ? f.srttNanos() : rttInitNanos;
        long interval = Math.max(minIntervalNanos, intervalRtts * rtt);
        if (now - f.ccLastControlNanos() >= interval) {
            control(f, now);
        }
    }

    private void control(TasFlow f, long now) {
        long rate = f.rateBytesPerSec();
        if (f.ccLosses() == 0 && f.ccEceBytes() > 0 && f.ccAckedBytes() < (long) minPackets * Math.max(1, f.mss())) {
            // TAS's cc-dctcp-minpkts: a marked fraction over a handful of segments is noise; keep
            // counting into the next interval (neither cut nor grow meanwhile). Losses act at once.
            return;
        }
        if (f.ccLosses() > 0) {
            rate >>= 1;
            f.ssthresh(0);
        } else if (f.ccEceBytes() > 0) {
            double frac = (double) f.ccEceBytes() / Math.max(1, f.ccAckedBytes());
            f.dctcpAlpha((1 - weight) * f.dctcpAlpha() + weight * frac);
            rate = (long) (rate * (1 - f.dctcpAlpha() / 2));
            f.ssthresh(0);
        } else {
            f.dctcpAlpha((1 - weight) * f.dctcpAlpha());
            rate = f.ssthresh() == UNLIMITED_WINDOW ? rate * 2 : rate + stepRate;
        }
        f.rateBytesPerSec(Math.clamp(rate, minRate, maxRate));
        f.ccAckedBytes(0);
        f.ccEceBytes(0);
        f.ccLosses(0);
        f.ccLastControlNanos(now);
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
    public boolean perSegmentEcnEcho() {
        return true;
    }

    @Override
    public String name() {
        return "dctcp-rate";
    }
}
