package io.tasnetty.engine.wire;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Byte-by-byte reference implementation of the RFC 1071 sum, to check {@link Checksums} against. */
final class NaiveChecksum {
    private NaiveChecksum() {
    }

    /** Folded one's complement sum of big-endian 16-bit words, odd trailing byte as a high byte. */
    static int sum(byte[] data, int off, int len, long initial) {
        long acc = initial & 0xFFFF_FFFFL;
        for (int i = 0; i < len; i++) {
            final int b = data[off + i] & 0xFF;
            acc += (i & 1) == 0 ? b << 8 : b;
        }
        while ((acc >>> 16) != 0) {
            acc = (acc & 0xFFFF) + (acc >>> 16);
        }
        return (int) acc;
    }

    static int sum(MemorySegment s, long off, int len, long initial) {
        final byte[] copy = new byte[len];
        MemorySegment.copy(s, ValueLayout.JAVA_BYTE, off, copy, 0, len);
        return sum(copy, 0, len, initial);
    }

    /**
     * TCP checksum the slow, obvious way: build the pseudo-header (RFC 9293 3.1) and the segment
     * with its checksum field zeroed in one byte array, sum it, complement.
     */
    static int tcpChecksum(MemorySegment s, long tcpOff, int tcpLength, int srcIp, int dstIp) {
        final byte[] b = new byte[12 + tcpLength];
        putInt(b, 0, srcIp);
        putInt(b, 4, dstIp);
        b[8] = 0;
        b[9] = 6;
        b[10] = (byte) (tcpLength >>> 8);
        b[11] = (byte) tcpLength;
        MemorySegment.copy(s, ValueLayout.JAVA_BYTE, tcpOff, b, 12, tcpLength);
        b[12 + 16] = 0;
        b[12 + 17] = 0;
        return ~sum(b, 0, b.length, 0) & 0xFFFF;
    }

    static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    /** Parses a hex string such as {@code "45 00 00 73"} (whitespace ignored). */
    static byte[] hex(String text) {
        final String h = text.replaceAll("\\s+", "");
        final byte[] out = new byte[h.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }
}
