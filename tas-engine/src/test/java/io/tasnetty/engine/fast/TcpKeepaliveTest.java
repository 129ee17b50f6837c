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
 * Keepalive (RFC 1122 4.2.3.6): after tcp-keepalive-idle without anything received, probe every
 * tcp-keepalive-interval; an answer starts the idle time again; tcp-keepalive-probes unanswered
 * probes end the connection.
 */
class TcpKeepaliveTest {
    private static final long MS = 1_000_000L;

    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate")
        .set("tcp-keepalive-idle", "10s").set("tcp-keepalive-interval", "2s").set("tcp-keepalive-probes", "3"));

    @AfterEach
    void close() {
        h.close();
    }

    /** Runs millisecond by millisecond until {@code until}; returns send times (ms after t0), keeps segments. */
    private List<Long> sendTimes(long t0, long until, List<Segment> segs, boolean answer, ScriptedConnection sc) {
        List<Long> times = new ArrayList<>();
        while (h.now() < until) {
            for (Segment s : h.advanceMillis(1)) {
                times.add((h.now() - t0) / MS);
                segs.add(s);
                if (answer && !s.has(Tcp.RST)) {
                    sc.ack(); // answered at once: it arrives at the same time
                    assertThat(h.step()).isEmpty();
                }
            }
        }
        return times;
    }

    @Test
    void shouldSendNoProbesWithoutKeepalive() {
        ScriptedConnection sc = h.accept(80);
        long t0 = h.now();
        assertThat(sendTimes(t0, t0 + 60_000 * MS, new ArrayList<>(), false, sc)).isEmpty();
        assertThat(sc.conn.state()).isEqualTo(TcpState.ESTABLISHED);
    }

    @Test
    void shouldProbeAfterIdleTimeAndCloseAfterUnansweredProbes() {
        ScriptedConnection sc = h.accept(80);
        sc.conn.setKeepAlive(true);
        long t0 = h.now();
        h.step();
        List<Segment> segs = new ArrayList<>();
        List<Long> times = sendTimes(t0, t0 + 16_000 * MS, segs, false, sc);
        // Probes at 10, 12, 14 s; the third unanswered for an interval ends it at 16 s.
        assertThat(times).containsExactly(10_000L, 12_000L, 14_000L, 16_000L);
        for (int i = 0; i < 3; i++) {
            Segment p = segs.get(i);
            assertThat(p.flags()).isEqualTo(Tcp.ACK);
            assertThat(p.seq()).as("SEG.SEQ = SND.NXT - 1, so the peer must answer").isEqualTo(sc.engineSeq - 1);
            assertThat(p.ack()).isEqualTo(sc.peerSeq);
        }
        assertThat(segs.get(3).has(Tcp.RST)).isTrue();
        assertThat(h.engine.counter(TasCounter.TCP_KEEPALIVES)).isEqualTo(3);
        assertThat(h.takeEvents(sc.conn) & (TasEvents.RESET | TasEvents.CLOSED))
            .isEqualTo(TasEvents.RESET | TasEvents.CLOSED);
        assertThat(sc.conn.error()).isEqualTo(TasError.TIMED_OUT);
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
    }

    @Test
    void shouldStartTheIdleTimeAgainWhenAProbeIsAnswered() {
        ScriptedConnection sc = h.accept(80);
        sc.conn.setKeepAlive(true);
        long t0 = h.now();
        h.step();
        List<Segment> segs = new ArrayList<>();
        // The peer answers each probe at once: one probe every idle period, never a verdict.
        List<Long> times = sendTimes(t0, t0 + 40_000 * MS, segs, true, sc);
        assertThat(times).containsExactly(10_000L, 20_000L, 30_000L, 40_000L);
        assertThat(sc.conn.state()).isEqualTo(TcpState.ESTABLISHED);
    }

    @Test
    void shouldCountIdleTimeFromTheLastSegmentReceived() {
        ScriptedConnection sc = h.accept(80);
        sc.conn.setKeepAlive(true);
        long t0 = h.now();
        h.step();
        h.advanceTo(t0 + 7000 * MS);
        sc.data(bytes(10));
        assertThat(h.step()).hasSize(1); // the ACK of the data
        sc.read(100);
        List<Segment> segs = new ArrayList<>();
        assertThat(sendTimes(t0, t0 + 17_000 * MS, segs, false, sc)).as("10 s after the data, not after t0")
            .containsExactly(17_000L);
    }

    @Test
    void shouldStopProbingWhenKeepaliveIsTurnedOff() {
        ScriptedConnection sc = h.accept(80);
        sc.conn.setKeepAlive(true);
        long t0 = h.now();
        h.step();
        h.advanceTo(t0 + 5000 * MS);
        sc.conn.setKeepAlive(false);
        assertThat(sendTimes(t0, t0 + 60_000 * MS, new ArrayList<>(), false, sc)).isEmpty();
    }
    @Test
    void shouldNotTakeUnacceptableSegmentsAsProofOfLife() {
        // RFC 1122 4.2.3.6 with RFC 9293 3.10.7.4: a segment outside the window, or whose ACK
        // acknowledges nothing we sent, is answered and dropped; it says nothing about the peer
        // (anyone can send one), so the idle time keeps running from t0.
        ScriptedConnection sc = h.accept(80);
        sc.conn.setKeepAlive(true);
        long t0 = h.now();
        h.step();
        h.advanceTo(t0 + 7000 * MS);
        sc.sendAt(sc.peerSeq + (1 << 20), sc.engineSeq, Tcp.ACK, 65535, bytes(10), null); // beyond the window
        assertThat(h.step()).as("a duplicate ACK answers it").hasSize(1);
        sc.sendAt(sc.peerSeq, sc.engineSeq + 5000, Tcp.ACK, 65535, new byte[0], null); // acks unsent data
        assertThat(h.step()).hasSize(1);
        List<Segment> segs = new ArrayList<>();
        assertThat(sendTimes(t0, t0 + 10_000 * MS, segs, false, sc)).as("probed 10 s after t0, not after the junk")
            .containsExactly(10_000L);
    }
}
