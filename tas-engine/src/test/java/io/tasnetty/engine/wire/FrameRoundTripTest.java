package io.tasnetty.engine.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** Builds whole Ethernet + IPv4 + TCP frames at an odd offset of a native segment and parses them back. */
class FrameRoundTripTest {
    private static final long FRAME = 37;
    private static final long LOCAL_MAC = Ethernet.parseMac("02:00:00:00:00:01");
    private static final long PEER_MAC = Ethernet.parseMac("02:00:00:00:00:02");
    private static final int LOCAL_IP = Ipv4.parse("10.0.0.1");
    private static final int PEER_IP = Ipv4.parse("10.0.0.2");

    /** Writes a frame the way the engine's TX path will; returns the frame length. */
    private static int buildSyn(MemorySegment s, byte[] payload) {
        final long ip = FRAME + Ethernet.HEADER_LENGTH;
        final long tcp = ip + Ipv4.MIN_HEADER_LENGTH;
        final int optLen = TcpOptions.writeSynOptions(s, tcp + Tcp.MIN_HEADER_LENGTH, 1460, 9, true, true,
                0x1111_2222, 0);
        final int tcpHeaderLength = Tcp.MIN_HEADER_LENGTH + optLen;
        MemorySegment.copy(payload, 0, s, ValueLayout.JAVA_BYTE, tcp + tcpHeaderLength, payload.length);
        final int tcpLength = tcpHeaderLength + payload.length;
        Tcp.writeHeader(s, tcp, 40_001, 8080, 0xFFFF_FFF0, 0, tcpHeaderLength, Tcp.SYN | Tcp.ECE | Tcp.CWR, 65535);
        Tcp.checksum(s, tcp, Tcp.checksum(s, tcp, tcpLength, LOCAL_IP, PEER_IP));
        final int totalLength = Ipv4.MIN_HEADER_LENGTH + tcpLength;
        Ipv4.writeHeader(s, ip, totalLength, 0x4242, Ipv4.ECN_ECT0, Ipv4.DEFAULT_TTL, Ipv4.PROTO_TCP, LOCAL_IP,
                PEER_IP);
        Ipv4.headerChecksum(s, ip, Ipv4.computeHeaderChecksum(s, ip, Ipv4.MIN_HEADER_LENGTH));
        Ethernet.write(s, FRAME, PEER_MAC, LOCAL_MAC, Ethernet.TYPE_IPV4);
        return Ethernet.HEADER_LENGTH + totalLength;
    }

