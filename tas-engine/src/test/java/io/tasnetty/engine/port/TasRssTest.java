package io.tasnetty.engine.port;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TasRssTest {
    private static final long MAC_A = 0x02_00_00_00_00_0AL;
    private static final long MAC_B = 0x02_00_00_00_00_0BL;

    @Test
    void queueForIsSymmetricForRandomTuples() {
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 100_000; i++) {
            int ipA = r.nextInt();
            int ipB = r.nextInt();
            int pA = r.nextInt(65536);
            int pB = r.nextInt(65536);
            int queues = 1 + r.nextInt(64);
            int q = TasRss.queueFor(ipA, pA, ipB, pB, queues);
            assertThat(q).isBetween(0, queues - 1);
            assertThat(TasRss.queueFor(ipB, pB, ipA, pA, queues)).isEqualTo(q);
        }
    }

    @Test
    void queueForSpreadsRandomFlowsEvenlyOverQueues() {
        SplittableRandom r = new SplittableRandom(11);
        int queues = 8;
        int flows = 80_000;
        int[] hits = new int[queues];
        for (int i = 0; i < flows; i++) {
            hits[TasRss.queueFor(r.nextInt(), r.nextInt(65536), r.nextInt(), r.nextInt(65536), queues)]++;
        }
        for (int h : hits) {
            assertThat(h).isBetween(flows / queues * 9 / 10, flows / queues * 11 / 10);
        }
    }

    @Test
    void queueForSpreadsConsecutiveEphemeralPortsOfOneClientEvenly() {
        int queues = 4;
        int[] hits = new int[queues];
        int client = Frames.ip(10, 0, 0, 2);
        int server = Frames.ip(10, 0, 0, 1);
        for (int port = 32768; port < 32768 + 40_000; port++) {
            hits[TasRss.queueFor(client, port, server, 80, queues)]++;
        }
        for (int h : hits) {
            assertThat(h).isBetween(9_000, 11_000);
        }
    }

    @Test
    void oneQueueOrFewerAlwaysGivesQueueZero() {
        assertThat(TasRss.queueFor(1, 2, 3, 4, 1)).isZero();
        assertThat(TasRss.queueFor(1, 2, 3, 4, 0)).isZero();
    }

    @Test
    void queueForFrameMatchesQueueForInBothDirections() {
        try (TasPacketPool pool = new TasPacketPool(2)) {
            PacketBuffer ab = pool.allocOne();
            PacketBuffer ba = pool.allocOne();
            SplittableRandom r = new SplittableRandom(3);
            for (int i = 0; i < 1000; i++) {
                int ipA = r.nextInt();
                int ipB = r.nextInt();
                int pA = r.nextInt(65536);
                int pB = r.nextInt(65536);
                Frames.tcp(ab, MAC_B, MAC_A, ipA, pA, ipB, pB, 10);
                Frames.tcp(ba, MAC_A, MAC_B, ipB, pB, ipA, pA, 0);
                int expected = TasRss.queueFor(ipA, pA, ipB, pB, 16);
                assertThat(TasRss.queueForFrame(ab.segment, ab.offset, ab.length, 16)).isEqualTo(expected);
                assertThat(TasRss.queueForFrame(ba.segment, ba.offset, ba.length, 16)).isEqualTo(expected);
            }
        }
    }

    @Test
    void queueForFrameSendsArpFragmentsNonTcpAndTruncatedFramesToQueueZero() {
        try (TasPacketPool pool = new TasPacketPool(1)) {
            PacketBuffer b = pool.allocOne();
            // Find a tuple that does not hash to 0, so "returns 0" really means "not hashed".
            int srcPort = 1000;
            while (TasRss.queueFor(Frames.ip(10, 0, 0, 1), srcPort, Frames.ip(10, 0, 0, 2), 80, 8) == 0) {
                srcPort++;
            }
            Frames.tcp(b, MAC_B, MAC_A, Frames.ip(10, 0, 0, 1), srcPort, Frames.ip(10, 0, 0, 2), 80, 0);
            assertThat(TasRss.queueForFrame(b.segment, b.offset, b.length, 8)).isNotZero();

            b.segment.set(Frames.BE_SHORT, b.offset + 12, (short) 0x0806); // ARP
            assertThat(TasRss.queueForFrame(b.segment, b.offset, b.length, 8)).isZero();
            b.segment.set(Frames.BE_SHORT, b.offset + 12, (short) 0x0800);

            b.segment.set(Frames.BE_SHORT, b.offset + 14 + 6, (short) 0x2000); // MF: first fragment
            assertThat(TasRss.queueForFrame(b.segment, b.offset, b.length, 8)).isZero();
            b.segment.set(Frames.BE_SHORT, b.offset + 14 + 6, (short) 0x0010); // offset 128: later fragment
            assertThat(TasRss.queueForFrame(b.segment, b.offset, b.length, 8)).isZero();
            b.segment.set(Frames.BE_SHORT, b.offset + 14 + 6, (short) 0x4000);

            b.segment.set(ValueLayout.JAVA_BYTE, b.offset + 14 + 9, (byte) 17); // UDP
            assertThat(TasRss.queueForFrame(b.segment, b.offset, b.length, 8)).isZero();
            b.segment.set(ValueLayout.JAVA_BYTE, b.offset + 14 + 9, (byte) 6);

            b.segment.set(ValueLayout.JAVA_BYTE, b.offset + 14, (byte) 0x44); // IHL 4: malformed
            assertThat(TasRss.queueForFrame(b.segment, b.offset, b.length, 8)).isZero();
            b.segment.set(ValueLayout.JAVA_BYTE, b.offset + 14, (byte) 0x65); // version 6
            assertThat(TasRss.queueForFrame(b.segment, b.offset, b.length, 8)).isZero();
            b.segment.set(ValueLayout.JAVA_BYTE, b.offset + 14, (byte) 0x45);

            assertThat(TasRss.queueForFrame(b.segment, b.offset, 14 + 20 + 3, 8)).isZero(); // ports cut off
            assertThat(TasRss.queueForFrame(b.segment, b.offset, 10, 8)).isZero();
            assertThat(TasRss.queueForFrame(b.segment, b.offset, b.length, 8)).isNotZero();
        }
    }

    @Test
    void queueForFrameLooksThroughOneVlanTag() {
        try (TasPacketPool pool = new TasPacketPool(2)) {
            PacketBuffer plain = pool.allocOne();
            PacketBuffer tagged = pool.allocOne();
            int a = Frames.ip(10, 1, 1, 1);
            int c = Frames.ip(10, 1, 1, 2);
            Frames.tcp(plain, MAC_B, MAC_A, a, 4242, c, 443, 0);
            // Same frame with an 802.1Q tag inserted after the MACs.
            java.lang.foreign.MemorySegment.copy(plain.segment, plain.offset, tagged.segment, tagged.offset, 12);
            tagged.segment.set(Frames.BE_SHORT, tagged.offset + 12, (short) 0x8100);
            tagged.segment.set(Frames.BE_SHORT, tagged.offset + 14, (short) 42);
            java.lang.foreign.MemorySegment.copy(plain.segment, plain.offset + 12, tagged.segment, tagged.offset + 16,
                    plain.length - 12);
            tagged.length = plain.length + 4;
            for (int queues = 2; queues <= 32; queues++) {
                assertThat(TasRss.queueForFrame(tagged.segment, tagged.offset, tagged.length, queues))
                        .isEqualTo(TasRss.queueFor(a, 4242, c, 443, queues));
            }
        }
    }
}
