package io.tasnetty.engine.fast;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static io.tasnetty.engine.EngineHarness.ENGINE_MAC;
import static io.tasnetty.engine.EngineHarness.bytes;
import static io.tasnetty.engine.fast.FastPathFixtures.IRS;
import static io.tasnetty.engine.fast.FastPathFixtures.ISS;
import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.TasEngineParams;
import io.tasnetty.engine.TasTestParams;
import io.tasnetty.engine.TcpTestPeer;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.cc.TasDctcpWindow;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.flow.TasByteRing;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.port.PacketBuffer;
import io.tasnetty.engine.port.TasWire;
import io.tasnetty.engine.port.WirePort;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;
import io.tasnetty.engine.wire.Ethernet;
import io.tasnetty.engine.wire.Ipv4;
import io.tasnetty.engine.wire.Tcp;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A passive open's first flight goes to the slow path for the connection's rings and comes back
 * through the core's hand-over queue (issue 11). Whatever arrives for the connection meanwhile,
 * from the port or handed over from another core, must go the same way behind it, so that the
 * connection receives everything in the port's order: received first, a later segment is out of
 * order, the engine sends duplicate ACKs and the peer retransmits needlessly. The slow path here
 * is a script: the test decides when it grants the rings and when it hands segments back.
 */
class TasFastPathDetourTest {
    private static final int PEER_PORT = 40000;
    private static final int PORT = 80;
    private static final int SIZE = 1000;
    private static final int RING = 64 * 1024;

    private final TasWire wire = new TasWire();
    private final WirePort port = wire.attach("engine", ENGINE_MAC, 1, 1500, 512);
    private final TcpTestPeer peer = new TcpTestPeer(wire);
    private final Arena arena = Arena.ofShared();
    private final TasEngineParams params = TasTestParams.of(TasConfig.builder().set("ip-addr", "10.0.0.1/24")
        .set("mac-addr", "02:00:0a:00:00:01").set("cc", "dctcp-win").build(), port);
    private final TasCounters counters = new TasCounters("fp0");
    private final ScriptedSlowPath slow = new ScriptedSlowPath();
    private long now = 1_000_000_000L;
    private final TasFastPath fp = new TasFastPath(0, port, params, counters, new TasDctcpWindow(0.0625), slow, now);
    /** Everything the core sent to the peer. */
    private final List<Segment> sent = new ArrayList<>();

    @AfterEach
    void close() {
        fp.close();
        peer.close();
        wire.close();
        arena.close();
    }

