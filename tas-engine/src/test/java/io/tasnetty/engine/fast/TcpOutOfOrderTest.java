package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.stats.TasCounter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Out-of-order arrival: the engine keeps up to four intervals beyond RCV.NXT in the receive ring,
 * answers each out-of-order segment with an immediate duplicate ACK (RFC 5681 4.2) carrying SACK
 * blocks when negotiated (RFC 2018), and delivers everything in order once the holes are filled.
 */
class TcpOutOfOrderTest {
    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate"));

    @AfterEach
    void close() {
        h.close();
    }

    /** SACK blocks of {@code s} as [left0, right0, left1, right1, ...] relative to {@code base}. */
    private static int[] sack(Segment s, int base) {
        int[] r = new int[2 * s.sackBlocks()];
        for (int i = 0; i < s.sackBlocks(); i++) {
            r[2 * i] = s.sackLeft()[i] - base;
            r[2 * i + 1] = s.sackRight()[i] - base;
        }
        return r;
    }

    @Test
    void shouldReportADuplicateOfDataHeldOutOfOrderInAFirstDsackBlock() {
        ScriptedConnection sc = h.accept(80);
        int s0 = sc.peerSeq;
        sc.dataAt(s0 + 300, bytes(200, 300));
        h.step();
        sc.dataAt(s0 + 400, bytes(100, 400)); // held already (RFC 2883 4.2)
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(s0);
        assertThat(sack(out.get(0), s0)).as("the duplicate first, then what is kept")
            .containsExactly(400, 500, 300, 500);
        assertThat(h.engine.counter(TasCounter.TCP_DUPLICATE_SEGMENTS)).isEqualTo(1);
        // Part new, part held: the held part is the duplicate, and the interval grows.
        sc.dataAt(s0 + 450, bytes(150, 450));
        out = h.step();
        assertThat(sack(out.get(0), s0)).containsExactly(450, 500, 300, 600);
        assertThat(h.engine.counter(TasCounter.TCP_DUPLICATE_SEGMENTS)).isEqualTo(2);
        sc.dataAt(s0, bytes(300, 0));
        assertThat(h.step().get(0).ack()).isEqualTo(s0 + 600);
        assertThat(sc.read(5000)).isEqualTo(bytes(600));
    }

    @Test
    void shouldReportADuplicateSegmentOnceInAFirstDsackBlock() {
        ScriptedConnection sc = h.accept(80);
        int s0 = sc.peerSeq;
        sc.dataAt(s0, bytes(100, 0));
        h.step();
        sc.dataAt(s0 + 300, bytes(100, 300));
        h.step();
        sc.dataAt(s0, bytes(100, 0)); // arrives again: the sender's retransmission was needless
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(s0 + 100);
        assertThat(sack(out.get(0), s0)).as("RFC 2883 4.1: the duplicate first, then what is kept")
            .containsExactly(0, 100, 300, 400);
        assertThat(h.engine.counter(TasCounter.TCP_DUPLICATE_SEGMENTS)).isEqualTo(1);
        sc.dataAt(s0 + 500, bytes(100, 500));
        out = h.step();
        assertThat(sack(out.get(0), s0)).as("reported once").containsExactly(500, 600, 300, 400);
    }

