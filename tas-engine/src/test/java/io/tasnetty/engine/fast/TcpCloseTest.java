package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasException;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Closing (RFC 9293 3.6): half-close in both directions, simultaneous close, a FIN ahead of
 * missing data, FIN retransmission, and TIME_WAIT (its length, re-acknowledging a retransmitted
 * FIN, and reclaiming the flow afterwards).
 */
class TcpCloseTest {
    private static final long MS = 1_000_000L;

    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate")
        .set("tcp-time-wait", "2s"));

    @AfterEach
    void close() {
        h.close();
    }

    private static Segment only(List<Segment> out) {
        assertThat(out).hasSize(1);
        return out.get(0);
    }

    @Test
    void shouldShutDownOutputWithFinAndStillReceive() {
        ScriptedConnection sc = h.accept(80);
        sc.write(bytes(3));
        sc.conn.shutdownOutput();
        List<Segment> out = h.step();
        Segment fin = out.get(out.size() - 1);
        assertThat(fin.has(Tcp.FIN)).isTrue();
        assertThat(ScriptedConnection.end(fin)).as("FIN after the 3 bytes").isEqualTo(sc.engineIss + 1 + 3 + 1);
        assertThat(sc.conn.state()).isEqualTo(TcpState.FIN_WAIT_1);
        assertThatThrownBy(() -> sc.conn.write(ByteBuffer.wrap(bytes(1)))).isInstanceOf(TasException.class);

        sc.ack(ScriptedConnection.end(fin));
        assertThat(h.step()).isEmpty();
        assertThat(sc.conn.state()).isEqualTo(TcpState.FIN_WAIT_2);
        assertThat(h.takeEvents(sc.conn) & TasEvents.OUTPUT_CLOSED).isNotZero();

        // The peer keeps sending: we still receive and acknowledge.
        sc.data(bytes(500));
        Segment ack = only(h.step());
        assertThat(ack.ack()).isEqualTo(sc.peerSeq);
        assertThat(ack.seq()).as("nothing more from us").isEqualTo(ScriptedConnection.end(fin));
        assertThat(sc.read(1000)).isEqualTo(bytes(500));

        sc.fin();
        ack = only(h.step());
        assertThat(ack.ack()).isEqualTo(sc.peerSeq);
        assertThat(sc.conn.state()).isEqualTo(TcpState.TIME_WAIT);
        assertThat(sc.conn.read(ByteBuffer.allocate(10))).isEqualTo(-1);
    }

    @Test
    void shouldKeepSendingAfterThePeersFinThenCloseFromCloseWait() {
        ScriptedConnection sc = h.accept(80);
        sc.data(bytes(10));
        sc.fin();
        Segment ack = only(h.step());
        assertThat(ack.ack()).as("data and FIN acknowledged").isEqualTo(sc.peerSeq);
        assertThat(sc.conn.state()).isEqualTo(TcpState.CLOSE_WAIT);
        assertThat(h.takeEvents(sc.conn) & (TasEvents.READABLE | TasEvents.INPUT_CLOSED))
            .isEqualTo(TasEvents.READABLE | TasEvents.INPUT_CLOSED);
        assertThat(sc.read(100)).isEqualTo(bytes(10));
        assertThat(sc.conn.read(ByteBuffer.allocate(10))).as("then end of stream").isEqualTo(-1);

        // The other direction is still open.
        sc.write(bytes(3000));
        List<Segment> out = h.step();
        assertThat(out).extracting(Segment::len).containsExactly(1460, 1460, 80);
        assertThat(out).allSatisfy(s -> assertThat(s.ack()).isEqualTo(sc.peerSeq));
        sc.ack(ScriptedConnection.end(out.get(2)));
        h.step();

        sc.conn.close();
        Segment fin = only(h.step());
        assertThat(fin.flags()).isEqualTo(Tcp.FIN | Tcp.ACK);
        assertThat(fin.seq()).isEqualTo(sc.engineIss + 1 + 3000);
        assertThat(sc.conn.state()).isEqualTo(TcpState.LAST_ACK);
        sc.ack(ScriptedConnection.end(fin));
        assertThat(h.step()).isEmpty();
        assertThat(sc.conn.state()).isEqualTo(TcpState.CLOSED);
        h.step();
        assertThat(h.engine.flowCount()).as("the passive closer has no TIME_WAIT").isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
        assertThat(h.engine.ringBytesInUse()).isZero();
    }

    /** An 8 KiB ring, so that reading 4,200 bytes opens the window by more than an MSS. */
    private static EngineHarness smallRing() {
        return new EngineHarness(TasConfig.builder().set("cc", "const-rate").set("tcp-time-wait", "2s")
            .set("tcp-rxbuf-len", "8192"));
    }

    @Test
    void shouldStillSendWindowUpdatesWhileThePeerMaySend() {
        try (EngineHarness h = smallRing()) {
            ScriptedConnection sc = h.accept(80);
            for (int i = 0; i < 3; i++) {
                sc.data(bytes(1400));
            }
            only(h.step());
            assertThat(sc.read(10_000)).hasSize(4200);
            Segment update = only(h.step());
            assertThat(update.ack()).isEqualTo(sc.peerSeq);
            assertThat(update.window()).isEqualTo(8192);
        }
    }

    @Test
    void shouldSendNoWindowUpdateInTimeWait() {
        // The peer's FIN means it sends nothing more, so a window update is useless; worse, it
        // reaches a peer that went from LAST_ACK to CLOSED on our last ACK, and Linux answers
        // it with a RST.
        try (EngineHarness h = smallRing()) {
            ScriptedConnection sc = h.accept(80);
            sc.conn.shutdownOutput();
            Segment fin = only(h.step());
            sc.ack(ScriptedConnection.end(fin));
            assertThat(h.step()).isEmpty();
            for (int i = 0; i < 3; i++) {
                sc.data(bytes(1400));
            }
            sc.fin();
            Segment ack = only(h.step());
            assertThat(ack.ack()).isEqualTo(sc.peerSeq);
            assertThat(sc.conn.state()).isEqualTo(TcpState.TIME_WAIT);
            assertThat(sc.read(10_000)).hasSize(4200);
            assertThat(h.step()).as("nothing after the last ACK").isEmpty();
        }
    }

    @Test
    void shouldSendNoWindowUpdateInCloseWait() {
        try (EngineHarness h = smallRing()) {
            ScriptedConnection sc = h.accept(80);
            for (int i = 0; i < 3; i++) {
                sc.data(bytes(1400));
            }
            sc.fin();
            Segment ack = only(h.step());
            assertThat(ack.ack()).isEqualTo(sc.peerSeq);
            assertThat(sc.conn.state()).isEqualTo(TcpState.CLOSE_WAIT);
            assertThat(sc.read(10_000)).hasSize(4200);
            assertThat(h.step()).as("the peer sends no more data: no window update").isEmpty();
        }
    }

    @Test
    void shouldGoThroughClosingOnSimultaneousClose() {
        ScriptedConnection sc = h.accept(80);
        sc.conn.close();
        Segment ourFin = only(h.step());
        assertThat(ourFin.has(Tcp.FIN)).isTrue();
        // The peer's FIN crosses ours: it does not acknowledge our FIN.
        sc.fin();
        Segment ack = only(h.step());
        assertThat(ack.flags()).isEqualTo(Tcp.ACK);
        assertThat(ack.ack()).isEqualTo(sc.peerSeq);
        assertThat(sc.conn.state()).isEqualTo(TcpState.CLOSING);
        // Now it acknowledges our FIN: TIME_WAIT.
        sc.ack(ScriptedConnection.end(ourFin));
        assertThat(h.step()).isEmpty();
        assertThat(sc.conn.state()).isEqualTo(TcpState.TIME_WAIT);
    }

    @Test
    void shouldHoldAFinThatArrivesAheadOfMissingData() {
        ScriptedConnection sc = h.accept(80);
        int s0 = sc.peerSeq;
        // Bytes 0..99 are lost; 100..199 arrive with FIN.
        sc.sendAt(s0 + 100, sc.engineSeq, Tcp.ACK | Tcp.FIN, 65535, bytes(100, 100), null);
        Segment dup = only(h.step());
        assertThat(dup.ack()).as("nothing consumed").isEqualTo(s0);
        assertThat(sc.conn.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(h.takeEvents(sc.conn) & TasEvents.INPUT_CLOSED).isZero();
        assertThat(sc.conn.isInputClosed()).isFalse();

        sc.dataAt(s0, bytes(100));
        Segment ack = only(h.step());
        assertThat(ack.ack()).as("200 bytes and the FIN").isEqualTo(s0 + 201);
        assertThat(sc.conn.state()).isEqualTo(TcpState.CLOSE_WAIT);
        assertThat(h.takeEvents(sc.conn) & TasEvents.INPUT_CLOSED).isNotZero();
        assertThat(sc.read(1000)).isEqualTo(bytes(200));
        assertThat(sc.conn.read(ByteBuffer.allocate(10))).isEqualTo(-1);
    }

    @Test
    void shouldRetransmitAnUnacknowledgedFin() {
        ScriptedConnection sc = h.accept(80);
        long t0 = h.now();
        sc.conn.close();
        Segment fin = only(h.step());
        assertThat(h.advanceTo(t0 + 999 * MS)).isEmpty();
        Segment again = only(h.advanceTo(t0 + 1000 * MS));
        assertThat(again.flags()).isEqualTo(Tcp.FIN | Tcp.ACK);
        assertThat(again.seq()).isEqualTo(fin.seq());
        sc.ack(ScriptedConnection.end(fin));
        h.step();
        assertThat(sc.conn.state()).isEqualTo(TcpState.FIN_WAIT_2);
    }

    @Test
    void shouldStayInTimeWaitForTheConfiguredTimeThenReclaimTheFlow() {
        ScriptedConnection sc = h.accept(80);
        sc.conn.close();
        Segment fin = only(h.step());
        sc.ack(ScriptedConnection.end(fin));
        h.step();
        sc.fin();
        long t0 = h.now();
        Segment ack = only(h.step());
        assertThat(ack.ack()).isEqualTo(sc.peerSeq);
        assertThat(sc.conn.state()).as("the active closer waits").isEqualTo(TcpState.TIME_WAIT);
        assertThat(h.engine.counter(TasCounter.CONN_TIME_WAIT)).isEqualTo(1);
        assertThat(h.engine.flowCount()).isEqualTo(1);
        assertThat(h.engine.ringBytesInUse()).as("TIME_WAIT holds no rings once the application let go").isZero();

        assertThat(h.advanceTo(t0 + 1999 * MS)).isEmpty();
        assertThat(h.engine.flowCount()).isEqualTo(1);
        assertThat(h.advanceTo(t0 + 2000 * MS)).as("TIME_WAIT ends silently").isEmpty();
        h.step();
        assertThat(sc.conn.state()).isEqualTo(TcpState.CLOSED);
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
        assertThat(h.engine.ringBytesInUse()).isZero();
        // Afterwards the tuple is unknown: a segment for it gets a RST.
        sc.ack();
        Segment rst = only(h.step());
        assertThat(rst.has(Tcp.RST)).isTrue();
    }

    @Test
    void shouldReacknowledgeARetransmittedFinInTimeWaitAndRestartTheTimer() {
        ScriptedConnection sc = h.accept(80);
        sc.conn.close();
        Segment fin = only(h.step());
        sc.ack(ScriptedConnection.end(fin));
        h.step();
        int peerFinSeq = sc.peerSeq;
        sc.fin();
        long t0 = h.now();
        only(h.step());
        // Our ACK was lost; the peer retransmits its FIN one second later.
        h.clock.advanceMillis(1000);
        sc.sendAt(peerFinSeq, sc.engineSeq, Tcp.ACK | Tcp.FIN, 65535, new byte[0], null);
        Segment ack = only(h.step());
        assertThat(ack.flags()).isEqualTo(Tcp.ACK);
        assertThat(ack.ack()).isEqualTo(peerFinSeq + 1);
        assertThat(ack.seq()).isEqualTo(ScriptedConnection.end(fin));
        // RFC 9293 3.10.7.4 (TIME-WAIT, FIN): restart the 2 MSL timeout.
        assertThat(h.advanceTo(t0 + 2000 * MS)).isEmpty();
        assertThat(h.engine.flowCount()).as("not at the old deadline").isEqualTo(1);
        h.advanceTo(t0 + 2999 * MS);
        assertThat(h.engine.flowCount()).isEqualTo(1);
        h.advanceTo(t0 + 3000 * MS);
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
    }

    @Test
    void shouldReclaimEverythingOnceTimeWaitIsOverAndTheApplicationClosed() {
        // Half-close by us, then data and FIN from the peer: TIME_WAIT while the application
        // still holds the connection, with bytes it has not read yet. The flow goes at the end
        // of TIME_WAIT; the bytes stay readable until the application closes.
        ScriptedConnection sc = h.accept(80);
        sc.conn.shutdownOutput();
        Segment fin = only(h.step());
        sc.ack(ScriptedConnection.end(fin));
        sc.data(bytes(100));
        sc.fin();
        h.step();
        assertThat(sc.conn.state()).isEqualTo(TcpState.TIME_WAIT);
        h.advanceMillis(2000);
        h.step();
        assertThat(h.engine.flowCount()).isZero();
        assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
        assertThat(sc.read(1000)).isEqualTo(bytes(100));
        assertThat(sc.conn.read(ByteBuffer.allocate(10))).isEqualTo(-1);
        sc.conn.close();
        assertThat(h.step()).isEmpty();
        assertThat(h.engine.ringBytesInUse()).isZero();
    }

    @Test
    void shouldReacknowledgeARetransmittedFinInCloseWait() {
        ScriptedConnection sc = h.accept(80);
        int finSeq = sc.peerSeq;
        sc.fin();
        h.step();
        assertThat(sc.conn.state()).isEqualTo(TcpState.CLOSE_WAIT);
        // Our ACK was lost: the copy of the FIN is old and answered with the same ACK.
        sc.sendAt(finSeq, sc.engineSeq, Tcp.ACK | Tcp.FIN, 65535, new byte[0], null);
        Segment ack = only(h.step());
        assertThat(ack.ack()).isEqualTo(finSeq + 1);
        assertThat(sc.conn.state()).isEqualTo(TcpState.CLOSE_WAIT);
        assertThat(h.takeEvents(sc.conn) & TasEvents.INPUT_CLOSED).as("reported once").isNotZero();
        sc.sendAt(finSeq, sc.engineSeq, Tcp.ACK | Tcp.FIN, 65535, new byte[0], null);
        only(h.step());
        assertThat(h.takeEvents(sc.conn)).isZero();
    }
}
