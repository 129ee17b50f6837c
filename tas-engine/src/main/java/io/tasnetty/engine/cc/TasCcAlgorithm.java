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

    /**
     * The peer echoed a congestion mark (ECE), the first time in this window of data (RFC 3168
     * 6.1.2); the fast path then sets CWR on the next new segment. DCTCP reacts in {@link #onAck}
     * to the share of marked bytes instead.
     */
    default void onEcnEcho(TasFlow f, long now) {
    }

    /**
     * True for DCTCP: as a receiver, echo each segment's CE mark on its ACK (RFC 8257 3.2), which
     * only a DCTCP sender understands. False: echo ECE from the first mark until the sender's CWR
     * (RFC 3168 6.1.3), as every classic peer expects.
     */
    default boolean perSegmentEcnEcho() {
        return false;
    }

    /** The name as configured by {@code cc}. */
    String name();
}
