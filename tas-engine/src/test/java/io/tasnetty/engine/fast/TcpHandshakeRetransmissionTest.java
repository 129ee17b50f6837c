package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The handshake when segments are lost or unexpected (RFC 9293 3.5, 3.10.7; RFC 6298 5.5):
 * SYN and SYN-ACK retransmission with a doubling timeout and a retry limit, duplicate SYNs, a full
 * listen backlog and SYNs to ports nobody listens on.
 */
class TcpHandshakeRetransmissionTest {
    private static final long MS = 1_000_000L;

    private final EngineHarness h = new EngineHarness(TasConfig.builder()
        .set("tcp-handshake-timeout", "1s").set("tcp-handshake-retries", "3"));

    @AfterEach
    void close() {
        h.close();
    }

    /** Runs the engine at each millisecond until {@code until}; fails if anything is sent. */
    private void expectSilenceUntil(long until) {
        while (h.now() + MS < until) {
            List<Segment> out = h.advanceMillis(1);
            assertThat(out).as("nothing before %d ms", (until - h.now()) / MS).isEmpty();
        }
    }

    @Test
    void shouldRetransmitSynWithDoublingTimeoutAndGiveUpAfterHandshakeRetries() {
        TasConnection c = h.connect(9000);
        long t0 = h.now();
        Segment syn = h.step().get(0);
        assertThat(syn.flags() & (Tcp.SYN | Tcp.ACK)).isEqualTo(Tcp.SYN);
        // RFC 6298 5.5: 1 s, then 2 s, then 4 s between the copies; three retries.
        long[] at = {t0 + 1000 * MS, t0 + 3000 * MS, t0 + 7000 * MS};
        for (long t : at) {
            expectSilenceUntil(t);
            List<Segment> out = h.advanceTo(t);
            assertThat(out).as("SYN retransmitted at %d ms", (t - t0) / MS).hasSize(1);
            assertThat(out.get(0).has(Tcp.SYN)).isTrue();
            assertThat(out.get(0).seq()).as("the same ISS every time").isEqualTo(syn.seq());
            assertThat(out.get(0).mss()).isEqualTo(syn.mss());
        }
        assertThat(c.state()).isEqualTo(TcpState.SYN_SENT);
        expectSilenceUntil(t0 + 15000 * MS);
        assertThat(h.takeEvents(c)).as("no verdict before the last timeout").isZero();
        List<Segment> out = h.advanceTo(t0 + 15000 * MS);
        assertThat(out).as("no fourth retransmission, and no RST for a connection never established").isEmpty();
        assertThat(h.takeEvents(c) & TasEvents.CONNECT_FAILED).isNotZero();
        assertThat(c.error()).isEqualTo(TasError.TIMED_OUT);
        assertThat(h.engine.counter(TasCounter.CONN_TIMEOUT)).isEqualTo(1);
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
    }

