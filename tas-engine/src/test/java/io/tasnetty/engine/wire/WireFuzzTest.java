package io.tasnetty.engine.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random frames through the receive-side parse chain. Each frame sits at the very end of an array
 * of exactly the right size, so any read past the {@code available} length the caller passes
 * throws {@link IndexOutOfBoundsException} and fails the test.
 */
class WireFuzzTest {
    private static final int ROUNDS = 100_000;

    private final TcpOptions opts = new TcpOptions();
    private int arpValid;
    private int ipv4Valid;
    private int tcpValid;
    private int optionsParsed;
    private int optionsMalformed;

    @Test
    void shouldNeverThrowOnRandomFramesWhateverTheyClaim() {
        final Random random = new Random(0x7A5);
        for (int round = 0; round < ROUNDS; round++) {
            final int off = random.nextInt(8);
            final int len = random.nextInt(4) == 0 ? random.nextInt(60) : random.nextInt(200);
            final byte[] buf = new byte[off + len];
            random.nextBytes(buf);
            shapeLikeAFrame(random, buf, off, len);
            try {
                parseFrame(MemorySegment.ofArray(buf), off, len);
            } catch (RuntimeException e) {
                fail("round " + round + ", frame at " + off + ": " + HexFormat.of().formatHex(buf, off, off + len), e);
            }
        }
        // The fuzz must reach the deep paths, or it proves nothing about them.
        assertThat(arpValid).isGreaterThan(1000);
        assertThat(ipv4Valid).isGreaterThan(10_000);
        assertThat(tcpValid).isGreaterThan(5000);
        assertThat(optionsParsed).isGreaterThan(1000);
        assertThat(optionsMalformed).isGreaterThan(1000);
    }

    @Test
    void shouldNeverThrowOnRandomOptionBytes() {
        final Random random = new Random(0x0B7);
        int parsed = 0;
        for (int round = 0; round < ROUNDS; round++) {
            final int off = random.nextInt(8);
            final int len = random.nextInt(41);
            final byte[] buf = new byte[off + len];
            for (int i = off; i < buf.length; i++) {
                // mostly small values so that kinds and lengths are often plausible
                buf[i] = (byte) (random.nextBoolean() ? random.nextInt(12) : random.nextInt(256));
            }
            try {
                if (opts.parse(MemorySegment.ofArray(buf), off, len)) {
                    parsed++;
                    assertThat(opts.windowScale).isBetween(-1, 14);
                    assertThat(opts.sackBlocks).isBetween(0, TcpOptions.MAX_SACK_BLOCKS);
                    assertThat(opts.mss).isBetween(-1, 65535);
                }
            } catch (RuntimeException e) {
                fail("round " + round + ": " + HexFormat.of().formatHex(buf, off, off + len), e);
            }
        }
        assertThat(parsed).isGreaterThan(ROUNDS / 10);
    }

    @Test
    void shouldNeverThrowOnRandomChecksumRanges() {
        final Random random = new Random(0xC5);
        for (int round = 0; round < ROUNDS; round++) {
            final int len = random.nextInt(100);
            final byte[] buf = new byte[len];
            random.nextBytes(buf);
            final int off = len == 0 ? 0 : random.nextInt(len + 1);
            final MemorySegment s = MemorySegment.ofArray(buf);
            assertThat(Checksums.sum(s, off, len - off, random.nextInt())).isBetween(0, 0xFFFF);
        }
    }

    /** Makes random bytes look like Ethernet/ARP or Ethernet/IPv4/TCP often enough to get past each check. */
    private static void shapeLikeAFrame(Random random, byte[] buf, int off, int len) {
        if (len < 14 || random.nextInt(8) == 0) {
            return;
        }
        final boolean arp = random.nextInt(5) == 0;
        buf[off + 12] = 0x08;
        buf[off + 13] = (byte) (arp ? 0x06 : 0x00);
        final int l3 = off + 14;
        final int l3Len = len - 14;
        if (arp) {
            if (l3Len >= 6 && random.nextInt(4) != 0) {
                System.arraycopy(new byte[] {0, 1, 8, 0, 6, 4}, 0, buf, l3, 6);
            }
            return;
        }
        if (l3Len < 20) {
            return;
        }
        if (random.nextInt(8) != 0) {
            buf[l3] = (byte) (0x40 | (random.nextInt(4) == 0 ? random.nextInt(16) : 5 + random.nextInt(3)));
        }
        if (random.nextInt(8) != 0) {
            final int total = Math.max(0, l3Len - random.nextInt(8) + (random.nextInt(8) == 0 ? 4 : 0));
            buf[l3 + 2] = (byte) (total >>> 8);
            buf[l3 + 3] = (byte) total;
            buf[l3 + 6] = (byte) (buf[l3 + 6] & 0x40);
            buf[l3 + 7] = 0;
            buf[l3 + 9] = Ipv4.PROTO_TCP;
        }
        final int l4 = l3 + ((buf[l3] & 0x0F) << 2);
        if (l4 + 13 < off + len && random.nextInt(8) != 0) {
            buf[l4 + 12] = (byte) (random.nextInt(4) == 0 ? random.nextInt(256) : (5 + random.nextInt(11)) << 4);
            for (int i = l4 + 20; i < off + len && i < l4 + 60; i++) {
                if (random.nextBoolean()) {
                    buf[i] = (byte) random.nextInt(12);
                }
            }
        }
    }

