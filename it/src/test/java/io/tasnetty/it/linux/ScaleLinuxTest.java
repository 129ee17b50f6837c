package io.tasnetty.it.linux;

import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasSocket;
import io.tasnetty.engine.port.TapPort;
import io.tasnetty.engine.port.TasPortStats;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Many concurrent established connections from the Linux stack to one engine listener (issue 11,
 * "Scale"): several client processes (peer.py scale-client), each from its own source address of
 * the namespace (one address has at most ~64k ports towards one server port), open
 * {@value #DEFAULT_CONNECTIONS} connections; each sends 16 bytes as soon as its handshake
 * completes and checks them echoed byte for byte, and all stay open while the test reports what
 * they cost: the engine's flows, flow records, ring bytes (address space) and the JVM's resident
 * memory. Then the clients close everything and every flow must be reclaimed.
 *
 * <p>The clients run a closed loop: at most 250 exchanges (handshake and echo) outstanding per
 * client, and at teardown at most 250 half-closed connections waiting for the engine's FIN. Opening
 * all at once made bursts that overflowed the Linux tap's queue (1,000 frames; up to 330,000 frames from
 * Linux to the engine dropped while opening, RTO storms), and at teardown 100,000 FINs at once kept that
 * queue full so long that Linux gave up on some orphaned clients (tcp_orphan_retries, no RST),
 * leaving their engine flows ESTABLISHED and idle, as any TCP without keepalive would.
 *
 * <p>The second test is the reference: the same clients against Linux epoll echo servers
 * (peer.py scale-server, Python's selectors, one process per client: a process gets 20,000 files
 * here) in a second namespace behind a veth, which must hold all of them too. Memory per
 * connection, measured here (2 shared cores, Linux 6.18) with 100,000 connections each having
 * exchanged 16 bytes and then idle:
 * <ul>
 *   <li>engine: JVM RSS growth / connections, 10.1 to 10.6 KB (1.2 KB of it Java heap: the
 *       connection object and its handler; the rest off-heap: the flow record and one touched
 *       4 KiB page in each of the two rings);
 *   <li>Linux epoll server: 4.9 KB, of which process RSS about 0.1 KB and kernel memory 4.8 KB
 *       (the socket, its file, inode and dentry, the epoll entry): the slab growth of the
 *       reference run minus the engine run's, which holds the clients' sockets only (those
 *       cost 5.0 KB each). The earlier figure, 212 MB for 19,000 connections of a Netty
 *       epoll server (11 KB each), included that JVM's own baseline.
 * </ul>
 * Each run prints its figures (lines starting {@code [scale}).
 *
 * <p>{@code -Dtas.scale.connections=N} changes the count (default {@value #DEFAULT_CONNECTIONS}).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ScaleLinuxTest {
    /** The aim; on 2 shared cores each of the two tests takes 1 to 1.5 minutes. */
    static final int DEFAULT_CONNECTIONS = 100_000;
    /**
     * Most connections per client process (and source address: 192.168.239.2 and up): a process
     * gets 20,000 files here, and root cannot raise that (no CAP_SYS_RESOURCE in these machines).
     */
    private static final int PER_CLIENT = 19_000;
    /** How long a client may take to open and echo all of its connections (a bound against hangs). */
    private static final int CLIENT_SECONDS = 240;
    /**
     * How long the engine may take to reclaim every flow once the clients saw its FINs: only the
     * last ACKs are outstanding then (a lost one makes the engine retransmit its FIN, RFC 9293
     * 3.10.4), so this only guards against a hang.
     */
    private static final int RECLAIM_SECONDS = 120;
    private static final int PORT = 7400;
    private static final long MAC = LinuxLink.JAVA_TAP_MAC;

    /** The engine run's slab growth, kept for the reference run's comparison (-1: not measured). */
    private static volatile long engineSlabGrowth = -1;
    private static volatile long engineRssGrowth = -1;

    private final int connections = Integer.getInteger("tas.scale.connections", DEFAULT_CONNECTIONS);
    private final int clients = (connections + PER_CLIENT - 1) / PER_CLIENT;
    private final String tap = PeerNet.ifname("sct");
    private PeerNet net;
    private PeerNet serverNet;
    private SynFloodLinuxTest.EngineFixtureLite fx;
    private Files256 scratch;

    @BeforeAll
    static void requirements() {
        ItDpdk.requireRootNetworking();
        ItDpdk.requireTools("python3");
    }

    @AfterEach
    void teardown() throws Exception {
        try {
            PeerNet.closeWithTap(fx, tap, net, serverNet);
        } finally {
            if (scratch != null) {
                scratch.close();
            }
        }
    }

    @Test
    @Order(1)
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void manyConcurrentLinuxConnectionsEachEchoByteExact() throws Exception {
        PeerNet.WithTap tapNet = PeerNet.namespaceWithTap("sc", tap, MAC);
        net = tapNet.net();
        TapPort port = tapNet.port();
        clientSide(net.ns, net.linuxIf);
        // Room for every connection: flows, ring address space (committed only as data touches
        // it), and a backlog above the connection count, so that no SYN is answered with a cookie
        // (a cookie's final ACK lost in a burst is only found when the client's request comes).
        long ringSpace = (long) connections * (128 << 10) * 2;
        fx = new SynFloodLinuxTest.EngineFixtureLite(net, port, TasConfig.builder()
                .set("ip-addr", PeerNet.ENGINE_IP + "/24")
                .set("tcp-max-flows", Integer.toString(connections + 1024))
                .set("tcp-backlog-max", Integer.toString(connections + 1024))
                .set("shm-len", Long.toString(Math.max(1L << 30, ringSpace + (ringSpace >> 3))))
                .build());
        TasEngine engine = fx.engine;
        Counts counts = new Counts();
        fx.loop.listen(PORT, connections + 1024, () -> new Echo16(counts));
        System.gc();
        long rssBefore = rssBytes("self");
        long heapBefore = heapUsed();
        long slabBefore = slabBytes();
        Path release = fx.scratch.path("release");
        long t0 = System.nanoTime();
        List<Sh.Background> procs = new ArrayList<>();
        try {
            for (int i = 0; i < clients; i++) {
                procs.add(startClient(fx::python, net.ns, i, PORT, release));
            }
            fx.await(() -> procs.stream().allMatch(p -> p.output().contains("scale-client connected=")
                    || !p.process().isAlive()), CLIENT_SECONDS + 30,
                    "the clients to open and echo " + connections + " connections");
            long openMs = (System.nanoTime() - t0) / 1_000_000;
            fx.await(() -> counts.echoed.get() >= connections || procs.stream().anyMatch(p -> !p.process().isAlive()),
                    30, "the engine side to count every echo: " + counts);
            int flows = engine.flowCount();
            int records = engine.flowRecordsInUse();
            long rings = engine.ringBytesInUse();
            System.gc();
            long rssGrowth = rssBytes("self") - rssBefore;
            long heapGrowth = heapUsed() - heapBefore;
            long slabGrowth = slabBytes() - slabBefore;
            ClientTotals t = ClientTotals.of(procs);
            System.out.printf("[scale, engine] %d connections from %d client processes/addresses opened and echoed"
                            + " in %d ms (%s); engine: flows %d, flow records %d, ring address space %d MiB;%n"
                            + "[scale, engine] memory per connection: JVM RSS +%d MiB = %d bytes (of which Java heap"
                            + " %d bytes); kernel slab +%d MiB for the clients' side; client namespace %s;"
                            + " drops at the tap: %s; %s%n",
                    connections, clients, openMs, t, flows, records, rings >> 20,
                    rssGrowth >> 20, rssGrowth / connections, heapGrowth / connections, slabGrowth >> 20,
                    sockstatTcp(net.ns), tapDrops(engine), fx.nonZeroCounters());
            assertThat(t.failures).as("clients that failed before reporting").isEmpty();
            assertThat(t.connected).as("connected").isEqualTo(connections);
            assertThat(t.echoed).as("echoed byte-exact (%s)", t).isEqualTo(connections);
            assertThat(counts.echoed.get()).as("connections the engine echoed 16 bytes on").isEqualTo(connections);
            assertThat(counts.short_.get()).as("echo writes the ring did not take whole").isZero();
            assertThat(counts.resets.get()).as("connections reset").isZero();
            assertThat(flows).as("all open at once").isGreaterThanOrEqualTo(connections);
            engineSlabGrowth = slabGrowth;
            engineRssGrowth = rssGrowth;

            Files.writeString(release, "close");
            long tClose = System.nanoTime();
            int[] closed = new int[3];
            for (Sh.Background p : procs) {
                Matcher m = Pattern.compile("closed=(\\d+) errors=(\\d+) unfinished=(\\d+)")
                        .matcher(p.awaitSuccess(CLIENT_SECONDS + 30, TimeUnit.SECONDS));
                assertThat(m.find()).as("a client's teardown summary: %s", p.output()).isTrue();
                for (int i = 0; i < 3; i++) {
                    closed[i] += Integer.parseInt(m.group(i + 1));
                }
            }
            long closeMs = (System.nanoTime() - tClose) / 1_000_000;
            try {
                assertThat(closed[0]).as("connections whose FIN the engine answered with its own"
                        + " (errors %d, unfinished %d)", closed[1], closed[2]).isEqualTo(connections);
                fx.await(() -> engine.flowCount() == 0 && engine.ringBytesInUse() == 0, RECLAIM_SECONDS,
                        "every flow to be reclaimed (" + engine.flowCount() + " left)");
            } finally {
                System.out.printf("[scale, engine] teardown: clients half-closed and saw the engine's FIN on %d"
                                + " (errors %d, unfinished %d) in %d ms; %d flows left after %d ms, ring bytes %d;"
                                + " engine side: %s; Linux: %s; drops at the tap: %s; %s%n",
                        closed[0], closed[1], closed[2], closeMs, engine.flowCount(),
                        (System.nanoTime() - tClose) / 1_000_000, engine.ringBytesInUse(), counts,
                        linuxStates(net.ns), tapDrops(engine), fx.nonZeroCounters());
            }
        } finally {
            for (Sh.Background p : procs) {
                p.close();
            }
        }
        System.out.printf("[scale, engine] all %d closed and reclaimed: %d ms in all%n", connections,
                (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * The reference: the same clients against a Linux epoll echo server in its own namespace.
     * Asserts that Linux holds them all too (else the setup, not the engine, is at fault) and
     * reports its memory per connection next to the engine's.
     */
    @Test
    @Order(2)
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void linuxEpollServerHoldsTheSameConnections() throws Exception {
        net = PeerNet.namespaceOnly("sl");
        serverNet = PeerNet.namespaceOnly("sv");
        String clientIf = PeerNet.ifname("slc");
        String serverIf = PeerNet.ifname("sls");
        Sh.run("ip", "link", "add", clientIf, "type", "veth", "peer", "name", serverIf);
        Sh.run("ip", "link", "set", clientIf, "netns", net.ns);
        Sh.run("ip", "link", "set", serverIf, "netns", serverNet.ns);
        Sh.run("ip", "-n", serverNet.ns, "addr", "add", PeerNet.ENGINE_IP + "/24", "dev", serverIf);
        Sh.run("ip", "-n", serverNet.ns, "link", "set", serverIf, "up");
        Sh.run("ip", "-n", net.ns, "addr", "add", PeerNet.LINUX_IP + "/24", "dev", clientIf);
        Sh.run("ip", "-n", net.ns, "link", "set", clientIf, "up");
        clientSide(net.ns, clientIf);
        // Linux's own backlog above the connection count, as the engine's (no cookies either).
        Sh.inNs(serverNet.ns, "sysctl", "-qw", "net.core.somaxconn=" + (connections + 1024));
        Sh.inNs(serverNet.ns, "sysctl", "-qw", "net.ipv4.tcp_max_syn_backlog=" + (connections + 1024));
        scratch = new Files256();
        Path script = scratch.path("peer.py");
        try (java.io.InputStream s = ScaleLinuxTest.class.getResourceAsStream("peer.py")) {
            Files.copy(s, script);
        }
        Launcher python = (ns, args) -> {
            String[] cmd = new String[args.length + 2];
            cmd[0] = "python3";
            cmd[1] = script.toString();
            System.arraycopy(args, 0, cmd, 2, args.length);
            return Sh.start(scratch.path("python-" + args[0] + "-" + System.nanoTime() + ".log"), Sh.nsCommand(ns, cmd));
        };
        Path release = scratch.path("release");
        List<Sh.Background> procs = new ArrayList<>();
        // One server process per client process (the same file limit), client i to port PORT + i.
        List<Sh.Background> servers = new ArrayList<>();
        try {
            for (int i = 0; i < clients; i++) {
                servers.add(python.start(serverNet.ns, "scale-server", Integer.toString(PORT + i),
                        Integer.toString(share(i)), Integer.toString(CLIENT_SECONDS), release.toString()));
            }
            await(() -> servers.stream().allMatch(p -> p.output().contains("listening") || !p.process().isAlive()),
                    30, "the servers");
            long rssBefore = 0;
            for (Sh.Background p : servers) {
                rssBefore += rssBytes(Long.toString(p.pid()));
            }
            long slabBefore = slabBytes();
            long t0 = System.nanoTime();
            for (int i = 0; i < clients; i++) {
                procs.add(startClient(python, net.ns, i, PORT + i, release));
            }
            await(() -> procs.stream().allMatch(p -> p.output().contains("scale-client connected=")
                    || !p.process().isAlive()), CLIENT_SECONDS + 30, "the clients against Linux");
            await(() -> servers.stream().allMatch(p -> p.output().contains("scale-server echoed=")
                    || !p.process().isAlive()), 30, "the Linux servers");
            long openMs = (System.nanoTime() - t0) / 1_000_000;
            long rssAfter = 0;
            for (Sh.Background p : servers) {
                rssAfter += rssBytes(Long.toString(p.pid()));
            }
            long rssGrowth = rssAfter - rssBefore;
            long slabGrowth = slabBytes() - slabBefore;
            ClientTotals t = ClientTotals.of(procs);
            String serverKernel = engineSlabGrowth < 0 ? "? (run the engine test first to isolate it)"
                    : ((slabGrowth - engineSlabGrowth) / connections) + " bytes (this run's slab growth minus the"
                    + " engine run's, which holds the clients' side only)";
            System.out.printf("[scale, Linux epoll] %d connections opened and echoed in %d ms (%s);%n"
                            + "[scale, Linux epoll] memory per connection: server processes' RSS +%d MiB = %d bytes;"
                            + " kernel slab +%d MiB for both sides, the server's share %s; server namespace %s, %s;"
                            + " client namespace %s%n",
                    connections, openMs, t, rssGrowth >> 20, rssGrowth / connections, slabGrowth >> 20, serverKernel,
                    sockstatTcp(serverNet.ns), linuxStates(serverNet.ns), linuxStates(net.ns));
            if (engineRssGrowth >= 0) {
                System.out.printf("[scale] memory per connection: engine %d bytes (JVM RSS); Linux epoll server %s"
                                + " bytes (process RSS %d + kernel slab)%n", engineRssGrowth / connections,
                        engineSlabGrowth < 0 ? "?" : Long.toString((rssGrowth + slabGrowth - engineSlabGrowth)
                                / connections), rssGrowth / connections);
            }
            int serverEchoed = 0;
            for (Sh.Background p : servers) {
                Matcher m = Pattern.compile("scale-server echoed=(\\d+)").matcher(p.output());
                serverEchoed += m.find() ? Integer.parseInt(m.group(1)) : 0;
            }
            assertThat(t.failures).as("clients that failed before reporting").isEmpty();
            assertThat(t.echoed).as("echoed byte-exact by Linux (%s)", t).isEqualTo(connections);
            assertThat(serverEchoed).as("connections the Linux servers echoed").isEqualTo(connections);
            Files.writeString(release, "close");
            for (Sh.Background p : procs) {
                p.awaitSuccess(CLIENT_SECONDS + 30, TimeUnit.SECONDS);
            }
            for (Sh.Background p : servers) {
                p.awaitSuccess(60, TimeUnit.SECONDS);
            }
        } finally {
            for (Sh.Background p : procs) {
                p.close();
            }
            for (Sh.Background p : servers) {
                p.close();
            }
        }
    }

    /** Starts a python peer in a namespace (the fixture's, or the reference's). */
    @FunctionalInterface
    private interface Launcher {
        Sh.Background start(String ns, String... args);
    }

    /** Client-side namespace settings: every port usable, one source address per client process. */
    private void clientSide(String ns, String ifname) {
        Sh.inNs(ns, "sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65535");
        for (int i = 1; i < clients; i++) {
            Sh.run("ip", "-n", ns, "addr", "add", PeerNet.SUBNET + "." + (2 + i) + "/24", "dev", ifname);
        }
    }

    private Sh.Background startClient(Launcher python, String ns, int i, int port, Path release) {
        return python.start(ns, "scale-client", PeerNet.ENGINE_IP, Integer.toString(port),
                Integer.toString(share(i)), PeerNet.SUBNET + "." + (2 + i), release.toString(),
                Integer.toString(CLIENT_SECONDS));
    }

    /** Client {@code i}'s share of the connections (all within {@link #PER_CLIENT}). */
    private int share(int i) {
        return connections / clients + (i < connections % clients ? 1 : 0);
    }

    /** What the clients' summary lines add up to. */
    private record ClientTotals(int connected, int failed, int echoed, int bad, int reset, int timedOut,
                                double slowestSeconds, List<String> failures) {
        private static final Pattern SUMMARY = Pattern.compile(
                "connected=(\\d+) failed=(\\d+) echoed=(\\d+) bad=(\\d+) reset=(\\d+) timedout=(\\d+) seconds=([0-9.]+)");

        static ClientTotals of(List<Sh.Background> procs) {
            int[] sum = new int[6];
            double slowest = 0;
            List<String> failures = new ArrayList<>();
            for (Sh.Background p : procs) {
                Matcher m = SUMMARY.matcher(p.output());
                if (m.find()) {
                    for (int i = 0; i < 6; i++) {
                        sum[i] += Integer.parseInt(m.group(i + 1));
                    }
                    slowest = Math.max(slowest, Double.parseDouble(m.group(7)));
                } else {
                    failures.add(p.output());
                }
            }
            return new ClientTotals(sum[0], sum[1], sum[2], sum[3], sum[4], sum[5], slowest, failures);
        }

        @Override
        public String toString() {
            return String.format("clients: connected %d, echoed %d, refused/failed %d, bad %d, reset %d, timed out %d,"
                    + " slowest client %.1f s", connected, echoed, failed, bad, reset, timedOut, slowestSeconds);
        }
    }

    private static void await(java.util.function.BooleanSupplier cond, int seconds, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + seconds + " s waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    /** Frames lost between the engine and Linux: the TAP port's own, and the kernel tap queue's. */
    private String tapDrops(TasEngine engine) {
        TasPortStats s = engine.port().stats();
        return String.format("engine port rx dropped %d, tx dropped %d; Linux tap (%s) tx_dropped %s (Linux to"
                        + " engine: its queue was full), rx_dropped %s", s.rxDropped(), s.txDropped(), tap,
                linuxStat(net.ns, tap, "tx_dropped"), linuxStat(net.ns, tap, "rx_dropped"));
    }

    private static String linuxStat(String ns, String ifname, String name) {
        return Sh.runQuietly("ip", "netns", "exec", ns, "cat", "/sys/class/net/" + ifname + "/statistics/" + name)
                .trim();
    }

    /** The namespace's TCP sockets by state, and the TCP counters that say why a connection ended. */
    private static String linuxStates(String ns) {
        Map<String, Integer> states = new TreeMap<>();
        Sh.runQuietly("ip", "netns", "exec", ns, "ss", "-Htan").lines().map(l -> l.split("\\s+")[0])
                .filter(s -> !s.isEmpty()).forEach(s -> states.merge(s, 1, Integer::sum));
        StringBuilder sb = new StringBuilder("sockets ").append(states);
        for (String l : Sh.runQuietly("ip", "netns", "exec", ns, "nstat", "-asz").lines().toList()) {
            String[] f = l.trim().split("\\s+");
            if (f.length >= 2 && f[0].matches("TcpRetransSegs|TcpOutRsts|TcpEstabResets|TcpExtTCPAbortOn\\w+"
                    + "|TcpExtTCPBacklogDrop|TcpExtTCPTimeWaitOverflow|TcpExtTCPTimeouts|TcpExtTW|TcpExtTCPFinWait2\\w*"
                    + "|TcpExtListen\\w+|TcpExtSyncookies\\w+|TcpExtTCPReqQFullDrop|TcpExtTCPSynRetrans")
                    && !f[1].equals("0")) {
                sb.append(' ').append(f[0]).append('=').append(f[1]);
            }
        }
        return sb.toString();
    }

    private static String sockstatTcp(String ns) {
        return Sh.runQuietly("ip", "netns", "exec", ns, "cat", "/proc/net/sockstat").lines()
                .filter(l -> l.startsWith("TCP:")).findFirst().orElse("?");
    }

    private static long rssBytes(String pid) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc", pid, "status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS");
    }

    /** The kernel's slab memory (all of it: socket, file, inode, dentry and epoll objects among it). */
    private static long slabBytes() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (l.startsWith("Slab:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no Slab in /proc/meminfo");
    }

    private static long heapUsed() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    static final class Counts {
        final AtomicInteger echoed = new AtomicInteger();
        final AtomicInteger short_ = new AtomicInteger();
        final AtomicInteger resets = new AtomicInteger();
        final AtomicInteger eofs = new AtomicInteger();

        @Override
        public String toString() {
            return "echoed=" + echoed + " short=" + short_ + " resets=" + resets + " peer FINs read=" + eofs;
        }
    }

    /**
     * Echoes what arrives through one buffer shared by all connections (they all run on the one
     * context loop thread): a handler per connection must cost little when there are 100,000.
     */
    private static final class Echo16 implements ContextLoop.Handler {
        private static final ByteBuffer SHARED = ByteBuffer.allocate(256);
        private final Counts counts;
        private int got;
        private boolean done;

        Echo16(Counts counts) {
            this.counts = counts;
        }

        @Override
        public void onEvents(TasSocket s, int ev) {
            TasConnection c = (TasConnection) s;
            if (done) {
                return;
            }
            if ((ev & TasEvents.RESET) != 0) {
                counts.resets.incrementAndGet();
                done = true;
                c.close();
                return;
            }
            while (true) {
                ByteBuffer b = SHARED.clear();
                int n = c.read(b);
                if (n < 0) {
                    counts.eofs.incrementAndGet();
                    done = true;
                    c.close();
                    return;
                }
                if (n == 0) {
                    break;
                }
                b.flip();
                if (c.write(b) != n) {
                    counts.short_.incrementAndGet();
                }
                c.flush();
                if (got < 16 && got + n >= 16) {
                    counts.echoed.incrementAndGet();
                }
                got += n;
            }
        }
    }
}
