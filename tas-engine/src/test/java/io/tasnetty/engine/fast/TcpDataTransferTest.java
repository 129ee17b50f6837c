package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Data and acknowledgements on an established connection (RFC 9293 3.8, 3.10.7.4 steps 5 and 7):
 * in-order delivery, one ACK per receive cycle, PSH, segmentation at the negotiated MSS.
 */
class TcpDataTransferTest {
    // const-rate 0: no pacing, no congestion window, so only the peer's window and the MSS shape output.
    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate"));

    @AfterEach
    void close() {
        h.close();
    }

    @Test
    void shouldDeliverInOrderSegmentsAndAcknowledgeTheBurstWithOneAck() {
        ScriptedConnection sc = h.accept(80);
        int start = sc.peerSeq;
        sc.data(bytes(100, 0));
        sc.data(bytes(200, 100));
        sc.data(bytes(300, 300));
        List<Segment> out = h.step();
        assertThat(out).as("one ACK for the three segments of one receive burst").hasSize(1);
        Segment ack = out.get(0);
        assertThat(ack.flags()).isEqualTo(Tcp.ACK);
        assertThat(ack.ack()).isEqualTo(start + 600);
        assertThat(ack.seq()).isEqualTo(sc.engineIss + 1);
        assertThat(ack.len()).isZero();
        assertThat(h.takeEvents(sc.conn) & TasEvents.READABLE).isNotZero();
        assertThat(sc.read(10_000)).isEqualTo(bytes(600, 0));
        assertThat(h.engine.counter(TasCounter.TCP_ACKS_SENT)).isEqualTo(1);
    }

    @Test
    void shouldAcknowledgeEachReceiveCycleWithTheCumulativeAckNumber() {
        ScriptedConnection sc = h.accept(80);
        int start = sc.peerSeq;
        for (int i = 1; i <= 3; i++) {
            sc.data(bytes(10, 10 * (i - 1)));
            List<Segment> out = h.step();
            assertThat(out).hasSize(1);
            assertThat(out.get(0).ack()).isEqualTo(start + 10 * i);
        }
        assertThat(h.step()).as("no ACK without new data").isEmpty();
        assertThat(sc.read(100)).isEqualTo(bytes(30));
    }

    @Test
    void shouldAcknowledgeDuplicateDataAtOnceWithoutDeliveringItTwice() {
        ScriptedConnection sc = h.accept(80);
        int start = sc.peerSeq;
        sc.data(bytes(100));
        h.step();
        // The peer missed our ACK and retransmits.
        sc.dataAt(start, bytes(100));
        List<Segment> out = h.step();
        assertThat(out).as("RFC 9293 3.10.7.4: an old duplicate is acknowledged").hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(start + 100);
        assertThat(h.engine.counter(TasCounter.TCP_DUPLICATE_SEGMENTS)).isEqualTo(1);
        // A retransmission that overlaps old and new bytes delivers only the new ones.
        sc.dataAt(start + 50, bytes(100, 50));
        sc.peerSeq = start + 150;
        out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(start + 150);
        assertThat(sc.read(1000)).isEqualTo(bytes(150));
    }

