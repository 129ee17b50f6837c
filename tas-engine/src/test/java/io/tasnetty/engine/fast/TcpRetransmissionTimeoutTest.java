package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The retransmission timer of RFC 6298: the initial RTO, the RTO from measured round trips, the
 * bounds tcp-rto-min and tcp-rto-max, exponential backoff, Karn's rule, and giving up after the
 * data retry limit.
 */
class TcpRetransmissionTimeoutTest {
    private static final long MS = 1_000_000L;

    private EngineHarness h;

    private ScriptedConnection start(TasConfig.Builder b) {
        h = new EngineHarness(b.set("cc", "const-rate"));
        // No SACK: no tail loss probe (RFC 8985 needs SACK), so only the RTO retransmits here.
        return h.accept(80, 40000, 1000, io.tasnetty.engine.TcpTestPeer.Opts.syn(1460, -1, false, false, 0));
    }

    @AfterEach
    void close() {
        if (h != null) {
            h.close();
        }
    }

    /**
     * Runs the engine millisecond by millisecond up to {@code until} (inclusive) and returns the
     * times (relative to {@code t0}, in ms) at which data segments went out, with their segments.
     */
    private List<long[]> dataTimes(long t0, long until, List<Segment> segs) {
        List<long[]> times = new ArrayList<>();
        while (h.now() < until) {
            for (Segment s : h.advanceMillis(1)) {
                if (s.len() > 0) {
                    times.add(new long[]{(h.now() - t0) / MS, s.seq()});
                    segs.add(s);
                }
            }
        }
        return times;
    }

    /** Sends one 100-byte segment at the current time and lets the peer ack it {@code rttMs} later. */
    private void measureRtt(ScriptedConnection sc, long rttMs) {
        sc.write(bytes(100));
        Segment s = h.step().get(0);
        h.clock.advanceMillis(rttMs);
        sc.ack(ScriptedConnection.end(s));
        assertThat(h.step()).isEmpty();
    }

