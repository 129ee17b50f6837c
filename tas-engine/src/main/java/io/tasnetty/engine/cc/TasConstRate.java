package io.tasnetty.engine.cc;

import io.tasnetty.engine.flow.TasFlow;

/** A fixed pacing rate ({@code cc-const-rate}; 0 = unlimited): no reaction to loss or marks. */
public final class TasConstRate implements TasCcAlgorithm {
    private final long rate;

    public TasConstRate(long bytesPerSec) {
        this.rate = bytesPerSec;
    }

    @Override
    public void init(TasFlow f, long now) {
        f.cwnd(UNLIMITED_WINDOW);
        f.ssthresh(UNLIMITED_WINDOW);
        f.rateBytesPerSec(rate);
        f.paceLastNanos(now);
        f.paceTokens(10L * f.mss());
    }

    @Override
    public void onAck(TasFlow f, int acked, boolean ece, long now) {
    }

    @Override
    public void onFastRetransmit(TasFlow f, long now) {
    }

    @Override
    public void onTimeout(TasFlow f, long now) {
    }

    @Override
    public String name() {
        return "const-rate";
    }
}
