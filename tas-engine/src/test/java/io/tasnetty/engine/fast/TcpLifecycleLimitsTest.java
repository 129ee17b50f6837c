package io.tasnetty.engine.fast;

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
import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/** Limits that keep a connection from living or waiting forever, and the clocks behind them. */
class TcpLifecycleLimitsTest {
    private static final long MS = 1_000_000L;

    @Test
    void shouldGiveUpAnOrphanedFinWait2AfterTheTimeWaitPeriod() {
        try (EngineHarness h = new EngineHarness(TasConfig.builder().set("tcp-time-wait", "2s"))) {
            ScriptedConnection sc = h.accept(80);
            sc.conn.close();
            Segment fin = h.step().get(0);
            assertThat(fin.has(Tcp.FIN)).isTrue();
            sc.engineSeq = ScriptedConnection.end(fin);
            sc.ack(); // the peer acknowledges our FIN but never sends its own
            h.step();
            assertThat(sc.conn.state()).isEqualTo(TcpState.FIN_WAIT_2);
            h.advanceMillis(1900);
            assertThat(sc.conn.state()).isEqualTo(TcpState.FIN_WAIT_2);
            h.advanceMillis(200);
            assertThat(sc.conn.state()).isEqualTo(TcpState.CLOSED);
            h.step();
            assertThat(h.engine.flowCount()).isZero();
            assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
            assertThat(h.engine.ringBytesInUse()).isZero();
        }
    }

