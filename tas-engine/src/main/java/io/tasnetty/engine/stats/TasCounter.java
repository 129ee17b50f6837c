package io.tasnetty.engine.stats;

/**
 * Every event the engine counts instead of logging. Drops, retransmissions, refusals and resets
 * each have their own counter, so a person (or the Micrometer binder) can tell what happened.
 */
public enum TasCounter {
    RX_PACKETS("packets received from the port"),
    RX_BYTES("bytes received from the port"),
    RX_ON_APPLICATION_THREADS("packets received from the port by an application thread that ran the fast path"
        + " (run to completion, on ports that allow any thread to receive; also in rx_packets)"),
    TX_PACKETS("packets handed to the port"),
    TX_BYTES("bytes handed to the port"),
    TX_PORT_FULL("transmit bursts the port did not fully take (retried later)"),
    TX_NO_BUFFER("transmits delayed because no packet buffer was free"),
    // Where each received packet went. With the DROP_* counters of the receive path they add up:
    // fast paths' RX_PACKETS + the slow path's RX_STEERED + RX_RINGS_GRANTED = their header DROP_*s +
    // DROP_EXCEPTION_QUEUE_FULL + DROP_STEERED_NO_FLOW + RX_FLOW_SEGMENTS + RX_EXCEPTIONS;
    // slow path: RX_EXCEPTIONS = RX_ARP + DROP_MALFORMED_ARP + its TCP outcomes (RX_STEERED,
    // RX_RINGS_GRANTED and DROP_STEERED_QUEUE_FULL among them).
    RX_FLOW_SEGMENTS("segments handed to a connection's TCP state machine (what it drops is counted too)"),
    RX_EXCEPTIONS("packets handed to the slow path (ARP, SYNs, segments for no installed connection)"),
    RX_ARP("well-formed ARP packets processed by the slow path"),
    RX_STEERED("segments that arrived on another queue than their connection's (or just before its install"
        + " reached its core, or behind a passive open's first flight waiting for its rings), handed over to the"
        + " connection's core by the slow path"),
    RX_BEHIND_RING_GRANT("segments of a passive open sent through the slow path (also in rx_exceptions) behind"
        + " earlier ones of it that went there for the connection's rings, so that it receives them in the port's"
        + " order"),
    RX_RINGS_GRANTED("final ACKs of passive opens handed back to their connection's core with the rings the"
        + " slow path granted at ESTABLISHED (half-open connections hold none)"),