    @Test
    void shouldParseBackSynFrameBuiltAtNonZeroOffset() {
        final byte[] payload = "hello, odd-length payload!".concat("!").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment s = arena.allocate(2048);
            final int frameLength = buildSyn(s, payload);

            assertThat(Ethernet.dst(s, FRAME)).isEqualTo(PEER_MAC);
            assertThat(Ethernet.src(s, FRAME)).isEqualTo(LOCAL_MAC);
            assertThat(Ethernet.etherType(s, FRAME)).isEqualTo(Ethernet.TYPE_IPV4);

            final long ip = FRAME + Ethernet.HEADER_LENGTH;
            final int ipHeaderLength = Ipv4.validate(s, ip, frameLength - Ethernet.HEADER_LENGTH);
            assertThat(ipHeaderLength).isEqualTo(20);
            assertThat(Ipv4.isHeaderChecksumValid(s, ip, ipHeaderLength)).isTrue();
            assertThat(Ipv4.isFragment(s, ip)).isFalse();
            assertThat(Ipv4.protocol(s, ip)).isEqualTo(Ipv4.PROTO_TCP);
            assertThat(Ipv4.ecn(s, ip)).isEqualTo(Ipv4.ECN_ECT0);
            assertThat(Ipv4.ttl(s, ip)).isEqualTo(64);
            assertThat(Ipv4.identification(s, ip)).isEqualTo(0x4242);
            assertThat(Ipv4.src(s, ip)).isEqualTo(LOCAL_IP);
            assertThat(Ipv4.dst(s, ip)).isEqualTo(PEER_IP);

            final long tcp = ip + ipHeaderLength;
            final int tcpLength = Ipv4.totalLength(s, ip) - ipHeaderLength;
            final int tcpHeaderLength = Tcp.validate(s, tcp, tcpLength);
            assertThat(tcpHeaderLength).isEqualTo(40);
            assertThat(Tcp.isChecksumValid(s, tcp, tcpLength, Ipv4.src(s, ip), Ipv4.dst(s, ip))).isTrue();
            assertThat(Tcp.srcPort(s, tcp)).isEqualTo(40_001);
            assertThat(Tcp.dstPort(s, tcp)).isEqualTo(8080);
            assertThat(Tcp.seq(s, tcp)).isEqualTo(0xFFFF_FFF0);
            assertThat(Tcp.ack(s, tcp)).isZero();
            assertThat(Tcp.flagsToString(Tcp.flags(s, tcp))).isEqualTo("SYN|ECE|CWR");
            assertThat(Tcp.window(s, tcp)).isEqualTo(65535);
            assertThat(Tcp.urgentPointer(s, tcp)).isZero();

            final TcpOptions opts = new TcpOptions();
            assertThat(opts.parse(s, tcp + Tcp.MIN_HEADER_LENGTH, tcpHeaderLength - Tcp.MIN_HEADER_LENGTH)).isTrue();
            assertThat(opts.mss).isEqualTo(1460);
            assertThat(opts.windowScale).isEqualTo(9);
            assertThat(opts.sackPermitted).isTrue();
            assertThat(opts.hasTimestamp).isTrue();
            assertThat(opts.tsVal).isEqualTo(0x1111_2222);
            assertThat(opts.tsEcr).isZero();

            final byte[] readBack = s.asSlice(tcp + tcpHeaderLength, tcpLength - tcpHeaderLength)
                    .toArray(ValueLayout.JAVA_BYTE);
            assertThat(readBack).isEqualTo(payload);
            assertThat(s.get(ValueLayout.JAVA_BYTE, FRAME - 1)).as("nothing written before the frame").isZero();
            assertThat(s.get(ValueLayout.JAVA_BYTE, FRAME + frameLength)).as("nor after it").isZero();
        }
    }

    @Test
    void shouldParseBackAckFrameWithTimestampsAndSack() {
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment s = arena.allocate(256);
            final long ip = FRAME + Ethernet.HEADER_LENGTH;
            final long tcp = ip + Ipv4.MIN_HEADER_LENGTH;
            final int[] left = {1000, 3000, 5000};
            final int[] right = {2000, 4000, 6000};
            final int optLen = TcpOptions.writeAckOptions(s, tcp + 20, true, 77, 66, left, right, 3);
            final int tcpLength = 20 + optLen;
            Tcp.writeHeader(s, tcp, 8080, 40_001, 1, 999, tcpLength, Tcp.ACK, 1234);
            Tcp.checksum(s, tcp, Tcp.checksum(s, tcp, tcpLength, PEER_IP, LOCAL_IP));
            Ipv4.writeHeader(s, ip, 20 + tcpLength, 1, Ipv4.ECN_NOT_ECT, 64, Ipv4.PROTO_TCP, PEER_IP, LOCAL_IP);
            Ipv4.headerChecksum(s, ip, Ipv4.computeHeaderChecksum(s, ip, 20));
            Ethernet.write(s, FRAME, LOCAL_MAC, PEER_MAC, Ethernet.TYPE_IPV4);
            // Ethernet pads to a 60-byte minimum frame; here the frame is longer, but pass extra bytes anyway.
            final int available = 14 + 20 + tcpLength + 6;

            assertThat(Ipv4.validate(s, ip, available - 14)).isEqualTo(20);
            assertThat(Ipv4.isHeaderChecksumValid(s, ip, 20)).isTrue();
            assertThat(Tcp.validate(s, tcp, Ipv4.totalLength(s, ip) - 20)).isEqualTo(tcpLength);
            assertThat(Tcp.isChecksumValid(s, tcp, tcpLength, PEER_IP, LOCAL_IP)).isTrue();
            final TcpOptions opts = new TcpOptions();
            assertThat(opts.parse(s, tcp + 20, optLen)).isTrue();
            assertThat(opts.hasTimestamp).isTrue();
            assertThat(opts.tsVal).isEqualTo(77);
            assertThat(opts.tsEcr).isEqualTo(66);
            assertThat(opts.sackBlocks).isEqualTo(3);
            assertThat(opts.sackLeft).startsWith(1000, 3000, 5000);
            assertThat(opts.sackRight).startsWith(2000, 4000, 6000);
        }
    }

    @Test
    void shouldKeepBothChecksumsValidAfterIncrementalAddressRewrite() {
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment s = arena.allocate(2048);
            final int frameLength = buildSyn(s, new byte[101]);
            final long ip = FRAME + Ethernet.HEADER_LENGTH;
            final long tcp = ip + 20;
            final int tcpLength = frameLength - 14 - 20;
            final int newDst = Ipv4.parse("192.168.77.5");
            // NAT-style rewrite: both the IPv4 header and the TCP pseudo-header cover the address.
            Ipv4.headerChecksum(s, ip, Checksums.update32(Ipv4.headerChecksum(s, ip), PEER_IP, newDst));
            Tcp.checksum(s, tcp, Checksums.update32(Tcp.checksum(s, tcp), PEER_IP, newDst));
            Ipv4.dst(s, ip, newDst);
            assertThat(Ipv4.isHeaderChecksumValid(s, ip, 20)).isTrue();
            assertThat(Tcp.isChecksumValid(s, tcp, tcpLength, LOCAL_IP, newDst)).isTrue();
            assertThat(Ipv4.headerChecksum(s, ip)).isEqualTo(Ipv4.computeHeaderChecksum(s, ip, 20));
            assertThat(Tcp.checksum(s, tcp)).isEqualTo(Tcp.checksum(s, tcp, tcpLength, LOCAL_IP, newDst));
        }
    }
}
