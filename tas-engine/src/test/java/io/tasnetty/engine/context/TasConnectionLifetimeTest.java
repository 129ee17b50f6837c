package io.tasnetty.engine.context;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * How long a connection's rings and context membership live, as a Netty transport relies on:
 * received bytes stay readable after a reset until the application lets go, a moved connection
 * belongs to its new context, and bytes flushed before an abort still leave.
 */
class TasConnectionLifetimeTest {
    private final EngineHarness h = new EngineHarness();
    private int iss;

    @AfterEach
    void close() {
        h.close();
    }

    /** Passive open from the peer's port 40000 to our port 80, accepted; the peer's ISN is 1000. */
    private TasConnection accepted() {
        TasListener l = h.listen(80);
        h.peer.send(40000, ENGINE_IP, 80, 1000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, -1, false, false, 0));
        Segment synAck = h.step().get(0);
        iss = synAck.seq();
        h.peer.send(40000, ENGINE_IP, 80, 1001, iss + 1, Tcp.ACK, 65535, new byte[0], null);
        h.step();
        return h.ctx.accept(l);
    }

    @Test
    void shouldKeepUnreadBytesReadableAfterPeerResetUntilTheApplicationCloses() {
        TasConnection c = accepted();
        byte[] hello = "hello".getBytes(StandardCharsets.US_ASCII);
        h.peer.send(40000, ENGINE_IP, 80, 1001, iss + 1, Tcp.ACK | Tcp.PSH, 65535, hello, null);
        h.step();
        h.peer.send(40000, ENGINE_IP, 80, 1006, 0, Tcp.RST, 0, new byte[0], null);
        h.step();
        h.step(); // the slow path reclaims the flow
        assertThat(h.takeEvents(c) & TasEvents.RESET).isNotZero();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
        assertThat(h.engine.ringBytesInUse()).as("the application still holds the connection").isPositive();

        ByteBuffer buf = ByteBuffer.allocate(100);
        assertThat(c.read(buf)).isEqualTo(5);
        assertThat(c.read(buf)).isEqualTo(-1);
        assertThat(c.error()).isEqualTo(TasError.RESET);

        c.close();
        h.step();
        assertThat(h.engine.ringBytesInUse()).isZero();
    }

    @Test
    void shouldKeepAResetConnectionNobodyAcceptedUntilItsListenerCloses() {
        TasListener l = h.listen(80);
        h.peer.send(40000, ENGINE_IP, 80, 1000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, -1, false, false, 0));
        Segment synAck = h.step().get(0);
        h.peer.send(40000, ENGINE_IP, 80, 1001, synAck.seq() + 1, Tcp.ACK, 65535, new byte[0], null);
        h.step();
        h.peer.send(40000, ENGINE_IP, 80, 1001, 0, Tcp.RST, 0, new byte[0], null);
        h.step();
        h.step();
        // As on Linux, a reset connection stays in the accept queue (accept() would report the reset).
        assertThat(l.pendingAccepts()).isEqualTo(1);
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
        l.close();
        h.step();
        assertThat(h.engine.ringBytesInUse()).isZero();
    }

    @Test
    void shouldMoveContextMembershipWithTheConnection() {
        TasConnection c = accepted();
        TasContext other = h.engine.newContext();
        int before = h.ctx.socketCount();
        c.moveTo(other);
        assertThat(c.context()).isSameAs(other);
        assertThat(h.ctx.socketCount()).isEqualTo(before - 1);
        assertThat(other.socketCount()).isEqualTo(1);

        h.ctx.close(); // closes only what it still owns
        assertThat(c.isOpen()).isTrue();
        other.close();
        assertThat(c.isOpen()).isFalse();
    }

    @Test
    void shouldStopTheSynAckTimerOnceTheHandshakeCompletes() {
        accepted();
        h.advanceMillis(3000);
        assertThat(h.engine.counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS)).isZero();
    }

    @Test
    void shouldSendBytesFlushedBeforeAnAbortThenReset() {
        TasConnection c = accepted();
        c.write(ByteBuffer.wrap("bye".getBytes(StandardCharsets.US_ASCII)));
        c.flush();
        c.abort();
        List<Segment> out = h.step();
        assertThat(out).hasSize(2);
        assertThat(new String(out.get(0).payload(), StandardCharsets.US_ASCII)).isEqualTo("bye");
        assertThat(out.get(1).has(Tcp.RST)).isTrue();
        assertThat(out.get(1).seq()).isEqualTo(iss + 4);
    }
}
