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

    /**
     * More holes than a receiver repeats in its blocks: it reports each range once, when it
     * forms, then only its three most recent (RFC 2018 4, as Linux does). The sender must keep
     * what it learnt: a range it forgets looks lost as soon as a higher one is reported again,
     * and the data the peer holds would be resent for nothing (D-SACKs).
     */
    @Test
    void manyHolesAreRepairedWithoutResendingWhatThePeerReportedOnce() {
        ScriptedConnection sc = withRtt(20);
        // A round trip of ten segments grows the window (slow start) to hold the flight below.
        sc.write(bytes(10 * MSS));
        for (Segment seg : h.step()) {
            sc.ack(ScriptedConnection.end(seg)); // one ACK per segment: the window grows by one each
            h.step();
        }
        sc.write(bytes(20 * MSS));
        List<Segment> sent = h.step();
        assertThat(sent).hasSize(20);
        // Odd segments 1-15 are lost (eight holes); 0, the even ones and 17-19 arrive.
        int ack = ScriptedConnection.end(sent.get(0));
        List<int[]> recent = new ArrayList<>(); // the peer's ranges, most recent first
        List<Integer> resent = new ArrayList<>();
        for (int i = 2; i < 20; i++) {
            if (i < 16 && i % 2 == 1) {
                continue;
            }
            int l = sent.get(i).seq();
            int r = ScriptedConnection.end(sent.get(i));
            if (!recent.isEmpty() && recent.get(0)[1] == l) {
                l = recent.remove(0)[0]; // extends the range it last reported
            }
            recent.add(0, new int[] {l, r});
            sackAck(sc, ack, blocks(recent));
            h.clock.advanceMillis(1);
            h.step().forEach(seg -> resent.add(seg.seq()));
        }
        // The copies arrive in order; each cumulative ACK reports the three most recent ranges still above it.
        for (int hole = 1; hole < 16; hole += 2) {
            ack = hole == 15 ? ScriptedConnection.end(sent.get(19)) : ScriptedConnection.end(sent.get(hole + 1));
            int cumulative = ack;
            recent.removeIf(range -> range[1] - cumulative <= 0);
            sackAck(sc, ack, blocks(recent));
            h.clock.advanceMillis(1);
            h.step().stream().filter(seg -> seg.seq() - ScriptedConnection.end(sent.get(19)) < 0)
                .forEach(seg -> resent.add(seg.seq()));
        }
        List<Integer> holes = new ArrayList<>();
        for (int i = 1; i < 16; i += 2) {
            holes.add(sent.get(i).seq());
        }
        assertThat(resent).as("each hole once, nothing the peer reported").containsExactlyInAnyOrderElementsOf(holes);
        assertThat(sc.conn.flow().sndUna()).isEqualTo(ScriptedConnection.end(sent.get(19)));
    }

    /** A receiver's SACK option: its three most recent ranges (timestamps leave room for three). */
    private static int[] blocks(List<int[]> recent) {
        int n = Math.min(3, recent.size());
        int[] edges = new int[2 * n];
        for (int i = 0; i < n; i++) {
            edges[2 * i] = recent.get(i)[0];
            edges[2 * i + 1] = recent.get(i)[1];
        }
        return edges;
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

    /**
     * A copy found lost (the peer SACKs data sent after it, 1.25 RTT on) is sent again alone: the
     * copies of the holes above it went out later and are still on their way. Re-sending every
     * hole from SND.UNA again made a needless copy of each of them.
     */
    @Test
    void aLostRetransmissionIsSentAgainAloneNotTheCopiesStillOnTheirWay() {
        ScriptedConnection sc = withRtt(20);
        sc.write(bytes(16 * MSS));
        List<Segment> sent = h.step();
        assertThat(sent).hasSize(10);
        int ack = ScriptedConnection.end(sent.get(0));
        // Segments 1, 4 and 7 are lost: recovery re-sends the first two holes at once.
        sackAck(sc, ack, sent.get(8).seq(), ScriptedConnection.end(sent.get(9)), sent.get(5).seq(),
            ScriptedConnection.end(sent.get(6)), sent.get(2).seq(), ScriptedConnection.end(sent.get(3)));
        assertThat(h.step()).extracting(Segment::seq).as("copies of 1 and 4 (then new data)")
            .startsWith(sent.get(1).seq(), sent.get(4).seq());
        h.clock.advanceMillis(18);
        // The copy of 4 arrives; the ACK lets the third hole's copy go.
        sackAck(sc, ack, sent.get(4).seq(), ScriptedConnection.end(sent.get(6)), sent.get(8).seq(),
            ScriptedConnection.end(sent.get(9)), sent.get(2).seq(), ScriptedConnection.end(sent.get(3)));
        assertThat(h.step()).extracting(Segment::seq).as("the copy of 7").startsWith(sent.get(7).seq());
        // 26 ms after the copy of 1 (1.25 RTT is 25), the peer SACKs the new data sent after it,
        // but not that copy: it is lost. The copy of 7, 8 ms out, is not.
        h.clock.advanceMillis(8);
        int newEnd = sent.get(0).seq() + 15 * MSS;
        sackAck(sc, ack, sent.get(8).seq(), newEnd, sent.get(4).seq(), ScriptedConnection.end(sent.get(6)),
            sent.get(2).seq(), ScriptedConnection.end(sent.get(3)));
        List<Segment> again = h.step().stream().filter(x -> x.seq() - newEnd < 0).toList();
        assertThat(again).extracting(Segment::seq).as("1 again, alone").containsExactly(sent.get(1).seq());
        assertThat(h.engine.counter(TasCounter.TCP_LOST_RETRANSMITS)).isEqualTo(1);
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
