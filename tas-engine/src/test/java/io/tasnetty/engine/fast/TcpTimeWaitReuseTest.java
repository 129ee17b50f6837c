package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.flow.TasSeq;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * TIME_WAIT reuse (RFC 6191, RFC 1122 4.2.2.13): after the engine closed first, a client that
 * reconnects from the same port gets a new connection at once when its SYN cannot be an old
 * duplicate (a newer timestamp, or without timestamps a sequence number beyond the old RCV.NXT);
 * anything else is still answered as TIME_WAIT answers (RFC 9293 3.10.7.4: an ACK).
 */
class TcpTimeWaitReuseTest {
    private static final int PEER_PORT = 40000;

    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate")
        .set("tcp-time-wait", "60s"));

    @AfterEach
    void close() {
        h.close();
    }

    /** The engine closes first and ends in TIME_WAIT; returns the engine's final SND.NXT. */
    private int closeFirst(ScriptedConnection sc, Opts o) {
        sc.conn.close();
        Segment fin = h.step().get(0);
        assertThat(fin.has(Tcp.FIN)).isTrue();
        sc.engineSeq = ScriptedConnection.end(fin);
        sc.send(Tcp.ACK | Tcp.FIN, new byte[0], o);
        List<Segment> ack = h.step();
        assertThat(ack).hasSize(1);
        assertThat(sc.conn.state()).isEqualTo(TcpState.TIME_WAIT);
        return sc.engineSeq;
    }

    private List<Segment> syn(int seq, Opts o) {
        h.peer.send(PEER_PORT, ENGINE_IP, 80, seq, 0, Tcp.SYN, 65535, new byte[0], o);
        return h.step();
    }

    @Test
    void aSynBeyondTheOldReceiveSequenceOpensANewConnectionAtOnce() {
        ScriptedConnection sc = h.accept(80);
        int oldSndNxt = closeFirst(sc, null);

        List<Segment> out = syn(sc.peerSeq + 100_000, Opts.syn(1460, -1, true, false, 0));

        assertThat(out).hasSize(1);
        Segment synAck = out.get(0);
        assertThat(synAck.flags()).isEqualTo(Tcp.SYN | Tcp.ACK);
        assertThat(synAck.ack()).isEqualTo(sc.peerSeq + 100_001);
        assertThat(TasSeq.gt(synAck.seq(), oldSndNxt + 65535))
            .as("the new ISS lies beyond the old connection's sequence space").isTrue();
        assertThat(h.engine.counter(TasCounter.CONN_TIME_WAIT_REUSED)).isEqualTo(1);

        h.peer.send(PEER_PORT, ENGINE_IP, 80, sc.peerSeq + 100_001, synAck.seq() + 1, Tcp.ACK, 65535, new byte[0],
            null);
        assertThat(h.step()).isEmpty();
        TasConnection again = h.ctx.accept(h.listenerFor(80));
        assertThat(again).isNotNull();
        assertThat(again.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(again.remoteAddress().getPort()).isEqualTo(PEER_PORT);
    }

    @Test
    void aSynThatCouldBeAnOldDuplicateIsAnsweredWithTheTimeWaitAck() {
        ScriptedConnection sc = h.accept(80);
        closeFirst(sc, null);

        List<Segment> out = syn(sc.peerSeq - 10, Opts.syn(1460, -1, true, false, 0));

        assertThat(out).hasSize(1);
        assertThat(out.get(0).flags()).isEqualTo(Tcp.ACK);
        assertThat(out.get(0).ack()).isEqualTo(sc.peerSeq);
        assertThat(sc.conn.state()).isEqualTo(TcpState.TIME_WAIT);
        assertThat(h.engine.counter(TasCounter.CONN_TIME_WAIT_REUSED)).isZero();
    }

    @Test
    void withTimestampsANewerTsValOpensANewConnectionWhateverItsSequenceNumber() {
        ScriptedConnection sc = h.accept(80, PEER_PORT, 1000, Opts.syn(1460, -1, true, true, 100));
        closeFirst(sc, Opts.none().timestamps(200, 0));

        // Linux picks a fresh ISN for the new connection: it may lie anywhere, even behind.
        List<Segment> out = syn(sc.peerSeq - 50_000, Opts.syn(1460, -1, true, true, 300));

        assertThat(out).extracting(Segment::flags).containsExactly(Tcp.SYN | Tcp.ACK);
        assertThat(out.get(0).tsEcr()).isEqualTo(300);
        assertThat(h.engine.counter(TasCounter.CONN_TIME_WAIT_REUSED)).isEqualTo(1);
    }

    @Test
    void withTimestampsAnOlderTsValIsRefusedByPawsEvenBeyondTheOldSequence() {
        ScriptedConnection sc = h.accept(80, PEER_PORT, 1000, Opts.syn(1460, -1, true, true, 100));
        closeFirst(sc, Opts.none().timestamps(200, 0));

        List<Segment> out = syn(sc.peerSeq + 100_000, Opts.syn(1460, -1, true, true, 150));

        assertThat(out).extracting(Segment::flags).containsExactly(Tcp.ACK);
        assertThat(sc.conn.state()).isEqualTo(TcpState.TIME_WAIT);
        assertThat(h.engine.counter(TasCounter.CONN_TIME_WAIT_REUSED)).isZero();
    }
}
