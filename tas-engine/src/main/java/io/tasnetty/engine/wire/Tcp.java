package io.tasnetty.engine.wire;

import static io.tasnetty.engine.wire.Layouts.BYTE;
import static io.tasnetty.engine.wire.Layouts.INT_BE;
import static io.tasnetty.engine.wire.Layouts.SHORT_BE;

import java.lang.foreign.MemorySegment;

/**
 * TCP header (RFC 9293 section 3.1; ECE/CWR from RFC 3168 section 6.1) as static accessors over
 * {@code (segment, offset of the header's first byte)}.
 *
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 * |       |       |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |              Options (Data Offset 6..15 only)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                             Data                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * Sequence and acknowledgment numbers are plain {@code int}s (compare them with wrap-safe
 * helpers); ports, window, checksum and urgent pointer are returned as {@code 0..65535}.
 *
 * <p>Call {@link #validate} once per segment; after that every getter reads inside the header.
 */
public final class Tcp {
    public static final int SRC_PORT_OFFSET = 0;
    public static final int DST_PORT_OFFSET = 2;
    public static final int SEQ_OFFSET = 4;
    public static final int ACK_OFFSET = 8;
    /** Data offset (high 4 bits) and reserved bits. */
    public static final int DATA_OFFSET_OFFSET = 12;
    public static final int FLAGS_OFFSET = 13;
    public static final int WINDOW_OFFSET = 14;
    public static final int CHECKSUM_OFFSET = 16;
    public static final int URGENT_POINTER_OFFSET = 18;
    public static final int OPTIONS_OFFSET = 20;

    public static final int MIN_HEADER_LENGTH = 20;
    public static final int MAX_HEADER_LENGTH = 60;

    public static final int FIN = 1;
    public static final int SYN = 2;
    public static final int RST = 4;
    public static final int PSH = 8;
    public static final int ACK = 16;
    public static final int URG = 32;
    /** ECN-Echo (RFC 3168 section 6.1). */
    public static final int ECE = 64;
    /** Congestion Window Reduced (RFC 3168 section 6.1). */
    public static final int CWR = 128;

    /** {@link #validate}: fewer than 20 bytes. */
    public static final int ERR_TOO_SHORT = -1;
    /** {@link #validate}: data offset below 5, or a header longer than the segment. */
    public static final int ERR_DATA_OFFSET = -2;

