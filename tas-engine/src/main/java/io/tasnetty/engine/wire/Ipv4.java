package io.tasnetty.engine.wire;

import static io.tasnetty.engine.wire.Layouts.BYTE;
import static io.tasnetty.engine.wire.Layouts.INT_BE;
import static io.tasnetty.engine.wire.Layouts.SHORT_BE;

import java.lang.foreign.MemorySegment;

/**
 * IPv4 header (RFC 791 section 3.1) as static accessors over
 * {@code (segment, offset of the header's first byte)}.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |   DSCP    |ECN|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |0|D|M|     Fragment Offset     |
 * |                               | |F|F|                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  Options (IHL 6..15 only)                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * The old Type of Service byte is DSCP (RFC 2474) plus the two ECN bits (RFC 3168 section 5).
 * Addresses are {@code int}s holding the network-order value ({@code 10.0.0.1 == 0x0A000001}).
 *
 * <p>Call {@link #validate} once per packet; after that every getter reads inside the header.
 */
public final class Ipv4 {
    public static final int VERSION_IHL_OFFSET = 0;
    public static final int TOS_OFFSET = 1;
    public static final int TOTAL_LENGTH_OFFSET = 2;
    public static final int IDENTIFICATION_OFFSET = 4;
    /** Flags (3 bits) and fragment offset (13 bits), one 16-bit field. */
    public static final int FLAGS_OFFSET = 6;
    public static final int TTL_OFFSET = 8;
    public static final int PROTOCOL_OFFSET = 9;
    public static final int CHECKSUM_OFFSET = 10;
    public static final int SRC_OFFSET = 12;
    public static final int DST_OFFSET = 16;
    public static final int OPTIONS_OFFSET = 20;

    public static final int MIN_HEADER_LENGTH = 20;
    public static final int MAX_HEADER_LENGTH = 60;
    public static final int VERSION = 4;
    public static final int PROTO_TCP = 6;
    public static final int PROTO_ICMP = 1;
    /** RFC 1122 3.2.1.7 asks for a configurable TTL; 64 is what Linux and the IANA recommend. */
    public static final int DEFAULT_TTL = 64;

    /** Don't Fragment, in the 16-bit flags/fragment-offset field. */
    public static final int FLAG_DF = 0x4000;
    /** More Fragments, in the 16-bit flags/fragment-offset field. */
    public static final int FLAG_MF = 0x2000;
    public static final int FRAGMENT_OFFSET_MASK = 0x1FFF;

    /** ECN codepoints (RFC 3168 section 5). */
    public static final int ECN_NOT_ECT = 0;
    public static final int ECN_ECT1 = 1;
    public static final int ECN_ECT0 = 2;
    public static final int ECN_CE = 3;

    /** {@link #validate}: fewer than 20 bytes available. */
    public static final int ERR_TOO_SHORT = -1;
    /** {@link #validate}: version is not 4. */
    public static final int ERR_VERSION = -2;
    /** {@link #validate}: IHL below 5, or a header longer than the total length. */
    public static final int ERR_HEADER_LENGTH = -3;
    /** {@link #validate}: total length larger than the bytes available (a truncated frame). */
    public static final int ERR_TOTAL_LENGTH = -4;

    private Ipv4() {
    }

    /**
     * Checks the lengths once, so that later accessors cannot read past the packet: at least 20
     * bytes, version 4, IHL &gt;= 5, {@code IHL * 4 <= total length <= available} (RFC 791 3.1,
     * RFC 1122 3.2.1.1-2). {@code available} may exceed the total length (Ethernet pads short
     * frames to 60 bytes); the datagram ends at the total length. Does not check the checksum.
     *
     * @param available bytes from {@code off} to the end of the frame, all inside {@code s}
     * @return the header length in bytes (20..60), or one of the {@code ERR_*} codes
     */
    public static int validate(MemorySegment s, long off, int available) {
        if (available < MIN_HEADER_LENGTH) {
            return ERR_TOO_SHORT;
        }
        final int vihl = s.get(BYTE, off + VERSION_IHL_OFFSET);
        if ((vihl & 0xF0) != VERSION << 4) {
            return ERR_VERSION;
        }
        final int headerLength = (vihl & 0x0F) << 2;
        if (headerLength < MIN_HEADER_LENGTH) {
            return ERR_HEADER_LENGTH;
        }
        final int totalLength = totalLength(s, off);
        if (totalLength < headerLength) {
            return ERR_HEADER_LENGTH;
        }
        if (totalLength > available) {
            return ERR_TOTAL_LENGTH;
        }
        return headerLength;
    }

