package io.tasnetty.engine.port;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Receive-side scaling in software: which fast-path queue a TCP flow lands on.
 *
 * <p>The hash is symmetric: {@code queueFor(a, pa, b, pb, n) == queueFor(b, pb, a, pa, n)}, so
 * both directions of a connection map to the same queue (the engine uses this to open a flow on
 * the queue its replies will come back to). The two (ip, port) endpoints are ordered before mixing
 * rather than XORed, so that equal endpoints or mirrored values do not collapse to one bucket.
 */
public final class TasRss {
    static final ValueLayout.OfShort BE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    static final int ETH_HEADER = 14;
    static final int ETHERTYPE_OFFSET = 12;
    static final int ETHERTYPE_IPV4 = 0x0800;
    static final int ETHERTYPE_VLAN = 0x8100;
    static final int IP_PROTO_TCP = 6;

    private TasRss() {
    }

    /**
     * Queue in {@code [0, queues)} for the TCP flow between {@code (ipA, portA)} and
     * {@code (ipB, portB)}; the same for either order of the endpoints. Returns 0 when
     * {@code queues <= 1}.
     */
    public static int queueFor(int ipA, int portA, int ipB, int portB, int queues) {
        if (queues <= 1) {
            return 0;
        }
        long a = ((ipA & 0xFFFF_FFFFL) << 16) | (portA & 0xFFFF);
        long b = ((ipB & 0xFFFF_FFFFL) << 16) | (portB & 0xFFFF);
        long lo = Math.min(a, b); // both are non-negative 48-bit values
        long hi = Math.max(a, b);
        long h = mix64(lo * 0x9E37_79B9_7F4A_7C15L + hi);
        // Lemire's multiply-shift maps the high 32 bits onto [0, queues) without a division.
        return (int) (((h >>> 32) * queues) >>> 32);
    }

    /**
     * Queue for the Ethernet frame at {@code s[off, off + len)}: IPv4/TCP frames (optionally with
     * one 802.1Q tag) hash by their addresses and ports; anything else (ARP, other protocols,
     * IPv4 fragments, truncated or malformed headers) goes to queue 0.
     */
    public static int queueForFrame(MemorySegment s, long off, int len, int queues) {
        return queueForFrame(s, off, len, queues, TasRxSteering.SOFTWARE);
    }

    /**
     * As {@link #queueForFrame(MemorySegment, long, int, int)}, but an IPv4/TCP frame goes where
     * {@code steering} puts a packet of its source and destination.
     */
    public static int queueForFrame(MemorySegment s, long off, int len, int queues, TasRxSteering steering) {
        if (queues <= 1 || len < ETH_HEADER) {
            return 0;
        }
        int l3 = ETH_HEADER;
        int type = s.get(BE_SHORT, off + ETHERTYPE_OFFSET) & 0xFFFF;
        if (type == ETHERTYPE_VLAN) {
            if (len < ETH_HEADER + 4) {
                return 0;
            }
            type = s.get(BE_SHORT, off + ETHERTYPE_OFFSET + 4) & 0xFFFF;
            l3 += 4;
        }
        if (type != ETHERTYPE_IPV4 || len < l3 + 20) {
            return 0;
        }
        long ip = off + l3;
        int verIhl = s.get(ValueLayout.JAVA_BYTE, ip) & 0xFF;
        int ihl = (verIhl & 0x0F) << 2;
        if ((verIhl >>> 4) != 4 || ihl < 20 || len < l3 + ihl + 4) {
            return 0;
        }
        // Flags + fragment offset: MF set or a non-zero offset means a fragment (no ports to hash).
        if ((s.get(BE_SHORT, ip + 6) & 0x3FFF) != 0 || s.get(ValueLayout.JAVA_BYTE, ip + 9) != IP_PROTO_TCP) {
            return 0;
        }
        int src = s.get(BE_INT, ip + 12);
        int dst = s.get(BE_INT, ip + 16);
        int ports = s.get(BE_INT, ip + ihl);
        return steering.queueForPacket(src, ports >>> 16, dst, ports & 0xFFFF, queues);
    }

    /** MurmurHash3's 64-bit finaliser: every input bit affects every output bit. */
    static long mix64(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51_AFD7_ED55_8CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CE_B9FE_1A85_EC53L;
        return z ^ (z >>> 33);
    }
}