    @Test
    void shouldRetransmitAfterTheInitialRtoOfOneSecond() {
        // RFC 6298 2.1: until a round trip is measured, RTO = 1 s.
        ScriptedConnection sc = start(TasConfig.builder());
        long t0 = h.now();
        sc.write(bytes(100));
        Segment first = h.step().get(0);
        List<Segment> segs = new ArrayList<>();
        List<long[]> times = dataTimes(t0, t0 + 1000 * MS, segs);
        assertThat(times).hasSize(1);
        assertThat(times.get(0)[0]).isEqualTo(1000);
        assertThat(segs.get(0).seq()).isEqualTo(first.seq());
        assertThat(segs.get(0).payload()).isEqualTo(first.payload());
        assertThat(h.engine.counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS)).isEqualTo(1);
    }

    @Test
    void shouldDeriveRtoFromMeasuredRoundTrip() {
        // RFC 6298 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4 RTTVAR) = 40 + 80 = 120 ms.
        ScriptedConnection sc = start(TasConfig.builder().set("tcp-rto-min", "10ms"));
        measureRtt(sc, 40);
        assertThat(sc.conn.flow().rtoNanos()).isEqualTo(120 * MS);
        long t1 = h.now();
        sc.write(bytes(100, 100));
        Segment s = h.step().get(0);
        List<Segment> segs = new ArrayList<>();
        List<long[]> times = dataTimes(t1, t1 + 120 * MS, segs);
        assertThat(times).hasSize(1);
        assertThat(times.get(0)[0]).isEqualTo(120);
        assertThat(segs.get(0).seq()).isEqualTo(s.seq());
    }

    @Test
    void shouldBackOffRetransmissionTimerExponentially() {
        // RFC 6298 5.5: RTO doubles on each expiry: copies at t+rto, t+3rto, t+7rto, t+15rto.
        ScriptedConnection sc = start(TasConfig.builder().set("tcp-rto-min", "10ms"));
        measureRtt(sc, 40);
        long t1 = h.now();
        sc.write(bytes(100, 100));
        Segment s = h.step().get(0);
        List<Segment> segs = new ArrayList<>();
        List<long[]> times = dataTimes(t1, t1 + 1800 * MS, segs);
        assertThat(times).extracting(t -> t[0]).containsExactly(120L, 360L, 840L, 1800L);
        assertThat(segs).allSatisfy(r -> {
            assertThat(r.seq()).isEqualTo(s.seq());
            assertThat(r.payload()).isEqualTo(s.payload());
            assertThat(r.ack()).isEqualTo(sc.peerSeq);
        });
    }

    @Test
    void shouldClampRtoToTheConfiguredMinimum() {
        // A 5 ms round trip gives 15 ms; tcp-rto-min (200 ms, as Linux) wins.
        ScriptedConnection sc = start(TasConfig.builder().set("tcp-rto-min", "200ms"));
        measureRtt(sc, 5);
        assertThat(sc.conn.flow().rtoNanos()).isEqualTo(200 * MS);
        long t1 = h.now();
        sc.write(bytes(100, 100));
        h.step();
        List<Segment> segs = new ArrayList<>();
        assertThat(dataTimes(t1, t1 + 200 * MS, segs)).extracting(t -> t[0]).containsExactly(200L);
    }

    @Test
    void shouldClampBackedOffRtoToTheConfiguredMaximum() {
        // RFC 6298 2.5: a maximum may be placed on RTO. 1 s, 2 s, then 3 s (tcp-rto-max) each time.
        ScriptedConnection sc = start(TasConfig.builder().set("tcp-rto-max", "3s"));
        long t0 = h.now();
        sc.write(bytes(100));
        h.step();
        List<Segment> segs = new ArrayList<>();
        assertThat(dataTimes(t0, t0 + 12_000 * MS, segs)).extracting(t -> t[0])
            .containsExactly(1000L, 3000L, 6000L, 9000L, 12_000L);
    }

    @Test
    void shouldRestartTheTimerWhenAnAckAcknowledgesNewData() {
        // RFC 6298 5.3: an ACK of new data restarts the timer for what is still outstanding.
        ScriptedConnection sc = start(TasConfig.builder());
        long t0 = h.now();
        sc.write(bytes(2920));
        List<Segment> out = h.step();
        assertThat(out).hasSize(2);
        h.clock.advanceMillis(500);
        sc.ack(ScriptedConnection.end(out.get(0)));
        assertThat(h.step()).isEmpty();
        // That ACK measured 500 ms: RTO = 500 + 4 * 250 = 1500 ms from now.
        List<Segment> segs = new ArrayList<>();
        List<long[]> times = dataTimes(t0, t0 + 2000 * MS, segs);
        assertThat(times).as("nothing at the first deadline (1000 ms); one copy at 500 + 1500")
            .extracting(t -> t[0]).containsExactly(2000L);
        assertThat(segs.get(0).seq()).isEqualTo(out.get(1).seq());
    }

    @Test
    void shouldStopTheTimerWhenEverythingIsAcknowledged() {
        // RFC 6298 5.2.
        ScriptedConnection sc = start(TasConfig.builder());
        sc.write(bytes(100));
        Segment s = h.step().get(0);
        sc.ack(ScriptedConnection.end(s));
        h.step();
        long t0 = h.now();
        assertThat(dataTimes(t0, t0 + 5000 * MS, new ArrayList<>())).isEmpty();
    }

    @Test
    void shouldKeepTheBackedOffRtoUntilAFreshSampleArrives() {
        // Karn: an ACK of a retransmitted segment gives no sample, and the backed-off RTO stays
        // for the next segment (RFC 6298 5.7 and section 3).
        ScriptedConnection sc = start(TasConfig.builder().set("tcp-rto-min", "10ms"));
        measureRtt(sc, 40);
        sc.write(bytes(100, 100));
        h.step();
        assertThat(h.advanceMillis(120)).hasSize(1); // first copy; RTO now 240 ms
        h.clock.advanceMillis(10);
        sc.ack(sc.engineSeq + 100);
        h.step();
        assertThat(sc.conn.flow().rtoNanos()).as("no sample from the retransmitted segment").isEqualTo(240 * MS);
        long t2 = h.now();
        sc.write(bytes(100, 200));
        h.step();
        assertThat(dataTimes(t2, t2 + 240 * MS, new ArrayList<>())).extracting(t -> t[0]).containsExactly(240L);
    }

    @Test
    void shouldGiveUpAfterFifteenRetransmissionsWithResetEventAndTimedOut() {
        ScriptedConnection sc = start(TasConfig.builder().set("tcp-rto-max", "2s"));
        long t0 = h.now();
        sc.write(bytes(100));
        Segment s = h.step().get(0);
        int data = 0;
        Segment last = null;
        // 1 s, then 2 s for the other 14: the 16th expiry comes at 1 + 2 + 14 * 2 = 31 s.
        while (h.now() < t0 + 31_000 * MS) {
            for (Segment r : h.advanceMillis(1)) {
                last = r;
                if (r.len() > 0) {
                    assertThat(r.seq()).isEqualTo(s.seq());
                    data++;
                }
            }
            if (h.now() < t0 + 31_000 * MS) {
                assertThat(h.takeEvents(sc.conn) & TasEvents.RESET).as("still trying").isZero();
            }
        }
        assertThat(data).as("the data retry limit").isEqualTo(15);
        assertThat(last).isNotNull();
        assertThat(last.has(Tcp.RST)).as("the connection is aborted with RST").isTrue();
        assertThat(h.takeEvents(sc.conn) & (TasEvents.RESET | TasEvents.CLOSED))
            .isEqualTo(TasEvents.RESET | TasEvents.CLOSED);
        assertThat(sc.conn.error()).isEqualTo(TasError.TIMED_OUT);
        assertThat(h.advanceMillis(100_000)).isEmpty();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
        sc.conn.close();
        assertThat(h.step()).isEmpty();
        assertThat(h.engine.ringBytesInUse()).isZero();
    }
}