    public static int version(MemorySegment s, long off) {
        return (s.get(BYTE, off + VERSION_IHL_OFFSET) & 0xF0) >>> 4;
    }

    /** Header length in bytes (IHL * 4). */
    public static int headerLength(MemorySegment s, long off) {
        return (s.get(BYTE, off + VERSION_IHL_OFFSET) & 0x0F) << 2;
    }

    /** Sets version 4 and the header length in bytes (a multiple of 4, 20..60). */
    public static void headerLength(MemorySegment s, long off, int headerLength) {
        s.set(BYTE, off + VERSION_IHL_OFFSET, (byte) (VERSION << 4 | (headerLength >>> 2) & 0x0F));
    }

    /** The whole Type of Service byte: DSCP (high 6 bits) and ECN (low 2 bits). */
    public static int tos(MemorySegment s, long off) {
        return s.get(BYTE, off + TOS_OFFSET) & 0xFF;
    }

    public static void tos(MemorySegment s, long off, int tos) {
        s.set(BYTE, off + TOS_OFFSET, (byte) tos);
    }

    /** The ECN field (RFC 3168 section 5), one of the {@code ECN_*} codepoints. */
    public static int ecn(MemorySegment s, long off) {
        return s.get(BYTE, off + TOS_OFFSET) & 0x03;
    }

    /** Sets the ECN field, keeping the DSCP bits. */
    public static void ecn(MemorySegment s, long off, int ecn) {
        final int tos = s.get(BYTE, off + TOS_OFFSET);
        s.set(BYTE, off + TOS_OFFSET, (byte) (tos & 0xFC | ecn & 0x03));
    }

    public static int totalLength(MemorySegment s, long off) {
        return s.get(SHORT_BE, off + TOTAL_LENGTH_OFFSET) & 0xFFFF;
    }

    public static void totalLength(MemorySegment s, long off, int totalLength) {
        s.set(SHORT_BE, off + TOTAL_LENGTH_OFFSET, (short) totalLength);
    }

    public static int identification(MemorySegment s, long off) {
        return s.get(SHORT_BE, off + IDENTIFICATION_OFFSET) & 0xFFFF;
    }

    public static void identification(MemorySegment s, long off, int identification) {
        s.set(SHORT_BE, off + IDENTIFICATION_OFFSET, (short) identification);
    }

    /** The 16-bit flags and fragment offset field; see {@link #FLAG_DF}, {@link #FLAG_MF}, {@link #FRAGMENT_OFFSET_MASK}. */
    public static int flagsAndFragmentOffset(MemorySegment s, long off) {
        return s.get(SHORT_BE, off + FLAGS_OFFSET) & 0xFFFF;
    }

    public static void flagsAndFragmentOffset(MemorySegment s, long off, int value) {
        s.set(SHORT_BE, off + FLAGS_OFFSET, (short) value);
    }

    public static boolean dontFragment(MemorySegment s, long off) {
        return (flagsAndFragmentOffset(s, off) & FLAG_DF) != 0;
    }

    /** Fragment offset in bytes (the field counts 8-byte units, RFC 791 3.1). */
    public static int fragmentOffset(MemorySegment s, long off) {
        return (flagsAndFragmentOffset(s, off) & FRAGMENT_OFFSET_MASK) << 3;
    }

    /** True if this datagram is a fragment: More Fragments set or a non-zero fragment offset (RFC 791 3.2). */
    public static boolean isFragment(MemorySegment s, long off) {
        return (flagsAndFragmentOffset(s, off) & (FLAG_MF | FRAGMENT_OFFSET_MASK)) != 0;
    }

    public static int ttl(MemorySegment s, long off) {
        return s.get(BYTE, off + TTL_OFFSET) & 0xFF;
    }

    public static void ttl(MemorySegment s, long off, int ttl) {
        s.set(BYTE, off + TTL_OFFSET, (byte) ttl);
    }

    public static int protocol(MemorySegment s, long off) {
        return s.get(BYTE, off + PROTOCOL_OFFSET) & 0xFF;
    }

    public static void protocol(MemorySegment s, long off, int protocol) {
        s.set(BYTE, off + PROTOCOL_OFFSET, (byte) protocol);
    }

    public static int headerChecksum(MemorySegment s, long off) {
        return s.get(SHORT_BE, off + CHECKSUM_OFFSET) & 0xFFFF;
    }

