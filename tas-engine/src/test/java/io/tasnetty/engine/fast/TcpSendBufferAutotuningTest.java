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
import java.nio.ByteBuffer;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Send-buffer autotuning (issue 11; Linux's tcp_wmem and tcp_sndbuf_expand): a connection to the
 * network starts with a tcp-txbuf-len transmit ring; when the application fills it while the
 * congestion window and the peer's window would each carry half of it or more, the ring is what
 * limits the sender, and it doubles, up to tcp-txbuf-max. The application moves the ring, with
 * the bytes in it, at its next write; every byte leaves in order across the moves, and the old
 * memory goes back. A sender the peer's window holds back keeps its ring.
 */
class TcpSendBufferAutotuningTest {
    private static final int PORT = 80;
    private static final int MSS = 1460;

    /** 16 KiB transmit rings that may grow to 64 KiB. */
    private static EngineHarness harness() {
        return new EngineHarness(TasConfig.builder().set("tcp-txbuf-len", "16k").set("tcp-txbuf-max", "64k")
            .set("tcp-rxbuf-len", "64k").set("tcp-rxbuf-max", "64k").set("shm-len", "1m"));
    }

    private static ScriptedConnection accept(EngineHarness h, int window, int wscale) {
        TasListener l = h.listen(PORT);
        h.peer.send(40000, ENGINE_IP, PORT, 1000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(MSS, wscale, true, false, 0));
        Segment synAck = h.step().get(0);
        h.advanceMillis(10);
        ScriptedConnection sc = new ScriptedConnection(h, null, 40000, PORT, 1000, synAck.seq());
        sc.window = window;
        sc.ack();
        assertThat(h.step()).isEmpty();
        TasConnection c = h.ctx.accept(l);
        assertThat(c).isNotNull();
        ScriptedConnection conn = new ScriptedConnection(h, c, 40000, PORT, 1000, synAck.seq());
        conn.window = window;
        return conn;
    }

    /**
     * {@code rounds} round trips of: the application writes all it can of the pattern, the
     * engine sends, the peer acknowledges everything it got (10 ms later). Returns what arrived.
     */
    private static byte[] run(EngineHarness h, ScriptedConnection sc, int total, int rounds) {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        byte[] data = bytes(total, 0);
        int written = 0;
        int expected = sc.engineSeq;
        for (int r = 0; r < rounds && got.size() < total; r++) {
            if (written < total) {
                written += sc.conn.write(ByteBuffer.wrap(data, written, total - written));
                sc.conn.flush();
            }
            expected = take(h.step(), expected, got);
            h.advanceMillis(10);
            sc.ack(expected);
            expected = take(h.step(), expected, got);
        }
        return got.toByteArray();
    }

    /** The peer takes the in-order data of {@code out}; returns the next sequence number it expects. */
    private static int take(List<Segment> out, int expected, ByteArrayOutputStream got) {
        for (Segment s : out) {
            int over = expected - s.seq();
            if (s.len() > 0 && over >= 0 && over < s.len()) {
                got.write(s.payload(), over, s.len() - over);
                expected += s.len() - over;
            }
        }
        return expected;
    }

    @Test
    void shouldDoubleTheRingWhileItIsWhatLimitsTheSenderAndSendEveryByteInOrder() {
        try (EngineHarness h = harness()) {
            ScriptedConnection sc = accept(h, 65535, 7); // a window of 8 MiB
            assertThat(sc.conn.sendBufferSize()).isEqualTo(16 << 10);
            int total = 1 << 20;
            byte[] got = run(h, sc, total, 200);
            assertThat(got).as("every byte, in order, across the moves").isEqualTo(bytes(total, 0));
            assertThat(sc.conn.sendBufferSize()).as("grown to tcp-txbuf-max").isEqualTo(64 << 10);
            assertThat(h.engine.counter(TasCounter.TCP_TX_RING_GROWN)).isEqualTo(2);
            assertThat(h.engine.ringBytesInUse()).as("64 KiB rx + 64 KiB tx: the old transmit rings went back")
                .isEqualTo((64 << 10) + (64 << 10));
        }
    }

    @Test
    void shouldKeepTheRingOfASenderThePeersWindowHoldsBack() {
        try (EngineHarness h = harness()) {
            ScriptedConnection sc = accept(h, 4096, 0); // the peer never offers more than 4 KiB
            int total = 256 << 10;
            byte[] got = run(h, sc, total, 200);
            assertThat(got).isEqualTo(bytes(total, 0));
            assertThat(sc.conn.sendBufferSize()).isEqualTo(16 << 10);
            assertThat(h.engine.counter(TasCounter.TCP_TX_RING_GROWN)).isZero();
        }
    }
}
