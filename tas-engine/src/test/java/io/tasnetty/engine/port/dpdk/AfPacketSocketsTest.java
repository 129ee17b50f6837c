package io.tasnetty.engine.port.dpdk;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.TasTestEnvironment;
import io.tasnetty.engine.port.LinuxNative;
import io.tasnetty.engine.port.dpdk.AfPacketSockets.Discovery;
import io.tasnetty.engine.port.dpdk.AfPacketSockets.Sock;
import io.tasnetty.engine.port.dpdk.AfPacketSockets.Vdev;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;

/**
 * How {@link AfPacketSockets} tells which AF_PACKET sockets belong to which af_packet device and
 * queue: the pure rules on made-up snapshots, and the scan of {@code /proc/self/fd} against real
 * AF_PACKET sockets this test opens (root: CAP_NET_RAW).
 */
class AfPacketSocketsTest {
    private static final int A = 5;
    private static final int B = 7;
    private static final ToIntFunction<Vdev> IFINDEX = v -> switch (v.iface()) {
        case "a" -> A;
        case "b" -> B;
        default -> 0;
    };

    @Test
    void afPacketDevicesShouldBeReadFromVdevArgumentsInCommandLineOrder() {
        List<Vdev> v = AfPacketSockets.vdevs(List.of("--no-huge", "-l", "0", "--vdev=net_af_packet0,iface=a,qpairs=2",
                "--vdev", "eth_af_packet1,iface=b", "--vdev=net_ring0", "--vdev=net_af_packet2,iface=a,qpairs=x"));
        assertThat(v).containsExactly(new Vdev("net_af_packet0", "a", 2), new Vdev("eth_af_packet1", "b", 1),
                new Vdev("net_af_packet2", "a", -1));
        assertThat(Vdev.parse("net_tap0,iface=a")).isNull();
    }

    @Test
    void eachDeviceShouldGetTheNewSocketsOnItsInterface() {
        Sock old = new Sock(3, 100, A); // the application's, open before the probe
        List<Sock> after = List.of(old, new Sock(24, 205, A), new Sock(20, 201, A), new Sock(21, 202, A),
                new Sock(22, 203, B), new Sock(23, 204, A), new Sock(25, 206, 0));
        Vdev first = new Vdev("net_af_packet0", "a", 2);
        Vdev other = new Vdev("net_af_packet1", "b", 1);
        Vdev second = new Vdev("net_af_packet2", "a", 2); // the same interface again

        Map<Vdev, Discovery> got = AfPacketSockets.assign(Set.of(100L), after, List.of(first, other, second), IFINDEX);

        // Which of a's four is whose is the PMDs' to tell (inQueueOrder), not the fd numbers.
        assertThat(fds(got.get(first))).containsExactly(20, 21, 23, 24);
        assertThat(fds(got.get(other))).containsExactly(22);
        assertThat(fds(got.get(second))).containsExactly(20, 21, 23, 24);
    }

    @Test
    void queueOrderShouldBeThePmdsFdsNotTheFdNumbers() {
        List<Sock> candidates = List.of(new Sock(36, 201, A), new Sock(38, 202, A));

        // What a close on another thread during the probe gives: queue 0 got 38, queue 1 then 36.
        assertThat(fds(AfPacketSockets.inQueueOrder(candidates, new int[] {38, 36}))).containsExactly(38, 36);
        assertThat(fds(AfPacketSockets.inQueueOrder(candidates, new int[] {36, 38}))).containsExactly(36, 38);
        // Two ports on one interface: each takes its own from the shared candidates.
        assertThat(fds(AfPacketSockets.inQueueOrder(candidates, new int[] {38}))).containsExactly(38);
    }

    @Test
    void aPmdFdThatIsNoCandidateOrNamedTwiceShouldLeaveThePortWithoutSockets() {
        List<Sock> candidates = List.of(new Sock(36, 201, A), new Sock(38, 202, A));

        Discovery stranger = AfPacketSockets.inQueueOrder(candidates, new int[] {36, 40});
        assertThat(stranger.sockets()).isEmpty();
        assertThat(stranger.failure()).contains("queue 1 reads fd 40");
        Discovery twice = AfPacketSockets.inQueueOrder(candidates, new int[] {36, 36});
        assertThat(twice.sockets()).isEmpty();
        assertThat(twice.failure()).contains("queues 0 and 1 both read fd 36");
    }

    @Test
    void aCountThatDoesNotMatchTheDevicesQpairsShouldLeaveThoseDevicesWithoutSockets() {
        List<Sock> after = List.of(new Sock(20, 201, A), new Sock(21, 202, A), new Sock(22, 203, A),
                new Sock(23, 204, B));
        Vdev onA = new Vdev("net_af_packet0", "a", 2);
        Vdev onB = new Vdev("net_af_packet1", "b", 1);

        Map<Vdev, Discovery> got = AfPacketSockets.assign(Set.of(), after, List.of(onA, onB), IFINDEX);

        assertThat(got.get(onA).sockets()).isEmpty();
        assertThat(got.get(onA).failure()).contains("3 AF_PACKET sockets on a", "expected 2");
        assertThat(fds(got.get(onB))).containsExactly(23);
    }