    private static final String[] FLAG_NAMES = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};

    private Tcp() {
    }

    /**
     * Checks the lengths once: {@code segmentLength >= 20} and
     * {@code 20 <= data offset * 4 <= min(60, segmentLength)} (RFC 9293 3.1).
     *
     * @param segmentLength TCP header plus payload in bytes (IPv4 total length minus IPv4 header
     *                      length), all inside {@code s}
     * @return the header length in bytes (20..60), or one of the {@code ERR_*} codes
     */
    public static int validate(MemorySegment s, long off, int segmentLength) {
        if (segmentLength < MIN_HEADER_LENGTH) {
            return ERR_TOO_SHORT;
        }
        final int headerLength = headerLength(s, off); // at most 60: a 4-bit field times 4
        if (headerLength < MIN_HEADER_LENGTH || headerLength > segmentLength) {
            return ERR_DATA_OFFSET;
        }
        return headerLength;
    }

    public static int srcPort(MemorySegment s, long off) {
        return s.get(SHORT_BE, off + SRC_PORT_OFFSET) & 0xFFFF;
    }

    public static void srcPort(MemorySegment s, long off, int port) {
        s.set(SHORT_BE, off + SRC_PORT_OFFSET, (short) port);
    }

    public static int dstPort(MemorySegment s, long off) {
        return s.get(SHORT_BE, off + DST_PORT_OFFSET) & 0xFFFF;
    }

    public static void dstPort(MemorySegment s, long off, int port) {
        s.set(SHORT_BE, off + DST_PORT_OFFSET, (short) port);
    }

    public static int seq(MemorySegment s, long off) {
        return s.get(INT_BE, off + SEQ_OFFSET);
    }

    public static void seq(MemorySegment s, long off, int seq) {
        s.set(INT_BE, off + SEQ_OFFSET, seq);
    }

    public static int ack(MemorySegment s, long off) {
        return s.get(INT_BE, off + ACK_OFFSET);
    }

    public static void ack(MemorySegment s, long off, int ack) {
        s.set(INT_BE, off + ACK_OFFSET, ack);
    }

    /** Header length in bytes (data offset * 4). */
    public static int headerLength(MemorySegment s, long off) {
        return (s.get(BYTE, off + DATA_OFFSET_OFFSET) & 0xF0) >>> 2;
    }

    /** Sets the data offset from a header length in bytes (a multiple of 4, 20..60); the reserved bits are kept. */
    public static void headerLength(MemorySegment s, long off, int headerLength) {
        final int b = s.get(BYTE, off + DATA_OFFSET_OFFSET);
        s.set(BYTE, off + DATA_OFFSET_OFFSET, (byte) ((headerLength << 2) & 0xF0 | b & 0x0F));
    }

    /** The eight flag bits CWR..FIN. */
    public static int flags(MemorySegment s, long off) {
        return s.get(BYTE, off + FLAGS_OFFSET) & 0xFF;
    }

    public static void flags(MemorySegment s, long off, int flags) {
        s.set(BYTE, off + FLAGS_OFFSET, (byte) flags);
    }

    public static int window(MemorySegment s, long off) {
        return s.get(SHORT_BE, off + WINDOW_OFFSET) & 0xFFFF;
    }

    public static void window(MemorySegment s, long off, int window) {
        s.set(SHORT_BE, off + WINDOW_OFFSET, (short) window);
    }

    public static int checksum(MemorySegment s, long off) {
        return s.get(SHORT_BE, off + CHECKSUM_OFFSET) & 0xFFFF;
    }

    public static void checksum(MemorySegment s, long off, int checksum) {
        s.set(SHORT_BE, off + CHECKSUM_OFFSET, (short) checksum);
    }

    public static int urgentPointer(MemorySegment s, long off) {
        return s.get(SHORT_BE, off + URGENT_POINTER_OFFSET) & 0xFFFF;
    }

    public static void urgentPointer(MemorySegment s, long off, int urgentPointer) {
        s.set(SHORT_BE, off + URGENT_POINTER_OFFSET, (short) urgentPointer);
    }

    /**
     * Writes the fixed 20-byte header with checksum and urgent pointer 0; options, if
     * {@code headerLength > 20}, are the caller's (see {@link TcpOptions}). Five 32-bit stores.
     */
    public static void writeHeader(MemorySegment s, long off, int srcPort, int dstPort, int seq, int ack,
            int headerLength, int flags, int window) {
        s.set(INT_BE, off + SRC_PORT_OFFSET, srcPort << 16 | dstPort & 0xFFFF);
        s.set(INT_BE, off + SEQ_OFFSET, seq);
        s.set(INT_BE, off + ACK_OFFSET, ack);
        s.set(INT_BE, off + DATA_OFFSET_OFFSET, (headerLength & 0x3C) << 26 | (flags & 0xFF) << 16 | window & 0xFFFF);
        s.set(INT_BE, off + CHECKSUM_OFFSET, 0);
    }

    /**
     * The checksum to store (RFC 9293 3.1): over the pseudo-header (source, destination, zero,
     * protocol 6, TCP length) and the whole segment, with the checksum field counted as zero
     * whatever it holds.
     *
     * @param tcpLength TCP header plus payload in bytes (at least 20)
     */
    public static int checksum(MemorySegment s, long tcpOff, int tcpLength, int srcIp, int dstIp) {
        final int sum = Checksums.sum(s, tcpOff, tcpLength, pseudoHeaderChecksum(srcIp, dstIp, tcpLength));
        // Take the stored field back out: adding its one's complement subtracts it (RFC 1071).
        return Checksums.finish(sum + (~checksum(s, tcpOff) & 0xFFFF));
    }

    /** True if the one's complement sum over pseudo-header and segment, checksum included, is all ones. */
    public static boolean isChecksumValid(MemorySegment s, long tcpOff, int tcpLength, int srcIp, int dstIp) {
        final int sum = Checksums.sum(s, tcpOff, tcpLength, pseudoHeaderChecksum(srcIp, dstIp, tcpLength));
        return Checksums.fold(sum) == 0xFFFF;
    }

    /**
     * The folded, not complemented, sum of the IPv4 pseudo-header (RFC 9293 3.1): what a NIC with
     * TCP transmit checksum offload expects pre-filled in the checksum field (DPDK
     * {@code rte_ipv4_phdr_cksum}), and the {@code initial} for {@link Checksums#sum}.
     */
    public static int pseudoHeaderChecksum(int srcIp, int dstIp, int tcpLength) {
        return Checksums.fold((srcIp >>> 16) + (srcIp & 0xFFFF) + (dstIp >>> 16) + (dstIp & 0xFFFF)
                + Ipv4.PROTO_TCP + (tcpLength & 0xFFFF));
    }

    /** Names of the set flags from FIN up, e.g. {@code "SYN|ACK"}; {@code "NONE"} for 0. */
    public static String flagsToString(int flags) {
        if ((flags & 0xFF) == 0) {
            return "NONE";
        }
        final StringBuilder b = new StringBuilder(32);
        for (int i = 0; i < FLAG_NAMES.length; i++) {
            if ((flags & 1 << i) != 0) {
                if (!b.isEmpty()) {
                    b.append('|');
                }
                b.append(FLAG_NAMES[i]);
            }
        }
        return b.toString();
    }
}
