package io.tasnetty.engine.port;

import java.lang.foreign.MemorySegment;

/**
 * One packet buffer owned by a {@link TasPort}: a window {@code [offset, offset + capacity)} of a
 * large memory region ({@link #segment}) that the port maps once (a pure-Java pool, or DPDK's
 * mempool). Flyweights read the frame in place as {@code (segment, offset + ...)}, so handling a
 * packet creates no {@code MemorySegment} slice and allocates nothing.
 *
 * <p>Instances are created once by the port and recycled; whoever holds one must return it with
 * {@link TasPort#free} or hand it to {@link TasPort#txBurst}. Not thread-safe: one owner at a time.
 */
public final class PacketBuffer {
    /** Receive: the port verified the IPv4 header checksum. */
    public static final int RX_IP_CSUM_GOOD = 1;
    /** Receive: the port verified the L4 (TCP) checksum. */
    public static final int RX_L4_CSUM_GOOD = 1 << 1;
    /** Transmit: ask the port to fill in the IPv4 header checksum (only if it offers offload). */
    public static final int TX_IP_CSUM = 1 << 2;
    /** Transmit: ask the port to fill in the TCP checksum (only if it offers offload). */
    public static final int TX_TCP_CSUM = 1 << 3;
    /**
     * Engine-internal, fast path to slow path: this SYN ended a TIME_WAIT (RFC 6191); the new
     * connection's ISS must lie at or beyond {@link #minIss}.
     */
    public static final int RX_REOPENS_TIME_WAIT = 1 << 4;
    /**
     * Engine-internal, fast path to slow path: the ACK that completes a passive open whose
     * connection has no rings yet; the slow path grants them and hands the ACK back.
     */
    public static final int RX_NEEDS_RINGS = 1 << 5;
    /**
     * Engine-internal, fast path to slow path: an ACK a half-open connection cannot take (another
     * ISS) while SYN cookies are out: it may complete a cookie handshake for the same SYN.
     */
    public static final int RX_COOKIE_CHECK = 1 << 6;

    /** The region this buffer lives in (fixed for the life of the buffer). */
    public MemorySegment segment;
    /** Offset of the first byte of the frame in {@link #segment}. */
    public long offset;
    /** Bytes this buffer can hold from {@link #offset}. */
    public int capacity;
    /** Frame length in bytes. */
    public int length;
    /** {@code RX_*}/{@code TX_*} flags. Cleared on alloc. */
    public int flags;
    /** For TX offload: length of the L2 header (Ethernet). */
    public short l2Length;
    /** For TX offload: length of the L3 header (IPv4). */
    public short l3Length;
    /** Port-private handle (pool index, or a DPDK mbuf address). */
    public long handle;
    /** Port-private: the pool this buffer returns to. */
    public Object owner;
    /**
     * A segment the engine loops to itself carries no payload bytes: they stay in the sending
     * connection's transmit ring, which this names (the engine's flow), from ring position
     * {@link #payloadPos}; the receiver copies them from there, once. Null for every other frame.
     */
    public Object payloadSource;
    /** Transmit-ring position of the first payload byte when {@link #payloadSource} is set. */
    public long payloadPos;
    /** With {@link #RX_REOPENS_TIME_WAIT}: the least ISS the new connection may pick. */
    public int minIss;
    /**
     * Engine-internal: a segment its flow's core sent on a round trip through the slow path, to
     * come back in order (see {@code TasFlow.rxDetour}): that flow (a {@code TasFlow}) and the
     * segment's ticket. Null on every other trip to the slow path (the fast path clears it there,
     * so a stale value on a recycled buffer never matches).
     */
    public Object detourFlow;
    public int detourTicket;

    public PacketBuffer(MemorySegment segment, long offset, int capacity, long handle, Object owner) {
        this.segment = segment;
        this.offset = offset;
        this.capacity = capacity;
        this.handle = handle;
        this.owner = owner;
    }

    /** Resets per-packet fields; called by the port when the buffer is handed out. */
    public void reset() {
        length = 0;
        flags = 0;
        l2Length = 0;
        l3Length = 0;
        payloadSource = null;
        detourFlow = null;
    }

    @Override
    public String toString() {
        return "PacketBuffer[handle=" + handle + ", offset=" + offset + ", length=" + length + "]";
    }
}
