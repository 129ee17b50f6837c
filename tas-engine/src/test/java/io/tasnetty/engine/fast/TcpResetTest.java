package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasException;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * RST in every state (RFC 9293 3.10.7, RFC 5961 3): which resets are believed, which get a
 * challenge ACK, which are ignored, and the RSTs the engine sends itself.
 */
class TcpResetTest {
    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate")
        .set("tcp-time-wait", "2s"));

    @AfterEach
    void close() {
        h.close();
    }

    private void rst(ScriptedConnection sc, int seq) {
        sc.sendAt(seq, 0, Tcp.RST, 0, new byte[0], null);
    }

    /**
     * The peer resets with exactly RCV.NXT: the connection ends and the engine forgets it; its
     * rings are freed once the application closes it too.
     */
    private void expectResetBelieved(ScriptedConnection sc) {
        h.takeEvents(sc.conn);
        rst(sc, sc.peerSeq);
        assertThat(h.step()).as("a RST is never answered").isEmpty();
        assertThat(sc.conn.state()).isEqualTo(TcpState.CLOSED);
        assertThat(h.engine.counter(TasCounter.CONN_RESETS_RECEIVED)).isEqualTo(1);
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
        sc.conn.close();
        assertThat(h.step()).as("closing a reset connection sends nothing").isEmpty();
        assertThat(h.engine.ringBytesInUse()).isZero();
    }

    // ---------------------------------------------------------------- SYN-SENT

    @Test
    void shouldIgnoreRstWithoutAckInSynSent() {
        // RFC 9293 3.10.7.3: in SYN-SENT a RST is acceptable only with an acceptable ACK.
        TasConnection c = h.connect(9000);
        Segment syn = h.step().get(0);
        h.peer.send(9000, ENGINE_IP, syn.srcPort(), 0, 0, Tcp.RST, 0, new byte[0], null);
        assertThat(h.step()).isEmpty();
        assertThat(c.state()).isEqualTo(TcpState.SYN_SENT);
        assertThat(h.takeEvents(c)).isZero();
        assertThat(h.engine.counter(TasCounter.DROP_RST_INVALID)).isEqualTo(1);
    }

    @Test
    void shouldIgnoreRstWithUnacceptableAckInSynSent() {
        TasConnection c = h.connect(9000);
        Segment syn = h.step().get(0);
        h.peer.send(9000, ENGINE_IP, syn.srcPort(), 0, syn.seq() + 2, Tcp.RST | Tcp.ACK, 0, new byte[0], null);
        assertThat(h.step()).as("no RST in reply to a RST").isEmpty();
        assertThat(c.state()).isEqualTo(TcpState.SYN_SENT);
        assertThat(h.takeEvents(c)).isZero();
    }

    @Test
    void shouldRefuseConnectionOnRstWithAcceptableAckInSynSent() {
        TasConnection c = h.connect(9000);
        Segment syn = h.step().get(0);
        h.peer.send(9000, ENGINE_IP, syn.srcPort(), 0, syn.seq() + 1, Tcp.RST | Tcp.ACK, 0, new byte[0], null);
        assertThat(h.step()).isEmpty();
        assertThat(h.takeEvents(c) & TasEvents.CONNECT_FAILED).isNotZero();
        assertThat(c.error()).isEqualTo(TasError.REFUSED);
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
    }

    @Test
    void shouldAnswerSynAckWithBadAckWithRstInSynSent() {
        // RFC 9293 3.10.7.3: unacceptable ACK (not ISS < SEG.ACK <= SND.NXT): <SEQ=SEG.ACK><CTL=RST>.
        TasConnection c = h.connect(9000);
        Segment syn = h.step().get(0);
        h.peer.send(9000, ENGINE_IP, syn.srcPort(), 3000, syn.seq() + 7, Tcp.SYN | Tcp.ACK, 65535, new byte[0],
            Opts.syn(1460, -1, false, false, 0));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).flags()).isEqualTo(Tcp.RST);
        assertThat(out.get(0).seq()).isEqualTo(syn.seq() + 7);
        assertThat(c.state()).isEqualTo(TcpState.SYN_SENT);
    }

    // ---------------------------------------------------------------- SYN-RECEIVED

    @Test
    void shouldForgetHalfOpenConnectionOnRstInSynRcvd() {
        TasListener l = h.ctx.listen(new InetSocketAddress(EngineHarness.addr(ENGINE_IP), 80), 1);
        h.peer.send(40000, ENGINE_IP, 80, 1000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, -1, false, false, 0));
        h.step();
        h.peer.send(40000, ENGINE_IP, 80, 1001, 0, Tcp.RST, 0, new byte[0], null);
        assertThat(h.step()).isEmpty();
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
        assertThat(h.engine.ringBytesInUse()).isZero();
        assertThat(h.ctx.accept(l)).isNull();
        // Back to LISTEN, with its backlog slot (backlog 1).
        h.peer.send(40001, ENGINE_IP, 80, 5000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, -1, false, false, 0));
        assertThat(h.step()).extracting(Segment::flags).containsExactly(Tcp.SYN | Tcp.ACK);
    }

    @Test
    void shouldIgnoreOutOfWindowRstInSynRcvd() {
        h.listen(80);
        h.peer.send(40000, ENGINE_IP, 80, 1000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, -1, false, false, 0));
        Segment synAck = h.step().get(0);
        h.peer.send(40000, ENGINE_IP, 80, 1001 + 1_000_000, 0, Tcp.RST, 0, new byte[0], null);
        assertThat(h.step()).isEmpty();
        assertThat(h.engine.flowCount()).isEqualTo(1);
        h.peer.send(40000, ENGINE_IP, 80, 1001, synAck.seq() + 1, Tcp.ACK, 65535, new byte[0], null);
        h.step();
        assertThat(h.ctx.accept(h.listenerFor(80))).isNotNull();
    }

    // ---------------------------------------------------------------- ESTABLISHED

    @Test
    void shouldResetOnRstWithExactlyTheExpectedSequenceNumber() {
        ScriptedConnection sc = h.accept(80);
        sc.write(bytes(100)); // something unacknowledged, to see that it is dropped too
        h.step();
        rst(sc, sc.peerSeq);
        assertThat(h.step()).isEmpty();
        assertThat(h.takeEvents(sc.conn) & (TasEvents.RESET | TasEvents.CLOSED))
            .isEqualTo(TasEvents.RESET | TasEvents.CLOSED);
        assertThat(sc.conn.error()).isEqualTo(TasError.RESET);
        assertThat(sc.conn.isActive()).isFalse();
        assertThatThrownBy(() -> sc.conn.write(ByteBuffer.wrap(bytes(1)))).isInstanceOf(TasException.class);
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
        assertThat(h.advanceMillis(5000)).as("no retransmission of the dropped data").isEmpty();
    }

    @Test
    void shouldSendChallengeAckForInWindowRstThatIsNotExact() {
        // RFC 5961 3.2: an in-window RST that does not match RCV.NXT exactly gets a challenge ACK.
        ScriptedConnection sc = h.accept(80);
        rst(sc, sc.peerSeq + 1000);
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).flags()).isEqualTo(Tcp.ACK);
        assertThat(out.get(0).ack()).isEqualTo(sc.peerSeq);
        assertThat(out.get(0).seq()).isEqualTo(sc.engineSeq);
        assertThat(sc.conn.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(h.takeEvents(sc.conn) & TasEvents.RESET).isZero();
        assertThat(h.engine.counter(TasCounter.TCP_CHALLENGE_ACKS)).isEqualTo(1);
        // The real peer answers the challenge with the exact RST: now it is believed.
        rst(sc, sc.peerSeq);
        h.step();
        assertThat(sc.conn.error()).isEqualTo(TasError.RESET);
    }

    @Test
    void shouldIgnoreRstOutsideTheWindow() {
        ScriptedConnection sc = h.accept(80);
        rst(sc, sc.peerSeq + 10_000_000);
        rst(sc, sc.peerSeq - 1);
        assertThat(h.step()).isEmpty();
        assertThat(sc.conn.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(h.engine.counter(TasCounter.DROP_RST_INVALID)).isEqualTo(2);
        sc.data(bytes(5));
        assertThat(h.step()).extracting(Segment::ack).containsExactly(sc.peerSeq);
    }

    @Test
    void shouldAnswerSynInEstablishedWithChallengeAck() {
        // RFC 5961 4.2 (RFC 9293 3.10.7.4 step 4).
        ScriptedConnection sc = h.accept(80);
        sc.sendAt(sc.peerSeq + 5, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, -1, false, false, 0));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).flags()).isEqualTo(Tcp.ACK);
        assertThat(out.get(0).ack()).isEqualTo(sc.peerSeq);
        assertThat(sc.conn.state()).isEqualTo(TcpState.ESTABLISHED);
    }

    // ---------------------------------------------------------------- closing states

    @Test
    void shouldResetInFinWait1() {
        ScriptedConnection sc = h.accept(80);
        sc.conn.shutdownOutput();
        h.step();
        assertThat(sc.conn.state()).isEqualTo(TcpState.FIN_WAIT_1);
        expectResetBelieved(sc);
    }

    @Test
    void shouldResetInFinWait2() {
        ScriptedConnection sc = h.accept(80);
        sc.conn.shutdownOutput();
        Segment fin = h.step().get(0);
        sc.ack(ScriptedConnection.end(fin));
        h.step();
        assertThat(sc.conn.state()).isEqualTo(TcpState.FIN_WAIT_2);
        expectResetBelieved(sc);
        assertThat(sc.conn.error()).isEqualTo(TasError.RESET);
    }

    @Test
    void shouldResetInCloseWait() {
        ScriptedConnection sc = h.accept(80);
        sc.fin();
        h.step();
        assertThat(sc.conn.state()).isEqualTo(TcpState.CLOSE_WAIT);
        expectResetBelieved(sc);
        assertThat(sc.conn.error()).isEqualTo(TasError.RESET);
    }

    @Test
    void shouldCloseOnRstInLastAck() {
        ScriptedConnection sc = h.accept(80);
        sc.fin();
        h.step();
        sc.conn.close();
        h.step();
        assertThat(sc.conn.state()).isEqualTo(TcpState.LAST_ACK);
        expectResetBelieved(sc);
        assertThat(h.advanceMillis(5000)).as("no FIN retransmission after the RST").isEmpty();
    }

    @Test
    void shouldIgnoreEvenAnExactRstInTimeWait() {
        // RFC 1337 (TIME-WAIT assassination hazards): a RST must not cut TIME_WAIT short.
        ScriptedConnection sc = h.accept(80);
        sc.conn.close();
        Segment fin = h.step().get(0);
        sc.ack(ScriptedConnection.end(fin));
        sc.fin();
        long t0 = h.now();
        h.step();
        assertThat(sc.conn.state()).isEqualTo(TcpState.TIME_WAIT);
        rst(sc, sc.peerSeq);
        assertThat(h.step()).isEmpty();
        assertThat(sc.conn.state()).isEqualTo(TcpState.TIME_WAIT);
        assertThat(h.engine.flowCount()).isEqualTo(1);
        // It still ends on time.
        h.advanceTo(t0 + 2_000_000_000L);
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
    }

    @Test
    void shouldIgnoreInexactRstInTimeWait() {
        ScriptedConnection sc = h.accept(80);
        sc.conn.close();
        Segment fin = h.step().get(0);
        sc.ack(ScriptedConnection.end(fin));
        sc.fin();
        h.step();
        rst(sc, sc.peerSeq + 100);
        h.step();
        assertThat(sc.conn.state()).isEqualTo(TcpState.TIME_WAIT);
        assertThat(h.engine.flowCount()).isEqualTo(1);
    }

    // ---------------------------------------------------------------- RSTs we send

    @Test
    void shouldSendRstWhenClosingWithUnreadData() {
        // RFC 9293 3.10.4 / RFC 2525 2.17: data that will never be read is announced as lost.
        ScriptedConnection sc = h.accept(80);
        sc.data(bytes(10));
        h.step();
        sc.conn.close();
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).has(Tcp.RST)).isTrue();
        assertThat(out.get(0).has(Tcp.FIN)).isFalse();
        assertThat(out.get(0).seq()).isEqualTo(sc.engineSeq);
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
        assertThat(h.engine.ringBytesInUse()).isZero();
    }

    @Test
    void shouldSendFinNotRstWhenClosingWithEverythingRead() {
        ScriptedConnection sc = h.accept(80);
        sc.data(bytes(10));
        h.step();
        sc.read(100);
        sc.conn.close();
        List<Segment> out = h.step();
        assertThat(out).extracting(Segment::flags).containsExactly(Tcp.FIN | Tcp.ACK);
    }

    @Test
    void shouldSendRstWhenDataArrivesAfterTheApplicationClosed() {
        ScriptedConnection sc = h.accept(80);
        sc.conn.close();
        Segment fin = h.step().get(0);
        sc.ack(ScriptedConnection.end(fin));
        h.step();
        assertThat(sc.conn.state()).isEqualTo(TcpState.FIN_WAIT_2);
        sc.data(bytes(10));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).has(Tcp.RST)).isTrue();
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
    }

    @Test
    void shouldSendRstOnAbort() {
        ScriptedConnection sc = h.accept(80);
        sc.write(bytes(100));
        h.step();
        sc.conn.abort();
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).flags() & Tcp.RST).isNotZero();
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
    }
}
