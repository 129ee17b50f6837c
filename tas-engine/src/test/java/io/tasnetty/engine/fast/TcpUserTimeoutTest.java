package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * TCP_USER_TIMEOUT (RFC 5482) as Linux: sent data unacknowledged that long since the last
 * progress, or a peer window shut that long under our probes (answered or not), ends the
 * connection with a RST and TIMED_OUT, on time rather than at the next backed-off timer.
 */
class TcpUserTimeoutTest {
    private static final long MS = 1_000_000L;

    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate"));

    @AfterEach
    void close() {
        h.close();
    }

    /** Runs ms by ms until {@code until}; returns the send times (ms after t0); answers probes if asked. */
    private List<Long> run(long t0, long until, List<Segment> segs, ScriptedConnection answer) {
        List<Long> times = new ArrayList<>();
        while (h.now() < until) {
            for (Segment s : h.advanceMillis(1)) {
                times.add((h.now() - t0) / MS);
                segs.add(s);
                if (answer != null && !s.has(Tcp.RST)) {
                    answer.ack();
                }
            }
        }
        return times;
    }

    private void assertTimedOut(ScriptedConnection sc, Segment last) {
        assertThat(last.has(Tcp.RST)).isTrue();
        assertThat(h.takeEvents(sc.conn) & (TasEvents.RESET | TasEvents.CLOSED))
            .isEqualTo(TasEvents.RESET | TasEvents.CLOSED);
        assertThat(sc.conn.error()).isEqualTo(TasError.TIMED_OUT);
        assertThat(h.engine.counter(TasCounter.CONN_USER_TIMEOUTS)).isEqualTo(1);
    }

    @Test
    void shouldDropAConnectionWhoseDataStaysUnacknowledgedPastTheUserTimeout() {
        ScriptedConnection sc = h.accept(80);
        sc.conn.setUserTimeout(2500 * MS);
        h.step();
        long t0 = h.now();
        sc.write(bytes(100));
        assertThat(h.step()).hasSize(1);
        List<Segment> segs = new ArrayList<>();
        // RTO 1 s then 2 s: retransmission at 1 s; the next would be at 3 s, the verdict comes at 2.5 s.
        assertThat(run(t0, t0 + 4000 * MS, segs, null)).containsExactly(1000L, 2500L);
        assertTimedOut(sc, segs.get(1));
    }

    @Test
    void shouldGiveTheVerdictOnTimeAfterATailLossProbe() {
        ScriptedConnection sc = h.accept(80);
        h.step();
        sc.write(bytes(100));
        List<Segment> first = h.step();
        h.advanceMillis(5);
        sc.ack(ScriptedConnection.end(first.get(0))); // an RTT sample: tail loss probes from now on
        h.step();
        sc.conn.setUserTimeout(2000 * MS);
        long t0 = h.now();
        sc.write(bytes(2 * 1460));
        assertThat(h.step()).hasSize(2);
        List<Segment> segs = new ArrayList<>();
        List<Long> times = run(t0, t0 + 4000 * MS, segs, null);
        // One probe, then RTOs; none after an RTO (loss recovery), whose deadline it would push
        // out: the verdict comes at the user timeout, not at a later backed-off timer.
        assertThat(h.engine.counter(TasCounter.TCP_TAIL_LOSS_PROBES)).isEqualTo(1);
        assertThat(times.get(times.size() - 1)).as("the verdict (sends at %s ms)", times).isEqualTo(2000L);
        assertTimedOut(sc, segs.get(segs.size() - 1));
    }

    @Test
    void shouldKeepRetransmittingWithoutAUserTimeout() {
        ScriptedConnection sc = h.accept(80);
        h.step();
        long t0 = h.now();
        sc.write(bytes(100));
        h.step();
        assertThat(run(t0, t0 + 8000 * MS, new ArrayList<>(), null)).containsExactly(1000L, 3000L, 7000L);
        assertThat(sc.conn.state()).isEqualTo(TcpState.ESTABLISHED);
    }

    @Test
    void shouldCountTheUserTimeoutFromTheLastAcknowledgment() {
        ScriptedConnection sc = h.accept(80);
        sc.conn.setUserTimeout(2500 * MS);
        h.step();
        long t0 = h.now();
        sc.write(bytes(2000));
        List<Segment> out = h.step();
        assertThat(out).hasSize(2);
        h.advanceTo(t0 + 2000 * MS); // the first segment retransmitted at 1 s
        sc.ack(ScriptedConnection.end(out.get(0))); // progress at 2 s: the clock starts again
        h.step();
        List<Segment> segs = new ArrayList<>();
        run(t0, t0 + 4499 * MS, segs, null);
        assertThat(sc.conn.state()).as("2.5 s after the progress, not after the first send")
            .isEqualTo(TcpState.ESTABLISHED);
        run(t0, t0 + 9000 * MS, segs, null);
        assertTimedOut(sc, segs.get(segs.size() - 1));
    }

    @Test
    void shouldGiveUpOnAWindowShutPastTheUserTimeoutEvenWhenEveryProbeIsAnswered() {
        ScriptedConnection sc = h.accept(80);
        sc.conn.setUserTimeout(5000 * MS);
        sc.window = 0;
        sc.ack();
        h.step();
        long t0 = h.now();
        sc.write(bytes(100));
        assertThat(h.step()).isEmpty();
        List<Segment> segs = new ArrayList<>();
        // Probes at 1 s and 3 s (each answered with a zero window); the next would be at 7 s.
        assertThat(run(t0, t0 + 8000 * MS, segs, sc)).containsExactly(1000L, 3000L, 5000L);
        assertTimedOut(sc, segs.get(2));
    }
}
