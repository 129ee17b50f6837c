package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Checksums;
import io.tasnetty.engine.wire.Ethernet;
import io.tasnetty.engine.wire.Icmp;
import io.tasnetty.engine.wire.Ipv4;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * ICMP: echo requests are answered (RFC 1122 3.2.2.6); "fragmentation needed" lowers a flow's MSS
 * and re-sends what was in flight (RFC 1191), but only when it quotes data of ours in flight
 * (RFC 5927 4.1); without any ICMP, a third timeout in a row falls back to 1,024-byte segments
 * (RFC 4821 black-hole detection, as Linux's tcp_mtu_probing).
 */
class IcmpTest {
    private static final int MSS = 1460;
    private static final int ROUTER_IP = 0x0A0000FE; // 10.0.0.254

    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "dctcp-win"));

    @AfterEach
    void close() {
        h.close();
    }

    @Test
    void anEchoRequestIsAnsweredWithItsIdentifierSequenceAndData() {
        byte[] data = bytes(56);
        h.peer.sendFrame(icmpFrame(TcpTestPeer.IP, ENGINE_IP, Icmp.TYPE_ECHO_REQUEST, 0, 0x1234_0007, data));
        h.step();
        List<byte[]> replies = h.peer.takeIcmp();
        assertThat(replies).hasSize(1);
        MemorySegment r = MemorySegment.ofArray(replies.get(0));
        assertThat(Ipv4.src(r, 0)).isEqualTo(ENGINE_IP);
        assertThat(Ipv4.dst(r, 0)).isEqualTo(TcpTestPeer.IP);
        assertThat(Ipv4.isHeaderChecksumValid(r, 0, 20)).isTrue();
        assertThat(Icmp.type(r, 20)).isEqualTo(Icmp.TYPE_ECHO_REPLY);
        assertThat(Icmp.isChecksumValid(r, 20, replies.get(0).length - 20)).isTrue();
        assertThat(ByteBuffer.wrap(replies.get(0), 24, 4).getInt()).as("identifier and sequence").isEqualTo(0x1234_0007);
        assertThat(Arrays.copyOfRange(replies.get(0), 28, replies.get(0).length)).isEqualTo(data);
        assertThat(h.engine.counter(TasCounter.ICMP_ECHO_REPLIES)).isEqualTo(1);
    }

    @Test
    void anEchoRequestWithABadChecksumIsDropped() {
        byte[] frame = icmpFrame(TcpTestPeer.IP, ENGINE_IP, Icmp.TYPE_ECHO_REQUEST, 0, 1, bytes(8));
        frame[frame.length - 1] ^= 1;
        h.peer.sendFrame(frame);
        h.step();
        assertThat(h.peer.takeIcmp()).isEmpty();
        assertThat(h.engine.counter(TasCounter.DROP_ICMP_INVALID)).isEqualTo(1);
    }

    @Test
    void fragmentationNeededShrinksSegmentsAndResendsWhatWasInFlight() {
        ScriptedConnection sc = h.accept(80);
        sc.write(bytes(3 * MSS));
        List<Segment> sent = h.step();
        assertThat(sent).extracting(Segment::len).containsExactly(MSS, MSS, MSS);

        h.peer.sendFrame(fragNeeded(sent.get(0), 1280));
        List<Segment> again = h.step();

        assertThat(again).isNotEmpty();
        assertThat(again.get(0).seq()).as("from SND.UNA").isEqualTo(sent.get(0).seq());
        assertThat(again).allSatisfy(s -> assertThat(s.len()).isLessThanOrEqualTo(1280 - 40));
        assertThat(again.get(0).len()).isEqualTo(1240);
        assertThat(h.engine.counter(TasCounter.TCP_PMTU_REDUCED)).isEqualTo(1);
    }

    @Test
    void fragmentationNeededQuotingNoDataInFlightIsIgnored() {
        ScriptedConnection sc = h.accept(80);
        sc.write(bytes(MSS));
        List<Segment> sent = h.step();
        sc.ack(ScriptedConnection.end(sent.get(0)));
        h.step();

        // A blind attacker (or a stale message) quotes bytes already acknowledged.
        h.peer.sendFrame(fragNeeded(sent.get(0), 600));
        assertThat(h.step()).isEmpty();
        assertThat(h.engine.counter(TasCounter.DROP_ICMP_INVALID)).isEqualTo(1);
        sc.write(bytes(MSS));
        assertThat(h.step()).extracting(Segment::len).as("full-sized segments still").containsExactly(MSS);
    }

    @Test
    void aNextHopMtuBelow552CountsAs552() {
        ScriptedConnection sc = h.accept(80);
        sc.write(bytes(2 * MSS));
        List<Segment> sent = h.step();
        h.peer.sendFrame(fragNeeded(sent.get(0), 68));
        List<Segment> again = h.step();
        assertThat(again.get(0).len()).isEqualTo(552 - 40);
    }

    @Test
    void aThirdTimeoutInARowOfAFullSizedSegmentFallsBackToSegmentsOf1024Bytes() {
        ScriptedConnection sc = h.accept(80);
        sc.write(bytes(3 * MSS));
        assertThat(h.step()).hasSize(3);
        List<Segment> first = h.advanceMillis(1_100);
        assertThat(first).isNotEmpty();
        assertThat(first.get(0).len()).as("the first timeout re-sends at full size").isEqualTo(MSS);
        List<Segment> second = h.advanceMillis(2_100);
        assertThat(second.get(0).len()).as("and the second").isEqualTo(MSS);
        List<Segment> third = h.advanceMillis(4_100);
        assertThat(third).isNotEmpty();
        assertThat(third.get(0).len()).isEqualTo(1024);
        assertThat(h.engine.counter(TasCounter.TCP_MTU_BLACK_HOLE)).isEqualTo(1);
    }

    @Test
    void timeoutsOfSmallSegmentsSayNothingAboutTheMtu() {
        ScriptedConnection sc = h.accept(80);
        sc.write(bytes(100));
        h.step();
        for (long ms : new long[] {1_100, 2_100, 4_100, 8_100}) {
            h.advanceMillis(ms);
        }
        assertThat(h.engine.counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS)).isEqualTo(4);
        assertThat(h.engine.counter(TasCounter.TCP_MTU_BLACK_HOLE)).isZero();
    }

    /** A router's "fragmentation needed" for {@code s}, which the engine sent: its IP header and 8 bytes of TCP. */
    private static byte[] fragNeeded(Segment s, int mtu) {
        byte[] quoted = new byte[28];
        MemorySegment q = MemorySegment.ofArray(quoted);
        Ipv4.writeHeader(q, 0, 40 + s.len(), 0, 0, 64, Ipv4.PROTO_TCP, s.srcIp(), s.dstIp());
        ByteBuffer.wrap(quoted, 20, 8).putShort((short) s.srcPort()).putShort((short) s.dstPort()).putInt(s.seq());
        return icmpFrame(ROUTER_IP, ENGINE_IP, Icmp.TYPE_DEST_UNREACHABLE, Icmp.CODE_FRAG_NEEDED, mtu & 0xFFFF, quoted);
    }

    /** Ethernet + IPv4 + ICMP with valid checksums; {@code rest} is the 4 bytes after the checksum. */
    private static byte[] icmpFrame(int src, int dst, int type, int code, int rest, byte[] data) {
        byte[] f = new byte[14 + 20 + 8 + data.length];
        MemorySegment s = MemorySegment.ofArray(f);
        Ethernet.write(s, 0, EngineHarness.ENGINE_MAC, TcpTestPeer.MAC, Ethernet.TYPE_IPV4);
        Ipv4.writeHeader(s, 14, 20 + 8 + data.length, 1, 0, 64, Ipv4.PROTO_ICMP, src, dst);
        Ipv4.headerChecksum(s, 14, Ipv4.computeHeaderChecksum(s, 14, 20));
        ByteBuffer.wrap(f, 34, 8).put((byte) type).put((byte) code).putShort((short) 0).putInt(rest);
        System.arraycopy(data, 0, f, 42, data.length);
        int sum = Checksums.finish(Checksums.sum(s, 34, 8 + data.length, 0));
        ByteBuffer.wrap(f, 36, 2).putShort((short) sum);
        return f;
    }
}