    public static void headerChecksum(MemorySegment s, long off, int checksum) {
        s.set(SHORT_BE, off + CHECKSUM_OFFSET, (short) checksum);
    }

    public static int src(MemorySegment s, long off) {
        return s.get(INT_BE, off + SRC_OFFSET);
    }

    public static void src(MemorySegment s, long off, int ip) {
        s.set(INT_BE, off + SRC_OFFSET, ip);
    }

    public static int dst(MemorySegment s, long off) {
        return s.get(INT_BE, off + DST_OFFSET);
    }

    public static void dst(MemorySegment s, long off, int ip) {
        s.set(INT_BE, off + DST_OFFSET, ip);
    }

    /**
     * Writes a 20-byte header without options: version 4, IHL 5, the given type-of-service byte
     * (DSCP in the upper six bits, the ECN codepoint in the lower two), Don't Fragment set (this stack does not fragment; RFC 1191 path MTU discovery
     * needs DF), checksum field 0 for the caller to fill with {@link #computeHeaderChecksum} or
     * leave to checksum offload. Five 32-bit stores.
     */
    public static void writeHeader(MemorySegment s, long off, int totalLength, int identification, int tos,
            int ttl, int protocol, int src, int dst) {
        s.set(INT_BE, off, (VERSION << 4 | 5) << 24 | (tos & 0xFF) << 16 | totalLength & 0xFFFF);
        s.set(INT_BE, off + IDENTIFICATION_OFFSET, (identification & 0xFFFF) << 16 | FLAG_DF);
        s.set(INT_BE, off + TTL_OFFSET, (ttl & 0xFF) << 24 | (protocol & 0xFF) << 16);
        s.set(INT_BE, off + SRC_OFFSET, src);
        s.set(INT_BE, off + DST_OFFSET, dst);
    }

    /**
     * The header checksum to store (RFC 791 3.1, RFC 1071): the checksum field is counted as zero
     * whatever it holds, so this works on a received header as well as on a fresh one.
     */
    public static int computeHeaderChecksum(MemorySegment s, long off, int headerLength) {
        // Sum everything, then take the stored field back out: adding its one's complement
        // subtracts it (RFC 1071 section 1), and one pass over the header stays a single loop.
        final int sum = Checksums.sum(s, off, headerLength, 0) + (~headerChecksum(s, off) & 0xFFFF);
        return Checksums.finish(sum);
    }

    /** True if the one's complement sum over the header, checksum included, is all ones (RFC 1071 section 1). */
    public static boolean isHeaderChecksumValid(MemorySegment s, long off, int headerLength) {
        return Checksums.fold(Checksums.sum(s, off, headerLength, 0)) == 0xFFFF;
    }

    /** Dotted-quad text, e.g. {@code "10.0.0.1"} for {@code 0x0A000001}. */
    public static String toString(int ip) {
        return new StringBuilder(15)
                .append(ip >>> 24).append('.')
                .append(ip >>> 16 & 0xFF).append('.')
                .append(ip >>> 8 & 0xFF).append('.')
                .append(ip & 0xFF)
                .toString();
    }

    /**
     * Parses strict dotted-quad text: exactly four decimal parts 0..255 of ASCII digits, no sign,
     * no whitespace, no leading zeros (which {@code inet_aton} would read as octal).
     *
     * @throws IllegalArgumentException naming the text if it is not such an address
     */
    public static int parse(String dotted) {
        if (dotted == null) {
            throw badIp(null);
        }
        final int n = dotted.length();
        int ip = 0;
        int parts = 0;
        int i = 0;
        while (true) {
            final int start = i;
            int value = 0;
            while (i < n && i - start < 3) {
                final char c = dotted.charAt(i);
                if (c < '0' || c > '9') {
                    break;
                }
                value = value * 10 + (c - '0');
                i++;
            }
            final int digits = i - start;
            if (digits == 0 || value > 255 || (digits > 1 && dotted.charAt(start) == '0')) {
                throw badIp(dotted);
            }
            ip = ip << 8 | value;
            parts++;
            if (parts == 4) {
                if (i != n) {
                    throw badIp(dotted);
                }
                return ip;
            }
            if (i >= n || dotted.charAt(i) != '.') {
                throw badIp(dotted);
            }
            i++;
        }
    }

    private static IllegalArgumentException badIp(String text) {
        return new IllegalArgumentException("invalid IPv4 address "
                + (text == null ? "null" : "'" + text + "'")
                + ": expected four decimal octets 0-255 without leading zeros, e.g. 10.0.0.1");
    }
}