    @Test
    void shouldSendWriteLargerThanMssInMssSizedSegmentsWithPshOnTheLast() {
        ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(1000, -1, false, false, 0));
        assertThat(sc.write(bytes(3500))).isEqualTo(3500);
        List<Segment> out = h.step();
        assertThat(out).extracting(Segment::len).containsExactly(1000, 1000, 1000, 500);
        int seq = sc.engineIss + 1;
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < out.size(); i++) {
            Segment s = out.get(i);
            assertThat(s.seq()).isEqualTo(seq);
            assertThat(s.ack()).isEqualTo(sc.peerSeq);
            assertThat(s.has(Tcp.ACK)).isTrue();
            assertThat(s.has(Tcp.PSH)).as("PSH on segment %d", i).isEqualTo(i == out.size() - 1);
            assertThat(s.checksumOk()).isTrue();
            seq += s.len();
            all.writeBytes(s.payload());
        }
        assertThat(all.toByteArray()).isEqualTo(bytes(3500));
    }

    @Test
    void shouldHonourSmallPeerMss() {
        ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(600, -1, false, false, 0));
        sc.write(bytes(1500));
        assertThat(h.step()).extracting(Segment::len).containsExactly(600, 600, 300);
    }

    @Test
    void shouldUseDefaultMssOf536WhenThePeerSendsNone() {
        // RFC 9293 3.7.1: without the option, assume 536.
        ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.none());
        sc.write(bytes(1200));
        assertThat(h.step()).extracting(Segment::len).containsExactly(536, 536, 128);
    }

    @Test
    void shouldSubtractTimestampOptionFromPayloadPerSegment() {
        // RFC 9293 3.7.1: the MSS bounds the data, options sit on top of it; the timestamp option
        // on every segment (12 bytes with padding) leaves 988 of a 1000-byte MSS.
        ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(1000, -1, false, true, 77));
        sc.write(bytes(2000));
        List<Segment> out = h.step();
        assertThat(out).extracting(Segment::len).containsExactly(988, 988, 24);
        assertThat(out).allSatisfy(s -> {
            assertThat(s.hasTimestamp()).isTrue();
            assertThat(s.tsEcr()).isEqualTo(77);
        });
    }

    @Test
    void shouldOfferMssDerivedFromMtuInSynAck() {
        h.listen(80);
        h.peer.send(40000, EngineHarness.ENGINE_IP, 80, 1, 0, Tcp.SYN, 65535, new byte[0],
            Opts.syn(9000, -1, false, false, 0));
        Segment synAck = h.step().get(0);
        assertThat(synAck.mss()).as("mtu 1500 - 40").isEqualTo(1460);
    }

    @Test
    void shouldReleaseAcknowledgedBytesAndSignalWritableAfterAShortWrite() {
        EngineHarness small = new EngineHarness(TasConfig.builder().set("cc", "const-rate")
            .set("tcp-txbuf-len", "4096"));
        try {
            ScriptedConnection sc = small.accept(80);
            assertThat(sc.conn.write(ByteBuffer.wrap(bytes(5000)))).as("the ring holds 4096").isEqualTo(4096);
            sc.conn.flush();
            List<Segment> out = small.step();
            assertThat(out).extracting(Segment::len).containsExactly(1460, 1460, 1176);
            assertThat(sc.conn.writableBytes()).isZero();
            assertThat(small.takeEvents(sc.conn) & TasEvents.WRITABLE).isZero();
            sc.ack(sc.engineIss + 1 + 1460);
            assertThat(small.step()).isEmpty();
            assertThat(small.takeEvents(sc.conn) & TasEvents.WRITABLE).isNotZero();
            assertThat(sc.conn.writableBytes()).isEqualTo(1460);
        } finally {
            small.close();
        }
    }

    @Test
    void shouldCarryTheCurrentAckOnDataSegments() {
        ScriptedConnection sc = h.accept(80);
        sc.data(bytes(42));
        h.step();
        sc.write(bytes(10));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(sc.peerSeq);
        // Data and ACK in the same cycle: one segment, the data carries the ACK.
        sc.data(bytes(8));
        sc.write(bytes(5));
        out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).len()).isEqualTo(5);
        assertThat(out.get(0).ack()).isEqualTo(sc.peerSeq);
    }

    @Test
    void shouldAcceptDataCarriedByTheAckThatCompletesTheHandshake() {
        h.listen(80);
        h.peer.send(40000, EngineHarness.ENGINE_IP, 80, 1000, 0, Tcp.SYN, 65535, new byte[0],
            Opts.syn(1460, -1, false, false, 0));
        Segment synAck = h.step().get(0);
        h.peer.send(40000, EngineHarness.ENGINE_IP, 80, 1001, synAck.seq() + 1, Tcp.ACK | Tcp.PSH, 65535,
            bytes(300), null);
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(1301);
        var c = h.ctx.accept(h.listenerFor(80));
        assertThat(c).isNotNull();
        assertThat(h.step()).isEmpty();
        assertThat(h.takeEvents(c) & TasEvents.READABLE).as("the event waited for accept").isNotZero();
        ByteBuffer b = ByteBuffer.allocate(1000);
        assertThat(c.read(b)).isEqualTo(300);
        assertThat(java.util.Arrays.copyOf(b.array(), 300)).isEqualTo(bytes(300));
    }

    @Test
    void shouldAnswerAnAckForUnsentDataWithAnAckAndIgnoreIt() {
        // RFC 9293 3.10.7.4 step 5: SEG.ACK > SND.NXT: send an ACK, drop the segment.
        ScriptedConnection sc = h.accept(80);
        sc.sendAt(sc.peerSeq, sc.engineSeq + 1000, Tcp.ACK | Tcp.PSH, 65535, bytes(10), null);
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).ack()).as("the data was dropped with it").isEqualTo(sc.peerSeq);
        assertThat(sc.conn.readableBytes()).isZero();
        assertThat(h.engine.counter(TasCounter.DROP_BAD_ACK)).isEqualTo(1);
    }
}