    @Test
    void anUnknownInterfaceOrUnreadableQpairsShouldBeReportedNotGuessed() {
        Vdev nowhere = new Vdev("net_af_packet0", "c", 1);
        Vdev badQ = new Vdev("net_af_packet1", "a", -1);

        Map<Vdev, Discovery> got = AfPacketSockets.assign(Set.of(), List.of(new Sock(20, 201, A)),
                List.of(nowhere, badQ), IFINDEX);

        assertThat(got.get(nowhere).failure()).contains("no interface c");
        assertThat(got.get(badQ).failure()).contains("qpairs");
    }

    @Test
    void aDeviceNotProbedThroughDpdkPortShouldHaveNoSocketsAndSayWhy() {
        assertThat(AfPacketSockets.forPort(4711).failure()).contains("not probed by DpdkPort");
    }

    @Test
    void scanShouldFindAfPacketSocketsWithTheirInterfaceAndOnlyThose() throws Throwable {
        TasTestEnvironment.require(TasTestEnvironment.isRoot(), "root (AF_PACKET sockets need CAP_NET_RAW)");
        int lo = LinuxNative.ifNameToIndex("lo");
        assertThat(lo).isPositive();
        List<Sock> before = AfPacketSockets.scan();
        int bound = -1;
        int unbound = -1;
        try (DatagramChannel udp = DatagramChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            bound = RawSockets.packetSocket(lo);
            unbound = RawSockets.packetSocket(0);
            List<Sock> after = AfPacketSockets.scan();

            Sock b = find(after, bound);
            assertThat(b).as("the bound socket").isNotNull();
            assertThat(b.ifindex()).isEqualTo(lo);
            assertThat(find(after, unbound).ifindex()).as("an unbound socket (the PMD opens one to ask the ifindex)")
                    .isZero();
            assertThat(after).as("AF_PACKET only: the UDP socket is not listed").hasSize(before.size() + 2);
            assertThat(AfPacketSockets.stillOpen(b)).isTrue();

            // What a probe that opened one socket on lo would get: only the bound, new one.
            Vdev onLo = new Vdev("net_af_packet9", "lo", 1);
            Set<Long> inodesBefore = before.stream().map(Sock::inode).collect(java.util.stream.Collectors.toSet());
            Discovery d = AfPacketSockets.assign(inodesBefore, after, List.of(onLo), v -> lo).get(onLo);
            assertThat(d.failure()).isNull();
            assertThat(d.sockets()).containsExactly(b);

            LinuxNative.close(bound);
            bound = -1;
            assertThat(AfPacketSockets.stillOpen(b)).as("closed").isFalse();
        } finally {
            if (bound >= 0) {
                LinuxNative.close(bound);
            }
            if (unbound >= 0) {
                LinuxNative.close(unbound);
            }
        }
    }

    private static Sock find(List<Sock> socks, int fd) {
        return socks.stream().filter(s -> s.fd() == fd).findFirst().orElse(null);
    }

    private static List<Integer> fds(Discovery d) {
        assertThat(d.failure()).isNull();
        return d.sockets().stream().map(Sock::fd).toList();
    }

    /** AF_PACKET sockets through FFM (the JDK opens none), for tests only. */
    static final class RawSockets {
        private static final Linker LINKER = Linker.nativeLinker();
        private static final MethodHandle SOCKET = LINKER.downcallHandle(LINKER.defaultLookup().find("socket")
                .orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        private static final MethodHandle BIND = LINKER.downcallHandle(LINKER.defaultLookup().find("bind")
                .orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        private static final int SOCK_RAW = 3;

        private RawSockets() {
        }

        /** socket(AF_PACKET, SOCK_RAW, 0), bound to {@code ifindex} (ETH_P_ALL) unless it is 0. */
        static int packetSocket(int ifindex) throws Throwable {
            int fd = (int) SOCKET.invokeExact(LinuxNative.AF_PACKET, SOCK_RAW, 0);
            assertThat(fd).as("socket(AF_PACKET)").isNotNegative();
            if (ifindex != 0) {
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment sll = a.allocate(20, 4); // struct sockaddr_ll
                    sll.set(JAVA_SHORT, 0, (short) LinuxNative.AF_PACKET);
                    sll.set(JAVA_SHORT, 2, Short.reverseBytes((short) 0x0003)); // htons(ETH_P_ALL)
                    sll.set(JAVA_INT, 4, ifindex);
                    int rc = (int) BIND.invokeExact(fd, sll, 20);
                    assertThat(rc).as("bind(AF_PACKET, ifindex %d)", ifindex).isZero();
                }
            }
            return fd;
        }
    }
}
