package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Sequence numbers crossing 2^32 (RFC 9293 3.4: all arithmetic is modulo 2^32), on the peer's side
 * and on ours.
 *
 * <p>How the engine's ISN is placed near the wrap: ISNs follow RFC 6528, ISN = M + F(4-tuple,
 * key) with M the clock in 4 µs ticks and F a keyed hash. With {@code seed} fixed the key is
 * fixed, and for one 4-tuple F is a constant. A first SYN from the tuple at a known clock time T1
 * gives ISN1, hence F = ISN1 - T1/4000 (mod 2^32). That first half-open connection is reset by
 * the peer. Moving the clock forward by 4000 * ((target - ISN1) mod 2^32) ns then makes the next
 * SYN from the same tuple get exactly {@code target} (the test checks this, so it also checks
 * that ISNs advance with the 4 µs clock). Nothing inside the engine is touched.
 */
class TcpSequenceWrapTest {
    private static final int MSS = 1460;

    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate"));

    @AfterEach
    void close() {
        h.close();
    }

    private static int u(long v) {
        return (int) v;
    }

    @Test
    void shouldReceiveDataAcrossTheWrapOfThePeersSequenceNumbers() {
        ScriptedConnection sc = h.accept(80, 40000, 0xFFFFFF00, Opts.syn(MSS, -1, true, false, 0));
        assertThat(sc.peerSeq).isEqualTo(0xFFFFFF01);
        int[] acks = {0xFFFFFF65, 0xFFFFFFC9, 0x0000002D};
        for (int i = 0; i < 3; i++) {
            sc.data(bytes(100, 100 * i));
            List<Segment> out = h.step();
            assertThat(out).hasSize(1);
            assertThat(Integer.toUnsignedString(out.get(0).ack())).isEqualTo(Integer.toUnsignedString(acks[i]));
        }
        assertThat(sc.read(1000)).isEqualTo(bytes(300));
        sc.fin();
        assertThat(h.step().get(0).ack()).isEqualTo(0x2E);
        assertThat(sc.conn.state()).isEqualTo(TcpState.CLOSE_WAIT);
    }

    @Test
    void shouldReassembleOutOfOrderDataAcrossThePeersWrap() {
        ScriptedConnection sc = h.accept(80, 40000, 0xFFFFFF00, Opts.syn(MSS, -1, true, false, 0));
        int s0 = sc.peerSeq; // 0xFFFFFF01: byte 255 of the stream has sequence number 0
        // Bytes 200..399 (crossing the wrap) arrive first, then 400..499, then the hole 0..199.
        sc.dataAt(s0 + 200, bytes(200, 200));
        Segment dup = h.step().get(0);
        assertThat(dup.ack()).isEqualTo(s0);
        assertThat(dup.sackBlocks()).isEqualTo(1);
        assertThat(dup.sackLeft()[0]).isEqualTo(0xFFFFFFC9);
        assertThat(dup.sackRight()[0]).isEqualTo(0x91);
        sc.dataAt(s0 + 400, bytes(100, 400));
        dup = h.step().get(0);
        assertThat(dup.sackBlocks()).as("adjacent islands merge across the wrap").isEqualTo(1);
        assertThat(dup.sackRight()[0]).isEqualTo(0xF5);
        sc.dataAt(s0, bytes(200, 0));
        Segment ack = h.step().get(0);
        assertThat(ack.ack()).isEqualTo(s0 + 500);
        assertThat(ack.sackBlocks()).isZero();
        assertThat(sc.read(1000)).isEqualTo(bytes(500));
    }

    @Test
    void shouldTreatOldDuplicateAcrossTheWrapAsOld() {
        ScriptedConnection sc = h.accept(80, 40000, 0xFFFFFF00, Opts.syn(MSS, -1, true, false, 0));
        int s0 = sc.peerSeq;
        sc.data(bytes(400));
        h.step();
        // A copy of bytes 0..99 (sequence numbers just below 2^32) is old, though numerically larger.
        sc.dataAt(s0, bytes(100));
        Segment ack = h.step().get(0);
        assertThat(ack.ack()).isEqualTo(s0 + 400);
        assertThat(sc.read(1000)).isEqualTo(bytes(400));
    }

    /**
     * Opens a passive connection from peer port 40000 whose engine ISS is exactly {@code target}
     * (see the class comment), and returns it established.
     */
    private ScriptedConnection acceptWithEngineIss(int target) {
        h.listen(80);
        Opts syn = Opts.syn(MSS, -1, true, false, 0);
        long t1 = h.now();
        assertThat(t1 % 4000).isZero();
        h.peer.send(40000, ENGINE_IP, 80, 1000, 0, Tcp.SYN, 65535, new byte[0], syn);
        int isn1 = h.step().get(0).seq();
        h.peer.send(40000, ENGINE_IP, 80, 1001, 0, Tcp.RST, 0, new byte[0], null);
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
        long ticks = Integer.toUnsignedLong(target - isn1);
        h.advanceTo(t1 + 4000 * ticks);
        ScriptedConnection sc = h.accept(80, 40000, 5000, syn);
        assertThat(Integer.toUnsignedString(sc.engineIss)).as("ISS placed by the clock")
            .isEqualTo(Integer.toUnsignedString(target));
        return sc;
    }