    /** The receive path as the engine will run it: each length checked once, then accessors. */
    private void parseFrame(MemorySegment s, long off, int available) {
        if (available < Ethernet.HEADER_LENGTH) {
            return;
        }
        Ethernet.dst(s, off);
        Ethernet.src(s, off);
        Ethernet.isMulticast(Ethernet.dst(s, off));
        final int type = Ethernet.etherType(s, off);
        final long l3 = off + Ethernet.HEADER_LENGTH;
        final int l3Available = available - Ethernet.HEADER_LENGTH;
        if (type == Ethernet.TYPE_ARP) {
            if (Arp.isEthernetIpv4(s, l3, l3Available)) {
                arpValid++;
                Arp.op(s, l3);
                Arp.senderMac(s, l3);
                Arp.senderIp(s, l3);
                Arp.targetMac(s, l3);
                Arp.targetIp(s, l3);
            }
            return;
        }
        if (type != Ethernet.TYPE_IPV4) {
            return;
        }
        final int ipHeaderLength = Ipv4.validate(s, l3, l3Available);
        if (ipHeaderLength < 0) {
            assertThat(ipHeaderLength).isBetween(Ipv4.ERR_TOTAL_LENGTH, Ipv4.ERR_TOO_SHORT);
            return;
        }
        ipv4Valid++;
        assertThat(ipHeaderLength).isBetween(Ipv4.MIN_HEADER_LENGTH, Ipv4.MAX_HEADER_LENGTH);
        Ipv4.version(s, l3);
        Ipv4.tos(s, l3);
        Ipv4.ecn(s, l3);
        Ipv4.identification(s, l3);
        Ipv4.ttl(s, l3);
        Ipv4.headerChecksum(s, l3);
        Ipv4.src(s, l3);
        Ipv4.dst(s, l3);
        Ipv4.isHeaderChecksumValid(s, l3, ipHeaderLength);
        Ipv4.computeHeaderChecksum(s, l3, ipHeaderLength);
        if (Ipv4.protocol(s, l3) != Ipv4.PROTO_TCP || Ipv4.isFragment(s, l3)) {
            return;
        }
        final long l4 = l3 + ipHeaderLength;
        final int tcpLength = Ipv4.totalLength(s, l3) - ipHeaderLength;
        final int tcpHeaderLength = Tcp.validate(s, l4, tcpLength);
        if (tcpHeaderLength < 0) {
            assertThat(tcpHeaderLength).isBetween(Tcp.ERR_DATA_OFFSET, Tcp.ERR_TOO_SHORT);
            return;
        }
        tcpValid++;
        assertThat(tcpHeaderLength).isBetween(Tcp.MIN_HEADER_LENGTH, Tcp.MAX_HEADER_LENGTH).isLessThanOrEqualTo(tcpLength);
        Tcp.srcPort(s, l4);
        Tcp.dstPort(s, l4);
        Tcp.seq(s, l4);
        Tcp.ack(s, l4);
        Tcp.flagsToString(Tcp.flags(s, l4));
        Tcp.window(s, l4);
        Tcp.urgentPointer(s, l4);
        Tcp.checksum(s, l4, tcpLength, Ipv4.src(s, l3), Ipv4.dst(s, l3));
        Tcp.isChecksumValid(s, l4, tcpLength, Ipv4.src(s, l3), Ipv4.dst(s, l3));
        if (opts.parse(s, l4 + Tcp.MIN_HEADER_LENGTH, tcpHeaderLength - Tcp.MIN_HEADER_LENGTH)) {
            optionsParsed++;
        } else {
            optionsMalformed++;
        }
    }
}
