package io.tasnetty.it.linux;

import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.port.dpdk.DpdkPort;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An idle engine on DPDK's {@code net_af_packet} (no rx interrupts) sleeps on the PMD's kernel
 * socket instead of napping 50 us at a time: with open connections to Linux and no traffic, its
 * fast-path thread returns from {@code awaitRx} a few dozen times in two seconds (its sleep cap
 * is 100 ms), not tens of thousands; and a connection Linux opens while it sleeps is served.
 * The fast-path thread's CPU time over the idle window is printed for the record, not asserted.
 */
class AfPacketIdleLinuxTest {
    private static final int IDLE_CONNECTIONS = 8;
    private static final long IDLE_MILLIS = 2_000;
    /** The 100 ms sleep cap allows about 20 waits in 2 s; timers add a few. */
    private static final long MAX_IDLE_WAITS = 60;

    @BeforeAll
    static void requirements() {
        ItDpdk.requireRootNetworking();
        ItDpdk.requireTools("python3", "ss");
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void idleEngineWithOpenConnectionsSleepsOnTheSocketAndStillServesLinux() throws Exception {
        TasConfig config = TasConfig.builder().set("ip-addr", PeerNet.ENGINE_IP + "/24")
                .set("tcp-time-wait", "1000000") // 1 s, so the flows are reclaimed before the test ends
                .build();
        try (EngineFixture f = new EngineFixture(LinuxLink.open(LinuxLink.Kind.AF_PACKET, "idle", false, false), config)) {
            DpdkPort port = (DpdkPort) f.link.port;
            assertThat(port.rxWaitMode()).as("how idle queues sleep").startsWith("af_packet sockets");

            Handlers.Stats served = new Handlers.Stats();
            f.loop.listen(7031, 16, () -> new Handlers.Echo(served));
            Handlers.Stats stats = new Handlers.Stats();
            try (Sh.Background py = f.python("conn-server", "7032", String.valueOf(IDLE_CONNECTIONS))) {
                f.awaitListening(7032);
                List<Handlers.Ping> pings = new ArrayList<>();
                for (int i = 0; i < IDLE_CONNECTIONS; i++) {
                    Handlers.Ping p = new Handlers.Ping(stats, String.format("idle%06d", i));
                    pings.add(p);
                    f.connect(new InetSocketAddress(PeerNet.LINUX_IP, 7032), p);
                }
                f.await(() -> stats.echoed.get() == IDLE_CONNECTIONS, 30, "every connection to echo: " + stats);
                Thread.sleep(1_000); // delayed ACKs go out, the fast path's sleep cap grows to its 100 ms

                ThreadMXBean mx = ManagementFactory.getThreadMXBean();
                Map<String, Long> cpu0 = engineThreadCpu(mx);
                long waits0 = port.rxWaits();
                long t0 = System.nanoTime();
                Thread.sleep(IDLE_MILLIS);
                long wall = System.nanoTime() - t0;
                long waits = port.rxWaits() - waits0;
                Map<String, Long> cpu1 = engineThreadCpu(mx);
                StringBuilder cpu = new StringBuilder();
                cpu1.forEach((name, ns) -> cpu.append(String.format(" %s %.2f ms (%.3f%% of a core);", name,
                        (ns - cpu0.getOrDefault(name, 0L)) / 1e6, 100.0 * (ns - cpu0.getOrDefault(name, 0L)) / wall)));
                System.out.printf("[%s] idle %.1f s with %d open connections: %d awaitRx returns (%s);%s%n",
                        port.driverName(), wall / 1e9, IDLE_CONNECTIONS, waits, port.rxWaitMode(), cpu);
                assertThat(stats.open.get()).as("connections still open").isEqualTo(IDLE_CONNECTIONS);
                assertThat(waits).as("awaitRx returns in %d ms of idleness", IDLE_MILLIS)
                        .isLessThanOrEqualTo(MAX_IDLE_WAITS);

                // Frames that arrive while the fast path sleeps: Linux opens a connection and
                // exchanges a message, three times with a pause that lets the fast path fall asleep.
                String python = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
                for (int i = 0; i < 3; i++) {
                    Thread.sleep(300);
                    String out = Sh.inNs(f.link.net.ns, python, "-c", "import socket, time\n"
                            + "t0 = time.perf_counter()\n"
                            + "s = socket.create_connection(('" + PeerNet.ENGINE_IP + "', 7031), timeout=10)\n"
                            + "s.sendall(b'wake" + i + "')\n"
                            + "got = b''\n"
                            + "while len(got) < 5:\n"
                            + "    b = s.recv(5 - len(got))\n"
                            + "    if not b: break\n"
                            + "    got += b\n"
                            + "t1 = time.perf_counter()\n"
                            + "s.close()\n"
                            + "print('echo %s in %.3f ms' % (got.decode(), (t1 - t0) * 1e3))\n");
                    assertThat(out).as("echo from the TAS server").contains("echo wake" + i);
                    System.out.printf("[%s] after %d ms asleep, Linux connects and exchanges 5 bytes: %s", port.driverName(),
                            300, out);
                }
                f.await(() -> served.closed.get() == 3, 10, "the TAS server to see Linux close: " + served);

                f.loop.call(() -> {
                    pings.forEach(Handlers.Ping::close);
                    return null;
                });
                assertThat(py.awaitSuccess(30, TimeUnit.SECONDS)).contains("accepted=" + IDLE_CONNECTIONS);
            }
            f.awaitReclaimed();
        }
    }

    /** CPU time of the engine's fast-path and slow-path threads, by name. */
    private static Map<String, Long> engineThreadCpu(ThreadMXBean mx) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("tas-fp-") || t.getName().equals("tas-slow")) {
                long ns = mx.getThreadCpuTime(t.threadId());
                if (ns >= 0) {
                    m.put(t.getName(), ns);
                }
            }
        }
        return m;
    }
}
