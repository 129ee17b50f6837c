package io.tasnetty.engine.wire;

import static io.tasnetty.engine.wire.Layouts.INT_BE;
import static io.tasnetty.engine.wire.Layouts.SHORT_BE;

import java.lang.foreign.MemorySegment;

/**
 * Ethernet II frame header (IEEE 802.3 / RFC 894), without preamble or FCS, as static
 * accessors over {@code (segment, offset of the header's first byte)}.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |              Destination MAC address (octets 0-3)             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    Destination (octets 4-5)   |     Source (octets 0-1)       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Source MAC address (octets 2-5)                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           EtherType           |   payload ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * MAC addresses are {@code long}s holding 48 bits, first octet most significant
 * ({@code 02:00:00:00:00:01 == 0x0200_0000_0001L}).
 */
public final class Ethernet {
    public static final int DST_OFFSET = 0;
    public static final int SRC_OFFSET = 6;
    public static final int TYPE_OFFSET = 12;
    public static final int HEADER_LENGTH = 14;

    /** IPv4 (RFC 894). */
    public static final int TYPE_IPV4 = 0x0800;
    /** ARP (RFC 826). */
    public static final int TYPE_ARP = 0x0806;

    public static final long BROADCAST = 0xFFFF_FFFF_FFFFL;

    private static final long MAC_MASK = 0xFFFF_FFFF_FFFFL;
    /** The I/G bit: least significant bit of the first octet (IEEE 802-2014 8.2). */
    private static final long GROUP_BIT = 1L << 40;

    private Ethernet() {
    }

    public static long dst(MemorySegment s, long off) {
        return readMac(s, off + DST_OFFSET);
    }

    public static void dst(MemorySegment s, long off, long mac) {
        writeMac(s, off + DST_OFFSET, mac);
    }

    public static long src(MemorySegment s, long off) {
        return readMac(s, off + SRC_OFFSET);
    }

    public static void src(MemorySegment s, long off, long mac) {
        writeMac(s, off + SRC_OFFSET, mac);
    }

    public static int etherType(MemorySegment s, long off) {
        return s.get(SHORT_BE, off + TYPE_OFFSET) & 0xFFFF;
    }

    public static void etherType(MemorySegment s, long off, int type) {
        s.set(SHORT_BE, off + TYPE_OFFSET, (short) type);
    }

    /** Writes the whole 14-byte header. */
    public static void write(MemorySegment s, long off, long dst, long src, int type) {
        writeMac(s, off + DST_OFFSET, dst);
        writeMac(s, off + SRC_OFFSET, src);
        s.set(SHORT_BE, off + TYPE_OFFSET, (short) type);
    }

    /** True for group (multicast, including broadcast) addresses: the I/G bit is set. */
    public static boolean isMulticast(long mac) {
        return (mac & GROUP_BIT) != 0;
    }

    /** Reads a 48-bit MAC address at {@code off} (first octet most significant). */
    public static long readMac(MemorySegment s, long off) {
        return (s.get(INT_BE, off) & 0xFFFF_FFFFL) << 16 | (s.get(SHORT_BE, off + 4) & 0xFFFFL);
    }

    /** Writes a 48-bit MAC address at {@code off} (first octet most significant); bits above 48 are ignored. */
    public static void writeMac(MemorySegment s, long off, long mac) {
        s.set(INT_BE, off, (int) (mac >>> 16));
        s.set(SHORT_BE, off + 4, (short) mac);
    }

    /** {@code "02:00:00:00:00:01"}: six lower-case hex octets separated by colons. */
    public static String macToString(long mac) {
        final char[] c = new char[17];
        for (int i = 0; i < 6; i++) {
            final int octet = (int) (mac >>> (40 - 8 * i)) & 0xFF;
            c[3 * i] = Character.forDigit(octet >>> 4, 16);
            c[3 * i + 1] = Character.forDigit(octet & 0xF, 16);
            if (i < 5) {
                c[3 * i + 2] = ':';
            }
        }
        return new String(c);
    }

    /**
     * Parses six two-digit hex octets separated by {@code ':'} (or all by {@code '-'}), e.g.
     * {@code "02:00:00:00:00:01"}; case-insensitive.
     *
     * @throws IllegalArgumentException naming the text if it is not such an address
     */
    public static long parseMac(String text) {
        if (text == null || text.length() != 17) {
            throw badMac(text);
        }
        final char sep = text.charAt(2);
        if (sep != ':' && sep != '-') {
            throw badMac(text);
        }
        long mac = 0;
        for (int i = 0; i < 6; i++) {
            final int hi = hexDigit(text.charAt(3 * i));
            final int lo = hexDigit(text.charAt(3 * i + 1));
            if (hi < 0 || lo < 0 || (i < 5 && text.charAt(3 * i + 2) != sep)) {
                throw badMac(text);
            }
            mac = mac << 8 | hi << 4 | lo;
        }
        return mac & MAC_MASK;
    }

    /** ASCII hex only ({@code Character.digit} would also accept non-ASCII digits). */
    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    private static IllegalArgumentException badMac(String text) {
        return new IllegalArgumentException("invalid MAC address "
                + (text == null ? "null" : "'" + text + "'")
                + ": expected six two-digit hex octets separated by ':' or '-', e.g. 02:00:00:00:00:01");
    }
}
