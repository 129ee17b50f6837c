package io.tasnetty.engine.port.dpdk;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tasnetty.engine.port.PacketBuffer;
import io.tasnetty.engine.port.TasRss;
import io.tasnetty.engine.port.TasPortStats;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The DPDK port over {@code net_ring0}: a loopback ethdev whose queue i transmits into its own
 * receive queue i, so whole bursts come back as the very same mbufs.
 */
class DpdkPortTest {
    private static DpdkPort ring;

    @BeforeAll
    static void openRing() {
        DpdkTestSupport.requireEal();
        // net_ring0 comes from the EAL arguments and is the first port.
        ring = DpdkPort.open(DpdkTestSupport.EAL, -1, 2, 0, false, false, 2047);
    }

    @AfterAll
    static void closeRing() {
        if (ring != null) {
            ring.close();
        }
    }

    @AfterEach
    void noBufferLeaks() {
        if (ring != null) {
            assertThat(ring.availableMbufs()).as("mbufs back in the pool").isEqualTo(ring.mbufCount());
        }
    }

    @Test
    void shouldOpenTheFirstPortWithWhatTheDeviceOffers() {
        assertThat(ring.driverName()).isEqualTo("net_ring");
        assertThat(ring.name()).isEqualTo("dpdk:" + ring.portId());
        assertThat(ring.queueCount()).isEqualTo(2);
        assertThat(ring.mtu()).isEqualTo(1500);
        assertThat(ring.capabilities().txChecksumOffload()).isFalse();
        assertThat(ring.capabilities().rxInterrupts()).isFalse();
        assertThat(ring.capabilities().rssRetaSize()).isZero();
        assertThat(ring.region().byteSize()).isGreaterThanOrEqualTo((long) ring.mbufCount() * 2048);
    }

    @Test
    void shouldPlaceFlowsByTheSoftwareHashOnADeviceWithoutRss() {
        // net_ring has no RSS: no key, no redirection table to model; the engine hands over what
        // arrives elsewhere (on net_ring a frame comes back on the queue it was sent from).
        assertThat(ring.rxSteering()).isNull();
        for (int port = 40000; port < 40100; port++) {
            assertThat(ring.flowQueue(0x0A000001, 80, 0x0A000002, port, 2))
                .isEqualTo(TasRss.queueFor(0x0A000001, 80, 0x0A000002, port, 2));
        }
    }

    @Test
    void shouldLeaveTheInitThreadsCpuAffinityAlone() {
        String[] affinity = DpdkTestSupport.initThreadAffinity();
        if (affinity[0] != null) {
            assertThat(affinity[1]).as("rte_eal_init pins its caller; the shim restores it").isEqualTo(affinity[0]);
        }
    }

    @Test
    void shouldRefuseASecondEalInitWithOtherArguments() {
        TasDpdk.initEal(DpdkTestSupport.EAL); // same arguments: nothing to do
        List<String> other = new ArrayList<>(DpdkTestSupport.EAL);
        other.add("--vdev=net_ring9");
        assertThatThrownBy(() -> TasDpdk.initEal(other))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already runs")
                .hasMessageContaining("net_ring9");
    }