    @Test
    void shouldSendDataAcrossTheWrapOfOurOwnSequenceNumbers() {
        ScriptedConnection sc = acceptWithEngineIss(0xFFFFF000);
        // 0xFFFFF001 + 8000 crosses 2^32 after 4095 bytes, inside the third segment.
        sc.write(bytes(8000));
        List<Segment> out = h.step();
        assertThat(out).extracting(Segment::len).containsExactly(MSS, MSS, MSS, MSS, MSS, 700);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        int seq = 0xFFFFF001;
        for (Segment s : out) {
            assertThat(s.seq()).isEqualTo(seq);
            seq += s.len();
            all.writeBytes(s.payload());
        }
        assertThat(all.toByteArray()).isEqualTo(bytes(8000));
        assertThat(seq).isEqualTo(0xFFFFF001 + 8000).isEqualTo(0x00000F41);
        // ACKs on both sides of the wrap release the ring and keep the retransmission state right.
        sc.ack(ScriptedConnection.end(out.get(1))); // 0xFFFFFB69, before the wrap
        assertThat(h.step()).isEmpty();
        assertThat(sc.conn.writableBytes()).isEqualTo(sc.conn.sendBufferSize() - 8000 + 2 * MSS);
        sc.ack(ScriptedConnection.end(out.get(3))); // 0x000006D1, after it
        assertThat(h.step()).isEmpty();
        assertThat(sc.conn.flow().sndUna()).isEqualTo(0x6D1);
        assertThat(sc.conn.writableBytes()).isEqualTo(sc.conn.sendBufferSize() - 8000 + 4 * MSS);
        // The segment after that is lost: the RTO resends exactly its bytes.
        h.clock.advanceMillis(5000);
        List<Segment> again = h.step();
        assertThat(again).isNotEmpty();
        assertThat(again.get(0).seq()).isEqualTo(out.get(4).seq());
        assertThat(again.get(0).payload()).isEqualTo(out.get(4).payload());
        sc.ack(0xF41);
        h.step();
        assertThat(sc.conn.flow().sndUna()).isEqualTo(sc.conn.flow().sndMax());
        assertThat(sc.conn.writableBytes()).isEqualTo(sc.conn.sendBufferSize());
    }

    @Test
    void shouldFastRetransmitASegmentThatStraddlesOurWrap() {
        ScriptedConnection sc = acceptWithEngineIss(0xFFFFF800);
        // Byte 2047 of the stream has sequence number 0: the second segment straddles the wrap.
        sc.write(bytes(5 * MSS));
        List<Segment> out = h.step();
        assertThat(Integer.compareUnsigned(out.get(1).seq(), ScriptedConnection.end(out.get(1)))).isPositive();
        sc.ack(ScriptedConnection.end(out.get(0)));
        h.step();
        for (int i = 0; i < 3; i++) {
            sc.ack();
        }
        List<Segment> r = h.step();
        assertThat(r).hasSize(1);
        assertThat(r.get(0).seq()).isEqualTo(out.get(1).seq());
        assertThat(r.get(0).payload()).isEqualTo(bytes(MSS, MSS));
    }

    @Test
    void shouldCloseWithAFinOnTheOtherSideOfOurWrap() {
        ScriptedConnection sc = acceptWithEngineIss(0xFFFFFFFE);
        // ISS = 2^32 - 2: the first data byte is 0xFFFFFFFF, the FIN after 10 bytes is 9.
        sc.write(bytes(10));
        sc.conn.close();
        List<Segment> out = h.step();
        Segment fin = out.get(out.size() - 1);
        assertThat(fin.has(Tcp.FIN)).isTrue();
        assertThat(fin.seq()).isEqualTo(9);
        sc.ack(10);
        h.step();
        assertThat(sc.conn.state()).isEqualTo(TcpState.FIN_WAIT_2);
        sc.fin();
        h.step();
        assertThat(sc.conn.state()).isEqualTo(TcpState.TIME_WAIT);
    }

    @Test
    void shouldPlaceAnActiveOpenIssNearTheWrapTheSameWay() {
        // Same derivation for connect(): the local port is fixed so the 4-tuple repeats.
        InetSocketAddress remote = new InetSocketAddress(EngineHarness.addr(0x0A000002), 9000);
        InetSocketAddress local = new InetSocketAddress(EngineHarness.addr(ENGINE_IP), 45000);
        long t1 = h.now();
        TasConnection first = h.ctx.connect(remote, local, 0, 0);
        int isn1 = h.step().get(0).seq();
        first.close(); // still in SYN-SENT: just forgotten
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
        int target = 0xFFFFFFF0;
        h.advanceTo(t1 + 4000 * Integer.toUnsignedLong(target - isn1));
        TasConnection c = h.ctx.connect(remote, local, 0, 0);
        Segment syn = h.step().get(0);
        assertThat(syn.seq()).isEqualTo(target);
        h.peer.send(9000, ENGINE_IP, 45000, 777, target + 1, Tcp.SYN | Tcp.ACK, 65535, new byte[0],
            Opts.syn(MSS, -1, false, false, 0));
        h.step();
        assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
        c.write(ByteBuffer.wrap(bytes(100)));
        c.flush();
        Segment data = h.step().get(0);
        assertThat(data.seq()).isEqualTo(0xFFFFFFF1);
        h.peer.send(9000, ENGINE_IP, 45000, 778, u(0xFFFFFFF1L + 100), Tcp.ACK, 65535, new byte[0], null);
        h.step();
        assertThat(c.flow().sndUna()).isEqualTo(0x55);
        assertThat(c.writableBytes()).isEqualTo(c.sendBufferSize());
    }
}
