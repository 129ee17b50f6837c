package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sender's use of the peer's SACK blocks: recovery starts on SACK evidence and repairs several
 * holes in one round trip (RFC 6675), a duplicate report is recognised (RFC 2883), and a lost tail
 * is repaired after a probe two round trips out instead of after the RTO (RFC 8985 7).
 */
class TcpSackRecoveryTest {
    private static final int MSS = 1460;
    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "cubic"));

    @AfterEach
    void close() {
        h.close();
    }

    /** An established connection whose RTT the engine measured as {@code rttMillis}. */
    private ScriptedConnection withRtt(long rttMillis) {
        ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(MSS, -1, true, false, 0));
        sc.write(bytes(10));
        Segment s = h.step().get(0);
        h.clock.advanceMillis(rttMillis);
        sc.ack(ScriptedConnection.end(s));
        h.step();
        return sc;
    }

    private void sackAck(ScriptedConnection sc, int ack, int... edges) {
        sc.sendAt(sc.peerSeq, ack, Tcp.ACK, 65535, new byte[0], Opts.none().sack(edges));
    }

    @Test
    void twoHolesAreRepairedOnTheFirstAckThatShowsThem() {
        ScriptedConnection sc = withRtt(20);
        sc.write(bytes(8 * MSS));
        List<Segment> sent = h.step();
        assertThat(sent).hasSize(8);
        // Segments 1 and 3 are lost; the peer holds 0, 2 and 4-7.
        int ack = ScriptedConnection.end(sent.get(0));
        sackAck(sc, ack, sent.get(2).seq(), ScriptedConnection.end(sent.get(2)),
            sent.get(4).seq(), ScriptedConnection.end(sent.get(7)));
        List<Segment> repaired = h.step();

        assertThat(repaired).extracting(Segment::seq).as("both holes, in one go")
            .containsExactly(sent.get(1).seq(), sent.get(3).seq());
        assertThat(h.engine.counter(TasCounter.TCP_SACK_RECOVERIES)).isEqualTo(1);
        assertThat(h.engine.counter(TasCounter.TCP_SACK_RETRANSMITS)).isEqualTo(2);

        sc.ack(ScriptedConnection.end(sent.get(7)));
        h.step();
        assertThat(sc.conn.flow().inRecovery()).isFalse();
        assertThat(sc.conn.flow().sackedCount).isZero();
    }

    @Test
    void aRetransmissionLostAgainIsSentAgainWithoutWaitingForTheRto() {
        ScriptedConnection sc = withRtt(20);
        sc.write(bytes(14 * MSS));
        List<Segment> sent = h.step();
        assertThat(sent).hasSize(10);
        int ack = ScriptedConnection.end(sent.get(0));
        // Segment 1 is lost; 2-4 arrive: recovery re-sends 1.
        sackAck(sc, ack, sent.get(2).seq(), ScriptedConnection.end(sent.get(4)));
        assertThat(h.step()).extracting(Segment::seq).contains(sent.get(1).seq());
        // 2-9 arrive: the window lets new data go, after the copy.
        h.clock.advanceMillis(5);
        sackAck(sc, ack, sent.get(2).seq(), ScriptedConnection.end(sent.get(9)));
        List<Segment> fresh = h.step().stream().filter(s -> s.seq() - ScriptedConnection.end(sent.get(9)) >= 0
            && s.len() > 0).toList();
        assertThat(fresh).as("new data after the copy").isNotEmpty();
        // That copy is lost too: 30 ms after it (1.5 RTT) the peer SACKs data sent after it, not it.
        h.clock.advanceMillis(25);
        sackAck(sc, ack, sent.get(2).seq(), ScriptedConnection.end(fresh.get(fresh.size() - 1)));
        assertThat(h.step()).extracting(Segment::seq).as("sent a third time, before any RTO")
            .contains(sent.get(1).seq());
        assertThat(h.engine.counter(TasCounter.TCP_LOST_RETRANSMITS)).isEqualTo(1);
        assertThat(h.engine.counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS)).isZero();
    }

    @Test
    void aLateSackForDataSentBeforeTheCopyDoesNotResendIt() {
        ScriptedConnection sc = withRtt(20);
        sc.write(bytes(10 * MSS));
        List<Segment> sent = h.step();
        assertThat(sent).hasSize(10);
        int ack = ScriptedConnection.end(sent.get(0));
        sackAck(sc, ack, sent.get(2).seq(), ScriptedConnection.end(sent.get(4)));
        assertThat(h.step()).extracting(Segment::seq).contains(sent.get(1).seq());
        // 30 ms later the peer SACKs 5 and 6: sent before the copy, their SACKs were only slow
        // (RFC 8985 6.2 orders by transmission); they say nothing about the copy.
        h.clock.advanceMillis(30);
        sackAck(sc, ack, sent.get(2).seq(), ScriptedConnection.end(sent.get(6)));
        assertThat(h.step()).extracting(Segment::seq).as("no third copy").doesNotContain(sent.get(1).seq());
        assertThat(h.engine.counter(TasCounter.TCP_LOST_RETRANSMITS)).isZero();
    }

    /** Segment 1 of 8 is delayed past 2-7, recovery re-sends it, then both copies arrive. */
    private List<Segment> reorderedFlight(ScriptedConnection sc) {
        sc.write(bytes(8 * MSS));
        List<Segment> sent = h.step();
        assertThat(sent).hasSize(8);
        sackAck(sc, ScriptedConnection.end(sent.get(0)), sent.get(2).seq(), ScriptedConnection.end(sent.get(7)));
        assertThat(h.step()).extracting(Segment::seq).as("the 'hole' re-sent").containsExactly(sent.get(1).seq());
        assertThat(h.engine.counter(TasCounter.TCP_SACK_RECOVERIES)).isEqualTo(1);
        return sent;
    }

    @Test
    void aWindowCutForRetransmissionsThePeerReportsAsDuplicatesIsUndone() {
        ScriptedConnection sc = withRtt(20);
        int cwndBefore = sc.conn.flow().cwnd();
        int ssthreshBefore = sc.conn.flow().ssthresh();
        List<Segment> sent = reorderedFlight(sc);
        assertThat(sc.conn.flow().cwnd()).as("cut on entering recovery").isLessThan(cwndBefore);
        // The original arrives (everything is acknowledged), then the copy: a D-SACK for it.
        int end = ScriptedConnection.end(sent.get(7));
        sc.ack(end);
        h.step();
        sackAck(sc, end, sent.get(1).seq(), ScriptedConnection.end(sent.get(1)));
        h.step();
        assertThat(h.engine.counter(TasCounter.TCP_DSACKS_RECEIVED)).isEqualTo(1);
        assertThat(h.engine.counter(TasCounter.TCP_SPURIOUS_RETRANSMIT_UNDOS)).isEqualTo(1);
        assertThat(sc.conn.flow().cwnd()).as("the window before the needless cut").isGreaterThanOrEqualTo(cwndBefore);
        assertThat(sc.conn.flow().ssthresh()).isGreaterThanOrEqualTo(ssthreshBefore);
    }

    @Test
    void aWindowCutForARealLossStays() {
        ScriptedConnection sc = withRtt(20);
        List<Segment> sent = reorderedFlight(sc);
        int cut = sc.conn.flow().cwnd();
        int end = ScriptedConnection.end(sent.get(7));
        sc.ack(end); // only the copy arrived: no D-SACK for it
        h.step();
        // A duplicate of a segment that was never retransmitted (the network copied it) says
        // nothing about the recovery.
        sackAck(sc, end, sent.get(0).seq(), ScriptedConnection.end(sent.get(0)));
        h.step();
        assertThat(h.engine.counter(TasCounter.TCP_DSACKS_RECEIVED)).isEqualTo(1);
        assertThat(h.engine.counter(TasCounter.TCP_SPURIOUS_RETRANSMIT_UNDOS)).isZero();
        assertThat(sc.conn.flow().cwnd()).isLessThanOrEqualTo(Math.max(cut, sc.conn.flow().ssthresh()));
    }

    @Test
    void aDsackForASegmentThatWasNeverResentDoesNotUndo() {
        ScriptedConnection sc = withRtt(20);
        List<Segment> sent = reorderedFlight(sc); // 1 re-sent
        int cut = sc.conn.flow().cwnd();
        // Everything arrives, and the network duplicated segment 3, which was never re-sent:
        // that D-SACK says nothing about the copy of 1 (Linux requires the D-SACKed segment to
        // have been retransmitted).
        int end = ScriptedConnection.end(sent.get(7));
        sackAck(sc, end, sent.get(3).seq(), ScriptedConnection.end(sent.get(3)));
        h.step();
        assertThat(h.engine.counter(TasCounter.TCP_DSACKS_RECEIVED)).isEqualTo(1);
        assertThat(h.engine.counter(TasCounter.TCP_SPURIOUS_RETRANSMIT_UNDOS)).isZero();
        assertThat(sc.conn.flow().cwnd()).isLessThanOrEqualTo(Math.max(cut, sc.conn.flow().ssthresh()));
    }

    @Test
    void aFirstBlockBelowTheCumulativeAckIsADuplicateReport() {
        ScriptedConnection sc = withRtt(20);
        sc.write(bytes(2 * MSS));
        List<Segment> sent = h.step();
        sackAck(sc, ScriptedConnection.end(sent.get(1)), sent.get(0).seq(), ScriptedConnection.end(sent.get(0)));
        h.step();
        assertThat(h.engine.counter(TasCounter.TCP_DSACKS_RECEIVED)).isEqualTo(1);
        assertThat(h.engine.counter(TasCounter.TCP_SACK_RECOVERIES)).isZero();
    }

    @Test
    void aLostTailIsProbedAfterTwoRoundTripsAndRepairedWithoutTheRto() {
        ScriptedConnection sc = withRtt(20);
        long rto = sc.conn.flow().rtoNanos();
        sc.write(bytes(4 * MSS));
        List<Segment> sent = h.step();
        assertThat(sent).hasSize(4);
        // 0 and 1 arrive; the tail (2 and 3) is lost, so no duplicate ACKs ever come.
        sc.ack(ScriptedConnection.end(sent.get(1)));
        assertThat(h.step()).isEmpty();
        long acked = h.now();

        List<Segment> probe = new ArrayList<>();
        while (probe.isEmpty() && h.now() - acked < rto) {
            probe.addAll(h.advanceMillis(5));
        }
        assertThat(h.now() - acked).as("PTO = 2 SRTT, far below the RTO").isLessThan(rto / 2);
        assertThat(probe).extracting(Segment::seq).as("the last segment again").containsExactly(sent.get(3).seq());
        assertThat(h.engine.counter(TasCounter.TCP_TAIL_LOSS_PROBES)).isEqualTo(1);

        // The probe's ACK SACKs it: the hole before it is lost and re-sent at once.
        sackAck(sc, ScriptedConnection.end(sent.get(1)), sent.get(3).seq(), ScriptedConnection.end(sent.get(3)));
        assertThat(h.step()).extracting(Segment::seq).containsExactly(sent.get(2).seq());
        assertThat(h.engine.counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS)).isZero();
    }

    @Test
    void noProbeWithoutSack() {
        ScriptedConnection sc = h.accept(80, 40001, 1000, Opts.syn(MSS, -1, false, false, 0));
        sc.write(bytes(10));
        Segment s = h.step().get(0);
        h.clock.advanceMillis(20);
        sc.ack(ScriptedConnection.end(s));
        h.step();
        sc.write(bytes(2 * MSS));
        h.step();
        h.advanceMillis(100);
        assertThat(h.engine.counter(TasCounter.TCP_TAIL_LOSS_PROBES)).isZero();
    }
}
