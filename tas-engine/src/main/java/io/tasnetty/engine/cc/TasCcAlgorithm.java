package io.tasnetty.engine.cc;

import io.tasnetty.engine.flow.TasFlow;

/**
 * A congestion-control algorithm: a stateless strategy that reads and writes the flow's
 * congestion fields ({@code cwnd}, {@code ssthresh}, {@code rateBytesPerSec} and the per-interval
 * counters). The fast path calls it on ACKs, losses and timeouts; transmission is then bounded by
 * {@code min(peer window, cwnd)} and, when {@code rateBytesPerSec > 0}, paced at that rate.
 */
public interface TasCcAlgorithm {
    /** Congestion window meaning "not window-limited". */
    int UNLIMITED_WINDOW = Integer.MAX_VALUE / 2;

    /** The connection became established. */
    void init(TasFlow f, long now);

    /** {@code acked} new bytes were acknowledged; {@code ece} if the ACK carried ECN-Echo. */
    void onAck(TasFlow f, int acked, boolean ece, long now);

    /** Three duplicate ACKs: a segment was lost (RFC 5681 3.2). */
    void onFastRetransmit(TasFlow f, long now);

    /** The retransmission timer expired (RFC 5681 3.1, RFC 6298 5.5). */
    void onTimeout(TasFlow f, long now);

    /** The name as configured by {@code cc}. */
    String name();
}
