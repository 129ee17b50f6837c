package io.tasnetty.engine.wire;

import static io.tasnetty.engine.wire.Layouts.BYTE;
import static io.tasnetty.engine.wire.Layouts.SHORT_BE;

import java.lang.foreign.MemorySegment;

/**
 * ICMPv4 (RFC 792) as a flyweight over {@code (segment, offset)}: the engine answers echo
 * requests and acts on "fragmentation needed" (RFC 1191) for its TCP flows, validating the
 * quoted segment against the flow first (RFC 5927).
 */
public final class Icmp {
    public static final int HEADER_LENGTH = 8;
    public static final int TYPE_ECHO_REPLY = 0;
    public static final int TYPE_DEST_UNREACHABLE = 3;
    public static final int TYPE_ECHO_REQUEST = 8;
    /** Destination unreachable: fragmentation needed and DF set (RFC 1191 4: with the next-hop MTU). */
    public static final int CODE_FRAG_NEEDED = 4;
    /** An error quotes the offending datagram's IP header and at least its first 8 bytes (RFC 792). */
    public static final int QUOTED_L4_BYTES = 8;

    private Icmp() {
    }

    public static int type(MemorySegment s, long off) {
        return s.get(BYTE, off) & 0xFF;
    }

    public static int code(MemorySegment s, long off) {
        return s.get(BYTE, off + 1) & 0xFF;
    }

    /** Fragmentation needed: the next-hop MTU (bytes 6-7; 0 from routers older than RFC 1191). */
    public static int nextHopMtu(MemorySegment s, long off) {
        return s.get(SHORT_BE, off + 6) & 0xFFFF;
    }

    /** Where the quoted IP header of an error message starts. */
    public static long quotedIp(long off) {
        return off + HEADER_LENGTH;
    }

    /** True if the checksum over the whole message ({@code len} bytes) verifies (RFC 792, RFC 1071). */
    public static boolean isChecksumValid(MemorySegment s, long off, int len) {
        return Checksums.fold(Checksums.sum(s, off, len, 0)) == 0xFFFF;
    }

    /**
     * Turns the echo request of {@code len} bytes at {@code off} into its reply in place: type 0,
     * identifier, sequence number and data unchanged, checksum recomputed.
     */
    public static void toEchoReply(MemorySegment s, long off, int len) {
        s.set(BYTE, off, (byte) TYPE_ECHO_REPLY);
        s.set(BYTE, off + 1, (byte) 0);
        s.set(SHORT_BE, off + 2, (short) 0);
        s.set(SHORT_BE, off + 2, (short) Checksums.finish(Checksums.sum(s, off, len, 0)));
    }
}
