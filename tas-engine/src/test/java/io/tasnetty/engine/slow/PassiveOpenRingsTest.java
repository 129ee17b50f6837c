package io.tasnetty.engine.slow;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A passive open from the network holds no rings while it is half-open: the slow path grants
 * them when the final ACK comes (issue 11: a SYN flood must not take the ring memory established
 * connections need, and idle half-open connections must be cheap). When there is no ring memory
 * at that point, the refusal is counted and the peer gets a RST, never a silent hang.
 */
class PassiveOpenRingsTest {
    private static final int PORT = 80;
    private static final int RING = 256 * 1024;

    /** Two connections' rings (256 KiB each way) fit in shm-len; a third does not. */
    private static EngineHarness twoConnectionsOfMemory() {
        return new EngineHarness(TasConfig.builder().set("tcp-rxbuf-len", "256k").set("tcp-txbuf-len", "256k")
            .set("shm-len", "1m"));
    }

    private static Segment synAck(EngineHarness h, int peerPort, int peerIss, Opts o) {
        h.peer.send(peerPort, ENGINE_IP, PORT, peerIss, 0, Tcp.SYN, 65535, new byte[0], o);
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).flags()).isEqualTo(Tcp.SYN | Tcp.ACK);
        return out.get(0);
    }

    @Test
    void shouldHoldNoRingMemoryForHalfOpenConnectionsAndAnnounceThePlannedRing() {
        try (EngineHarness h = twoConnectionsOfMemory()) {
            h.ctx.listen(new InetSocketAddress(EngineHarness.addr(ENGINE_IP), PORT), 1000);
            List<Segment> synAcks = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                synAcks.add(synAck(h, 20000 + i, 1000 * i, Opts.syn(1460, 7, true, false, 0)));
            }
            assertThat(h.engine.flowRecordsInUse()).isEqualTo(500);
            assertThat(h.engine.ringBytesInUse()).as("500 half-open connections, no rings").isZero();
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_SENT)).as("no cookies: the backlog has room").isZero();
            // The SYN-ACK announces the ring the connection will get: window and scale as before.
            Segment s = synAcks.get(0);
            assertThat(s.window()).isEqualTo(65535);
            assertThat(s.windowScale()).as("a 256 KiB ring needs scaling").isGreaterThan(0);
            // Retransmitted SYN-ACKs (no ACK from the peers) still cost no rings.
            h.advanceMillis(1500);
            assertThat(h.engine.ringBytesInUse()).isZero();
        }
    }

    @Test
    void shouldGiveTheRingsWhenTheHandshakeCompletesAndReceiveDataOnTheFinalAck() {
        try (EngineHarness h = twoConnectionsOfMemory()) {
            TasListener l = h.ctx.listen(new InetSocketAddress(EngineHarness.addr(ENGINE_IP), PORT), 16);
            Segment sa = synAck(h, 40000, 1000, Opts.syn(1460, 7, true, false, 0));
            int wscale = sa.windowScale();
            assertThat(h.engine.ringBytesInUse()).isZero();
            ScriptedConnection sc = new ScriptedConnection(h, null, 40000, PORT, 1000, sa.seq());
            sc.data(bytes(100)); // the final ACK carries a request
            List<Segment> out = h.step();
            assertThat(out).as("the request is acknowledged").anyMatch(s -> s.has(Tcp.ACK) && s.ack() == 1001 + 100);
            assertThat(h.engine.ringBytesInUse()).isEqualTo(2L * RING);
            assertThat(h.engine.counter(TasCounter.CONN_ESTABLISHED)).isEqualTo(1);
            TasConnection c = h.ctx.accept(l);
            assertThat(c).isNotNull();
            assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
            assertThat(c.flow().rcvWscale()).as("the scale the SYN-ACK announced").isEqualTo(wscale);
            assertThat(c.flow().rx.capacity()).isEqualTo(RING);
            ScriptedConnection conn = new ScriptedConnection(h, c, 40000, PORT, 1000, sa.seq());
            conn.peerSeq = sc.peerSeq;
            assertThat(conn.read(1000)).isEqualTo(bytes(100));
            assertThat(conn.write(bytes(3000, 5))).isEqualTo(3000);
            int got = 0;
            for (Segment s : ScriptedConnection.dataOf(h.step())) {
                got += s.len();
            }
            assertThat(got).isEqualTo(3000);
        }
    }

    /**
     * A passive open's first flight larger than one receive burst: the final ACK and the data of
     * the first burst go to the slow path for the rings; the rest waits at the port for the next
     * duty cycle, which comes after the slow path granted the rings and handed the first burst
     * back. The first burst must be received first (issue 11: the rest adopted the rings and was
     * received first, out of order, so the engine sent duplicate ACKs and Linux retransmitted).
     */
    @Test
    void shouldReceiveAFirstFlightLongerThanOneBurstInOrderWithoutDuplicateAcks() {
        try (EngineHarness h = twoConnectionsOfMemory()) {
            TasListener l = h.ctx.listen(new InetSocketAddress(EngineHarness.addr(ENGINE_IP), PORT), 16);
            Segment sa = synAck(h, 40000, 1000, Opts.syn(1460, 7, true, false, 0));
            ScriptedConnection sc = new ScriptedConnection(h, null, 40000, PORT, 1000, sa.seq());
            int segments = 39; // the ACK and 31 of them fill one burst (32 frames); 8 wait at the port
            int size = 1000;
            sc.ack();
            for (int i = 0; i < segments; i++) {
                sc.data(bytes(size, i * size));
            }
            List<Segment> out = h.step();

            assertThat(h.engine.counter(TasCounter.TCP_OUT_OF_ORDER)).as("out-of-order segments").isZero();
            List<Integer> acks = new ArrayList<>();
            for (Segment s : out) {
                assertThat(s.has(Tcp.RST)).as("%s", s).isFalse();
                assertThat(s.sackBlocks()).as("SACK blocks (only out of order data makes them): %s", s).isZero();
                acks.add(s.ack());
            }
            assertThat(acks).as("ACKs sent: each acknowledges more than the one before").isSorted()
                .doesNotHaveDuplicates().isNotEmpty();
            assertThat(acks.get(acks.size() - 1)).isEqualTo(1001 + segments * size);
            assertThat(h.engine.counter(TasCounter.RX_BEHIND_RING_GRANT))
                .as("segments sent behind the final ACK (those of its burst; the rest came after it was back)")
                .isEqualTo(31);
            assertThat(h.engine.counter(TasCounter.RX_RINGS_GRANTED)).as("final ACKs handed back with rings").isEqualTo(1);
            TasConnection c = h.ctx.accept(l);
            assertThat(c).isNotNull();
            ScriptedConnection conn = new ScriptedConnection(h, c, 40000, PORT, 1000, sa.seq());
            assertThat(conn.read(segments * size)).isEqualTo(bytes(segments * size));
            // The detour is over: the next segment goes straight to the connection.
            long exceptions = h.engine.counter(TasCounter.RX_EXCEPTIONS);
            conn.peerSeq = sc.peerSeq;
            conn.data(bytes(size, 7));
            h.step();
            assertThat(conn.read(size)).isEqualTo(bytes(size, 7));
            assertThat(h.engine.counter(TasCounter.RX_EXCEPTIONS)).isEqualTo(exceptions);
            assertThat(h.engine.counter(TasCounter.RX_BEHIND_RING_GRANT)).isEqualTo(31);
        }
    }

    @Test
    void shouldGrantOnceWhenTheFinalAckComesTwiceInOneBurst() {
        try (EngineHarness h = twoConnectionsOfMemory()) {
            TasListener l = h.ctx.listen(new InetSocketAddress(EngineHarness.addr(ENGINE_IP), PORT), 16);
            Segment sa = synAck(h, 40000, 1000, Opts.syn(1460, -1, false, false, 0));
            ScriptedConnection sc = new ScriptedConnection(h, null, 40000, PORT, 1000, sa.seq());
            sc.ack();
            sc.ack(); // both reach the core before the slow path has granted anything
            assertThat(h.step()).noneMatch(s -> s.has(Tcp.RST));
            assertThat(h.engine.ringBytesInUse()).isEqualTo(2L * RING);
            assertThat(h.engine.counter(TasCounter.CONN_ESTABLISHED)).isEqualTo(1);
            assertThat(h.ctx.accept(l)).isNotNull();
            assertThat(h.ctx.accept(l)).isNull();
        }
    }

    @Test
    void shouldCountAndResetAConnectionThatFindsNoRingMemoryAtEstablished() {
        try (EngineHarness h = twoConnectionsOfMemory()) {
            TasListener l = h.ctx.listen(new InetSocketAddress(EngineHarness.addr(ENGINE_IP), PORT), 16);
            // Three half-open connections fit (they hold no rings) ...
            Segment[] sa = new Segment[3];
            for (int i = 0; i < 3; i++) {
                sa[i] = synAck(h, 40000 + i, 1000 * (i + 1), Opts.syn(1460, -1, false, false, 0));
            }
            assertThat(h.engine.counter(TasCounter.CONN_BUFFER_EXHAUSTED)).isZero();
            // ... two of them complete ...
            for (int i = 0; i < 2; i++) {
                new ScriptedConnection(h, null, 40000 + i, PORT, 1000 * (i + 1), sa[i].seq()).ack();
                assertThat(h.step()).isEmpty();
            }
            assertThat(h.engine.ringBytesInUse()).isEqualTo(4L * RING);
            // ... and the third, with the memory gone, is refused: counted, and a RST for the peer.
            new ScriptedConnection(h, null, 40002, PORT, 3000, sa[2].seq()).ack();
            List<Segment> out = h.step();
            assertThat(out).hasSize(1);
            Segment rst = out.get(0);
            assertThat(rst.has(Tcp.RST)).isTrue();
            assertThat(rst.dstPort()).isEqualTo(40002);
            assertThat(rst.seq()).as("RFC 9293 3.10.7.3: SEQ = SEG.ACK, what the peer expects").isEqualTo(sa[2].seq() + 1);
            assertThat(h.engine.counter(TasCounter.CONN_BUFFER_EXHAUSTED)).isEqualTo(1);
            assertThat(h.engine.flowCount()).as("the refused connection is gone").isEqualTo(2);
            assertThat(h.engine.ringBytesInUse()).isEqualTo(4L * RING);
            assertThat(h.ctx.accept(l)).isNotNull();
            TasConnection second = h.ctx.accept(l);
            assertThat(second).isNotNull();
            assertThat(h.ctx.accept(l)).isNull();
            // Nothing more goes to the refused peer (no SYN-ACK retransmissions for a dead flow).
            assertThat(h.advanceMillis(5000)).noneMatch(s -> s.dstPort() == 40002);

            // Memory back (one connection aborted): the next client gets in.
            second.abort();
            h.step();
            h.advanceMillis(10);
            assertThat(h.engine.ringBytesInUse()).isEqualTo(2L * RING);
            Segment again = synAck(h, 40003, 9000, Opts.syn(1460, -1, false, false, 0));
            new ScriptedConnection(h, null, 40003, PORT, 9000, again.seq()).ack();
            assertThat(h.step()).isEmpty();
            assertThat(h.ctx.accept(l)).isNotNull();
            assertThat(h.engine.counter(TasCounter.CONN_BUFFER_EXHAUSTED)).isEqualTo(1);
        }
    }

    @Test
    void shouldLeaveNoRingsBehindWhenAHalfOpenConnectionTimesOut() {
        try (EngineHarness h = twoConnectionsOfMemory()) {
            h.ctx.listen(new InetSocketAddress(EngineHarness.addr(ENGINE_IP), PORT), 16);
            synAck(h, 40000, 1000, Opts.syn(1460, -1, false, false, 0));
            for (int i = 0; i < 20 && h.engine.flowCount() > 0; i++) {
                h.advanceMillis(30_000);
            }
            assertThat(h.engine.flowCount()).as("the SYN-ACK retransmissions gave up").isZero();
            assertThat(h.engine.flowRecordsInUse()).isZero();
            assertThat(h.engine.ringBytesInUse()).isZero();
        }
    }
}
