package io.tasnetty.engine.port;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TasWireTest {
    private static final long MAC_A = 0x02_00_00_00_00_0AL;
    private static final long MAC_B = 0x02_00_00_00_00_0BL;
    private static final long MAC_C = 0x02_00_00_00_00_0CL;
    private static final long UNKNOWN = 0x02_00_00_00_00_99L;
    private static final long FIVE_SECONDS = TimeUnit.SECONDS.toNanos(5);

    private final TasWire wire = new TasWire();

    @AfterEach
    void closeWire() {
        wire.close();
    }

    private static void send(WirePort from, long dst, int seq, int length) {
        PacketBuffer[] one = new PacketBuffer[1];
        assertThat(from.alloc(one, 1)).isEqualTo(1);
        Frames.raw(one[0], dst, from.macAddress(), seq, length);
        assertThat(from.txBurst(0, one, 1)).isEqualTo(1);
    }

    private static List<Integer> drain(WirePort port, int queue) {
        List<Integer> seqs = new ArrayList<>();
        PacketBuffer[] bufs = new PacketBuffer[32];
        int n;
        while ((n = port.rxBurst(queue, bufs, bufs.length)) > 0) {
            for (int i = 0; i < n; i++) {
                seqs.add(Frames.seq(bufs[i]));
            }
            port.free(bufs, n);
        }
        return seqs;
    }

    @Test
    void twoPortsExchangeFramesBothWays() {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
        WirePort b = wire.attach("b", MAC_B, 1, 1500, 64);
        send(a, MAC_B, 1, 60);
        send(a, MAC_B, 2, 1514);
        send(b, MAC_A, 3, 100);

        PacketBuffer[] bufs = new PacketBuffer[8];
        assertThat(b.rxBurst(0, bufs, 8)).isEqualTo(2);
        assertThat(Frames.seq(bufs[0])).isEqualTo(1);
        assertThat(bufs[0].length).isEqualTo(60);
        assertThat(Frames.getMac(bufs[0].segment, bufs[0].offset + 6)).isEqualTo(MAC_A);
        assertThat(Frames.seq(bufs[1])).isEqualTo(2);
        assertThat(bufs[1].length).isEqualTo(1514);
        assertThat(b.pool().owns(bufs[0])).isTrue(); // copied into the receiver's own pool
        b.free(bufs, 2);

        assertThat(a.rxBurst(0, bufs, 8)).isEqualTo(1);
        assertThat(Frames.seq(bufs[0])).isEqualTo(3);
        a.free(bufs, 1);

        assertThat(a.stats()).isEqualTo(new TasPortStats(1, 2, 0, 0));
        assertThat(b.stats()).isEqualTo(new TasPortStats(2, 1, 0, 0));
    }

    @Test
    void frameContentArrivesUnchanged() {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
        WirePort b = wire.attach("b", MAC_B, 1, 1500, 64);
        PacketBuffer[] one = new PacketBuffer[1];
        a.alloc(one, 1);
        Frames.raw(one[0], MAC_B, MAC_A, 77, 999);
        byte[] sent = Frames.bytes(one[0]);
        a.txBurst(0, one, 1);
        assertThat(b.rxBurst(0, one, 1)).isEqualTo(1);
        assertThat(Frames.bytes(one[0])).isEqualTo(sent);
        b.free(one[0]);
    }

    @Test
    void senderBufferGoesBackToItsPoolRightAfterTransmit() {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
        wire.attach("b", MAC_B, 1, 1500, 64);
        int before = a.pool().available();
        PacketBuffer[] bufs = new PacketBuffer[4];
        assertThat(a.alloc(bufs, 4)).isEqualTo(4);
        for (int i = 0; i < 4; i++) {
            Frames.raw(bufs[i], MAC_B, MAC_A, i, 64);
        }
        assertThat(a.txBurst(0, bufs, 4)).isEqualTo(4);
        assertThat(a.pool().available()).isEqualTo(before);
        assertThat(a.pool().invalidFrees()).isZero();
    }

    @Test
    void broadcastReachesEveryOtherPortButNotTheSender() {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
        WirePort b = wire.attach("b", MAC_B, 1, 1500, 64);
        WirePort c = wire.attach("c", MAC_C, 1, 1500, 64);
        send(a, Frames.BROADCAST, 5, 60);
        assertThat(drain(b, 0)).containsExactly(5);
        assertThat(drain(c, 0)).containsExactly(5);
        assertThat(drain(a, 0)).isEmpty();
    }

    @Test
    void multicastIsFloodedLikeBroadcast() {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
        WirePort b = wire.attach("b", MAC_B, 1, 1500, 64);
        WirePort c = wire.attach("c", MAC_C, 1, 1500, 64);
        send(b, 0x01_00_5E_00_00_01L, 6, 60);
        assertThat(drain(a, 0)).containsExactly(6);
        assertThat(drain(c, 0)).containsExactly(6);
        assertThat(drain(b, 0)).isEmpty();
    }

    @Test
    void unknownUnicastIsFloodedToEveryOtherPort() {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
        WirePort b = wire.attach("b", MAC_B, 1, 1500, 64);
        WirePort c = wire.attach("c", MAC_C, 1, 1500, 64);
        send(a, UNKNOWN, 7, 60);
        assertThat(drain(b, 0)).containsExactly(7);
        assertThat(drain(c, 0)).containsExactly(7);
        assertThat(drain(a, 0)).isEmpty();
    }

    @Test
    void knownUnicastGoesOnlyToItsPort() {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
        WirePort b = wire.attach("b", MAC_B, 1, 1500, 64);
        WirePort c = wire.attach("c", MAC_C, 1, 1500, 64);
        send(a, MAC_C, 8, 60);
        assertThat(drain(c, 0)).containsExactly(8);
        assertThat(drain(b, 0)).isEmpty();
    }

    @Test
    void fullRxQueueDropsTheExcessAndCountsItAtTheReceiver() {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 8);
        WirePort b = wire.attach("b", MAC_B, 1, 1500, 8);
        int bPoolBefore = b.pool().available();
        for (int i = 0; i < 20; i++) {
            send(a, MAC_B, i, 60); // the sender's txBurst takes every frame
        }
        assertThat(a.stats().txPackets()).isEqualTo(20);
        assertThat(b.stats().rxDropped()).isEqualTo(12);
        assertThat(drain(b, 0)).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
        assertThat(b.pool().available()).isEqualTo(bPoolBefore); // dropped frames' buffers came back
    }

    @Test
    void exhaustedReceiverPoolDropsAndCounts() {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
        WirePort b = wire.attach("b", MAC_B, 1, 1500, 64, 4);
        for (int i = 0; i < 6; i++) {
            send(a, MAC_B, i, 60);
        }
        assertThat(b.stats().rxDropped()).isEqualTo(2);
        assertThat(drain(b, 0)).containsExactly(0, 1, 2, 3);
    }

    @Test
    void oversizeAndRuntFramesAreDroppedBySenderAndCounted() {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
        WirePort b = wire.attach("b", MAC_B, 1, 1500, 64);
        PacketBuffer[] bufs = new PacketBuffer[2];
        a.alloc(bufs, 2);
        Frames.raw(bufs[0], MAC_B, MAC_A, 1, 1500 + 19);
        bufs[1].length = 10;
        assertThat(a.txBurst(0, bufs, 2)).isEqualTo(2);
        assertThat(a.stats().txDropped()).isEqualTo(2);
        assertThat(drain(b, 0)).isEmpty();
    }

    @Test
    void tcpFramesLandOnTheRssQueueOfTheirFlowInBothDirections() {
        WirePort a = wire.attach("a", MAC_A, 4, 1500, 64);
        WirePort b = wire.attach("b", MAC_B, 4, 1500, 64);
        int ipA = Frames.ip(10, 0, 0, 1);
        int ipB = Frames.ip(10, 0, 0, 2);
        PacketBuffer[] one = new PacketBuffer[1];
        PacketBuffer[] got = new PacketBuffer[4];
        boolean[] seen = new boolean[4];
        for (int port = 40000; port < 40064; port++) {
            int q = TasRss.queueFor(ipA, port, ipB, 80, 4);
            seen[q] = true;
            a.alloc(one, 1);
            Frames.tcp(one[0], MAC_B, MAC_A, ipA, port, ipB, 80, 0);
            a.txBurst(q, one, 1);
            assertThat(b.rxBurst(q, got, 4)).isEqualTo(1);
            b.free(got[0]);
            b.alloc(one, 1);
            Frames.tcp(one[0], MAC_A, MAC_B, ipB, 80, ipA, port, 0);
            b.txBurst(q, one, 1);
            assertThat(a.rxBurst(q, got, 4)).isEqualTo(1);
            a.free(got[0]);
        }
        assertThat(seen).containsOnly(true);
    }

    @Test
    void awaitRxReturnsAtOnceWhenFramesWait() {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
        WirePort b = wire.attach("b", MAC_B, 1, 1500, 64);
        send(a, MAC_B, 1, 60);
        long t0 = System.nanoTime();
        b.awaitRx(0, TimeUnit.SECONDS.toNanos(30));
        assertThat(System.nanoTime() - t0).isLessThan(FIVE_SECONDS);
    }

    @Test
    void awaitRxReturnsWhenAnotherThreadCallsWakeup() throws Exception {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
        long elapsed = awaitWhile(a, () -> a.wakeup(0));
        assertThat(elapsed).isLessThan(FIVE_SECONDS);
    }

    @Test
    void awaitRxReturnsWhenAnotherThreadDeliversAFrame() throws Exception {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
        WirePort b = wire.attach("b", MAC_B, 1, 1500, 64);
        long elapsed = awaitWhile(b, () -> send(a, MAC_B, 1, 60));
        assertThat(elapsed).isLessThan(FIVE_SECONDS);
        assertThat(drain(b, 0)).containsExactly(1);
    }

    @Test
    void wakeupBeforeAwaitRxIsNotLost() {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
        a.wakeup(0);
        long t0 = System.nanoTime();
        a.awaitRx(0, TimeUnit.SECONDS.toNanos(30));
        assertThat(System.nanoTime() - t0).isLessThan(FIVE_SECONDS);
    }

    /** Starts {@code action} on another thread once this thread is about to park; returns the wait. */
    private static long awaitWhile(WirePort port, Runnable action) throws InterruptedException {
        CountDownLatch ready = new CountDownLatch(1);
        Thread other = new Thread(() -> {
            try {
                ready.await();
                Thread.sleep(50); // most likely parked by now; correct either way
            } catch (InterruptedException e) {
                return;
            }
            action.run();
        });
        other.start();
        long t0 = System.nanoTime();
        ready.countDown();
        port.awaitRx(0, TimeUnit.SECONDS.toNanos(30));
        long elapsed = System.nanoTime() - t0;
        other.join(10_000);
        return elapsed;
    }

    @Test
    void manyConcurrentSendersLoseNothingThatIsNotCounted() throws Exception {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 256);
        WirePort b = wire.attach("b", MAC_B, 1, 1500, 256);
        WirePort sink = wire.attach("sink", MAC_C, 2, 1500, 256);
        int perSender = 20_000;
        AtomicLong received = new AtomicLong();
        Thread receiver = new Thread(() -> {
            PacketBuffer[] bufs = new PacketBuffer[64];
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                long total = received.get() + sink.stats().rxDropped();
                if (total == 2L * perSender) {
                    return;
                }
                for (int q = 0; q < 2; q++) {
                    int n = sink.rxBurst(q, bufs, bufs.length);
                    received.addAndGet(n);
                    sink.free(bufs, n);
                }
                sink.awaitRx(0, 1_000_000);
            }
        });
        receiver.start();
        Thread[] senders = new Thread[2];
        WirePort[] from = {a, b};
        for (int s = 0; s < 2; s++) {
            WirePort p = from[s];
            senders[s] = new Thread(() -> {
                PacketBuffer[] bufs = new PacketBuffer[16];
                int sent = 0;
                while (sent < perSender) {
                    int n = p.alloc(bufs, Math.min(16, perSender - sent));
                    for (int i = 0; i < n; i++) {
                        Frames.raw(bufs[i], MAC_C, p.macAddress(), sent + i, 64);
                    }
                    sent += p.txBurst(0, bufs, n);
                }
            });
            senders[s].start();
        }
        for (Thread t : senders) {
            t.join(30_000);
        }
        receiver.join(30_000);
        assertThat(received.get() + sink.stats().rxDropped()).isEqualTo(2L * perSender);
        assertThat(sink.stats().rxPackets()).isEqualTo(received.get());
        assertThat(sink.pool().invalidFrees()).isZero();
    }

    @Test
    void transmitAndReceiveAllocateNothingPerFrame() {
        WirePort a = wire.attach("a", MAC_A, 2, 1500, 256);
        WirePort b = wire.attach("b", MAC_B, 2, 1500, 256);
        PacketBuffer[] bufs = new PacketBuffer[32];
        int ipA = Frames.ip(10, 0, 0, 1);
        int ipB = Frames.ip(10, 0, 0, 2);
        Runnable round = () -> {
            for (int i = 0; i < 1000; i++) {
                int n = a.alloc(bufs, 32);
                for (int j = 0; j < n; j++) {
                    Frames.tcp(bufs[j], MAC_B, MAC_A, ipA, 1000 + j, ipB, 80, 100);
                }
                a.txBurst(0, bufs, n);
                for (int q = 0; q < 2; q++) {
                    int m = b.rxBurst(q, bufs, 32);
                    b.free(bufs, m);
                }
                b.awaitRx(0, 1); // frames wait or 1 ns: never parks long
                b.wakeup(1);
            }
        };
        long allocated = Allocation.steadyState(round, 1024, 50);
        assertThat(allocated).as("bytes allocated for 32,000 frames, once compiled").isLessThan(1024);
    }

    @Test
    void attachRejectsADuplicateOrMulticastMac() {
        wire.attach("a", MAC_A, 1, 1500, 64);
        assertThatThrownBy(() -> wire.attach("a2", MAC_A, 1, 1500, 64))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("already on the wire");
        assertThatThrownBy(() -> wire.attach("m", 0x01_00_00_00_00_01L, 1, 1500, 64))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unicast");
    }

    @Test
    void closedPortIsDetachedAndNoLongerReceives() {
        WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
        WirePort b = wire.attach("b", MAC_B, 1, 1500, 64);
        b.close();
        assertThat(wire.ports()).containsExactly(a);
        send(a, MAC_B, 1, 60); // now unknown: flooded to nobody
        assertThat(a.stats().txPackets()).isEqualTo(1);
    }

    @Test
    void portReportsNameMacMtuAndSoftwareCapabilities() {
        WirePort a = wire.attach("a", MAC_A, 3, 9000, 64);
        assertThat(a.name()).isEqualTo("wire:a");
        assertThat(a.macAddress()).isEqualTo(MAC_A);
        assertThat(a.mtu()).isEqualTo(9000);
        assertThat(a.queueCount()).isEqualTo(3);
        assertThat(a.capabilities()).isEqualTo(TasPortCapabilities.SOFTWARE);
        assertThat(a.pool().bufferSize()).isGreaterThanOrEqualTo(9018);
        assertThat(a.toString()).contains("02:00:00:00:00:0a");
    }
}
