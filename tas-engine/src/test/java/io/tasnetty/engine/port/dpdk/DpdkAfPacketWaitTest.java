package io.tasnetty.engine.port.dpdk;

import static io.tasnetty.engine.port.dpdk.DpdkTestSupport.BE_INT;
import static io.tasnetty.engine.port.dpdk.DpdkTestSupport.BE_SHORT;
import static io.tasnetty.engine.port.dpdk.DpdkTestSupport.PID;
import static io.tasnetty.engine.port.dpdk.DpdkTestSupport.sh;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.port.LinuxNative;
import io.tasnetty.engine.port.PacketBuffer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code net_af_packet} queues sleep on the PMD's own sockets: each queue wakes for the frames the
 * kernel puts in its ring (so queue i really is the i-th socket), for {@link DpdkPort#wakeup},
 * and neither spins nor naps meanwhile. The engine end of a veth pair (two queue pairs, the
 * kernel's fanout hash spreads flows over them); UDP datagrams from Linux in a namespace only this
 * test creates (192.168.236.0/24 exists nowhere else).
 */
class DpdkAfPacketWaitTest {
    private static final String ENGINE_IP = "192.168.236.1";
    private static final int ENGINE_IP_INT = DpdkTestSupport.ipv4(192, 168, 236, 1);
    private static final String NS = "tasafw-" + PID;
    private static final String VETH_ENGINE = "tawe" + PID % 1_000_000;
    private static final String VETH_LINUX = "tawl" + PID % 1_000_000;
    private static final int UDP_PORT = 9;
    private static final long LONG_WAIT = TimeUnit.SECONDS.toNanos(30);

    private static DpdkPort port;

    @BeforeAll
    static void openPort() {
        DpdkTestSupport.requireEal();
        DpdkTestSupport.requireRootNetworking();
        cleanUp();
        DpdkTestSupport.vethIntoNamespace(NS, VETH_ENGINE, VETH_LINUX, "192.168.236.2/24");
        port = DpdkPort.attach(DpdkTestSupport.EAL, "net_af_packet7,iface=" + VETH_ENGINE + ",qpairs=2", 2, 0,
                false, false, 2047);
        // Nothing in this test answers ARP: Linux knows the port's MAC statically.
        sh("ip", "-n", NS, "neigh", "replace", ENGINE_IP, "lladdr", DpdkTestSupport.macString(port.macAddress()),
                "dev", VETH_LINUX, "nud", "permanent");
    }

    @AfterAll
    static void cleanUp() {
        if (port != null) {
            port.close();
            port = null;
        }
        sh(true, "ip", "link", "del", VETH_ENGINE);
        sh(true, "ip", "netns", "del", NS);
    }

    @Test
    void eachQueueShouldSleepOnItsOwnSocketAndWakeForItsOwnFrames() throws Exception {
        assertThat(port.queueCount()).isEqualTo(2);
        assertThat(port.rxWaitMode()).startsWith("af_packet sockets");
        assertThat(port.capabilities().rxInterrupts()).as("it can block without spinning").isTrue();
        int ifindex = LinuxNative.ifNameToIndex(VETH_ENGINE);
        assertThat(AfPacketSockets.scan().stream().filter(s -> s.ifindex() == ifindex))
                .as("the PMD's sockets: one per queue pair, bound to the veth").hasSize(2);
        int[] fds = port.rxWaitSocketFds();
        // The port was attached right after `ip` ran: the JDK's reaper may have closed that process's
        // pipes during the probe, which gives queue 1 a lower fd than queue 0 (see AfPacketSockets).
        int queue0Reads = socketDrainedBy(port, 0, fds);
        drain();
        kernelStats(fds); // reading resets them

        int datagrams = 32;
        AtomicIntegerArray perQueue = new AtomicIntegerArray(2);
        AtomicInteger received = new AtomicInteger();
        long waitsBefore = port.rxWaits();
        long declinedBefore = port.rxSocketWaitsDeclined();
        try (Receivers r = new Receivers(perQueue, received)) {
            // One socket (so one source port, one flow) per datagram: the fanout hash spreads them.
            sendUdp(datagrams);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (received.get() < datagrams && System.nanoTime() < deadline && r.failure.get() == null) {
                Thread.sleep(20);
            }
            assertThat(r.failure.get()).isNull();
        }
        // What the receivers did not take: in the rings still (the kernel's own count beside it).
        int[] left = {countUdp(0), countUdp(1)};
        String story = "per queue " + perQueue + ", left in the rings " + Arrays.toString(left) + ", kernel (frames, drops)"
                + " per socket " + kernelStats(fds) + ", declined wake-ups " + (port.rxSocketWaitsDeclined() - declinedBefore)
                + ", waits " + (port.rxWaits() - waitsBefore) + ", wait fds " + Arrays.toString(fds)
                + ", queue 0 reads fd " + queue0Reads + (fds[0] > fds[1] ? " (fd order would have swapped them)" : "");
        System.out.println("DpdkAfPacketWaitTest: received " + received.get() + ", " + story);
        // Each receiver waits 30 s at a time: only its own socket's frames can end a wait this soon.
        assertThat(received.get()).as("datagrams received while each queue waits 30 s at a time (%s)", story)
                .isEqualTo(datagrams);
        assertThat(perQueue.get(0)).as("queue 0's share (the kernel's fanout hash)").isPositive();
        assertThat(perQueue.get(1)).as("queue 1's share").isPositive();
        // Swapped sockets make about every datagram wake the other queue's thread for nothing, or,
        // once one queue's frames are stuck, its thread nap-poll the other's socket for the rest of
        // the 10 s (tens of thousands): CI's 10 of 32 declined and 19 of 32 received fit that (the
        // probe paired queues and sockets by fd number then; a swap forced here gave 15 of 32 and
        // 77193). A right pairing declined none in 30 runs beside two busy loops; a stray wake-up
        // or four (a POLLERR, say) is still allowed.
        assertThat(port.rxSocketWaitsDeclined() - declinedBefore)
                .as("wake-ups by a socket that brought its queue nothing (%s)", story)
                .isLessThanOrEqualTo(datagrams / 8);
        assertThat(port.rxWaits() - waitsBefore).as("waits: about one per frame, no naps (%s)", story)
                .isLessThanOrEqualTo(2L * datagrams + 8);
        assertThat(queue0Reads).as("the socket queue 0 reads is the one it waits on (%s)", story).isEqualTo(fds[0]);
    }

    @Test
    void eachQueueShouldSleepOnTheSocketItReadsEvenWhenDescriptorsAreClosedDuringTheProbe() throws Exception {
        // socket() takes the lowest free descriptor: a descriptor closed by another thread between
        // the PMD's socket() calls (as the JDK's process reaper closes a finished child's pipes)
        // gives queue 1 a lower fd than queue 0. This thread opens and closes one all the time.
        AtomicBoolean churn = new AtomicBoolean(true);
        Thread churner = Thread.ofPlatform().name("fd-churn").start(() -> {
            while (churn.get()) {
                try (FileChannel ignored = FileChannel.open(Path.of("/dev/null"))) {
                    Thread.onSpinWait();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        });
        try {
            for (int i = 0; i < 20; i++) { // before the fix 5 of 6 runs of 10 probes swapped some
                try (DpdkPort p = DpdkPort.attach(DpdkTestSupport.EAL, "net_af_packet8,iface=" + VETH_ENGINE + ",qpairs=2",
                        2, 0, false, false, 1023)) {
                    int[] fds = p.rxWaitSocketFds();
                    assertThat(p.rxWaitMode()).startsWith("af_packet sockets");
                    assertThat(socketDrainedBy(p, 0, fds)).as("attach %d: the socket queue 0 reads (its wait fds %s)", i,
                            Arrays.toString(fds)).isEqualTo(fds[0]);
                }
            }
        } finally {
            churn.set(false);
            churner.join();
            drain();
        }
    }
    @Test
    void aWaitShouldSleepUntilItsTimeoutAndEndAtOnceOnWakeupEvenOneGivenBefore() throws Exception {
        drain();
        long waits = port.rxWaits();
        long t0 = System.nanoTime();
        port.awaitRx(0, TimeUnit.MILLISECONDS.toNanos(300));
        assertThat(System.nanoTime() - t0).as("one idle wait sleeps (no 50 us naps)")
                .isGreaterThan(TimeUnit.MILLISECONDS.toNanos(200));
        assertThat(port.rxWaits() - waits).isEqualTo(1);

        Thread sleeper = Thread.ofPlatform().start(() -> port.awaitRx(0, LONG_WAIT));
        Thread.sleep(100);
        port.wakeup(0);
        sleeper.join(TimeUnit.SECONDS.toMillis(10));
        assertThat(sleeper.isAlive()).as("woken by wakeup()").isFalse();

        port.wakeup(1); // nobody waits on queue 1: the next wait returns at once
        Thread kept = Thread.ofPlatform().start(() -> port.awaitRx(1, LONG_WAIT));
        kept.join(TimeUnit.SECONDS.toMillis(10));
        assertThat(kept.isAlive()).as("a wake-up given before the wait is kept").isFalse();
    }

    @Test
    void anInterfaceThatGoesDownAndUpShouldNeitherMakeWaitsSpinNorStopThemWaking() throws Exception {
        drain();
        sh("ip", "link", "set", VETH_ENGINE, "down"); // the sockets get ENETDOWN: POLLERR until read
        try {
            long waits = port.rxWaits();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            while (System.nanoTime() < end) {
                port.awaitRx(0, TimeUnit.MILLISECONDS.toNanos(100));
            }
            assertThat(port.rxWaits() - waits).as("waits in 1 s of 100 ms each with the link down").isLessThanOrEqualTo(20);
        } finally {
            sh("ip", "link", "set", VETH_ENGINE, "up");
        }
        AtomicIntegerArray perQueue = new AtomicIntegerArray(2);
        AtomicInteger received = new AtomicInteger();
        try (Receivers r = new Receivers(perQueue, received)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (received.get() == 0 && System.nanoTime() < deadline) {
                sendUdp(1); // the first may go while the veth is still coming up
                Thread.sleep(200);
            }
            assertThat(received.get()).as("a datagram after the link came back up").isPositive();
        }
    }

    @Test
    void twoPortsOnOneInterfaceShouldEachFindTheirOwnSockets() {
        try (DpdkPort second = DpdkPort.attach(DpdkTestSupport.EAL, "net_af_packet8,iface=" + VETH_ENGINE, 1, 0,
                false, false, 1023)) {
            assertThat(second.rxWaitMode()).startsWith("af_packet sockets");
            assertThat(second.rxWaitSocketFds()).hasSize(1).doesNotContain(port.rxWaitSocketFds());
        }
    }

    /** One thread per queue: receive, count UDP datagrams to the engine, else wait 30 s. */
    private static final class Receivers implements AutoCloseable {
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        private volatile boolean stop;
        private final List<Thread> threads;

        Receivers(AtomicIntegerArray perQueue, AtomicInteger received) {
            threads = List.of(start(0, perQueue, received), start(1, perQueue, received));
        }

        private Thread start(int q, AtomicIntegerArray perQueue, AtomicInteger received) {
            return Thread.ofPlatform().name("rx-" + q).start(() -> {
                PacketBuffer[] bufs = new PacketBuffer[32];
                try {
                    while (!stop) {
                        int n = port.rxBurst(q, bufs, bufs.length);
                        for (int i = 0; i < n; i++) {
                            if (isUdpToEngine(bufs[i])) {
                                perQueue.incrementAndGet(q);
                                received.incrementAndGet();
                            }
                        }
                        port.free(bufs, n);
                        if (n == 0) {
                            port.awaitRx(q, LONG_WAIT);
                        }
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
        }

        @Override
        public void close() throws InterruptedException {
            stop = true;
            for (int q = 0; q < threads.size(); q++) {
                port.wakeup(q);
            }
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(10));
                assertThat(t.isAlive()).as(t.getName() + " stopped").isFalse();
            }
        }
    }

    private static boolean isUdpToEngine(PacketBuffer b) {
        return DpdkTestSupport.etherType(b) == 0x0800 && b.segment.get(JAVA_BYTE, b.offset + 23) == 17
                && b.segment.get(BE_INT, b.offset + 30) == ENGINE_IP_INT
                && b.segment.get(BE_SHORT, b.offset + 36) == UDP_PORT;
    }

    private static void sendUdp(int count) {
        String python = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
        sh("ip", "netns", "exec", NS, python, "-c", "import socket\n"
                + "for i in range(" + count + "):\n"
                + "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                + "    s.sendto(b'tas', ('" + ENGINE_IP + "', " + UDP_PORT + "))\n"
                + "    s.close()\n");
    }

    private static void drain() {
        PacketBuffer[] bufs = new PacketBuffer[32];
        for (int q = 0; q < port.queueCount(); q++) {
            int n;
            while ((n = port.rxBurst(q, bufs, bufs.length)) > 0) {
                port.free(bufs, n);
            }
        }
    }

    /** Takes what queue q holds; returns how many of them are the test's datagrams. */
    private static int countUdp(int q) {
        PacketBuffer[] bufs = new PacketBuffer[32];
        int udp = 0;
        int n;
        while ((n = port.rxBurst(q, bufs, bufs.length)) > 0) {
            for (int i = 0; i < n; i++) {
                udp += isUdpToEngine(bufs[i]) ? 1 : 0;
            }
            port.free(bufs, n);
        }
        return udp;
    }

    /**
     * The one of two af_packet sockets {@code fds} of {@code p} that queue q drains: datagrams until
     * both hold frames, then q is drained and the socket with nothing left is its. -1 if neither or
     * both empty (a socket woken for the other queue's frames).
     */
    private static int socketDrainedBy(DpdkPort p, int q, int[] fds) {
        assertThat(fds).hasSize(2);
        PacketBuffer[] bufs = new PacketBuffer[32];
        for (int tries = 0; tries < 20 && !(readable(fds[0]) && readable(fds[1])); tries++) {
            sendUdp(8); // 8 flows: both sockets get some, all but always
        }
        assertThat(readable(fds[0]) && readable(fds[1])).as("frames on both sockets").isTrue();
        int n;
        while ((n = p.rxBurst(q, bufs, bufs.length)) > 0) {
            p.free(bufs, n);
        }
        boolean r0 = readable(fds[0]);
        boolean r1 = readable(fds[1]);
        for (int other = 0; other < p.queueCount(); other++) {
            while ((n = p.rxBurst(other, bufs, bufs.length)) > 0) {
                p.free(bufs, n);
            }
        }
        return r0 == r1 ? -1 : r0 ? fds[1] : fds[0];
    }

    /** Whether poll reports POLLIN on fd now. */
    private static boolean readable(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(LinuxNative.POLLFD_SIZE, 8);
            pfd.set(JAVA_INT, 0, fd);
            pfd.set(JAVA_SHORT, LinuxNative.POLLFD_EVENTS, LinuxNative.POLLIN);
            MemorySegment zero = a.allocate(LinuxNative.TIMESPEC_SIZE, 8);
            int r = LinuxNative.ppoll(LinuxNative.newCaptureState(a), pfd, 1, zero);
            return r > 0 && (pfd.get(JAVA_SHORT, LinuxNative.POLLFD_REVENTS) & LinuxNative.POLLIN) != 0;
        }
    }

    /** PACKET_STATISTICS of each socket since the last call, "(frames, drops)" per fd. */
    private static String kernelStats(int[] fds) {
        StringBuilder sb = new StringBuilder();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(8, 4); // struct tpacket_stats { tp_packets, tp_drops }
            MemorySegment len = a.allocate(4, 4);
            for (int fd : fds) {
                len.set(JAVA_INT, 0, 8);
                int rc = LinuxNative.getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, st, len);
                sb.append(sb.isEmpty() ? "" : " ").append(fd).append(rc == 0
                        ? "=(" + st.get(JAVA_INT, 0) + ", " + st.get(JAVA_INT, 4) + ")" : "=?");
            }
        }
        return sb.toString();
    }

    private static final int SOL_PACKET = 263;
    private static final int PACKET_STATISTICS = 6;
}