    DROP_MALFORMED_ETH("dropped: frame shorter than an Ethernet header"),
    DROP_UNKNOWN_ETHERTYPE("dropped: not IPv4 or ARP"),
    DROP_MALFORMED_ARP("dropped: malformed ARP"),
    DROP_MALFORMED_IP("dropped: malformed IPv4 header or length"),
    DROP_IP_CHECKSUM("dropped: bad IPv4 header checksum"),
    DROP_IP_FRAGMENT("dropped: IPv4 fragment (not reassembled)"),
    DROP_NOT_FOR_US("dropped: IPv4 destination not ours"),
    DROP_MARTIAN("dropped: impossible address from the wire: source 0/8, 127/8, multicast, broadcast or ours,"
        + " or destination 127/8 (RFC 1122 3.2.1.3)"),
    DROP_NOT_TCP("dropped: IPv4 protocol other than TCP"),
    RX_ICMP("ICMP errors a fast path acted on (fragmentation needed for one of its flows)"),
    DROP_ICMP_INVALID("ICMP dropped: bad checksum, truncated, or an error quoting no segment of ours in flight (RFC 5927)"),
    ICMP_ECHO_REPLIES("echo requests answered"),
    ICMP_ECHO_UNANSWERED("echo requests not answered: over the rate limit, or no buffer for the reply"),
    DROP_MALFORMED_TCP("dropped: malformed TCP header or options"),
    DROP_TCP_CHECKSUM("dropped: bad TCP checksum"),
    DROP_NO_FLOW("dropped: segment for no connection (answered with RST where RFC 9293 says so)"),
    DROP_OUT_OF_WINDOW("dropped: segment outside the receive window (answered with ACK)"),
    DROP_BAD_ACK("dropped: ACK for data never sent, or older than SND.UNA - MAX.SND.WND (RFC 5961 5.2)"),
    TCP_RX_RING_GROWN("receive rings moved to twice their size by autotuning (tcp-rxbuf-max)"),
    TCP_RX_RING_GROWTH_REFUSED("receive-ring growth refused: no ring memory left (shm-len); the ring keeps its size"),
    TCP_TX_RING_GROWN("transmit rings moved to twice their size by autotuning (tcp-txbuf-max)"),
    TCP_TX_RING_GROWTH_REFUSED("transmit-ring growth refused: no ring memory left (shm-len); the ring keeps its size"),
    DROP_RX_RING_FULL("payload bytes dropped: receive ring full (peer ignored our window)"),
    DROP_OOO_NO_SLOT("dropped: out-of-order segment with no free interval slot"),
    DROP_EXCEPTION_QUEUE_FULL("dropped: slow-path exception queue full"),
    DROP_LOOPBACK_QUEUE_FULL("dropped: in-engine loopback queue of the receiving core full"),
    DROP_FLOW_NOT_READY("dropped: segment for a connection still being set up (waiting for ARP)"),
    DROP_STEERED_QUEUE_FULL("dropped: segment from another queue, the hand-over queue to its connection's core full"),
    DROP_STEERED_NO_FLOW("dropped: segment handed over to its connection's core after the connection had left it"),
    DROP_ARP_PENDING_FULL("dropped: packet waiting for ARP, pending queue full"),
    DROP_NO_ROUTE("dropped: no route to destination"),
    DROP_BAD_STATE("dropped: segment not acceptable in the connection's state"),
    DROP_RST_INVALID("ignored RST: sequence number outside the window (RFC 5961 3.2)"),
    DROP_SYN_INVALID("ignored SYN on a synchronized connection (challenge ACK sent, RFC 5961 4.2)"),
    DROP_KNI("dropped: the kernel interface (kni-name) could not take a frame, or its frame could not be sent"),

    ARP_REQUESTS_SENT("ARP requests sent"),
    ARP_REPLIES_SENT("ARP replies sent"),
    ARP_RESOLVED("ARP entries learned"),
    ARP_FAILED("ARP resolutions that gave up, and cache entries no re-validation request could confirm"),
    ARP_MAC_CHANGED("neighbours whose MAC changed (gratuitous ARP or a new answer); their flows follow"),
    ARP_CHANGES_LOCKED("MAC changes in ARP answers ignored within 1 s of the last change (Linux locktime: two answers flapping; gratuitous ARP always counts)"),
    ARP_FLOWS_MOVED("established flows pointed at a neighbour's new MAC"),
    ARP_AGED_OUT("cache entries past their reachable time that no flow used (forgotten without traffic)"),

    KNI_TO_KERNEL("frames the engine did not consume, passed to the kernel interface (kni-name)"),
    KNI_FROM_KERNEL("frames from the kernel interface (kni-name) sent on the port"),

    CONN_ACTIVE_OPENS("connections opened by connect"),
    CONN_PASSIVE_OPENS("connections opened by a listener (SYN answered)"),
    CONN_ESTABLISHED("connections that reached ESTABLISHED"),
    CONN_REFUSED("connect attempts refused by RST"),
    CONN_TIMEOUT("connect attempts that timed out"),
    CONN_PERSIST_GIVE_UPS("connections aborted after 15 unanswered zero-window probes (8 once the application closed)"),
    CONN_BACKLOG_FULL("SYNs dropped because the listen backlog was full, or final ACKs with a valid SYN cookie"
        + " dropped because the accept queue was (the client retransmits)"),
    CONN_NO_LISTENER("SYNs to a port nobody listens on (answered with RST)"),
    CONN_RESETS_RECEIVED("connections reset by the peer"),
    CONN_RESETS_SENT("RSTs sent"),
    CONN_CLOSED("connections fully closed and reclaimed"),
    CONN_TIME_WAIT("connections that entered TIME_WAIT"),
    CONN_TIME_WAIT_OVERFLOW("connections closed without TIME_WAIT: tcp-max-flows of them were in TIME_WAIT already"),
    CONN_TIME_WAIT_REUSED("TIME_WAIT connections ended early by a new SYN for the same ports (RFC 6191)"),
    CONN_FLOW_TABLE_FULL("connections refused: flow table full (tcp-max-flows)"),
    CONN_BUFFER_EXHAUSTED("connections refused: no ring memory (shm-len)"),

