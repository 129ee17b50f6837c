package io.tasnetty.it.linux;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.TasIdleCpu;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.port.TasPort;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What idle costs on DPDK's {@code net_af_packet}: one engine opened as an application opens it
 * ({@code port=dpdk}, the device among the EAL arguments), {@code connections} open connections
 * to a Linux peer in a namespace, each having echoed one message, then silence; reports the
 * process's and the engine threads' CPU time over {@code seconds} as a share of one core. Not a
 * test (no assertion). Root, DPDK, python3 and ethtool. Run (after {@code ./mvnw -o -q -pl it -am
 * test-compile}):
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp "it/target/test-classes:$(cat it/target/cp.txt)" \
 *     io.tasnetty.it.linux.AfPacketIdleCpuMain [seconds=10] [connections=100]
 * </pre>
 * with {@code it/target/cp.txt} from {@code ./mvnw -o -q -pl it dependency:build-classpath
 * -Dmdep.outputFile=target/cp.txt} (after the reactor's {@code test-compile}, the sibling
 * modules' {@code target/classes} go first on the class path).
 */
public final class AfPacketIdleCpuMain {
    private AfPacketIdleCpuMain() {
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int connections = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        TasIdleCpu.Sample alone = TasIdleCpu.measure(Math.max(1, seconds / 2), "the JVM alone, before the engine");

        try (PeerNet net = PeerNet.veth("cpu"); Files256 scratch = new Files256()) {
            TasConfig config = TasConfig.builder().set("ip-addr", PeerNet.ENGINE_IP + "/24").set("port", "dpdk")
                .dpdkExtra("--no-huge").dpdkExtra("-m").dpdkExtra("512").dpdkExtra("--no-pci").dpdkExtra("-l")
                .dpdkExtra("0").dpdkExtra("--file-prefix=tasidle" + PeerNet.PID).dpdkExtra("--no-telemetry")
                .dpdkExtra("--log-level=lib.eal:warning")
                .dpdkExtra("--vdev=net_af_packet0,iface=" + net.engineIf + LinuxLink.AF_PACKET_RING)
                // e.g. -Didle.fp-no-ints=true: how it idles without the socket wait (naps)
                .set("fp-no-ints", System.getProperty("idle.fp-no-ints", "false"))
                .build();
            Path script = scratch.path("peer.py");
            try (InputStream s = AfPacketIdleCpuMain.class.getResourceAsStream("peer.py")) {
                Files.copy(s, script);
            }
            try (TasEngine engine = TasEngine.start(config);
                 ContextLoop loop = new ContextLoop(engine, "idle-app");
                 Sh.Background py = Sh.start(scratch.path("server.log"), Sh.nsCommand(net.ns, "python3",
                     script.toString(), "conn-server", "7041", String.valueOf(connections)))) {
                TasPort port = engine.port();
                System.out.println("port: " + port + "; idle waits: " + call(port, "rxWaitMode"));
                awaitListening(net.ns, 7041);
                Handlers.Stats stats = new Handlers.Stats();
                List<Handlers.Ping> pings = new ArrayList<>();
                for (int i = 0; i < connections; i++) {
                    Handlers.Ping p = new Handlers.Ping(stats, String.format("idle%06d", i));
                    pings.add(p);
                    loop.connect(new InetSocketAddress(PeerNet.LINUX_IP, 7041), p);
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (stats.echoed.get() < connections && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                if (stats.echoed.get() < connections) {
                    throw new IllegalStateException("only " + stats + " after 60 s");
                }
                Thread.sleep(2_000); // delayed ACKs, the fast path's sleep cap, the JIT's first wave
                Object waits0 = call(port, "rxWaits");
                TasIdleCpu.Sample idle = TasIdleCpu.measure(seconds, connections + " idle connections on net_af_packet");
                Object waits1 = call(port, "rxWaits");
                System.out.printf("%nidle CPU: %.2f%% of one core for the process (%.2f%% for the JVM alone),"
                    + " %.2f%% in engine threads; awaitRx calls in the window: %s%n", idle.processPercent(),
                    alone.processPercent(), idle.enginePercent(), waits0 instanceof Long a && waits1 instanceof Long b
                        ? String.valueOf(b - a) : "n/a");
                loop.call(() -> {
                    pings.forEach(Handlers.Ping::close);
                    return null;
                });
                py.await(30, TimeUnit.SECONDS);
            }
        }
    }

    /** A DpdkPort accessor by name (absent before the socket wait existed): "n/a" then. */
    private static Object call(TasPort port, String method) {
        try {
            return port.getClass().getMethod(method).invoke(port);
        } catch (ReflectiveOperationException e) {
            return "n/a";
        }
    }

    private static void awaitListening(String ns, int port) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Sh.runQuietly("ip", "netns", "exec", ns, "ss", "-ltnH", "sport", "=", ":" + port).contains(":" + port)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the Linux server did not listen on " + port);
            }
            Thread.sleep(20);
        }
    }
}
