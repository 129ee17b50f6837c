package io.tasnetty.engine.cc;

import io.tasnetty.engine.flow.TasFlow;

/**
 * DCTCP on a window (RFC 8257): NewReno slow start and congestion avoidance (RFC 5681), and once
 * per window of data the window shrinks by {@code alpha/2} where alpha is the EWMA of the fraction
 * of bytes that came back ECN-marked.
 */
public final class TasDctcpWindow implements TasCcAlgorithm {
    private final double weight;

    public TasDctcpWindow(double weight) {
        this.weight = weight;
    }

    @Override
    public void init(TasFlow f, long now) {
        // RFC 6928: an initial window of 10 segments.
        f.cwnd(10 * f.mss());
        f.ssthresh(UNLIMITED_WINDOW);
        f.rateBytesPerSec(0);
        f.dctcpAlpha(0);
        f.ccAckedBytes(0);
        f.ccEceBytes(0);
    }

    @Override
    public void onAck(TasFlow f, int acked, boolean ece, long now) {
        f.ccAckedBytes(f.ccAckedBytes() + acked);
        if (ece) {
            f.ccEceBytes(f.ccEceBytes() + acked);
        }
        if (f.ccAckedBytes() >= f.cwnd()) {
            // One window of data observed: update alpha (RFC 8257 3.3) and react once.
            double frac = (double) f.ccEceBytes() / f.ccAckedBytes();
            f.dctcpAlpha((1 - weight) * f.dctcpAlpha() + weight * frac);
            if (f.ccEceBytes() > 0) {
                f.cwnd(Math.max(2 * f.mss(), (int) (f.cwnd() * (1 - f.dctcpAlpha() / 2))));
                f.ssthresh(f.cwnd());
            }
            f.ccAckedBytes(0);
            f.ccEceBytes(0);
        }
        if (f.inRecovery()) {
            return;
        }
        if (f.cwnd() < f.ssthresh()) {
            f.cwnd(f.cwnd() + (Math.min(acked, f.mss()))); // RFC 5681 3.1 slow start (appropriate byte counting, L=1)
        } else {
            f.cwnd(f.cwnd() + (Math.max(1, (int) ((long) f.mss() * f.mss() / f.cwnd())))); // congestion avoidance
        }
        f.cwnd(Math.min(f.cwnd(), UNLIMITED_WINDOW));
    }

    @Override
    public void onFastRetransmit(TasFlow f, long now) {
        f.ssthresh(Math.max(f.inFlight() / 2, 2 * f.mss()));
        f.cwnd(f.ssthresh() + 3 * f.mss());
    }

    @Override
    public void onTimeout(TasFlow f, long now) {
        f.ssthresh(Math.max(f.inFlight() / 2, 2 * f.mss()));
        f.cwnd(f.mss());
    }

    @Override
    public boolean perSegmentEcnEcho() {
        return true;
    }

    @Override
    public String name() {
        return "dctcp-win";
    }
}
