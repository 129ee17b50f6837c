package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The timestamps option (RFC 7323 3-5): which peer timestamp we echo, round-trip time from the
 * echo, and PAWS.
 */
class TcpTimestampsTest {
    private static final long MS = 1_000_000L;

    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate")
        .set("tcp-rto-min", "10ms"));
    private final ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(1460, -1, true, true, 500));

    @AfterEach
    void close() {
        h.close();
    }

    private void data(int seq, int len, int from, int tsVal) {
        sc.sendAt(seq, sc.engineSeq, Tcp.ACK | Tcp.PSH, 65535, bytes(len, from), Opts.none().timestamps(tsVal, 0));
    }

    @Test
    void shouldNeverSendAnOlderTimestampWhenADriverBringsAnOlderTime() {
        // Threads read the clock before they get the fast path, so one may drive it with a time
        // older than the previous driver's; its segments must not carry an older TSval, or the
        // peer's PAWS test drops them (RFC 7323 5.3).
        h.clock.advanceMillis(20);
        sc.write(bytes(100));
        Segment first = h.step().get(0);
        sc.write(bytes(100, 100));
        h.engine.poll(h.now() - 5 * MS);
        List<Segment> late = h.peer.drain();
        assertThat(late).extracting(Segment::len).containsExactly(100);
        assertThat(late.get(0).tsVal() - first.tsVal()).as("TSval of the late driver's segment minus the first's")
            .isGreaterThanOrEqualTo(0);
    }

    @Test
    void shouldEchoTheTimestampOfTheSegmentThatAdvancedTheWindow() {
        int s0 = sc.peerSeq;
        data(s0, 100, 0, 1000);
        Segment ack = h.step().get(0);
        assertThat(ack.hasTimestamp()).isTrue();
        assertThat(ack.tsEcr()).isEqualTo(1000);
        // RFC 7323 4.3: an out-of-order segment does not update TS.Recent.
        data(s0 + 200, 100, 200, 2000);
        ack = h.step().get(0);
        assertThat(ack.ack()).isEqualTo(s0 + 100);
        assertThat(ack.tsEcr()).isEqualTo(1000);
        data(s0 + 100, 100, 100, 1500);
        ack = h.step().get(0);
        assertThat(ack.ack()).isEqualTo(s0 + 300);
        assertThat(ack.tsEcr()).isEqualTo(1500);
    }

    @Test
    void shouldMeasureRoundTripOfATimedSegmentWithTimestampsOn() {
        sc.write(bytes(100));
        Segment s = h.step().get(0);
        assertThat(s.hasTimestamp()).isTrue();
        h.clock.advanceMillis(30);
        sc.sendAt(sc.peerSeq, ScriptedConnection.end(s), Tcp.ACK, 65535, new byte[0],
            Opts.none().timestamps(501, s.tsVal()));
        h.step();
        // RFC 6298 2.2: 30 + 4 * 15 = 90 ms.
        assertThat(sc.conn.flow().srttNanos()).isEqualTo(30 * MS);
        assertThat(sc.conn.flow().rtoNanos()).isEqualTo(90 * MS);
    }

    @Test
    void shouldDropASegmentWhoseTimestampIsOlderThanTheLastOne() {
        // RFC 7323 5.3 (PAWS): an old duplicate from a previous wrap is recognised by its timestamp.
        int s0 = sc.peerSeq;
        data(s0, 100, 0, 1000);
        h.step();
        data(s0 + 100, 100, 100, 900);
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).ack()).as("not accepted, but acknowledged").isEqualTo(s0 + 100);
        assertThat(sc.read(1000)).isEqualTo(bytes(100));
        data(s0 + 100, 100, 100, 1001);
        assertThat(h.step().get(0).ack()).isEqualTo(s0 + 200);
    }

    @Test
    void shouldStillBelieveAnExactRstWithAnOldTimestamp() {
        // RFC 7323 5.3 (R1): PAWS does not apply to RST segments.
        int s0 = sc.peerSeq;
        data(s0, 100, 0, 1000);
        h.step();
        sc.read(1000);
        sc.sendAt(s0 + 100, 0, Tcp.RST, 0, new byte[0], Opts.none().timestamps(5, 0));
        h.step();
        assertThat(sc.conn.state()).isEqualTo(io.tasnetty.engine.flow.TcpState.CLOSED);
    }
    @Test
    void shouldApplyPawsEvenWhenTheWindowIsClosed() {
        // RFC 7323 5.3 R1: an old duplicate is dropped at a zero window too; before, the zero-window
        // probe exception let its ACK through (here it would acknowledge our data).
        try (EngineHarness z = new EngineHarness(TasConfig.builder().set("cc", "const-rate")
                .set("tcp-rxbuf-len", "2048"))) {
            ScriptedConnection c = z.accept(80, 40000, 1000, Opts.syn(1460, -1, true, true, 500));
            int s0 = c.peerSeq;
            c.sendAt(s0, c.engineSeq, Tcp.ACK, 65535, bytes(1024), Opts.none().timestamps(1000, 0));
            c.sendAt(s0 + 1024, c.engineSeq, Tcp.ACK | Tcp.PSH, 65535, bytes(1024, 1024),
                Opts.none().timestamps(1000, 0));
            List<Segment> acks = z.step();
            assertThat(acks.get(acks.size() - 1).window()).as("the ring is full").isZero();
            c.write(bytes(100));
            Segment d = z.step().get(0);
            assertThat(d.len()).isEqualTo(100);
            // Seq = RCV.NXT and an ACK of our 100 bytes, but a timestamp older than TS.Recent.
            c.sendAt(s0 + 2048, ScriptedConnection.end(d), Tcp.ACK, 65535, new byte[0],
                Opts.none().timestamps(900, 0));
            List<Segment> out = z.step();
            assertThat(out).as("acknowledged, not processed").hasSize(1);
            assertThat(out.get(0).ack()).isEqualTo(s0 + 2048);
            assertThat(c.conn.flow().sndUna()).as("its ACK was not believed").isEqualTo(d.seq());
            assertThat(z.engine.counter(io.tasnetty.engine.stats.TasCounter.TCP_PAWS_REJECTED)).isEqualTo(1);
            // The same ACK with a current timestamp is a valid zero-window probe answer.
            c.sendAt(s0 + 2048, ScriptedConnection.end(d), Tcp.ACK, 65535, new byte[0],
                Opts.none().timestamps(1001, 0));
            z.step();
            assertThat(c.conn.flow().sndUna()).isEqualTo(ScriptedConnection.end(d));
        }
    }
}
