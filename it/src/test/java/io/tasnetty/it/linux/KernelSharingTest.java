package io.tasnetty.it.linux;

import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.stats.TasCounter;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Timeout;

/**
 * Sharing the NIC with the kernel ({@code kni-name}, TAS's KNI): the engine serves its own TCP
 * port while everything it does not consume reaches a Linux kernel through the exception path,
 * and what that kernel sends leaves through the engine's port.
 *
 * <pre>
 *   peer namespace (Linux .2) ==== engine port (.1) ---- engine: TAS echo server on :7000
 *                                                   \
 *                                                    kni tap (same MAC) -- "kernel" namespace, also .1:
 *                                                                          ICMP, UDP :5300, TCP :8080
 * </pre>
 *
 * The exception path's kernel side is moved into a namespace of its own, so the test touches
 * nothing of the host: on a real machine it stays in the root namespace with the NIC's address.
 */
class KernelSharingTest {
    @BeforeAll
    static void requirements() {
        ItDpdk.requireRootNetworking();
        ItDpdk.requireTools("socat", "python3", "ss");
    }

    @ParameterizedTest
    @EnumSource(value = LinuxLink.Kind.class, names = {"AF_PACKET", "NET_TAP", "JAVA_TAP"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    @SuppressWarnings("try") // resources held for their lifetime (servers, a namespace)
    void linuxReachesTheKernelThroughTheExceptionPathWhileTasServesItsPort(LinuxLink.Kind kind) throws Exception {
        String kni = PeerNet.ifname("kn");
        String kernelNs = PeerNet.nsName("kn");
        TasConfig config = TasConfig.builder().set("ip-addr", PeerNet.ENGINE_IP + "/24").set("kni-name", kni).build();
        // Closed in reverse: the engine (and its tap) first, then the namespace.
        try (AutoCloseable ns = kernelNamespace(kernelNs);
             EngineFixture f = new EngineFixture(LinuxLink.open(kind, "ks", false, false), config)) {
            assertThat(f.engine.kernelInterfaceName()).isEqualTo(kni);
            assertThat(PeerNet.macOf(null, kni)).as("the kernel interface has the engine's MAC")
                    .isEqualTo(f.link.engineMac());
            // The kernel side shares the engine's address, as a host's kernel shares its NIC's.
            Sh.run("ip", "link", "set", kni, "netns", kernelNs);
            Sh.run("ip", "-n", kernelNs, "addr", "add", PeerNet.ENGINE_IP + "/24", "dev", kni);
            Sh.run("ip", "-n", kernelNs, "link", "set", kni, "up");

            Handlers.Stats tas = new Handlers.Stats();
            f.loop.listen(7000, 64, () -> new Handlers.Echo(tas));
            try (Sh.Background kernelTcp = Sh.start(f.scratch.path("kernel-tcp.log"), Sh.nsCommand(kernelNs,
                    "socat", "TCP4-LISTEN:8080,reuseaddr,fork", "SYSTEM:echo kernel-says-hi"));
                 Sh.Background kernelUdp = f.pythonIn(kernelNs, "udp-echo", "5300", "5")) {
                f.awaitListening(kernelNs, "-ltnH", 8080);
                f.awaitListening(kernelNs, "-lunH", 5300);

                // ICMP and UDP are not the engine's: the kernel answers through the exception path.
                try (Sh.Background ping = f.python("ping", PeerNet.ENGINE_IP, "5")) {
                    assertThat(ping.awaitSuccess(30, TimeUnit.SECONDS)).contains("ping answered=5");
                }
                try (Sh.Background udp = f.python("udp-ping", PeerNet.ENGINE_IP, "5300", "5")) {
                    assertThat(udp.awaitSuccess(30, TimeUnit.SECONDS)).contains("udp-ping answered=5");
                }
                // A TCP port the engine does not listen on belongs to the kernel ...
                String fromKernel = Sh.inNs(f.link.net.ns, "socat", "-T", "10", "-u",
                        "TCP4:" + PeerNet.ENGINE_IP + ":8080", "STDOUT");
                assertThat(fromKernel).contains("kernel-says-hi");
                // ... while the engine serves its own, on the same address.
                try (Sh.Background py = f.python("conn-client", PeerNet.ENGINE_IP, "7000", "20")) {
                    assertThat(py.awaitSuccess(30, TimeUnit.SECONDS)).contains("conn-client open=20");
                }
                f.await(() -> tas.closed.get() == 20, 10, "the TAS echo connections to close: " + tas);
                assertThat(tas.maxOpen.get()).isEqualTo(20);
            }

            // The kernel as a client: its connection leaves through the engine's port, and the
            // answers (segments of no engine flow) come back to it.
            try (Sh.Background peerServer = Sh.start(f.scratch.path("peer-server.log"), Sh.nsCommand(f.link.net.ns,
                    "socat", "TCP4-LISTEN:9000,reuseaddr", "SYSTEM:echo peer-says-hi"))) {
                f.awaitListening(9000);
                String fromPeer = Sh.inNs(kernelNs, "socat", "-T", "10", "-u", "TCP4:" + PeerNet.LINUX_IP + ":9000",
                        "STDOUT");
                assertThat(fromPeer).contains("peer-says-hi");
            }

            System.out.printf("[kni %s] %s%n", kind, f.nonZeroCounters());
            assertThat(f.engine.counter(TasCounter.KNI_TO_KERNEL)).isPositive();
            assertThat(f.engine.counter(TasCounter.KNI_FROM_KERNEL)).isPositive();
            assertThat(f.engine.counter(TasCounter.CONN_NO_LISTENER)).as("no RST for the kernel's ports").isZero();
            assertThat(f.engine.counter(TasCounter.DROP_KNI)).isZero();
            assertThat(f.link.net.neighbourMac(PeerNet.ENGINE_IP)).isEqualTo(f.link.engineMac());
            f.awaitReclaimed();
        }
    }

    private static AutoCloseable kernelNamespace(String ns) {
        Sh.runQuietly("ip", "netns", "del", ns);
        Sh.run("ip", "netns", "add", ns);
        Sh.inNs(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
        Sh.inNs(ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1");
        Sh.run("ip", "-n", ns, "link", "set", "lo", "up");
        return () -> Sh.runQuietly("ip", "netns", "del", ns);
    }
}