    @Test
    void shouldExplainADeviceItCannotAttach() {
        assertThatThrownBy(() -> TasDpdk.attachDevice("net_nosuchdriver0"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("rte_dev_probe(\"net_nosuchdriver0\")");
        assertThat(TasDpdk.portIdByName("net_nosuchdriver0")).isEqualTo(-1);
        assertThat(TasDpdk.portIdByName("net_ring0")).isEqualTo(ring.portId());
    }

    @Test
    void shouldReceiveTheSameBuffersItTransmittedOnTheSameQueue() {
        int n = 48;
        PacketBuffer[] tx = new PacketBuffer[n];
        assertThat(ring.alloc(tx, n)).isEqualTo(n);
        for (int i = 0; i < n; i++) {
            PacketBuffer b = tx[i];
            assertThat(b.segment).isSameAs(ring.region());
            assertThat(b.owner).isSameAs(ring);
            assertThat(b.capacity).isGreaterThanOrEqualTo(1518);
            assertThat(b.length).isZero();
            b.length = 60 + i;
            for (int k = 0; k < b.length; k += 4) {
                b.segment.set(JAVA_INT_UNALIGNED, b.offset + k, i * 1000 + k);
            }
        }
        assertThat(ring.txBurst(1, tx, n)).isEqualTo(n);

        PacketBuffer[] other = new PacketBuffer[64];
        assertThat(ring.rxBurst(0, other, 64)).as("queue 0 saw nothing").isZero();

        PacketBuffer[] rx = new PacketBuffer[64];
        int got = ring.rxBurst(1, rx, 64);
        assertThat(got).isEqualTo(n);
        for (int i = 0; i < n; i++) {
            PacketBuffer b = rx[i];
            assertThat(b).isSameAs(tx[i]);
            assertThat(b.length).isEqualTo(60 + i);
            assertThat(b.flags).isZero();
            for (int k = 0; k + 4 <= b.length; k += 4) {
                assertThat(b.segment.get(JAVA_INT_UNALIGNED, b.offset + k)).isEqualTo(i * 1000 + k);
            }
        }
        ring.free(rx, got);
        assertThat(rx[0]).isNull();
        assertThat(ring.auditPool()).as("every mbuf still points at its own buffer after a round trip").isNull();
    }

    @Test
    void shouldTransmitFromAnOffsetTheEngineMoved() {
        PacketBuffer[] b = new PacketBuffer[1];
        assertThat(ring.alloc(b, 1)).isEqualTo(1);
        long start = b[0].offset;
        int capacity = b[0].capacity;
        b[0].offset = start - 64; // prepend into the headroom
        b[0].length = 100;
        b[0].segment.set(JAVA_BYTE, b[0].offset, (byte) 0x5a);
        assertThat(ring.txBurst(0, b, 1)).isEqualTo(1);
        PacketBuffer[] rx = new PacketBuffer[4];
        assertThat(ring.rxBurst(0, rx, 4)).isEqualTo(1);
        ring.free(rx[0]);
        assertThat(rx[0].offset).isEqualTo(start - 64);
        assertThat(rx[0].capacity).isEqualTo(capacity + 64);
        assertThat(rx[0].segment.get(JAVA_BYTE, rx[0].offset)).isEqualTo((byte) 0x5a);
    }

    @Test
    void shouldRefuseABufferThatIsNotItsOwn() {
        PacketBuffer[] b = new PacketBuffer[1];
        assertThat(ring.alloc(b, 1)).isEqualTo(1);
        PacketBuffer foreign = new PacketBuffer(b[0].segment, b[0].offset, 100, b[0].handle, "someone else");
        foreign.length = 60;
        assertThatThrownBy(() -> ring.txBurst(0, new PacketBuffer[] {foreign}, 1))
                .isInstanceOf(IllegalArgumentException.class);
        b[0].length = b[0].capacity + 1;
        assertThatThrownBy(() -> ring.txBurst(0, b, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a valid buffer");
        ring.free(b[0]);
    }

    @Test
    void shouldAllocateEveryMbufThenReturnAShortCount() {
        PacketBuffer[] all = new PacketBuffer[ring.mbufCount() + 10];
        int got = ring.alloc(all, all.length);
        assertThat(got).isEqualTo(ring.mbufCount());
        assertThat(ring.alloc(new PacketBuffer[4], 4)).isZero();
        IdentityHashMap<PacketBuffer, Boolean> distinct = new IdentityHashMap<>();
        for (int i = 0; i < got; i++) {
            distinct.put(all[i], true);
        }
        assertThat(distinct).hasSize(got);
        ring.free(all, got);
    }

    @Test
    void shouldCountPacketsInItsStatistics() {
        TasPortStats before = ring.stats();
        PacketBuffer[] b = new PacketBuffer[8];
        assertThat(ring.alloc(b, 8)).isEqualTo(8);
        for (PacketBuffer p : b) {
            p.length = 64;
        }
        assertThat(ring.txBurst(0, b, 8)).isEqualTo(8);
        assertThat(ring.rxBurst(0, b, 8)).isEqualTo(8);
        ring.free(b, 8);
        TasPortStats after = ring.stats();
        assertThat(after.txPackets() - before.txPackets()).isEqualTo(8);
        assertThat(after.rxPackets() - before.rxPackets()).isEqualTo(8);
        assertThat(ring.multiSegmentDrops()).isZero();
    }

    @Test
    @Timeout(30)
    void awaitRxWithoutInterruptsShouldSleepUntilWokenUp() throws Exception {
        // No interrupts: the engine chooses each nap (TasEngine polls a poll-only port while
        // frames come); a wait lasts until its timeout or a wakeup, whichever comes first.
        long t0 = System.nanoTime();
        ring.awaitRx(0, 1_000_000L);
        assertThat(System.nanoTime() - t0).as("ns in a 1 ms awaitRx").isGreaterThanOrEqualTo(1_000_000L);
        java.util.concurrent.CountDownLatch inWait = new java.util.concurrent.CountDownLatch(1);
        Thread sleeper = Thread.ofPlatform().start(() -> {
            inWait.countDown();
            ring.awaitRx(1, 600_000_000_000L);
        });
        inWait.await();
        // A wakeup before the park starts is kept (LockSupport's permit), so one call is enough
        // once the waiter is registered; repeat until it returns.
        while (sleeper.isAlive()) {
            ring.wakeup(1);
            sleeper.join(100);
        }
        ring.wakeup(0);
    }

    @Test
    void burstsShouldNotAllocateOnTheJavaHeap() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        PacketBuffer[] tx = new PacketBuffer[32];
        PacketBuffer[] rx = new PacketBuffer[32];
        Runnable round = () -> {
            int n = ring.alloc(tx, 32);
            for (int i = 0; i < n; i++) {
                tx[i].length = 64;
            }
            int sent = ring.txBurst(0, tx, n);
            int got = ring.rxBurst(0, rx, 32);
            ring.free(rx, got);
            if (sent != n || got != n) {
                throw new AssertionError(sent + "/" + got + "/" + n);
            }
            ring.rxBurst(1, rx, 32); // empty
        };
        for (int i = 0; i < 50_000; i++) {
            round.run(); // warm up: JIT, ThreadLocal scratch
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 100_000; i++) {
            round.run();
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(allocated).as("bytes allocated by 100k alloc/tx/rx/free rounds").isLessThan(16 * 1024);
    }
}
