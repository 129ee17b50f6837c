package io.tasnetty.it.linux;

import io.tasnetty.engine.TasTestEnvironment;
import io.tasnetty.engine.port.dpdk.DpdkPort;
import io.tasnetty.engine.port.dpdk.TasDpdk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The one DPDK EAL of this test JVM ({@code rte_eal_init} runs once per process): no hugepages
 * (memory from a memfd, which virtio-user can share with a vhost process), no PCI, no devices;
 * every test hot-plugs the vdev it needs and detaches it again on close. If another test of this
 * JVM started the EAL first, its EAL is reused.
 */
final class ItDpdk {
    static final List<String> EAL = List.of("--no-huge", "-m", "512", "--no-pci", "-l", "0",
            "--file-prefix=tasit" + PeerNet.PID, "--no-telemetry", "--log-level=lib.eal:warning");

    private ItDpdk() {
    }

    /** Skips (or in CI fails) unless libtasshim and DPDK load; starts the EAL. */
    static synchronized void require() {
        TasTestEnvironment.require(TasDpdk.isAvailable(), "DPDK via libtasshim ("
                + (TasDpdk.unavailabilityCause() == null ? "" : TasDpdk.unavailabilityCause().getMessage()) + ")");
        if (!TasDpdk.isEalInitialized()) {
            TasDpdk.initEal(EAL);
            Path runtimeDir = Path.of("/var/run/dpdk/tasit" + PeerNet.PID);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(runtimeDir)));
        }
    }

    /** Hot-plugs {@code devargs} and opens it with one queue. */
    static DpdkPort attach(String devargs, boolean noXsumOffload, boolean noInts) {
        return attach(devargs, 1, noXsumOffload, noInts);
    }

    /** Hot-plugs {@code devargs} and opens it with {@code queues} rx/tx queue pairs. */
    static DpdkPort attach(String devargs, int queues, boolean noXsumOffload, boolean noInts) {
        require();
        return DpdkPort.attach(TasDpdk.ealArguments(), devargs, queues, 0, noXsumOffload, noInts, 8191);
    }

    static void requireRootNetworking() {
        TasTestEnvironment.require(TasTestEnvironment.isRoot(), "root (network namespaces, veth, tap)");
        TasTestEnvironment.require(Sh.has("ip") && Sh.has("sysctl"), "iproute2 and procps (ip, sysctl)");
        PeerNet.removeStale();
    }

    static void requireTools(String... tools) {
        for (String t : tools) {
            TasTestEnvironment.require(Sh.has(t), "the " + t + " command (.ci/run installs it)");
        }
    }

    private static void deleteTree(Path p) {
        try {
            if (Files.isDirectory(p)) {
                try (var s = Files.list(p)) {
                    s.forEach(ItDpdk::deleteTree);
                }
            }
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort
        }
    }
}
