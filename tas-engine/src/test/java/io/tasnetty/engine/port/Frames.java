package io.tasnetty.engine.port;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Hand-built frames for port tests (checksums are not filled in: ports do not look at them). */
final class Frames {
    static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final long BROADCAST = 0xFFFF_FFFF_FFFFL;

    private Frames() {
    }

    static void putMac(MemorySegment s, long off, long mac) {
        s.set(BE_SHORT, off, (short) (mac >>> 32));
        s.set(BE_INT, off + 2, (int) mac);
    }

    static long getMac(MemorySegment s, long off) {
        return ((s.get(BE_SHORT, off) & 0xFFFFL) << 32) | (s.get(BE_INT, off + 2) & 0xFFFF_FFFFL);
    }

    /** Ethernet header with ethertype 0x88B5 (local experimental), then {@code seq} and a pattern. */
    static void raw(PacketBuffer b, long dst, long src, int seq, int length) {
        MemorySegment s = b.segment;
        long o = b.offset;
        putMac(s, o, dst);
        putMac(s, o + 6, src);
        s.set(BE_SHORT, o + 12, (short) 0x88B5);
        s.set(BE_INT, o + 14, seq);
        for (int i = 18; i < length; i++) {
            s.set(ValueLayout.JAVA_BYTE, o + i, (byte) (seq * 31 + i));
        }
        b.length = length;
    }

    /** The sequence number {@link #raw} wrote. */
    static int seq(PacketBuffer b) {
        return b.segment.get(BE_INT, b.offset + 14);
    }

    /** Ethernet + IPv4 (20 bytes) + TCP (20 bytes) + {@code payload} bytes. */
    static void tcp(PacketBuffer b, long dst, long src, int srcIp, int srcPort, int dstIp, int dstPort,
                    int payload) {
        MemorySegment s = b.segment;
        long o = b.offset;
        putMac(s, o, dst);
        putMac(s, o + 6, src);
        s.set(BE_SHORT, o + 12, (short) 0x0800);
        long ip = o + 14;
        s.set(ValueLayout.JAVA_BYTE, ip, (byte) 0x45);
        s.set(ValueLayout.JAVA_BYTE, ip + 1, (byte) 0);
        s.set(BE_SHORT, ip + 2, (short) (40 + payload));
        s.set(BE_SHORT, ip + 4, (short) 0);
        s.set(BE_SHORT, ip + 6, (short) 0x4000); // DF
        s.set(ValueLayout.JAVA_BYTE, ip + 8, (byte) 64);
        s.set(ValueLayout.JAVA_BYTE, ip + 9, (byte) 6);
        s.set(BE_SHORT, ip + 10, (short) 0);
        s.set(BE_INT, ip + 12, srcIp);
        s.set(BE_INT, ip + 16, dstIp);
        long tcp = ip + 20;
        s.set(BE_SHORT, tcp, (short) srcPort);
        s.set(BE_SHORT, tcp + 2, (short) dstPort);
        for (int i = 4; i < 20 + payload; i++) {
            s.set(ValueLayout.JAVA_BYTE, tcp + i, (byte) 0);
        }
        s.set(ValueLayout.JAVA_BYTE, tcp + 12, (byte) 0x50);
        b.length = 14 + 40 + payload;
    }

    static byte[] bytes(PacketBuffer b) {
        byte[] a = new byte[b.length];
        MemorySegment.copy(b.segment, ValueLayout.JAVA_BYTE, b.offset, a, 0, b.length);
        return a;
    }

    static int ip(int a, int b, int c, int d) {
        return (a << 24) | (b << 16) | (c << 8) | d;
    }
}