    @Test
    void shouldCompleteActiveOpenWhenSynAckAnswersRetransmittedSyn() {
        TasConnection c = h.connect(9000);
        Segment syn = h.step().get(0);
        assertThat(h.advanceMillis(1000)).hasSize(1);
        h.peer.send(9000, ENGINE_IP, syn.srcPort(), 5000, syn.seq() + 1, Tcp.SYN | Tcp.ACK, 65535, new byte[0],
            Opts.syn(1460, -1, false, false, 0));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).flags()).isEqualTo(Tcp.ACK);
        assertThat(out.get(0).ack()).isEqualTo(5001);
        assertThat(h.takeEvents(c) & TasEvents.CONNECTED).isNotZero();
        // The handshake timer is off: no more SYNs.
        assertThat(h.advanceMillis(20_000)).isEmpty();
    }

    @Test
    void shouldRetransmitSynAckWithDoublingTimeoutThenForgetTheHalfOpenConnection() {
        TasListener l = h.ctx.listen(new InetSocketAddress(EngineHarness.addr(ENGINE_IP), 80), 1);
        h.peer.send(40000, ENGINE_IP, 80, 1000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, -1, false, false, 0));
        long t0 = h.now();
        Segment synAck = h.step().get(0);
        assertThat(synAck.flags()).isEqualTo(Tcp.SYN | Tcp.ACK);
        long[] at = {t0 + 1000 * MS, t0 + 3000 * MS, t0 + 7000 * MS};
        for (long t : at) {
            expectSilenceUntil(t);
            List<Segment> out = h.advanceTo(t);
            assertThat(out).as("SYN-ACK retransmitted at %d ms", (t - t0) / MS).hasSize(1);
            assertThat(out.get(0).flags()).isEqualTo(Tcp.SYN | Tcp.ACK);
            assertThat(out.get(0).seq()).isEqualTo(synAck.seq());
            assertThat(out.get(0).ack()).isEqualTo(1001);
        }
        expectSilenceUntil(t0 + 15000 * MS);
        assertThat(h.engine.flowCount()).isEqualTo(1);
        assertThat(h.advanceTo(t0 + 15000 * MS)).as("given up silently").isEmpty();
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
        assertThat(h.engine.ringBytesInUse()).isZero();
        assertThat(h.ctx.accept(l)).isNull();
        // The backlog slot (backlog 1) came back: a new SYN is answered.
        h.peer.send(40001, ENGINE_IP, 80, 2000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, -1, false, false, 0));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).flags()).isEqualTo(Tcp.SYN | Tcp.ACK);
        assertThat(out.get(0).ack()).isEqualTo(2001);
    }

    @Test
    void shouldAnswerDuplicateSynInSynRcvdWithTheSameSynAck() {
        h.listen(80);
        h.peer.send(40000, ENGINE_IP, 80, 1000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, -1, false, false, 0));
        Segment synAck = h.step().get(0);
        h.clock.advanceMillis(300);
        // The peer did not get our SYN-ACK and retransmits its SYN.
        h.peer.send(40000, ENGINE_IP, 80, 1000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, -1, false, false, 0));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).flags()).as("a SYN-ACK, which a peer in SYN-SENT can use (a bare ACK it drops)")
            .isEqualTo(Tcp.SYN | Tcp.ACK);
        assertThat(out.get(0).seq()).isEqualTo(synAck.seq());
        assertThat(out.get(0).ack()).isEqualTo(1001);
        assertThat(h.engine.flowCount()).as("no second flow for the same tuple").isEqualTo(1);
        // The handshake still completes.
        h.peer.send(40000, ENGINE_IP, 80, 1001, synAck.seq() + 1, Tcp.ACK, 65535, new byte[0], null);
        assertThat(h.step()).isEmpty();
        assertThat(h.ctx.accept(h.listenerFor(80))).isNotNull();
    }

    @Test
    void shouldAnswerWithACookieAndNoFlowWhenListenBacklogIsFull() {
        TasListener l = h.ctx.listen(new InetSocketAddress(EngineHarness.addr(ENGINE_IP), 80), 1);
        Opts o = Opts.syn(1460, -1, false, false, 0);
        h.peer.send(40000, ENGINE_IP, 80, 1000, 0, Tcp.SYN, 65535, new byte[0], o);
        Segment synAck = h.step().get(0);
        h.peer.send(40001, ENGINE_IP, 80, 7000, 0, Tcp.SYN, 65535, new byte[0], o);
        assertThat(h.step()).as("second SYN: a SYN cookie (RFC 4987)").extracting(Segment::flags)
            .containsExactly(Tcp.SYN | Tcp.ACK);
        assertThat(h.engine.counter(TasCounter.SYN_COOKIES_SENT)).isEqualTo(1);
        assertThat(h.engine.flowCount()).as("and no state for it").isEqualTo(1);
        // Established but not yet accepted still holds the slot.
        h.peer.send(40000, ENGINE_IP, 80, 1001, synAck.seq() + 1, Tcp.ACK, 65535, new byte[0], null);
        h.step();
        h.peer.send(40001, ENGINE_IP, 80, 7000, 0, Tcp.SYN, 65535, new byte[0], o);
        assertThat(h.step()).as("the accept queue is full: no cookie either, as Linux").isEmpty();
        assertThat(h.engine.counter(TasCounter.CONN_BACKLOG_FULL)).isEqualTo(1);
        assertThat(h.engine.flowCount()).isEqualTo(1);
        // Accepting frees it: the peer's next retransmitted SYN gets a connection of its own.
        assertThat(h.ctx.accept(l)).isNotNull();
        h.peer.send(40001, ENGINE_IP, 80, 7000, 0, Tcp.SYN, 65535, new byte[0], o);
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).flags()).isEqualTo(Tcp.SYN | Tcp.ACK);
        assertThat(out.get(0).ack()).isEqualTo(7001);
        assertThat(out.get(0).dstPort()).isEqualTo(40001);
        assertThat(h.engine.counter(TasCounter.SYN_COOKIES_SENT)).isEqualTo(1);
        assertThat(h.engine.flowCount()).isEqualTo(2);
    }

    @Test
    void shouldAnswerSynToClosedPortWithRstAcknowledgingSynPlusOne() {
        h.peer.send(40000, ENGINE_IP, 81, 0x12345678, 0, Tcp.SYN, 65535, new byte[0],
            Opts.syn(1460, -1, false, false, 0));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        Segment rst = out.get(0);
        // RFC 9293 3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, the SYN counting one.
        assertThat(rst.flags()).isEqualTo(Tcp.RST | Tcp.ACK);
        assertThat(rst.seq()).isZero();
        assertThat(rst.ack()).isEqualTo(0x12345679);
        assertThat(rst.srcPort()).isEqualTo(81);
        assertThat(rst.dstPort()).isEqualTo(40000);
        assertThat(rst.checksumOk()).isTrue();
        assertThat(h.engine.counter(TasCounter.CONN_NO_LISTENER)).isEqualTo(1);
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
    }

    @Test
    void shouldAnswerAckToNoConnectionWithRstAtTheAcknowledgedSequence() {
        h.peer.send(40000, ENGINE_IP, 81, 500, 0xCAFEBABE, Tcp.ACK, 65535, bytes(20),
            null);
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        // RFC 9293 3.10.7.1: with ACK, <SEQ=SEG.ACK><CTL=RST>.
        assertThat(out.get(0).flags()).isEqualTo(Tcp.RST);
        assertThat(out.get(0).seq()).isEqualTo(0xCAFEBABE);
        // And a RST to no connection is never answered.
        h.peer.send(40000, ENGINE_IP, 81, 500, 0, Tcp.RST, 0, new byte[0], null);
        assertThat(h.step()).isEmpty();
    }

    @Test
    void shouldStopHandshakeTimerOnceEstablishedPassively() {
        ScriptedConnection sc = h.accept(80);
        assertThat(sc.conn.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(h.advanceMillis(30_000)).as("no SYN-ACK retransmission after the ACK").isEmpty();
    }

    @Test
    void shouldReacknowledgeARetransmittedSynAckOnceEstablished() {
        // Our ACK of the SYN-ACK was lost; the peer's copy is old (before RCV.NXT) and gets an ACK
        // (RFC 9293 3.10.7.4 step 1), which completes the peer's side.
        ScriptedConnection sc = h.open(9000, 5000, 65535, Opts.syn(1460, -1, false, false, 0));
        h.peer.send(9000, ENGINE_IP, sc.enginePort, 5000, sc.engineIss + 1, Tcp.SYN | Tcp.ACK, 65535, new byte[0],
            Opts.syn(1460, -1, false, false, 0));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).flags()).isEqualTo(Tcp.ACK);
        assertThat(out.get(0).ack()).isEqualTo(5001);
        assertThat(out.get(0).seq()).isEqualTo(sc.engineIss + 1);
        assertThat(sc.conn.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(h.takeEvents(sc.conn) & TasEvents.RESET).isZero();
    }
}