    @Test
    void shouldKeepOutOfOrderSegmentsReportThemInSackBlocksAndDeliverInOrderOnceFilled() {
        ScriptedConnection sc = h.accept(80);
        int s0 = sc.peerSeq;
        sc.dataAt(s0 + 100, bytes(100, 100));
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).ack()).as("a duplicate ACK").isEqualTo(s0);
        assertThat(sack(out.get(0), s0)).containsExactly(100, 200);
        assertThat(sc.conn.readableBytes()).as("nothing readable past a hole").isZero();
        assertThat(h.takeEvents(sc.conn) & TasEvents.READABLE).isZero();

        sc.dataAt(s0 + 300, bytes(100, 300));
        out = h.step();
        assertThat(out.get(0).ack()).isEqualTo(s0);
        assertThat(sack(out.get(0), s0)).as("RFC 2018 4: the newest block first").containsExactly(300, 400, 100, 200);

        // The first hole is filled: the ACK jumps over the kept interval.
        sc.dataAt(s0, bytes(100, 0));
        out = h.step();
        assertThat(out).hasSize(1);
        assertThat(out.get(0).ack()).isEqualTo(s0 + 200);
        assertThat(sack(out.get(0), s0)).containsExactly(300, 400);
        assertThat(h.takeEvents(sc.conn) & TasEvents.READABLE).isNotZero();
        assertThat(sc.read(1000)).isEqualTo(bytes(200));

        sc.dataAt(s0 + 200, bytes(100, 200));
        out = h.step();
        assertThat(out.get(0).ack()).isEqualTo(s0 + 400);
        assertThat(out.get(0).sackBlocks()).isZero();
        assertThat(sc.read(1000)).isEqualTo(bytes(200, 200));
        assertThat(h.engine.counter(TasCounter.TCP_OUT_OF_ORDER)).isEqualTo(2);
    }

    @Test
    void shouldSendOneDuplicateAckPerOutOfOrderSegmentEvenWithinOneBurst() {
        // The sender's fast retransmit counts them (RFC 5681 4.2: "immediately").
        ScriptedConnection sc = h.accept(80);
        int s0 = sc.peerSeq;
        for (int i = 1; i <= 3; i++) {
            sc.dataAt(s0 + 100 * i, bytes(100, 100 * i));
        }
        List<Segment> out = h.step();
        assertThat(out).hasSize(3);
        assertThat(out).extracting(Segment::ack).containsOnly(s0);
        assertThat(sack(out.get(2), s0)).containsExactly(100, 400);
    }

    @Test
    void shouldMergeOverlappingIntervalsAndJumpOverThemWhenARetransmissionCoversTheHole() {
        ScriptedConnection sc = h.accept(80);
        int s0 = sc.peerSeq;
        sc.dataAt(s0 + 100, bytes(100, 100));
        sc.dataAt(s0 + 150, bytes(150, 150)); // overlaps and extends the first interval
        List<Segment> out = h.step();
        // The bytes both carry arrived twice: a D-SACK for them first (RFC 2883 4.2).
        assertThat(sack(out.get(out.size() - 1), s0)).containsExactly(150, 200, 100, 300);
        // One retransmission covering the hole and part of the kept bytes.
        sc.dataAt(s0, bytes(200, 0));
        out = h.step();
        assertThat(out.get(0).ack()).isEqualTo(s0 + 300);
        assertThat(sc.read(1000)).isEqualTo(bytes(300));
    }

    @Test
    void shouldSendNoSackBlocksWhenSackWasNotNegotiated() {
        ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(1460, -1, false, false, 0));
        int s0 = sc.peerSeq;
        sc.dataAt(s0 + 100, bytes(100, 100));
        Segment dup = h.step().get(0);
        assertThat(dup.ack()).isEqualTo(s0);
        assertThat(dup.sackBlocks()).isZero();
    }

    @Test
    void shouldReportAtMostThreeSackBlocksNextToTimestamps() {
        // 40 bytes of options: timestamps (10 + 2 padding) leave room for three blocks (RFC 2018 3).
        ScriptedConnection sc = h.accept(80, 40000, 1000, Opts.syn(1460, -1, true, true, 5));
        int s0 = sc.peerSeq;
        Segment dup = null;
        for (int i = 0; i < 4; i++) {
            sc.sendAt(s0 + 100 + 200 * i, sc.engineSeq, io.tasnetty.engine.wire.Tcp.ACK, 65535,
                bytes(100, 100 + 200 * i), Opts.none().timestamps(6 + i, 0));
            dup = h.step().get(0);
        }
        assertThat(dup.hasTimestamp()).isTrue();
        assertThat(sack(dup, s0)).containsExactly(700, 800, 500, 600, 300, 400);
        // A copy of an older island: a D-SACK for it first (RFC 2883 4.2), then the island, made
        // the newest, and the next most recent; the others keep their order, so the next ACK's
        // three blocks are the three most recent (RFC 2018 4).
        sc.sendAt(s0 + 500, sc.engineSeq, io.tasnetty.engine.wire.Tcp.ACK, 65535, bytes(100, 500),
            Opts.none().timestamps(10, 0));
        dup = h.step().get(0);
        assertThat(sack(dup, s0)).containsExactly(500, 600, 500, 600, 700, 800);
        sc.sendAt(s0 + 1100, sc.engineSeq, io.tasnetty.engine.wire.Tcp.ACK, 65535, bytes(100, 1100),
            Opts.none().timestamps(11, 0));
        dup = h.step().get(0);
        assertThat(sack(dup, s0)).containsExactly(1100, 1200, 500, 600, 700, 800);
    }

    @Test
    void shouldKeepMoreHolesThanTheRecordHoldsThenCountTheFirstBeyondTheLimitAsDroppedAndDeliverEverythingIntact() {
        ScriptedConnection sc = h.accept(80);
        int s0 = sc.peerSeq;
        // Islands 100..200, 300..400, ...: one more than a flow keeps (TasFlow.OOO_MAX), many more
        // than its record holds (TasFlow.OOO_INLINE).
        int islands = TasFlow.OOO_MAX + 1;
        for (int i = 0; i < islands; i++) {
            sc.dataAt(s0 + 100 + 200 * i, bytes(100, 100 + 200 * i));
            List<Segment> out = h.step();
            assertThat(out).hasSize(1);
            assertThat(out.get(0).ack()).isEqualTo(s0);
        }
        assertThat(h.engine.counter(TasCounter.DROP_OOO_NO_SLOT)).isEqualTo(1);
        assertThat(h.engine.counter(TasCounter.TCP_OUT_OF_ORDER)).isEqualTo(TasFlow.OOO_MAX);
        // Holes filled one by one: the ACK jumps over each kept island, and stops before the dropped one.
        for (int i = 0; i < islands; i++) {
            sc.dataAt(s0 + 200 * i, bytes(100, 200 * i));
            List<Segment> out = h.step();
            int expect = i < islands - 1 ? 200 * i + 200 : 200 * i + 100;
            assertThat(out.get(0).ack()).as("after filling hole %d", i).isEqualTo(s0 + expect);
        }
        // The dropped island has to come again.
        sc.dataAt(s0 + 200 * islands - 100, bytes(100, 200 * islands - 100));
        assertThat(h.step().get(0).ack()).isEqualTo(s0 + 200 * islands);
        byte[] got = sc.read(20_000);
        assertThat(got.length).isEqualTo(200 * islands);
        assertThat(Arrays.equals(got, bytes(200 * islands))).as("in order, byte for byte").isTrue();
    }

    @Test
    void shouldNotLetADroppedIslandCorruptDataDeliveredLater() {
        ScriptedConnection sc = h.accept(80);
        int s0 = sc.peerSeq;
        int islands = TasFlow.OOO_MAX + 1;
        for (int i = 0; i < islands; i++) {
            sc.dataAt(s0 + 100 + 200 * i, bytes(100, 100 + 200 * i));
        }
        h.step();
        // The peer now sends everything in order, the dropped island's range with different
        // bytes (a new mapping of the same range would be a peer bug, but the receiver must
        // deliver what the acknowledged segment carried, not stale ring contents).
        int total = 200 * islands;
        byte[] fresh = bytes(total);
        byte[] island = bytes(100, 50_000);
        System.arraycopy(island, 0, fresh, total - 100, 100);
        for (int i = 0; i < 2 * islands; i++) {
            if (i % 2 == 0 || i == 2 * islands - 1) {
                sc.dataAt(s0 + 100 * i, Arrays.copyOfRange(fresh, 100 * i, 100 * i + 100));
                h.step();
            }
        }
        assertThat(sc.conn.flow().rcvNxt()).isEqualTo(s0 + total);
        assertThat(sc.read(20_000)).isEqualTo(fresh);
    }
}