    /**
     * The peer closed, the application closed, and the peer vanished before it acknowledged our
     * FIN (a client killed with its namespace, say): the orphan retransmits its FIN
     * {@link TcpTimers#ORPHAN_RETRIES} times, as Linux's tcp_orphan_retries, not the 15 of a
     * connection an application still holds, then gives up and everything is reclaimed.
     */
    @Test
    void shouldGiveUpAnOrphanedLastAckAfterEightFinRetransmissions() {
        try (EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate").set("tcp-rto-max", "2s"))) {
            ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(1460, -1, false, false, 0));
            sc.fin();
            h.step();
            sc.conn.close();
            Segment fin = h.step().get(0);
            assertThat(fin.has(Tcp.FIN)).isTrue();
            assertThat(sc.conn.state()).isEqualTo(TcpState.LAST_ACK);
            long t0 = h.now();
            int fins = 0;
            Segment last = null;
            while (h.now() < t0 + 60_000 * MS && h.engine.flowCount() > 0) {
                for (Segment r : h.advanceMillis(1)) {
                    last = r;
                    if (r.has(Tcp.FIN)) {
                        assertThat(r.seq()).isEqualTo(fin.seq());
                        fins++;
                    }
                }
            }
            assertThat(fins).as("FIN retransmissions before giving up").isEqualTo(TcpTimers.ORPHAN_RETRIES);
            assertThat(last).isNotNull();
            assertThat(last.has(Tcp.RST)).as("the orphan is aborted with RST").isTrue();
            assertThat(h.now() - t0).as("within 1 s + 8 x 2 s (tcp-rto-max)").isLessThanOrEqualTo(17_001 * MS);
            h.step();
            assertThat(h.engine.flowCount()).isZero();
            assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
            assertThat(h.engine.ringBytesInUse()).isZero();
        }
    }

    @Test
    void shouldKeepAHalfClosedFinWait2WhileTheApplicationStillHoldsTheConnection() {
        try (EngineHarness h = new EngineHarness(TasConfig.builder().set("tcp-time-wait", "2s"))) {
            ScriptedConnection sc = h.accept(80);
            sc.conn.shutdownOutput(); // half-close: the application still reads
            Segment fin = h.step().get(0);
            sc.engineSeq = ScriptedConnection.end(fin);
            sc.ack();
            h.advanceMillis(10_000);
            assertThat(sc.conn.state()).isEqualTo(TcpState.FIN_WAIT_2);
            sc.data(bytes(10));
            h.step();
            assertThat(sc.read(100)).hasSize(10);
        }
    }

    @Test
    void shouldStartDataWithAThreeSecondRtoAfterTheSynWasRetransmitted() {
        try (EngineHarness h = new EngineHarness()) {
            TasConnection c = h.connect(9000);
            Segment syn = h.step().get(0);
            List<Segment> again = h.advanceMillis(1000);
            assertThat(again).hasSize(1).allMatch(s -> s.has(Tcp.SYN));
            h.peer.send(9000, ENGINE_IP, syn.srcPort(), 500, syn.seq() + 1, Tcp.SYN | Tcp.ACK, 65535, new byte[0],
                Opts.syn(1460, -1, false, false, 0));
            h.step();
            assertThat(c.isActive()).isTrue();
            // RFC 6298 5.7: no RTT sample (Karn) and the SYN timed out once: RTO is 3 s.
            assertThat(c.flow().rtoNanos()).isEqualTo(3000 * MS);
        }
    }

    @Test
    void shouldTakeTheInitialRttFromTheHandshake() {
        try (EngineHarness h = new EngineHarness()) {
            TasConnection c = h.connect(9000);
            Segment syn = h.step().get(0);
            h.clock.advanceMillis(40);
            h.peer.send(9000, ENGINE_IP, syn.srcPort(), 500, syn.seq() + 1, Tcp.SYN | Tcp.ACK, 65535, new byte[0],
                Opts.syn(1460, -1, false, false, 0));
            h.step();
            assertThat(c.flow().srttNanos()).isEqualTo(40 * MS);
        }
    }

    @Test
    void shouldSendTimestampsInMilliseconds() {
        try (EngineHarness h = new EngineHarness()) {
            h.connect(9000);
            Segment first = h.step().get(0);
            List<Segment> second = h.advanceMillis(1000); // SYN retransmission
            assertThat(first.hasTimestamp()).isTrue();
            assertThat(second.get(0).tsVal() - first.tsVal()).isEqualTo(1000);
        }
    }

    @Test
    void shouldCapTheListenBacklogAtTcpBacklogMax() {
        try (EngineHarness h = new EngineHarness(TasConfig.builder().set("tcp-backlog-max", "2"))) {
            TasListener l = h.ctx.listen(new InetSocketAddress("10.0.0.1", 80), 1000);
            assertThat(l.backlog()).isEqualTo(2);
            for (int i = 0; i < 3; i++) {
                h.peer.send(40000 + i, ENGINE_IP, 80, 1000, 0, Tcp.SYN, 65535, new byte[0],
                    Opts.syn(1460, -1, false, false, 0));
            }
            assertThat(h.step()).as("two SYN-ACKs, and a SYN cookie for the third (RFC 4987)").hasSize(3);
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_SENT)).isEqualTo(1);
            assertThat(h.engine.flowCount()).as("the cookie kept no state").isEqualTo(2);
        }
    }

    @Test
    void shouldRefuseASynWithARstWhenTheFlowTableIsFull() {
        try (EngineHarness h = new EngineHarness(TasConfig.builder().set("tcp-max-flows", "2"))) {
            h.listen(80);
            for (int i = 0; i < 3; i++) {
                h.peer.send(40000 + i, ENGINE_IP, 80, 1000 * i, 0, Tcp.SYN, 65535, new byte[0],
                    Opts.syn(1460, -1, false, false, 0));
            }
            List<Segment> out = h.step();
            assertThat(out).extracting(Segment::flags)
                .as("two SYN-ACKs, and a refusal the client sees at once instead of retrying into a wall")
                .containsExactly(Tcp.SYN | Tcp.ACK, Tcp.SYN | Tcp.ACK, Tcp.RST | Tcp.ACK);
            assertThat(out.get(2).dstPort()).isEqualTo(40002);
            assertThat(out.get(2).ack()).as("RFC 9293 3.10.7.1: ACK = SEG.SEQ + 1").isEqualTo(2001);
            assertThat(h.engine.counter(TasCounter.CONN_FLOW_TABLE_FULL)).isEqualTo(1);
            assertThat(h.engine.flowLimit()).isEqualTo(2);
        }
    }

    @Test
    void shouldRefuseWithARstWhenRingMemoryIsExhaustedAtEstablishedAndAcceptAgainOnceOneIsFreed() {
        // 1 MiB of rings at 128 KiB rx + 128 KiB tx per connection: room for four.
        try (EngineHarness h = new EngineHarness(TasConfig.builder().set("shm-len", "1m")
                .set("tcp-rxbuf-len", "128k").set("tcp-txbuf-len", "128k"))) {
            h.listen(80);
            for (int i = 0; i < 5; i++) {
                h.peer.send(40000 + i, ENGINE_IP, 80, 1000 * i, 0, Tcp.SYN, 65535, new byte[0],
                    Opts.syn(1460, -1, false, false, 0));
            }
            List<Segment> out = h.step();
            assertThat(out).as("half-open connections hold no rings: all five are answered")
                .extracting(Segment::flags).containsOnly(Tcp.SYN | Tcp.ACK).hasSize(5);
            assertThat(h.engine.ringBytesInUse()).isZero();
            for (int i = 0; i < 5; i++) {
                Segment synAck = out.get(i);
                h.peer.send(synAck.dstPort(), ENGINE_IP, 80, 1000 * (synAck.dstPort() - 40000) + 1, synAck.seq() + 1,
                    Tcp.ACK, 65535, new byte[0], Opts.none());
            }
            List<Segment> refused = h.step();
            assertThat(refused).extracting(Segment::flags).containsExactly(Tcp.RST);
            assertThat(h.engine.counter(TasCounter.CONN_BUFFER_EXHAUSTED)).isEqualTo(1);
            assertThat(h.engine.counter(TasCounter.CONN_ESTABLISHED)).isEqualTo(4);
            assertThat(h.engine.ringBytesInUse()).isEqualTo(1 << 20);
            assertThat(h.engine.ringBytesLimit()).isEqualTo(1 << 20);

            // The application aborts one of them: its rings come back.
            h.ctx.accept(h.listenerFor(80)).abort();
            assertThat(h.step()).extracting(Segment::flags).containsExactly(Tcp.RST);
            assertThat(h.engine.ringBytesInUse()).isEqualTo(3 << 18);
            h.peer.send(40009, ENGINE_IP, 80, 9000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, -1, false, false, 0));
            List<Segment> again = h.step();
            assertThat(again).extracting(Segment::flags).containsExactly(Tcp.SYN | Tcp.ACK);
            h.peer.send(40009, ENGINE_IP, 80, 9001, again.get(0).seq() + 1, Tcp.ACK, 65535, new byte[0], Opts.none());
            assertThat(h.step()).isEmpty();
            assertThat(h.engine.counter(TasCounter.CONN_ESTABLISHED)).isEqualTo(5);
            assertThat(h.engine.counter(TasCounter.CONN_BUFFER_EXHAUSTED)).isEqualTo(1);
        }
    }

    /** The engine closes first: FIN, the peer's ACK and FIN, our ACK; the flow is then in TIME_WAIT or gone. */
    private static void closeFirst(EngineHarness h, ScriptedConnection sc) {
        sc.conn.close();
        Segment fin = h.step().get(0);
        assertThat(fin.has(Tcp.FIN)).isTrue();
        sc.engineSeq = ScriptedConnection.end(fin);
        sc.fin();
        assertThat(h.step()).hasSize(1);
    }

    @Test
    void shouldNotCountTimeWaitAgainstTcpMaxFlowsButCapItThere() {
        try (EngineHarness h = new EngineHarness(TasConfig.builder().set("tcp-max-flows", "1"))) {
            ScriptedConnection first = h.accept(80, 40000, 1000, Opts.syn(1460, -1, false, false, 0));
            closeFirst(h, first);
            assertThat(first.conn.state()).isEqualTo(TcpState.TIME_WAIT);

            // Linux refuses nobody for the sake of TIME_WAIT: a new client still gets in.
            ScriptedConnection second = h.accept(80, 40001, 5000, Opts.syn(1460, -1, false, false, 0));
            assertThat(h.engine.counter(TasCounter.CONN_FLOW_TABLE_FULL)).isZero();

            // With every TIME_WAIT place taken, the next active closer ends at once.
            closeFirst(h, second);
            assertThat(second.conn.state()).isEqualTo(TcpState.CLOSED);
            assertThat(h.engine.counter(TasCounter.CONN_TIME_WAIT_OVERFLOW)).isEqualTo(1);
            h.step();
            assertThat(h.engine.flowCount()).as("only the first one's TIME_WAIT is left").isEqualTo(1);
        }
    }

    @Test
    void shouldRateLimitChallengeAcksPerConnectionNotAcrossConnections() {
        try (EngineHarness h = new EngineHarness()) {
            ScriptedConnection sc = h.accept(80);
            ScriptedConnection other = h.accept(80, 40001, 5000, Opts.syn(1460, -1, true, false, 0));
            int sent = 0;
            for (int i = 0; i < 1500; i++) {
                // In the window but not at RCV.NXT: a challenge ACK (RFC 5961 3.2), one per 500 ms.
                sc.sendAt(sc.peerSeq + 10, sc.engineSeq, Tcp.RST, 65535, new byte[0], null);
                sent += h.step().size();
            }
            assertThat(sent).isEqualTo(1);
            assertThat(h.engine.counter(TasCounter.TCP_CHALLENGE_ACKS)).isEqualTo(1500);
            assertThat(h.engine.counter(TasCounter.TCP_CHALLENGE_ACKS_LIMITED)).isEqualTo(1499);
            assertThat(sc.conn.isActive()).isTrue();
            // CVE-2016-5696: the flood on one connection must not use up another's challenge ACK,
            // or an off-path attacker could count them to learn about the other connection.
            other.sendAt(other.peerSeq + 10, other.engineSeq, Tcp.RST, 65535, new byte[0], null);
            assertThat(h.step()).as("the other connection is still challenged").hasSize(1);
            h.advanceMillis(501);
            sc.sendAt(sc.peerSeq + 10, sc.engineSeq, Tcp.RST, 65535, new byte[0], null);
            assertThat(h.step()).as("half a second later, a new one").hasSize(1);
        }
    }
}
