package io.tasnetty.engine.wire;

import static io.tasnetty.engine.wire.Layouts.BYTE;
import static io.tasnetty.engine.wire.Layouts.INT_BE;
import static io.tasnetty.engine.wire.Layouts.SHORT_BE;

import java.lang.foreign.MemorySegment;

/**
 * ARP packet (RFC 826) for Ethernet hardware and IPv4 protocol addresses only, the one shape an
 * IPv4-over-Ethernet host needs; anything else is rejected by {@link #isEthernetIpv4}.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Hardware type (1)         |     Protocol type (0x0800)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | HW len (6)    | Proto len (4) |     Operation (1 req, 2 rep)  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             Sender hardware address (octets 0-3)              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Sender HW addr (octets 4-5)  |  Sender IP addr (octets 0-1)  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Sender IP addr (octets 2-3)  |  Target HW addr (octets 0-1)  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             Target hardware address (octets 2-5)              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   Target IP address                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class Arp {
    public static final int HTYPE_OFFSET = 0;
    public static final int PTYPE_OFFSET = 2;
    public static final int HLEN_OFFSET = 4;
    public static final int PLEN_OFFSET = 5;
    public static final int OP_OFFSET = 6;
    public static final int SENDER_MAC_OFFSET = 8;
    public static final int SENDER_IP_OFFSET = 14;
    public static final int TARGET_MAC_OFFSET = 18;
    public static final int TARGET_IP_OFFSET = 24;
    public static final int LENGTH = 28;

    /** ares_hrd$Ethernet (RFC 826; IANA ARP hardware type 1). */
    public static final int HTYPE_ETHERNET = 1;
    public static final int OP_REQUEST = 1;
    public static final int OP_REPLY = 2;

    private Arp() {
    }

    /**
     * True if {@code available >= 28} and the packet is Ethernet/IPv4 ARP: hardware type 1,
     * protocol type 0x0800, hardware length 6, protocol length 4. Reads nothing when too short.
     */
    public static boolean isEthernetIpv4(MemorySegment s, long off, int available) {
        return available >= LENGTH
                // htype 1 and ptype 0x0800 in one read, hlen 6 and plen 4 in another
                && s.get(INT_BE, off + HTYPE_OFFSET) == (HTYPE_ETHERNET << 16 | Ethernet.TYPE_IPV4)
                && s.get(SHORT_BE, off + HLEN_OFFSET) == (short) (6 << 8 | 4);
    }

    public static int hardwareType(MemorySegment s, long off) {
        return s.get(SHORT_BE, off + HTYPE_OFFSET) & 0xFFFF;
    }

    public static int protocolType(MemorySegment s, long off) {
        return s.get(SHORT_BE, off + PTYPE_OFFSET) & 0xFFFF;
    }

    public static int hardwareLength(MemorySegment s, long off) {
        return s.get(BYTE, off + HLEN_OFFSET) & 0xFF;
    }

    public static int protocolLength(MemorySegment s, long off) {
        return s.get(BYTE, off + PLEN_OFFSET) & 0xFF;
    }

    public static int op(MemorySegment s, long off) {
        return s.get(SHORT_BE, off + OP_OFFSET) & 0xFFFF;
    }

    public static long senderMac(MemorySegment s, long off) {
        return Ethernet.readMac(s, off + SENDER_MAC_OFFSET);
    }

    public static int senderIp(MemorySegment s, long off) {
        return s.get(INT_BE, off + SENDER_IP_OFFSET);
    }

    public static long targetMac(MemorySegment s, long off) {
        return Ethernet.readMac(s, off + TARGET_MAC_OFFSET);
    }

    public static int targetIp(MemorySegment s, long off) {
        return s.get(INT_BE, off + TARGET_IP_OFFSET);
    }

    /** Writes a whole 28-byte Ethernet/IPv4 ARP packet. For a request, {@code targetMac} is 0 (RFC 826 "don't care"). */
    public static void write(MemorySegment s, long off, int op, long senderMac, int senderIp, long targetMac,
            int targetIp) {
        s.set(INT_BE, off + HTYPE_OFFSET, HTYPE_ETHERNET << 16 | Ethernet.TYPE_IPV4);
        s.set(INT_BE, off + HLEN_OFFSET, 6 << 24 | 4 << 16 | (op & 0xFFFF));
        Ethernet.writeMac(s, off + SENDER_MAC_OFFSET, senderMac);
        s.set(INT_BE, off + SENDER_IP_OFFSET, senderIp);
        Ethernet.writeMac(s, off + TARGET_MAC_OFFSET, targetMac);
        s.set(INT_BE, off + TARGET_IP_OFFSET, targetIp);
    }
}
