package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Delayed ACKs on network connections (RFC 1122 4.2.3.2, RFC 9293 3.8.6.3), shaped as Linux's:
 * the first segments of a connection (and the first after an idle RTO) are acknowledged at once
 * (quick-ack), then at least every second full-sized segment, else after 40 ms unless a segment
 * of ours carries the ACK first; a segment that fills a hole is acknowledged at once.
 */
class TcpDelayedAckTest {
    private static final int QUICK_ACKS = 16; // 128 KiB ring / (2 x 1460), capped at Linux's 16
    private static final int MSS = 1460;

    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate"));
    private final ScriptedConnection sc = h.accept(80); // MSS 1460, SACK, no timestamps

    @AfterEach
    void close() {
        h.close();
    }

    private int sent;

    /** Peer data of {@code n} bytes at peerSeq; returns what the engine answered in the same cycle. */
    private List<Segment> data(int n) {
        sc.data(bytes(n, sent));
        sent += n;
        return h.step();
    }

    private void leaveQuickAck() {
        for (int i = 0; i < QUICK_ACKS; i++) {
            List<Segment> out = data(10);
            assertThat(out).as("quick-ack segment %d", i).hasSize(1);
            assertThat(out.get(0).ack()).isEqualTo(sc.peerSeq);
        }
    }

    @Test
    void shouldAcknowledgeTheFirstSegmentsAtOnceThenDelay() {
        leaveQuickAck();
        assertThat(data(10)).as("small segment past the quick-ack phase").isEmpty();
        assertThat(h.advanceMillis(39)).isEmpty();
        List<Segment> out = h.advanceMillis(1);
        assertThat(out).as("the delayed-ACK timer, 40 ms").hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(sc.peerSeq);
        assertThat(out.get(0).len()).isZero();
        assertThat(h.engine.counter(TasCounter.TCP_DELAYED_ACKS)).isEqualTo(1);
    }

    @Test
    void shouldAcknowledgeAtLeastEverySecondFullSizedSegment() {
        leaveQuickAck();
        for (int i = 0; i < 3; i++) {
            assertThat(data(MSS)).as("first of a pair").isEmpty();
            List<Segment> out = data(MSS);
            assertThat(out).as("second of a pair").hasSize(1);
            assertThat(out.get(0).ack()).isEqualTo(sc.peerSeq);
        }
        assertThat(h.engine.counter(TasCounter.TCP_DELAYED_ACKS)).isZero();
    }

    @Test
    void shouldAcknowledgeAtOnceAFullSegmentFollowedByAShortOne() {
        // As Linux (more than rcv_mss unacknowledged): a sender with two segments out probes the
        // tail after 2 SRTT (RFC 8985 7.2), long before a 40 ms delayed ACK.
        leaveQuickAck();
        assertThat(data(MSS)).as("one full-sized segment").isEmpty();
        List<Segment> out = data(100);
        assertThat(out).as("a full-sized and a short segment").hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(sc.peerSeq);
        assertThat(h.engine.counter(TasCounter.TCP_DELAYED_ACKS)).isZero();
    }

    @Test
    void shouldAcknowledgeAtOnceASegmentThatFillsAHole() {
        leaveQuickAck();
        int hole = sc.peerSeq;
        sc.dataAt(hole + 100, bytes(100, sent + 100));
        List<Segment> out = h.step();
        assertThat(out).as("out of order: a duplicate ACK at once (RFC 5681 4.2)").hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(hole);
        sc.dataAt(hole, bytes(100, sent));
        out = h.step();
        assertThat(out).as("the hole filled: ACK at once").hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(hole + 200);
    }

    @Test
    void shouldLetOurReplyCarryTheDelayedAck() {
        leaveQuickAck();
        assertThat(data(10)).isEmpty();
        h.advanceMillis(5);
        sc.write(bytes(20));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).len()).isEqualTo(20);
        assertThat(out.get(0).ack()).as("the reply acknowledges the request").isEqualTo(sc.peerSeq);
        sc.ack(ScriptedConnection.end(out.get(0)));
        h.step();
        assertThat(h.advanceMillis(100)).as("no ACK left to send").isEmpty();
        assertThat(h.engine.counter(TasCounter.TCP_DELAYED_ACKS)).isZero();
    }

    @Test
    void shouldQuickAckAgainAfterAnIdlePeriod() {
        leaveQuickAck();
        assertThat(data(10)).isEmpty();
        h.advanceMillis(40);
        h.advanceMillis(2000); // longer than the RTO (1 s before any RTT sample)
        List<Segment> out = data(10);
        assertThat(out).as("slow start after idle wants every ACK").hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(sc.peerSeq);
    }

    @Test
    void shouldAcknowledgeAFinAtOnce() {
        leaveQuickAck();
        sc.fin();
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).has(Tcp.ACK)).isTrue();
        assertThat(out.get(0).ack()).isEqualTo(sc.peerSeq);
    }
    @Test
    void shouldSendTheDelayedAckAndQuickAckAgainOnTcpQuickAck() {
        leaveQuickAck();
        assertThat(data(10)).isEmpty();
        sc.conn.setQuickAck(true);
        List<Segment> out = h.step();
        assertThat(out).as("the ACK being delayed goes at once").hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(sc.peerSeq);
        for (int i = 0; i < QUICK_ACKS; i++) {
            assertThat(data(10)).as("quick-ack again, segment %d", i).hasSize(1);
        }
        assertThat(data(10)).as("not permanent, as on Linux").isEmpty();
        assertThat(h.engine.counter(TasCounter.TCP_DELAYED_ACKS)).isZero();
    }
}
