package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Flow control (RFC 9293 3.8.6) and window scaling (RFC 7323 2): the peer's window bounds what we
 * send, our window is the receive ring's free space, both scaled by the negotiated shifts, and
 * neither is scaled unless both SYNs carried the option.
 */
class TcpWindowTest {
    // Fixed rings (tcp-rxbuf-max at its least: no autotuning), so the scale is the ring's own.
    private EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate").set("tcp-rxbuf-max", "2048"));

    @AfterEach
    void close() {
        h.close();
    }

    private void use(TasConfig.Builder b) {
        h.close();
        h = new EngineHarness(b.set("cc", "const-rate").set("tcp-rxbuf-max", "2048"));
    }

    @Test
    void shouldLimitWhatWeSendToThePeersScaledWindow() {
        ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(1460, 2, false, false, 0));
        sc.window = 730; // << 2 = 2920 bytes: two full segments
        sc.ack();
        h.step();
        sc.write(bytes(10_000));
        List<Segment> out = h.step();
        assertThat(out).extracting(Segment::len).containsExactly(1460, 1460);
        assertThat(h.step()).as("the window is full").isEmpty();
        // The first segment is acknowledged and the window slides by as much.
        sc.ack(sc.engineIss + 1 + 1460);
        out = h.step();
        assertThat(out).extracting(Segment::len).containsExactly(1460);
        assertThat(out.get(0).seq()).isEqualTo(sc.engineIss + 1 + 2920);
        // The peer opens its window to 1095 << 2 = 4380 bytes beyond SND.UNA: room for one more.
        sc.window = 1095;
        sc.ack();
        out = h.step();
        assertThat(out).extracting(Segment::len).containsExactly(1460);
    }

    @Test
    void shouldNotScaleTheWindowOfTheSynAck() {
        // RFC 7323 2.2: "The window field in a segment where the SYN bit is set (i.e., a <SYN> or
        // <SYN,ACK>) MUST NOT be scaled." The peer's SYN-ACK offers 1000 bytes and shift 7.
        ScriptedConnection sc = h.open(9000, 5000, 1000, Opts.syn(1460, 7, false, false, 0));
        assertThat(sc.conn.flow().sndWscale()).isEqualTo(7);
        sc.write(bytes(5000));
        List<Segment> out = h.step();
        assertThat(out).as("1000 bytes, not 1000 << 7").extracting(Segment::len).containsExactly(1000);
        // The next ACK's window is scaled: 100 << 7 = 12800 bytes.
        sc.window = 100;
        sc.ack(sc.engineIss + 1 + 1000);
        out = h.step();
        assertThat(out).extracting(Segment::len).containsExactly(1460, 1460, 1080);
    }

    @Test
    void shouldAdvertiseReceiveRingFreeSpaceScaledByOurShift() {
        ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(1460, 0, false, false, 0));
        TasConnection c = sc.conn;
        int ring = c.receiveBufferSize();
        assertThat(ring).isEqualTo(131072);
        int shift = c.flow().rcvWscale();
        assertThat(shift).as("smallest shift that lets 65535 << shift cover the ring").isEqualTo(2);
        int slack = 8 << shift; // held back so that rounding up never announces bytes the ring lacks
        sc.data(bytes(1000));
        Segment ack = h.step().get(0);
        assertThat(ack.window()).isEqualTo((ring - 1000 - slack) >> shift);
        sc.data(bytes(1000, 1000));
        ack = h.step().get(0);
        assertThat(ack.window()).isEqualTo((ring - 2000 - slack) >> shift);
    }

    @Test
    void shouldOfferOurShiftInSynAckAndNeverScaleTheSynAckWindow() {
        h.listen(80);
        h.peer.send(40000, ENGINE_IP, 80, 1, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, 3, false, false, 0));
        Segment synAck = h.step().get(0);
        assertThat(synAck.windowScale()).isEqualTo(2);
        assertThat(synAck.window()).as("ring 128 KiB, unscaled, capped at 65535").isEqualTo(65535);
    }

    @Test
    void shouldNotScaleEitherWayWhenThePeersSynLacksTheOption() {
        // RFC 7323 2.2: the SYN-ACK may carry the option only if the SYN did, and scaling is on
        // only if both sent it.
        ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(1460, -1, false, false, 0));
        assertThat(sc.conn.flow().rcvWscale()).isZero();
        sc.data(bytes(1000));
        Segment ack = h.step().get(0);
        assertThat(ack.window()).as("free space 130072 does not fit: 65535 unscaled").isEqualTo(65535);
        sc.window = 2000;
        sc.ack();
        h.step();
        sc.write(bytes(5000));
        assertThat(h.step()).extracting(Segment::len).as("the peer's 2000 is taken as it is")
            .containsExactly(1460);
    }

    @Test
    void shouldDropOurOfferedScaleWhenSynAckLacksTheOption() {
        TasConnection c = h.connect(9000);
        Segment syn = h.step().get(0);
        assertThat(syn.windowScale()).as("we offer a shift in our SYN").isEqualTo(2);
        assertThat(syn.window()).isEqualTo(65535);
        h.peer.send(9000, ENGINE_IP, syn.srcPort(), 5000, syn.seq() + 1, Tcp.SYN | Tcp.ACK, 3000, new byte[0],
            Opts.syn(1460, -1, false, false, 0));
        h.step();
        h.peer.send(9000, ENGINE_IP, syn.srcPort(), 5001, syn.seq() + 1, Tcp.ACK | Tcp.PSH, 3000, bytes(1000),
            null);
        Segment ack = h.step().get(0);
        assertThat(ack.window()).as("our window unscaled").isEqualTo(65535);
        assertThat(c.flow().sndWscale()).isZero();
        c.write(java.nio.ByteBuffer.wrap(bytes(5000)));
        c.flush();
        // 3000 unscaled: two segments, then the 80-byte rest waits (sender SWS avoidance).
        assertThat(h.step()).extracting(Segment::len).containsExactly(1460, 1460);
    }

    @Test
    void shouldSendWindowUpdateOnceReadingOpensAWorthwhileWindow() {
        use(TasConfig.builder().set("tcp-rxbuf-len", "4096"));
        ScriptedConnection sc = h.accept(80);
        assertThat(sc.conn.receiveBufferSize()).isEqualTo(4096);
        sc.data(bytes(1460, 0));
        sc.data(bytes(1460, 1460));
        sc.data(bytes(1176, 2920));
        Segment ack = h.step().get(0);
        assertThat(ack.ack()).isEqualTo(sc.peerSeq);
        assertThat(ack.window()).as("ring full: zero window").isZero();
        // Reading 100 bytes opens too little to announce (RFC 9293 3.8.6.2.2: receiver SWS avoidance).
        assertThat(sc.read(100)).isEqualTo(bytes(100));
        assertThat(h.step()).isEmpty();
        // At least one MSS: announce it with a window update (same ACK number, larger window).
        assertThat(sc.read(1400)).isEqualTo(bytes(1400, 100));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).flags()).isEqualTo(Tcp.ACK);
        assertThat(out.get(0).ack()).isEqualTo(sc.peerSeq);
        assertThat(out.get(0).window()).isEqualTo(1500);
        assertThat(out.get(0).len()).isZero();
    }

    @Test
    void shouldTrimDataBeyondTheAdvertisedWindow() {
        use(TasConfig.builder().set("tcp-rxbuf-len", "2048"));
        ScriptedConnection sc = h.accept(80);
        int start = sc.peerSeq;
        sc.data(bytes(1460, 0));
        sc.data(bytes(1460, 1460)); // only 588 bytes of it fit
        Segment ack = h.step().get(0);
        assertThat(ack.ack()).isEqualTo(start + 2048);
        assertThat(ack.window()).isZero();
        assertThat(sc.read(4096)).isEqualTo(bytes(2048));
    }

    @Test
    void shouldNotSendAWindowUpdateThatCannotOpenTheAdvertisedWindow() {
        // Unscaled, a 128 KiB ring is announced as 65535 whatever the application reads: a read
        // cannot move the right edge we can announce, so it must not cost a segment.
        ScriptedConnection sc = h.accept(80);
        assertThat(sc.conn.flow().rcvWscale()).isZero();
        for (int i = 0; i < 5; i++) {
            sc.data(bytes(1460, 1460 * i));
        }
        assertThat(h.step().get(0).window()).isEqualTo(65535);
        assertThat(sc.read(20_000)).isEqualTo(bytes(7300));
        assertThat(h.step()).isEmpty();
    }

    @Test
    void shouldAnnounceTheWindowWhenAReadMovesTheRightEdgeOfAScaledWindow() {
        use(TasConfig.builder().set("tcp-rxbuf-len", "8192"));
        ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(1460, 0, false, false, 0));
        assertThat(sc.conn.flow().rcvWscale()).as("8 KiB fits in 16 bits").isZero();
        for (int i = 0; i < 5; i++) {
            sc.data(bytes(1460, 1460 * i));
        }
        sc.data(bytes(892, 7300));
        assertThat(h.step().get(0).window()).isZero();
        sc.read(4096);
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).window()).isEqualTo(4096);
    }

    @Test
    void shouldUseAShiftOfFourteenWhenThePeerOffersMore() {
        // RFC 7323 2.3: a shift above 14 is used as 14.
        ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(1460, 15, false, false, 0));
        assertThat(sc.conn.flow().sndWscale()).isEqualTo(14);
    }
    @Test
    void shouldNeverMoveTheAdvertisedRightEdgeLeft() {
        // RFC 7323 2.4: with shift 2, free space shifts down to a multiple of 4, so after a
        // segment of 3 bytes the edge would land 1 to 3 bytes left of the one already announced.
        ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(1460, 0, false, false, 0));
        int shift = sc.conn.flow().rcvWscale();
        assertThat(shift).isEqualTo(2);
        int s0 = sc.peerSeq;
        long lastEdge = Long.MIN_VALUE;
        int[] sizes = {1000, 3, 1, 1, 517, 2, 1460, 3};
        for (int n : sizes) {
            sc.data(bytes(n));
            List<Segment> out = h.step();
            Segment ack = out.get(out.size() - 1);
            long edge = (ack.ack() - s0) + ((long) ack.window() << shift);
            assertThat(edge).as("right edge after %d more bytes", n).isGreaterThanOrEqualTo(lastEdge);
            lastEdge = edge;
        }
        // Once the application reads everything, the window is the ring's free space again.
        sc.read(1 << 20);
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat((long) out.get(0).window() << shift).isEqualTo(131072 - (8 << shift));
        assertThat(h.engine.counter(io.tasnetty.engine.stats.TasCounter.DROP_RX_RING_FULL))
            .as("no byte the window announced was dropped").isZero();
    }
    @Test
    void shouldCountOnlyAnnounceableGrowthForAWindowUpdate() {
        // RFC 9293 3.8.6.2.2 with the unannounced slack: at shift 8 the ring's last 2 KiB are never
        // announced, so a read of 600 bytes moves the edge 600 bytes, under one MSS: no update.
        use(TasConfig.builder().set("tcp-rxbuf-len", "8m"));
        ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(1460, 0, false, false, 0));
        assertThat(sc.conn.flow().rcvWscale()).isEqualTo(8);
        for (int i = 0; i < 3; i++) {
            sc.data(bytes(1460, 1460 * i));
            assertThat(h.step()).hasSize(1);
        }
        sc.read(600);
        assertThat(h.step()).as("600 bytes are not a worthwhile window update").isEmpty();
        // The edge already announced lies up to a few hundred bytes past ring end - slack (rounded
        // up so that it never moved left): 1,800 bytes read open more than one MSS beyond it.
        sc.read(1200);
        List<Segment> out = h.step();
        assertThat(out).as("1,800 bytes are").hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(sc.peerSeq);
    }
}
