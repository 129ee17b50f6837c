package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
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
 * Zero windows both ways (RFC 9293 3.8.6.1): when the peer's window closes we stop and probe it
 * with a backing-off persist timer until it opens; when our ring is full we advertise zero, keep
 * answering probes, and announce the window once the application reads.
 */
class TcpZeroWindowTest {
    private static final long MS = 1_000_000L;

    private EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate"));

    @AfterEach
    void close() {
        h.close();
    }

    /** Times (ms after {@code t0}) at which something went out before {@code until}, with the segments. */
    private List<Long> sendTimes(long t0, long until, List<Segment> segs) {
        List<Long> times = new ArrayList<>();
        while (h.now() < until) {
            for (Segment s : h.advanceMillis(1)) {
                times.add((h.now() - t0) / MS);
                segs.add(s);
            }
        }
        return times;
    }

    @Test
    void shouldStopAtAZeroWindowAndProbeWithBackoffUntilItOpens() {
        ScriptedConnection sc = h.accept(80);
        sc.window = 0;
        sc.ack();
        h.step();
        long t0 = h.now();
        sc.write(bytes(3000));
        assertThat(h.step()).as("nothing fits a zero window").isEmpty();
        List<Segment> probes = new ArrayList<>();
        // The persist timer starts at max(200 ms, RTO = 1 s) and doubles; the peer answers each
        // probe with its (still zero) window.
        List<Long> times = new ArrayList<>();
        while (h.now() < t0 + 7000 * MS) {
            for (Segment s : h.advanceMillis(1)) {
                times.add((h.now() - t0) / MS);
                probes.add(s);
                sc.ack();
            }
        }
        assertThat(times).containsExactly(1000L, 3000L, 7000L);
        assertThat(probes).allSatisfy(p -> {
            assertThat(p.flags()).isEqualTo(Tcp.ACK);
            assertThat(p.len()).as("no data committed to a closed window").isZero();
            assertThat(p.seq()).as("SND.UNA - 1, so the peer must answer").isEqualTo(sc.engineSeq - 1);
        });
        assertThat(h.engine.counter(TasCounter.TCP_ZERO_WINDOW_PROBES)).isEqualTo(3);
        // The window opens: data flows at once, and the probes stop.
        sc.window = 65535;
        sc.ack();
        List<Segment> out = h.step();
        assertThat(out).extracting(Segment::len).containsExactly(1460, 1460, 80);
        assertThat(out.get(0).seq()).isEqualTo(sc.engineSeq);
        sc.ack(ScriptedConnection.end(out.get(2)));
        h.step();
        List<Segment> later = new ArrayList<>();
        assertThat(sendTimes(h.now(), h.now() + 30_000 * MS, later)).isEmpty();
    }

    @Test
    void aPeerThatAnswersNoProbeIsGivenUpAfterFifteenButOneThatAnswersIsKept() {
        // The probes back off to one a minute: fifteen take about ten minutes of the manual clock.
        ScriptedConnection answering = h.accept(80);
        ScriptedConnection silent = h.accept(80, 40001, 5000, io.tasnetty.engine.TcpTestPeer.Opts.syn(1460, -1, true,
            false, 0));
        for (ScriptedConnection sc : List.of(answering, silent)) {
            sc.window = 0;
            sc.ack();
            h.step();
            sc.write(bytes(3000));
        }
        h.step();
        int probesToSilent = 0;
        for (int step = 0; step < 7_000; step++) {
            for (Segment s : h.advanceMillis(100)) {
                if (s.dstPort() == answering.peerPort && !s.has(Tcp.RST)) {
                    answering.ack(); // still there, window still shut
                } else if (s.dstPort() == silent.peerPort && s.len() == 0 && !s.has(Tcp.RST)) {
                    probesToSilent++;
                }
            }
        }
        assertThat(probesToSilent).as("Linux's tcp_retries2").isEqualTo(15);
        assertThat(silent.conn.error()).isEqualTo(io.tasnetty.engine.context.TasError.TIMED_OUT);
        assertThat(h.engine.counter(TasCounter.CONN_PERSIST_GIVE_UPS)).isEqualTo(1);
        assertThat(answering.conn.state()).as("a peer that answers may keep its window shut")
            .isEqualTo(io.tasnetty.engine.flow.TcpState.ESTABLISHED);
    }