    TCP_RETRANSMIT_TIMEOUTS("retransmission timeouts (RFC 6298)"),
    TCP_FAST_RETRANSMITS("fast retransmits after three duplicate ACKs"),
    TCP_ECN_REDUCTIONS("window reductions for an ECN echo (once per window, RFC 3168 6.1.2)"),
    TCP_PMTU_REDUCED("flows whose MSS a fragmentation-needed message lowered (RFC 1191)"),
    TCP_MTU_BLACK_HOLE("flows whose MSS fell to 1024 bytes after repeated timeouts (RFC 4821 black-hole detection)"),
    TCP_RETRANSMITTED_SEGMENTS("segments retransmitted"),
    TCP_SACK_RECOVERIES("loss recoveries started by SACK information (RFC 6675), before three duplicate ACKs"),
    TCP_SACK_RETRANSMITS("holes between SACKed ranges retransmitted during recovery (RFC 6675)"),
    TCP_LOST_RETRANSMITS("retransmissions found lost in recovery (newer data SACKed 1.25 RTT later) and sent again"),
    TCP_DSACKS_RECEIVED("D-SACKs received: a segment reached the peer twice, so a retransmission was spurious (RFC 2883)"),
    TCP_SPURIOUS_RETRANSMIT_UNDOS("window cuts undone: every retransmission of a loss episode was reported as a duplicate (RFC 2883 D-SACK, RFC 3708)"),
    TCP_TAIL_LOSS_PROBES("tail loss probes sent (RFC 8985 7): a lost tail recovered in about two RTTs, not an RTO"),
    TCP_DUPLICATE_ACKS("duplicate ACKs received"),
    TCP_ZERO_WINDOW_PROBES("zero-window probes sent"),
    TCP_OUT_OF_ORDER("out-of-order segments kept"),
    TCP_DUPLICATE_SEGMENTS("duplicate segments received (already acknowledged data)"),
    TCP_ACKS_SENT("pure ACKs sent"),
    TCP_DELAYED_ACKS("ACKs sent when the delayed-ACK timer expired, no segment of ours having carried them (RFC 1122 4.2.3.2)"),
    TCP_PAWS_REJECTED("segments dropped (and acknowledged) for a timestamp older than the last one (RFC 7323 5 PAWS)"),
    TCP_CHALLENGE_ACKS("segments that call for a challenge ACK (RFC 5961 3.2, 4.2); those over the limit are also in tcp_challenge_acks_limited"),
    TCP_CHALLENGE_ACKS_LIMITED("challenge ACKs not sent: over the per-connection limit of one per 500 ms (RFC 5961 7)"),
    TCP_ECN_MARKED("segments received with ECN congestion experienced"),
    TCP_KEEPALIVES("keepalive probes sent"),
    CONN_USER_TIMEOUTS("connections dropped because data stayed unacknowledged, or the window shut, past TCP_USER_TIMEOUT (RFC 5482)"),

    CTX_EVENT_QUEUE_FULL("context events deferred because the event queue was full"),
    CMD_QUEUE_FULL("commands deferred because a command queue was full"),

    SYN_COOKIES_SENT("SYNs answered with a SYN cookie and no state, the listen backlog being full (RFC 4987)"),
    SYN_COOKIES_VALIDATED("final ACKs whose SYN cookie was valid: the connection was created (the ACK then went to"
        + " its core, counted in rx_steered)"),
    SYN_COOKIES_FAILED("ACKs for no connection, while cookies were out, whose cookie was invalid or too old (answered with RST)");

    private final String description;

    TasCounter(String description) {
        this.description = description;
    }

    /** What the counter counts, in words. */
    public String description() {
        return description;
    }

    /** The name used for metrics, e.g. {@code drop.tcp.checksum}. */
    public String metricName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '.');
    }
}
