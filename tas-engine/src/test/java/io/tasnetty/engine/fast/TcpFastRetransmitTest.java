package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fast retransmit and fast recovery (RFC 5681 3.2, RFC 6582 NewReno): the third duplicate ACK
 * re-sends the first unacknowledged segment, a partial ACK re-sends the next hole, a full ACK ends
 * recovery.
 */
class TcpFastRetransmitTest {
    private static final int MSS = 1460;

    // dctcp-win: a NewReno window (RFC 5681) with DCTCP's reaction to marks; no pacing.
    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "dctcp-win"));
    private ScriptedConnection sc;
    private List<Segment> sent;

    @BeforeEach
    void fiveSegmentsInFlight() {
        sc = h.accept(80);
        sc.write(bytes(5 * MSS));
        sent = h.step();
        assertThat(sent).extracting(Segment::len).containsExactly(MSS, MSS, MSS, MSS, MSS);
        // The first segment arrives; the second is lost, so the next three each cause a duplicate ACK.
        sc.ack(ScriptedConnection.end(sent.get(0)));
        assertThat(h.step()).isEmpty();
    }

    @AfterEach
    void close() {
        h.close();
    }

    @Test
    void shouldFastRetransmitOnTheThirdDuplicateAckNotTheSecond() {
        sc.ack();
        assertThat(h.step()).as("first duplicate ACK").isEmpty();
        sc.ack();
        assertThat(h.step()).as("second duplicate ACK").isEmpty();
        assertThat(h.engine.counter(TasCounter.TCP_DUPLICATE_ACKS)).isEqualTo(2);
        sc.ack();
        List<Segment> out = h.step();
        assertThat(out).as("third duplicate ACK").hasSize(1);
        Segment r = out.get(0);
        assertThat(r.seq()).isEqualTo(sent.get(1).seq());
        assertThat(r.payload()).isEqualTo(sent.get(1).payload());
        assertThat(h.engine.counter(TasCounter.TCP_FAST_RETRANSMITS)).isEqualTo(1);
        // A fourth duplicate does not retransmit again.
        sc.ack();
        assertThat(h.step()).extracting(Segment::seq).doesNotContain(sent.get(1).seq());
        assertThat(h.engine.counter(TasCounter.TCP_FAST_RETRANSMITS)).isEqualTo(1);
    }

    @Test
    void shouldNotStartASecondRecoveryFromDuplicateAcksOfDataResentAfterATimeout() {
        // No duplicate ACKs come: the retransmission timer fires and data is re-sent from SND.UNA.
        List<Segment> resent = h.advanceMillis(1_500);
        assertThat(resent).isNotEmpty();
        assertThat(resent.get(0).seq()).isEqualTo(sent.get(1).seq());
        assertThat(h.engine.counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS)).isEqualTo(1);
        // The peer already held segments 3-5: the go-back-N copies of them each draw a duplicate
        // ACK of the hole's end. RFC 6582 4: these must not trigger a fast retransmit.
        sc.ack(ScriptedConnection.end(sent.get(1)));
        h.step();
        for (int i = 0; i < 4; i++) {
            sc.ack();
            h.step();
        }
        assertThat(h.engine.counter(TasCounter.TCP_FAST_RETRANSMITS)).isZero();

        // Once everything sent before the timeout is acknowledged, three duplicates do count again.
        sc.ack(ScriptedConnection.end(sent.get(4)));
        h.step();
        sc.write(bytes(5 * MSS));
        List<Segment> more = h.step();
        assertThat(more).isNotEmpty();
        sc.ack(ScriptedConnection.end(more.get(0)));
        h.step();
        for (int i = 0; i < 3; i++) {
            sc.ack();
            h.step();
        }
        assertThat(h.engine.counter(TasCounter.TCP_FAST_RETRANSMITS)).isEqualTo(1);
    }

    @Test
    void shouldNotCountAcksThatUpdateTheWindowAsDuplicates() {
        // RFC 5681 2 (definition of a duplicate ACK, condition (e)): the window must not change.
        for (int i = 0; i < 3; i++) {
            sc.window = 60000 + i;
            sc.ack();
            assertThat(h.step()).isEmpty();
        }
        assertThat(h.engine.counter(TasCounter.TCP_FAST_RETRANSMITS)).isZero();
    }

    @Test
    void shouldNotCountAcksCarryingDataAsDuplicates() {
        // RFC 5681 2, condition (b): no data.
        for (int i = 0; i < 3; i++) {
            sc.data(bytes(10, 10 * i));
            assertThat(h.step()).extracting(Segment::len).containsOnly(0);
        }
        assertThat(h.engine.counter(TasCounter.TCP_FAST_RETRANSMITS)).isZero();
    }

    @Test
    void shouldRetransmitTheNextHoleOnAPartialAckAndLeaveRecoveryOnAFullAck() {
        for (int i = 0; i < 3; i++) {
            sc.ack();
        }
        assertThat(h.step()).extracting(Segment::seq).containsExactly(sent.get(1).seq());
        TasFlow f = sc.conn.flow();
        assertThat(f.inRecovery()).isTrue();
        int ssthresh = f.ssthresh();
        // RFC 6582 3.2 step 5: the retransmission filled the first hole; the ACK stops at the
        // fourth segment, which was lost as well: re-send it at once, without three more duplicates.
        sc.ack(ScriptedConnection.end(sent.get(2)));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).seq()).isEqualTo(sent.get(3).seq());
        assertThat(out.get(0).payload()).isEqualTo(sent.get(3).payload());
        assertThat(f.inRecovery()).as("partial ACK: still recovering").isTrue();
        // A full ACK (everything up to the recovery point) ends recovery and deflates the window.
        sc.ack(ScriptedConnection.end(sent.get(4)));
        assertThat(h.step()).isEmpty();
        assertThat(f.inRecovery()).isFalse();
        assertThat(f.cwnd()).as("RFC 6582 3.2 step 3: cwnd = ssthresh").isEqualTo(ssthresh);
        assertThat(f.sndUna()).isEqualTo(f.sndMax());
    }

    @Test
    void shouldNotFastRetransmitWhenNothingIsOutstanding() {
        sc.ack(ScriptedConnection.end(sent.get(4)));
        h.step();
        for (int i = 0; i < 4; i++) {
            sc.ack();
        }
        assertThat(h.step()).isEmpty();
        assertThat(h.engine.counter(TasCounter.TCP_FAST_RETRANSMITS)).isZero();
        assertThat(h.engine.counter(TasCounter.TCP_DUPLICATE_ACKS)).isZero();
    }

    @Test
    void shouldRetransmitOnlyOnceWhenTheDuplicatesCarrySackBlocks() {
        int s2 = sent.get(2).seq();
        for (int i = 0; i < 3; i++) {
            sc.sendAt(sc.peerSeq, sc.engineSeq, Tcp.ACK, sc.window, new byte[0],
                io.tasnetty.engine.TcpTestPeer.Opts.none().sack(s2, s2 + (i + 1) * MSS));
        }
        List<Segment> out = h.step();
        assertThat(out).extracting(Segment::seq).containsExactly(sent.get(1).seq());
    }
}
