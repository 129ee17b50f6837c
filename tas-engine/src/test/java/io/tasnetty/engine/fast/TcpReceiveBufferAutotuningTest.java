package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Receive-buffer autotuning (issue 11; Linux's tcp_rmem and tcp_rcv_space_adjust): a connection
 * from the network starts with a tcp-rxbuf-len ring, and the ring doubles, up to tcp-rxbuf-max,
 * while the peer delivers half of it or more per round trip, so a long fat path is not held to
 * one ring per RTT; an idle or slow connection keeps its small ring. The ring moves to larger
 * memory only when it is empty, and every byte arrives in order across the move.
 */
class TcpReceiveBufferAutotuningTest {
    private static final int PORT = 80;
    private static final int MSS = 1460;
    private static final long RTT_MILLIS = 10;

    /** 64 KiB rings that may grow to 256 KiB. */
    private static EngineHarness harness(String rxMax) {
        return new EngineHarness(TasConfig.builder().set("tcp-rxbuf-len", "64k").set("tcp-rxbuf-max", rxMax)
            .set("shm-len", "1m"));
    }

    /** A passive open whose handshake takes {@link #RTT_MILLIS} (the engine's first RTT sample). */
    private static ScriptedConnection accept(EngineHarness h, int peerPort, int wscale) {
        TasListener l = h.listenerFor(PORT) != null ? h.listenerFor(PORT) : h.listen(PORT);
        h.peer.send(peerPort, ENGINE_IP, PORT, 1000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(MSS, wscale, true, false, 0));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        Segment synAck = out.get(0);
        h.advanceMillis(RTT_MILLIS);
        ScriptedConnection sc = new ScriptedConnection(h, null, peerPort, PORT, 1000, synAck.seq());
        sc.ack();
        assertThat(h.step()).isEmpty();
        TasConnection c = h.ctx.accept(l);
        assertThat(c).isNotNull();
        ScriptedConnection conn = new ScriptedConnection(h, c, peerPort, PORT, 1000, synAck.seq());
        conn.window = 65535;
        return conn;
    }

    /** The peer sends {@code n} bytes of the pattern from {@code from} in MSS segments; the application reads them. */
    private static void deliver(ScriptedConnection sc, int from, int n, ByteArrayOutputStream got) {
        for (int off = 0; off < n; off += MSS) {
            sc.data(bytes(Math.min(MSS, n - off), from + off));
            sc.h.step();
            got.writeBytes(sc.read(1 << 20));
        }
    }

    @Test
    void shouldAnnounceAWindowScaleForTheLargestRingTheConnectionMayGet() {
        try (EngineHarness h = harness("4m")) {
            h.listen(PORT);
            h.peer.send(40000, ENGINE_IP, PORT, 1000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(MSS, 7, true, false, 0));
            Segment synAck = h.step().get(0);
            // 65535 << 6 is just under 4 MiB: scale 7 covers it (a fixed 64 KiB ring needed 0).
            assertThat(synAck.windowScale()).isEqualTo(7);
            assertThat(synAck.window()).isEqualTo(65535);
        }
    }

    @Test
    void shouldDoubleTheRingWhileThePeerFillsHalfOfItPerRoundTripAndLoseNoByte() {
        try (EngineHarness h = harness("256k")) {
            ScriptedConnection sc = accept(h, 40000, 7);
            assertThat(sc.conn.receiveBufferSize()).isEqualTo(64 << 10);
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            int sent = 0;
            // Each round trip the peer sends 40 KiB (more than half the 64 KiB ring): the window
            // is what holds it back, so the ring grows, and grows again at 128 KiB once the peer
            // sends 80 KiB per round trip.
            for (int rtt = 0; rtt < 6; rtt++) {
                int burst = sc.conn.receiveBufferSize() * 5 / 8;
                deliver(sc, sent, burst, got);
                sent += burst;
                h.advanceMillis(RTT_MILLIS);
            }
            deliver(sc, sent, MSS, got); // a last segment finds the ring empty: it moves now at the latest
            sent += MSS;
            assertThat(sc.conn.receiveBufferSize()).as("grown to tcp-rxbuf-max").isEqualTo(256 << 10);
            assertThat(h.engine.counter(TasCounter.TCP_RX_RING_GROWN)).isEqualTo(2);
            assertThat(got.toByteArray()).as("every byte, in order, across both moves").isEqualTo(bytes(sent, 0));
            assertThat(h.engine.ringBytesInUse()).as("256 KiB rx + 128 KiB tx: the old rings went back")
                .isEqualTo((256 << 10) + (128 << 10));
            // The window we announce follows the larger ring.
            sc.data(bytes(MSS, sent));
            sc.data(bytes(MSS, sent + MSS)); // two full segments: acknowledged at once
            List<Segment> acks = h.step();
            assertThat(acks).isNotEmpty();
            Segment ack = acks.get(acks.size() - 1);
            assertThat(ack.ack()).isEqualTo(sc.peerSeq);
            assertThat((long) ack.window() << 7).isGreaterThan(128 << 10);
        }
    }

    @Test
    void shouldKeepTheRingOfAPeerThatSendsLittlePerRoundTrip() {
        try (EngineHarness h = harness("256k")) {
            ScriptedConnection sc = accept(h, 40000, 7);
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            int sent = 0;
            for (int rtt = 0; rtt < 10; rtt++) {
                deliver(sc, sent, 8 * MSS, got); // 11.7 KiB per round trip: path- or application-limited
                sent += 8 * MSS;
                h.advanceMillis(RTT_MILLIS);
            }
            assertThat(sc.conn.receiveBufferSize()).isEqualTo(64 << 10);
            assertThat(h.engine.counter(TasCounter.TCP_RX_RING_GROWN)).isZero();
            assertThat(got.toByteArray()).isEqualTo(bytes(sent, 0));
        }
    }

    @Test
    void shouldNotMoveTheRingWhileTheApplicationHasNotReadItAndMoveOnceItHas() {
        try (EngineHarness h = harness("256k")) {
            ScriptedConnection sc = accept(h, 40000, 7);
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            deliver(sc, 0, 40 << 10, got);
            h.advanceMillis(RTT_MILLIS);
            // This round's data stays unread: the larger ring is ready but the ring is not empty.
            int sent = 40 << 10;
            for (int off = 0; off < 20 * MSS; off += MSS) {
                sc.data(bytes(MSS, sent + off));
                h.step();
            }
            sent += 20 * MSS;
            assertThat(sc.conn.receiveBufferSize()).isEqualTo(64 << 10);
            assertThat(sc.conn.flow().rxGrowBlock).as("allocated, waiting for an empty ring").isNotNull();
            got.writeBytes(sc.read(1 << 20));
            deliver(sc, sent, MSS, got);
            sent += MSS;
            assertThat(sc.conn.receiveBufferSize()).isEqualTo(128 << 10);
            assertThat(got.toByteArray()).isEqualTo(bytes(sent, 0));
        }
    }

    @Test
    void shouldKeepTheRingAndCountItWhenThereIsNoMemoryToGrow() {
        // 1 MiB of rings: five connections of 64 KiB rx + 128 KiB tx take 960 KiB, so no
        // 128 KiB block is left for growth.
        try (EngineHarness h = harness("256k")) {
            ScriptedConnection sc = accept(h, 40000, 7);
            for (int i = 1; i < 5; i++) {
                accept(h, 40000 + i, 7);
            }
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            deliver(sc, 0, 40 << 10, got);
            h.advanceMillis(RTT_MILLIS);
            deliver(sc, 40 << 10, 40 << 10, got);
            assertThat(h.engine.counter(TasCounter.TCP_RX_RING_GROWTH_REFUSED)).isEqualTo(1);
            assertThat(h.engine.counter(TasCounter.CONN_RESETS_SENT)).isZero();
            assertThat(sc.conn.receiveBufferSize()).isEqualTo(64 << 10);
            deliver(sc, 80 << 10, 10 * MSS, got);
            assertThat(got.toByteArray()).isEqualTo(bytes((80 << 10) + 10 * MSS, 0));
        }
    }

    @Test
    void shouldNotTuneAConnectionWhoseApplicationSetItsReceiveBuffer() {
        try (EngineHarness h = harness("256k")) {
            TasListener l = h.ctx.listen(new InetSocketAddress(EngineHarness.addr(ENGINE_IP), PORT), 16, 64 << 10, 0);
            h.peer.send(40000, ENGINE_IP, PORT, 1000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(MSS, 7, true, false, 0));
            Segment synAck = h.step().get(0);
            assertThat(synAck.windowScale()).as("the window scale of a fixed 64 KiB ring").isEqualTo(1);
            h.advanceMillis(RTT_MILLIS);
            new ScriptedConnection(h, null, 40000, PORT, 1000, synAck.seq()).ack();
            h.step();
            TasConnection c = h.ctx.accept(l);
            assertThat(c.flow().rxMax).isZero();
        }
    }
}