    @Test
    void shouldStartProbingWhenThePeerAcknowledgesEverythingWithAZeroWindow() {
        ScriptedConnection sc = h.accept(80);
        sc.write(bytes(5000));
        List<Segment> out = h.step();
        assertThat(out).extracting(Segment::len).containsExactly(1460, 1460, 1460, 620);
        h.clock.advanceMillis(50);
        sc.window = 0;
        sc.ack(ScriptedConnection.end(out.get(1)));
        h.step();
        sc.ack(ScriptedConnection.end(out.get(3)));
        long t0 = h.now();
        assertThat(h.step()).isEmpty();
        sc.write(bytes(100, 5000));
        assertThat(h.step()).isEmpty();
        // The 50 ms sample gives RTO 50 + 4 * 25 = 150 ms, raised to tcp-rto-min (200 ms); the
        // persist timer starts at max(200 ms, RTO) and doubles.
        List<Segment> probes = new ArrayList<>();
        assertThat(sendTimes(t0, t0 + 600 * MS, probes)).containsExactly(200L, 600L);
        assertThat(h.engine.counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS)).as("no RTO with nothing in flight")
            .isZero();
    }

    @Test
    void shouldAdvertiseZeroWindowWhenTheRingIsFullAndReopenItWhenTheApplicationReads() {
        h.close();
        h = new EngineHarness(TasConfig.builder().set("cc", "const-rate").set("tcp-rxbuf-len", "4096"));
        ScriptedConnection sc = h.accept(80);
        int s0 = sc.peerSeq;
        sc.data(bytes(1460, 0));
        sc.data(bytes(1460, 1460));
        sc.data(bytes(1176, 2920));
        Segment ack = h.step().get(0);
        assertThat(ack.ack()).isEqualTo(s0 + 4096);
        assertThat(ack.window()).isZero();

        // The peer probes with one byte: it is not taken, and the answer repeats the zero window.
        sc.dataAt(s0 + 4096, bytes(1, 4096));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(s0 + 4096);
        assertThat(out.get(0).window()).isZero();
        // And a probe of the SND.UNA - 1 kind gets the same answer.
        sc.sendAt(s0 + 4095, sc.engineSeq, Tcp.ACK, 65535, new byte[0], null);
        out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).window()).isZero();

        // The application reads: a window update goes out unprompted.
        assertThat(sc.read(4096)).isEqualTo(bytes(4096));
        out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).window()).isEqualTo(4096);
        assertThat(out.get(0).ack()).isEqualTo(s0 + 4096);
        // And new data is accepted again.
        sc.dataAt(s0 + 4096, bytes(1000, 4096));
        assertThat(h.step()).as("past the quick-ack phase, less than two segments wait for the delayed ACK").isEmpty();
        out = h.advanceMillis(40);
        assertThat(out.get(0).ack()).isEqualTo(s0 + 5096);
        assertThat(out.get(0).window()).isEqualTo(3096);
        assertThat(sc.read(4096)).isEqualTo(bytes(1000, 4096));
    }

    @Test
    void shouldResumeWhenAProbeIsAnsweredWithAnOpenWindow() {
        // The peer's window update was lost; the answer to our probe carries the open window.
        ScriptedConnection sc = h.accept(80);
        sc.window = 0;
        sc.ack();
        h.step();
        sc.write(bytes(1000));
        h.step();
        List<Segment> probe = h.advanceMillis(1000);
        assertThat(probe).hasSize(1);
        assertThat(probe.get(0).len()).isZero();
        sc.window = 65535;
        sc.ack();
        List<Segment> out = h.step();
        assertThat(out).extracting(Segment::len).containsExactly(1000);
        assertThat(sc.conn.flow().persistDeadline()).as("persist timer off").isZero();
    }
}
