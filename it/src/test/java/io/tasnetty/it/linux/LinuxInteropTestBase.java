package io.tasnetty.it.linux;

import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.stats.TasCounter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Layer 3 of the test plan: the engine against the Linux TCP stack in a network namespace, with
 * real tools as peers (socat, python3 sockets, iproute2). Subclasses choose how the engine reaches
 * the namespace ({@link LinuxLink.Kind}); every test gets a fresh namespace, port and engine.
 *
 * <p>The engine is 192.168.239.1, Linux 192.168.239.2 (a subnet that exists only inside the
 * test's namespace and on the engine's port).
 */
abstract class LinuxInteropTestBase {
    static final long BULK = 256L << 20;
    static final int CONNECTIONS = 1000;

    abstract LinuxLink.Kind kind();

    /** DPDK ports: TAS's fp-no-xsumoffload / fp-no-ints. */
    boolean noXsumOffload() {
        return false;
    }

    boolean noInts() {
        return false;
    }

    /** RX/TX queue pairs of the port, and fast-path cores (fp-cores-max). */
    int queues() {
        return 1;
    }

    @BeforeAll
    static void requirements() {
        ItDpdk.requireRootNetworking();
        ItDpdk.requireTools("socat", "sha256sum", "python3", "ss");
    }

    // ------------------------------------------------------------------ bulk transfers

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void linuxClientExchanges256MiBEachWayWithTasServer() throws Exception {
        Path in = Shared.bulkFile();
        try (EngineFixture f = fixture("bc")) {
            BulkPeer peer = new BulkPeer(BULK, 42);
            f.loop.listen(7001, 16, () -> peer);
            Path out = f.scratch.path("from-tas.bin");
            long t0 = System.nanoTime();
            try (Sh.Background socat = Sh.start(f.scratch.path("socat.log"), Sh.nsCommand(f.link.net.ns,
                    "socat", "-t", "60", "-b", "65536", "TCP4:" + PeerNet.ENGINE_IP + ":7001",
                    "OPEN:" + in + "!!CREATE:" + out))) {
                BulkPeer.Result r = finish(f, socat, peer, "socat and the TAS server");
                f.report("linux client <-> tas server, 256 MiB each way", t0);
                assertExchanged(r, out);
            }
            f.awaitReclaimed();
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void tasClientExchanges256MiBEachWayWithLinuxServer() throws Exception {
        Path in = Shared.bulkFile();
        try (EngineFixture f = fixture("bs")) {
            Path out = f.scratch.path("from-tas.bin");
            try (Sh.Background socat = Sh.start(f.scratch.path("socat.log"), Sh.nsCommand(f.link.net.ns,
                    "socat", "-t", "60", "-b", "65536", "TCP4-LISTEN:7002,reuseaddr",
                    "OPEN:" + in + "!!CREATE:" + out))) {
                f.awaitListening(7002);
                long t0 = System.nanoTime();
                BulkPeer peer = new BulkPeer(BULK, 43);
                f.loop.connect(new InetSocketAddress(PeerNet.LINUX_IP, 7002), peer);
                BulkPeer.Result r = finish(f, socat, peer, "socat and the TAS client");
                f.report("tas client <-> linux server, 256 MiB each way", t0);
                assertExchanged(r, out);
            }
            f.awaitReclaimed();
        }
    }

    /** Waits until socat exits (or the TAS side fails, which is thrown), then for both sides' success. */
    private static BulkPeer.Result finish(EngineFixture f, Sh.Background socat, BulkPeer peer, String what)
            throws Exception {
        f.await(() -> !socat.process().isAlive() || peer.result.isCompletedExceptionally(), 150, what);
        if (peer.result.isCompletedExceptionally()) {
            peer.result.get(); // throws the TAS side's failure
        }
        socat.awaitSuccess(30, TimeUnit.SECONDS);
        return peer.result.get(30, TimeUnit.SECONDS);
    }

    /** Both directions of the bulk exchange arrived whole and unchanged. */
    private static void assertExchanged(BulkPeer.Result r, Path fromTas) throws Exception {
        assertThat(r.received()).as("bytes TAS received").isEqualTo(BULK);
        assertThat(r.receivedSha256()).as("SHA-256 Linux -> TAS").isEqualTo(Shared.bulkSha256());
        assertThat(Files256.size(fromTas)).as("bytes Linux received").isEqualTo(BULK);
        assertThat(Files256.sha256(fromTas)).as("SHA-256 TAS -> Linux").isEqualTo(r.sentSha256());
    }

    // ------------------------------------------------------------------ many connections

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void thousandConcurrentConnectionsFromLinux() throws Exception {
        try (EngineFixture f = fixture("mc")) {
            Handlers.Stats stats = new Handlers.Stats();
            f.loop.listen(7003, 2048, () -> new Handlers.Echo(stats));
            long t0 = System.nanoTime();
            try (Sh.Background py = f.python("conn-client", PeerNet.ENGINE_IP, "7003", String.valueOf(CONNECTIONS))) {
                String out = py.awaitSuccess(90, TimeUnit.SECONDS);
                assertThat(out).contains("conn-client open=" + CONNECTIONS);
            }
            f.await(() -> stats.closed.get() == CONNECTIONS, 30, "TAS to see every connection closed: " + stats);
            f.report("1000 connections Linux -> TAS (" + stats + ")", t0);
            assertThat(stats.maxOpen.get()).as("connections open at once").isEqualTo(CONNECTIONS);
            assertThat(stats.resets.get()).isZero();
            assertThat(f.engine.counter(TasCounter.CONN_PASSIVE_OPENS)).isEqualTo(CONNECTIONS);
            f.awaitReclaimed();
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void thousandConcurrentConnectionsToLinux() throws Exception {
        try (EngineFixture f = fixture("ms")) {
            Handlers.Stats stats = new Handlers.Stats();
            try (Sh.Background py = f.python("conn-server", "7004", String.valueOf(CONNECTIONS))) {
                f.awaitListening(7004);
                long t0 = System.nanoTime();
                List<Handlers.Ping> pings = new ArrayList<>();
                for (int i = 0; i < CONNECTIONS; i++) {
                    Handlers.Ping p = new Handlers.Ping(stats, String.format("conn%06d", i));
                    pings.add(p);
                    f.connect(new InetSocketAddress(PeerNet.LINUX_IP, 7004), p);
                }
                f.await(() -> stats.echoed.get() + stats.failed.get() + stats.resets.get() == CONNECTIONS, 60,
                        "every connection to echo: " + stats);
                assertThat(stats.echoed.get()).as("connections echoed (" + stats + ")").isEqualTo(CONNECTIONS);
                assertThat(stats.open.get()).as("connections open at once").isEqualTo(CONNECTIONS);
                f.loop.call(() -> {
                    pings.forEach(Handlers.Ping::close);
                    return null;
                });
                String out = py.awaitSuccess(60, TimeUnit.SECONDS);
                f.report("1000 connections TAS -> Linux (" + stats + ")", t0);
                assertThat(out).contains("conn-server accepted=" + CONNECTIONS + " max_open=" + CONNECTIONS);
            }
            assertThat(f.engine.counter(TasCounter.CONN_ACTIVE_OPENS)).isEqualTo(CONNECTIONS);
            f.awaitReclaimed(); // after TIME_WAIT (tcp-time-wait is 1 s here)
        }
    }

    // ------------------------------------------------------------------ resets

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void linuxClientResetsWhileTasServerSends() throws Exception {
        try (EngineFixture f = fixture("rc")) {
            BulkPeer peer = new BulkPeer(1L << 40, 7); // sends "forever"
            f.loop.listen(7005, 16, () -> peer);
            try (Sh.Background py = f.python("reset-client", PeerNet.ENGINE_IP, "7005", "recv", String.valueOf(4 << 20))) {
                assertThat(py.awaitSuccess(60, TimeUnit.SECONDS)).contains("rst");
            }
            assertResetSeen(f, peer);
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void linuxClientResetsWhileTasServerReceives() throws Exception {
        try (EngineFixture f = fixture("rr")) {
            BulkPeer peer = new BulkPeer(0, 7); // receives only
            f.loop.listen(7006, 16, () -> peer);
            try (Sh.Background py = f.python("reset-client", PeerNet.ENGINE_IP, "7006", "send", String.valueOf(4 << 20))) {
                assertThat(py.awaitSuccess(60, TimeUnit.SECONDS)).contains("rst");
            }
            assertResetSeen(f, peer);
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void linuxServerResetsTasClientMidTransfer() throws Exception {
        try (EngineFixture f = fixture("rs")) {
            try (Sh.Background py = f.python("reset-server", "7007", "recv", String.valueOf(4 << 20))) {
                f.awaitListening(7007);
                BulkPeer peer = new BulkPeer(1L << 40, 9);
                f.loop.connect(new InetSocketAddress(PeerNet.LINUX_IP, 7007), peer);
                assertThat(py.awaitSuccess(60, TimeUnit.SECONDS)).contains("rst");
                assertResetSeen(f, peer);
            }
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    @SuppressWarnings("try") // socat runs for the block's lifetime
    void socketKilledBySsSendsResetToTasServer() throws Exception {
        try (EngineFixture f = fixture("rk")) {
            BulkPeer peer = new BulkPeer(1L << 40, 11);
            f.loop.listen(7008, 16, () -> peer);
            try (Sh.Background socat = Sh.start(f.scratch.path("socat.log"), Sh.nsCommand(f.link.net.ns,
                    "socat", "-u", "TCP4:" + PeerNet.ENGINE_IP + ":7008", "OPEN:/dev/null"))) {
                f.await(() -> peer.received() >= 0 && receivedByLinux(f) > (2 << 20), 30, "Linux to receive 2 MiB");
                // SOCK_DESTROY: the kernel aborts the socket and sends RST (tcp_abort).
                Sh.inNs(f.link.net.ns, "ss", "-K", "dst", PeerNet.ENGINE_IP, "dport", "=", "7008");
                assertResetSeen(f, peer);
            }
        }
    }

    private static long receivedByLinux(EngineFixture f) {
        String out = Sh.runQuietly("ip", "netns", "exec", f.link.net.ns, "ss", "-tni", "dst", PeerNet.ENGINE_IP);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("bytes_received:(\\d+)").matcher(out);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    private static void assertResetSeen(EngineFixture f, BulkPeer peer) throws InterruptedException {
        try {
            peer.result.get(30, TimeUnit.SECONDS);
            throw new AssertionError("the TAS connection completed normally; expected a reset");
        } catch (ExecutionException e) {
            assertThat(e.getCause()).hasMessageContaining("connection reset");
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the TAS connection saw no reset within 30 s; counters " + f.engine.counters());
        }
        assertThat(f.engine.counter(TasCounter.CONN_RESETS_RECEIVED)).as("resets received").isEqualTo(1);
        f.awaitReclaimed();
    }

    // ------------------------------------------------------------------ ARP

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void arpIsResolvedInBothDirections() throws Exception {
        try (EngineFixture f = fixture("ar")) {
            // Engine -> Linux: the engine must ask (it has never heard of Linux).
            try (Sh.Background py = f.python("conn-server", "7009", "1")) {
                f.awaitListening(7009);
                Handlers.Stats stats = new Handlers.Stats();
                Handlers.Ping p = new Handlers.Ping(stats, "arp-probe!");
                f.connect(new InetSocketAddress(PeerNet.LINUX_IP, 7009), p);
                f.await(() -> stats.echoed.get() == 1 || stats.failed.get() > 0, 20, "the TAS connect: " + stats);
                assertThat(stats.echoed.get()).isEqualTo(1);
                f.loop.call(() -> {
                    p.close();
                    return null;
                });
                py.awaitSuccess(20, TimeUnit.SECONDS);
            }
            assertThat(f.engine.counter(TasCounter.ARP_REQUESTS_SENT)).as("engine asked").isGreaterThanOrEqualTo(1);
            assertThat(f.engine.counter(TasCounter.ARP_RESOLVED)).as("engine learned Linux's MAC").isGreaterThanOrEqualTo(1);

            // Linux -> engine: forget the engine, then Linux must ask.
            f.link.net.flushNeighbours();
            assertThat(f.link.net.neighbourMac(PeerNet.ENGINE_IP)).isEqualTo(-1);
            long repliesBefore = f.engine.counter(TasCounter.ARP_REPLIES_SENT);
            Handlers.Stats stats = new Handlers.Stats();
            f.loop.listen(7010, 16, () -> new Handlers.Echo(stats));
            try (Sh.Background py = f.python("conn-client", PeerNet.ENGINE_IP, "7010", "1")) {
                py.awaitSuccess(20, TimeUnit.SECONDS);
            }
            assertThat(f.engine.counter(TasCounter.ARP_REPLIES_SENT)).as("engine answered Linux's request")
                    .isGreaterThan(repliesBefore);
            assertThat(f.link.net.neighbourMac(PeerNet.ENGINE_IP)).as("Linux's neighbour entry for the engine")
                    .isEqualTo(f.link.engineMac());
            f.await(() -> stats.closed.get() == 1, 10, "the echo connection to close");
        }
    }

    // ------------------------------------------------------------------ fixture

    EngineFixture fixture(String tag) {
        return new EngineFixture(LinuxLink.open(kind(), tag, noXsumOffload(), noInts(), queues()), engineConfig());
    }

    TasConfig engineConfig() {
        return TasConfig.builder().set("ip-addr", PeerNet.ENGINE_IP + "/24")
                .set("tcp-time-wait", "1000000") // 1 s, so the test can watch TIME_WAIT flows go
                .set("fp-no-ints", String.valueOf(noInts()))
                .set("fp-no-xsumoffload", String.valueOf(noXsumOffload()))
                .set("fp-cores-max", String.valueOf(queues()))
                .build();
    }

    /** The 256 MiB random file all bulk tests of this JVM send from Linux, and its SHA-256. */
    static final class Shared {
        private static Files256 dir;
        private static Path file;
        private static String sha;

        static synchronized Path bulkFile() {
            if (file == null) {
                dir = new Files256();
                file = dir.random("bulk.bin", BULK);
                sha = Files256.sha256(file);
                Runtime.getRuntime().addShutdownHook(new Thread(dir::close));
            }
            return file;
        }

        static synchronized String bulkSha256() {
            bulkFile();
            return sha;
        }
    }
}