    @Test
    void shouldReceiveTheFirstFlightInThePortsOrderWhenLaterSegmentsArriveBeforeItComesBack() {
        TasFlow f = halfOpen();
        // One burst: the final ACK and four segments; the next, before the slow path has run: four more.
        finalAck();
        data(0, 4);
        cycle();
        data(4, 8);
        cycle();
        assertThat(slow.queue).as("waiting at the slow path, in order").hasSize(9);
        assertThat(sent).as("nothing is acknowledged before the rings are there").isEmpty();
        // The slow path grants the rings and hands five of the nine back; three more wait at the port.
        slow.grant(f);
        slow.handBack(5);
        data(8, 11);
        cycle();
        assertThat(f.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(f.rcvNxt()).as("the final ACK and segments 0-3").isEqualTo(IRS + 1 + 4 * SIZE);
        assertThat(slow.queue).as("segments 4-7, and 8-10 behind them").hasSize(7);
        slow.handBack(7);
        cycle();

        assertReceivedInOrder(f, 11);
        assertThat(counters.get(TasCounter.RX_BEHIND_RING_GRANT)).as("everything behind the final ACK").isEqualTo(11);
        assertThat(f.rxDetour()).as("the detour is over").isZero();
        assertThat(fp.openDetours()).isZero();
        // From now on segments go straight to the connection.
        long exceptions = counters.get(TasCounter.RX_EXCEPTIONS);
        data(11, 12);
        cycle();
        assertThat(counters.get(TasCounter.RX_EXCEPTIONS)).isEqualTo(exceptions);
        assertReceivedInOrder(f, 12);
        assertAllBuffersBack();
    }

    @Test
    void shouldEndTheDetourBeforeReadingThePortWhenEverythingCameBack() {
        // Frames read from the port before the hand-over queue would go behind the detour and make
        // it longer (a bulk sender keeps the port busy): what came back is received first.
        TasFlow f = firstFlightBackBeforeThePort(8);

        assertReceivedInOrder(f, 8);
        assertThat(counters.get(TasCounter.RX_BEHIND_RING_GRANT)).as("only what came with the final ACK").isEqualTo(4);
        assertThat(slow.queue).isEmpty();
        assertThat(fp.openDetours()).isZero();
        assertAllBuffersBack();
    }

    @Test
    void shouldAcknowledgeWhatCameBackApartFromThePortsBurstBehindIt() {
        // A handed-back batch is a receive burst of its own: one ACK for it and one for the port's
        // full burst behind it, never one stretch ACK of 36 segments for both (RFC 9293 3.8.6.3).
        TasFlow f = firstFlightBackBeforeThePort(36);

        assertReceivedInOrder(f, 36);
        assertThat(sent).as("ACKs of this cycle").extracting(s -> s.ack() - IRS - 1)
            .containsExactly(4 * SIZE, 36 * SIZE);
        assertAllBuffersBack();
    }

    @Test
    void shouldNotLetASegmentAdoptTheRingsBeforeTheSlowPathHandsTheFinalAckBack() {
        // The window a reordered duty cycle (drain the hand-over queue before the port) leaves:
        // the slow path has granted the rings and not yet handed the ACK back.
        TasFlow f = halfOpen();
        finalAck();
        data(0, 1);
        cycle();
        slow.grant(f);
        data(1, 2);
        cycle();
        assertThat(f.rx).as("the rings wait for the final ACK").isNull();
        assertThat(f.state()).isEqualTo(TcpState.SYN_RCVD);
        assertThat(sent).isEmpty();
        slow.handBack(3);
        cycle();

        assertReceivedInOrder(f, 2);
        assertThat(f.rxDetour()).isZero();
        assertAllBuffersBack();
    }

    @Test
    void shouldSendASegmentHandedOverFromAnotherCoreBehindTheFirstFlight() {
        TasFlow f = halfOpen();
        finalAck();
        data(0, 1);
        cycle();
        slow.grant(f);
        // Segment 1 arrived on another core's queue; the slow path steered it here before it
        // handed the first flight back.
        assertThat(fp.handOver(steered(IRS + 1 + SIZE, bytes(SIZE, SIZE)))).isTrue();
        cycle();
        assertThat(f.rx).as("the rings wait for the final ACK").isNull();
        assertThat(slow.queue).as("behind the first flight").hasSize(3);
        slow.handBack(3);
        cycle();

        assertReceivedInOrder(f, 2);
        assertThat(f.rxDetour()).isZero();
        assertAllBuffersBack();
    }

    @Test
    void shouldEndTheDetourWithTheNextSegmentBackWhenTheSlowPathDroppedTheLastOne() {
        // A full hand-over queue drops a segment, as the wire may: no ticket waits for it.
        TasFlow f = halfOpen();
        finalAck();
        data(0, 2);
        cycle();
        slow.grant(f);
        slow.handBack(2);
        slow.drop(1); // segment 1
        cycle();
        assertThat(f.rcvNxt()).isEqualTo(IRS + 1 + SIZE);
        assertThat(f.rxDetour()).as("segment 1 may still come").isNotZero();
        data(2, 3);
        cycle();
        slow.handBack(1);
        cycle();
        assertThat(f.rxDetour()).as("segment 2 came back: nothing sent before it can still come").isZero();
        assertThat(counters.get(TasCounter.TCP_OUT_OF_ORDER)).as("segment 2, after the lost one").isEqualTo(1);
        // The peer retransmits segment 1: straight to the connection, which fills the hole.
        long exceptions = counters.get(TasCounter.RX_EXCEPTIONS);
        data(1, 2);
        cycle();
        assertThat(counters.get(TasCounter.RX_EXCEPTIONS)).isEqualTo(exceptions);
        assertThat(f.rcvNxt()).isEqualTo(IRS + 1 + 3 * SIZE);
        byte[] got = new byte[3 * SIZE];
        f.rx.copyOut(f.rx.head(), MemorySegment.ofArray(got), 0, got.length);
        assertThat(got).isEqualTo(bytes(3 * SIZE));
        assertAllBuffersBack();
    }

    @Test
    void shouldKeepAResetInItsPlaceAndDropWhatFollowsItOnceTheConnectionIsGone() {
        TasFlow f = halfOpen();
        finalAck();
        data(0, 1);
        peer.send(PEER_PORT, ENGINE_IP, PORT, IRS + 1 + SIZE, 0, Tcp.RST, 0, new byte[0], Opts.none());
        data(1, 2);
        cycle();
        assertThat(slow.queue).hasSize(4);
        slow.grant(f);
        slow.handBack(4);
        cycle();

        assertThat(f.dead).as("reset after segment 0, in the port's order").isTrue();
        assertThat(f.rcvNxt()).isEqualTo(IRS + 1 + SIZE);
        assertThat(counters.get(TasCounter.CONN_RESETS_RECEIVED)).isEqualTo(1);
        assertThat(counters.get(TasCounter.DROP_STEERED_NO_FLOW)).as("segment 1, behind the reset").isEqualTo(1);
        assertThat(fp.flowCount()).isZero();
        assertThat(fp.openDetours()).as("the dead flow's detour is not left open").isZero();
        assertAllBuffersBack();
    }

    @Test
    void shouldNotEndANewConnectionsDetourWithASegmentTheOldOneSentOut() {
        TasFlow old = halfOpen();
        finalAck();
        cycle();
        fp.command(old, TasFlow.CMD_ABORT); // gone while its final ACK is out
        cycle();
        assertThat(old.dead).isTrue();
        assertThat(fp.openDetours()).as("closed with the flow").isZero();
        sent.clear(); // its RST
        PacketBuffer stale = slow.queue.poll();
        TasFlow f = halfOpen(); // the same ports again
        finalAck();
        cycle();
        assertThat(f.rxDetour()).isEqualTo(1);
        // The old connection's ACK (ticket 1 as well) comes back first: it is not the new one's.
        assertThat(fp.handOver(stale)).isTrue();
        cycle();
        assertThat(f.rxDetour()).as("still waiting for its own final ACK").isNotZero();
        assertThat(slow.queue).as("the stale ACK went behind it").hasSize(2);
        slow.grant(f);
        slow.handBack(2);
        cycle();
        assertThat(f.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(f.rxDetour()).isZero();
        data(0, 1);
        cycle();
        assertReceivedInOrder(f, 1);
        assertAllBuffersBack();
    }

    /**
     * A connection a SYN cookie made (TasSlowPath.cookieAck): its final ACK and the segments that
     * came with it reached the core before the connection existed, and went to the slow path as
     * strays. The slow path installs the connection, hands the ACK back behind the install and
     * the strays later, each in its turn; whatever the port brings meanwhile must go behind them.
     */
    @Test
    void aConnectionASynCookieMadeShouldReceiveWhatCameWithItsFinalAckFirst() {
        finalAck();
        data(0, 2);
        cycle();
        assertThat(slow.queue).as("strays: no connection here yet").hasSize(3);
        TasFlow f = cookieFlow();
        fp.install(f);
        slow.handBackInTurn(f, 1); // the final ACK, right behind the install
        cycle();
        assertThat(f.state()).isEqualTo(TcpState.ESTABLISHED);
        data(2, 4); // from the port before the slow path has handed the strays back
        cycle();
        assertThat(f.rcvNxt()).as("nothing received ahead of the strays").isEqualTo(IRS + 1);
        assertThat(sent).as("no duplicate ACK").isEmpty();
        slow.handBackInTurn(f, 2); // the strays, steered in their turn
        cycle();
        assertThat(f.rcvNxt()).isEqualTo(IRS + 1 + 2 * SIZE);
        assertThat(slow.queue).as("segments 2-3 on their detour").hasSize(2);
        slow.handBack(2);
        cycle();

        assertReceivedInOrder(f, 4);
        assertThat(f.rxDetour()).as("the detour is over").isZero();
        assertThat(fp.openDetours()).isZero();
        long exceptions = counters.get(TasCounter.RX_EXCEPTIONS);
        data(4, 5);
        cycle();
        assertThat(counters.get(TasCounter.RX_EXCEPTIONS)).as("straight to the connection now").isEqualTo(exceptions);
        assertReceivedInOrder(f, 5);
        assertAllBuffersBack();
    }

    @Test
    void aConnectionASynCookieMadeShouldEndItsDetourWhenItGoes() {
        // Nothing comes from the port after the install, so no ticket ever closes the detour:
        // the connection's end does (an abort here), and the core stops taking the hand-over
        // queue first.
        finalAck();
        cycle();
        TasFlow f = cookieFlow();
        fp.install(f);
        slow.handBackInTurn(f, 1);
        cycle();
        assertThat(f.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(fp.openDetours()).as("open until a segment of ours is back").isEqualTo(1);
        fp.command(f, TasFlow.CMD_ABORT);
        cycle();
        assertThat(f.state()).isEqualTo(TcpState.CLOSED);
        assertThat(sent).as("the abort's RST").anyMatch(seg -> seg.has(Tcp.RST));
        assertThat(fp.openDetours()).isZero();
        assertAllBuffersBack();
    }

    // ------------------------------------------------------------------ helpers

    /** A passive open in SYN-RECEIVED with its SYN-ACK sent and no rings yet, installed on the core. */
    private TasFlow halfOpen() {
        TasFlow f = synReceived();
        f.rxPlanned = RING;
        f.txPlanned = RING;
        fp.install(f);
        cycle();
        return f;
    }

    /**
     * A passive open whose final ACK and segments 0-3 went to the slow path; in one duty cycle the
     * slow path hands all five back and the port brings segments 4..{@code to}-1.
     */
    private TasFlow firstFlightBackBeforeThePort(int to) {
        TasFlow f = halfOpen();
        finalAck();
        data(0, 4);
        cycle();
        slow.grant(f);
        slow.handBack(5);
        data(4, to);
        cycle();
        return f;
    }

    /**
     * A connection made by a SYN cookie's final ACK, as the slow path makes it: SYN-RECEIVED with
     * its SYN-ACK sent and its rings, not installed yet.
     */
    private TasFlow cookieFlow() {
        TasFlow f = synReceived();
        f.rx = new TasByteRing(arena.allocate(RING, 64));
        f.tx = new TasByteRing(arena.allocate(RING, 64));
        f.madeByCookie = true;
        return f;
    }

    /** The peer's connection to us in SYN-RECEIVED, our SYN-ACK sent: no rings, not installed. */
    private TasFlow synReceived() {
        TasFlow f = new TasFlow();
        f.localIp = ENGINE_IP;
        f.localPort = PORT;
        f.remoteIp = TcpTestPeer.IP;
        f.remotePort = PEER_PORT;
        f.remoteMac = TcpTestPeer.MAC;
        f.queue = 0;
        f.state(TcpState.SYN_RCVD);
        f.iss(ISS);
        f.irs(IRS);
        f.sndUna(ISS);
        f.sndNxt(ISS + 1);
        f.sndMax(ISS + 1);
        f.rcvNxt(IRS + 1);
        f.mss(params.mss());
        return f;
    }

    private void finalAck() {
        peer.send(PEER_PORT, ENGINE_IP, PORT, IRS + 1, ISS + 1, Tcp.ACK, 65535, new byte[0], Opts.none());
    }

    /** Segments {@code from..to-1} of the flight ({@link #SIZE} bytes each) to the port. */
    private void data(int from, int to) {
        for (int i = from; i < to; i++) {
            peer.send(PEER_PORT, ENGINE_IP, PORT, IRS + 1 + i * SIZE, ISS + 1, Tcp.ACK | Tcp.PSH, 65535,
                bytes(SIZE, i * SIZE), Opts.none());
        }
    }

    /** One duty cycle of the core; collects what it sent. */
    private void cycle() {
        fp.doWork(now += 1000);
        sent.addAll(peer.drain());
    }

    /**
     * Segments 0..n-1 are in the receive ring in order, none was out of order on the way, and every
     * ACK sent acknowledged more than the one before (no duplicate ACK).
     */
    private void assertReceivedInOrder(TasFlow f, int n) {
        assertThat(counters.get(TasCounter.TCP_OUT_OF_ORDER)).as("out-of-order segments").isZero();
        assertThat(f.rcvNxt()).isEqualTo(IRS + 1 + n * SIZE);
        assertThat(f.rx.readable()).isEqualTo(n * SIZE);
        byte[] got = new byte[n * SIZE];
        f.rx.copyOut(f.rx.head(), MemorySegment.ofArray(got), 0, got.length);
        assertThat(got).isEqualTo(bytes(n * SIZE));
        List<Integer> acks = new ArrayList<>();
        for (Segment s : sent) {
            assertThat(s.has(Tcp.RST)).as("%s", s).isFalse();
            acks.add(s.ack() - IRS);
        }
        assertThat(acks).as("ACKs sent (relative)").isSorted().doesNotHaveDuplicates();
    }

    private void assertAllBuffersBack() {
        assertThat(slow.queue).isEmpty();
        assertThat(port.pool().available()).as("free packet buffers").isEqualTo(port.pool().capacity());
        assertThat(port.pool().invalidFrees()).as("double or foreign frees").isZero();
    }

    /** A data segment from the peer in a buffer of the engine's port, as the slow path hands one over. */
    private PacketBuffer steered(int seq, byte[] payload) {
        PacketBuffer[] one = new PacketBuffer[1];
        assertThat(port.alloc(one, 1)).isEqualTo(1);
        PacketBuffer b = one[0];
        MemorySegment s = b.segment;
        long ipOff = b.offset + Ethernet.HEADER_LENGTH;
        long tcpOff = ipOff + Ipv4.MIN_HEADER_LENGTH;
        Ethernet.write(s, b.offset, ENGINE_MAC, TcpTestPeer.MAC, Ethernet.TYPE_IPV4);
        Ipv4.writeHeader(s, ipOff, Ipv4.MIN_HEADER_LENGTH + Tcp.MIN_HEADER_LENGTH + payload.length, 0,
            Ipv4.ECN_NOT_ECT, Ipv4.DEFAULT_TTL, Ipv4.PROTO_TCP, TcpTestPeer.IP, ENGINE_IP);
        Tcp.writeHeader(s, tcpOff, PEER_PORT, PORT, seq, ISS + 1, Tcp.MIN_HEADER_LENGTH, Tcp.ACK | Tcp.PSH, 65535);
        MemorySegment.copy(payload, 0, s, ValueLayout.JAVA_BYTE, tcpOff + Tcp.MIN_HEADER_LENGTH, payload.length);
        b.length = Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH + Tcp.MIN_HEADER_LENGTH + payload.length;
        return b;
    }

    /** The slow path as a script: it keeps what the core sends it, in order, until told what to do. */
    private final class ScriptedSlowPath extends FastPathFixtures.LoneEngine {
        final ArrayDeque<PacketBuffer> queue = new ArrayDeque<>();

        ScriptedSlowPath() {
            super(ENGINE_IP);
        }

        @Override
        public boolean exception(PacketBuffer buf) {
            queue.add(buf);
            return true;
        }

        /** Allocates the rings, as the slow path's grant at ESTABLISHED (the core adopts them). */
        void grant(TasFlow f) {
            f.grantedTx = new TasByteRing(arena.allocate(RING, 64));
            f.grantedRx = new TasByteRing(arena.allocate(RING, 64));
        }

        /** Hands the oldest {@code n} back to the core, in order. */
        void handBack(int n) {
            for (int i = 0; i < n; i++) {
                PacketBuffer b = queue.poll();
                b.flags &= ~PacketBuffer.RX_NEEDS_RINGS;
                assertThat(fp.handOver(b)).isTrue();
            }
        }

        /** Hands the oldest {@code n} back marked as in their turn, as the slow path steers a cookie connection's. */
        void handBackInTurn(TasFlow f, int n) {
            for (int i = 0; i < n; i++) {
                PacketBuffer b = queue.poll();
                b.detourFlow = f;
                b.detourTicket = 0;
                assertThat(fp.handOver(b)).isTrue();
            }
        }

        /** Drops the oldest {@code n} (a full hand-over queue). */
        void drop(int n) {
            for (int i = 0; i < n; i++) {
                port.free(queue.poll());
            }
        }
    }
}
