package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.TcpTestPeer;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static org.assertj.core.api.Assertions.assertThat;

/** Both sides of the three-way handshake (RFC 9293 3.5), scripted on a manual clock. */
class TcpHandshakeTest {
    private final EngineHarness h = new EngineHarness();

    @AfterEach
    void close() {
        h.close();
    }

    @Test
    void shouldAnswerSynWithSynAckAtOnceAndQueueConnectionForAccept() {
        TasListener l = h.listen(80);
        h.peer.send(40000, ENGINE_IP, 80, 1000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, 7, true, true, 555));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        Segment synAck = out.get(0);
        assertThat(synAck.flags()).isEqualTo(Tcp.SYN | Tcp.ACK);
        assertThat(synAck.ack()).isEqualTo(1001);
        assertThat(synAck.mss()).isEqualTo(1460);
        assertThat(synAck.windowScale()).isGreaterThanOrEqualTo(0);
        assertThat(synAck.sackPermitted()).isTrue();
        assertThat(synAck.hasTimestamp()).isTrue();
        assertThat(synAck.tsEcr()).isEqualTo(555);
        assertThat(synAck.checksumOk()).isTrue();
        assertThat(h.ctx.accept(l)).as("not established before the final ACK").isNull();

        h.peer.send(40000, ENGINE_IP, 80, 1001, synAck.seq() + 1, Tcp.ACK, 512, new byte[0],
            Opts.none().timestamps(556, synAck.tsVal()));
        assertThat(h.step()).isEmpty();
        assertThat(h.takeEvents(l) & TasEvents.ACCEPTABLE).isNotZero();
        TasConnection c = h.ctx.accept(l);
        assertThat(c).isNotNull();
        assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(c.remoteAddress().getPort()).isEqualTo(40000);
    }

    @Test
    void shouldConnectResolveArpAndCompleteActiveOpen() {
        TasConnection c = h.connect(9000);
        List<Segment> out = h.step();
        assertThat(out).as("ARP answered by the peer, then the SYN").hasSize(1);
        Segment syn = out.get(0);
        assertThat(syn.flags() & (Tcp.SYN | Tcp.ACK)).isEqualTo(Tcp.SYN);
        assertThat(syn.mss()).isEqualTo(1460);
        h.peer.send(9000, ENGINE_IP, syn.srcPort(), 777, syn.seq() + 1, Tcp.SYN | Tcp.ACK, 65535, new byte[0],
            Opts.syn(1400, 2, false, false, 0));
        out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).flags()).isEqualTo(Tcp.ACK);
        assertThat(out.get(0).ack()).isEqualTo(778);
        assertThat(h.takeEvents(c) & TasEvents.CONNECTED).isNotZero();
        assertThat(c.isActive()).isTrue();
        assertThat(c.flow().mss()).isEqualTo(1400);
        assertThat(c.flow().tsOn()).as("peer sent no timestamps").isFalse();
    }

    @Test
    void shouldReportRefusedWhenSynIsAnsweredWithRst() {
        TasConnection c = h.connect(9001);
        Segment syn = h.step().get(0);
        h.peer.send(9001, ENGINE_IP, syn.srcPort(), 0, syn.seq() + 1, Tcp.RST | Tcp.ACK, 0, new byte[0], null);
        h.step();
        assertThat(h.takeEvents(c) & TasEvents.CONNECT_FAILED).isNotZero();
        assertThat(c.error()).isEqualTo(TasError.REFUSED);
        assertThat(h.engine.counter(TasCounter.CONN_REFUSED)).isEqualTo(1);
    }

    @Test
    void shouldExchangeDataAndCloseBothWays() {
        TasListener l = h.listen(80);
        h.peer.send(40000, ENGINE_IP, 80, 1000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, -1, false, false, 0));
        Segment synAck = h.step().get(0);
        int iss = synAck.seq();
        h.peer.send(40000, ENGINE_IP, 80, 1001, iss + 1, Tcp.ACK, 65535, new byte[0], null);
        h.step();
        TasConnection c = h.ctx.accept(l);
        byte[] hello = "hello".getBytes(StandardCharsets.US_ASCII);
        h.peer.send(40000, ENGINE_IP, 80, 1001, iss + 1, Tcp.ACK | Tcp.PSH, 65535, hello, null);
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(1006);
        ByteBuffer buf = ByteBuffer.allocate(100);
        assertThat(c.read(buf)).isEqualTo(5);
        c.write(ByteBuffer.wrap("world!".getBytes(StandardCharsets.US_ASCII)));
        c.flush();
        out = h.step();
        assertThat(out).hasSize(1);
        assertThat(new String(out.get(0).payload(), StandardCharsets.US_ASCII)).isEqualTo("world!");
        assertThat(out.get(0).seq()).isEqualTo(iss + 1);
        // Peer closes; we see EOF after the data; then we close.
        h.peer.send(40000, ENGINE_IP, 80, 1006, iss + 7, Tcp.ACK | Tcp.FIN, 65535, new byte[0], null);
        out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(1007);
        assertThat(c.state()).isEqualTo(TcpState.CLOSE_WAIT);
        buf.clear();
        assertThat(c.read(buf)).isEqualTo(-1);
        c.close();
        out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).has(Tcp.FIN)).isTrue();
        assertThat(c.state()).isEqualTo(TcpState.LAST_ACK);
        h.peer.send(40000, ENGINE_IP, 80, 1007, iss + 8, Tcp.ACK, 65535, new byte[0], null);
        h.step();
        assertThat(c.state()).isEqualTo(TcpState.CLOSED);
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
        assertThat(h.engine.ringBytesInUse()).isZero();
    }
}
