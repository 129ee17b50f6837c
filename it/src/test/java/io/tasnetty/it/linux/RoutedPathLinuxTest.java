package io.tasnetty.it.linux;

import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasSocket;
import io.tasnetty.engine.port.TapPort;
import io.tasnetty.engine.stats.TasCounter;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The engine behind a Linux router, as on a real network: the engine's TAP port in a router
 * namespace (192.168.240.0/24), the Linux peer in another (192.168.241.0/24), and the router's
 * side towards the peer at MTU 1280, like a tunnel. The peer advertises MSS 1460, so the engine
 * learns the smaller path MTU only from the router's ICMP "fragmentation needed" (RFC 1191), or,
 * when a firewall drops that, by black-hole detection after timeouts (RFC 4821). Also: ping
 * through the router, and a client that reconnects from the same port while the engine's side of
 * its last connection is in TIME_WAIT (RFC 6191).
 */
class RoutedPathLinuxTest {
    private static final String ENGINE_NET = "192.168.240";
    private static final String PEER_NET = "192.168.241";
    private static final String ENGINE_IP = ENGINE_NET + ".1";
    private static final String PEER_IP = PEER_NET + ".2";
    private static final long MAC = 0x02_00_c0_a8_f0_01L;
    private static final long DOWNLOAD = 64L << 20;
    private static final int NARROW_MTU = 1280;

    private final String routerNs = PeerNet.nsName("rt");
    private final String peerNs = PeerNet.nsName("rp");
    private final String tap = PeerNet.ifname("rtap");
    private final String routerToPeer = PeerNet.ifname("rra");
    private final String peerIf = PeerNet.ifname("rrb");
    private final Files256 scratch = new Files256();
    private TasEngine engine;
    private ContextLoop loop;

    @BeforeAll
    static void requirements() {
        ItDpdk.requireRootNetworking();
        ItDpdk.requireTools("python3", "ethtool", "iptables");
    }

    @BeforeEach
    void topology() {
        PeerNet.removeStale();
        for (String ns : new String[] {routerNs, peerNs}) {
            Sh.runQuietly("ip", "netns", "del", ns);
            Sh.run("ip", "netns", "add", ns);
            Sh.run("ip", "-n", ns, "link", "set", "lo", "up");
            Sh.inNs(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
        }
        TapPort port = TapPort.open(tap, MAC, 1500);
        try {
            Sh.run("ip", "link", "set", tap, "netns", routerNs);
        } catch (RuntimeException e) {
            port.close();
            throw e;
        }
        Sh.run("ip", "-n", routerNs, "addr", "add", ENGINE_NET + ".254/24", "dev", tap);
        Sh.run("ip", "-n", routerNs, "link", "set", tap, "up");
        Sh.inNs(routerNs, "sysctl", "-qw", "net.ipv4.ip_forward=1");

        Sh.runQuietly("ip", "link", "del", routerToPeer);
        Sh.run("ip", "link", "add", routerToPeer, "type", "veth", "peer", "name", peerIf);
        Sh.run("ip", "link", "set", routerToPeer, "netns", routerNs);
        Sh.run("ip", "link", "set", peerIf, "netns", peerNs);
        // The narrow hop: the router sends at most 1,280 bytes towards the peer; the peer's own
        // interface stays at 1,500 so its SYN still says MSS 1460.
        Sh.run("ip", "-n", routerNs, "link", "set", routerToPeer, "mtu", Integer.toString(NARROW_MTU));
        Sh.run("ip", "-n", routerNs, "addr", "add", PEER_NET + ".254/24", "dev", routerToPeer);
        Sh.run("ip", "-n", routerNs, "link", "set", routerToPeer, "up");
        Sh.run("ip", "-n", peerNs, "addr", "add", PEER_IP + "/24", "dev", peerIf);
        Sh.run("ip", "-n", peerNs, "link", "set", peerIf, "up");
        Sh.run("ip", "-n", peerNs, "route", "add", "default", "via", PEER_NET + ".254");
        // Real NICs hand over finished checksums and MTU-sized segments; so must these.
        Sh.inNs(peerNs, "ethtool", "-K", peerIf, "tx", "off", "tso", "off", "gso", "off");
        Sh.inNs(routerNs, "ethtool", "-K", routerToPeer, "tx", "off", "tso", "off", "gso", "off", "gro", "off");

        engine = TasEngine.builder().config(TasConfig.builder().set("ip-addr", ENGINE_IP + "/24")
                .set("ip-route", PEER_NET + ".0/24," + ENGINE_NET + ".254").build()).port(port).build();
        loop = new ContextLoop(engine, "tas-it-routed");
    }

    @AfterEach
    void teardown() {
        try {
            if (loop != null) {
                loop.close();
            }
            if (engine != null) {
                engine.close();
            }
        } finally {
            Sh.runQuietly("ip", "netns", "del", peerNs);
            Sh.runQuietly("ip", "netns", "del", routerNs);
            Sh.runQuietly("ip", "link", "del", tap);
            scratch.close();
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void theEngineAnswersPingThroughTheRouter() throws Exception {
        try (Sh.Background ping = python("ping", ENGINE_IP, "3")) {
            String out = ping.awaitSuccess(30, TimeUnit.SECONDS);
            assertThat(out).contains("ping answered=3");
        }
        assertThat(engine.counter(TasCounter.ICMP_ECHO_REPLIES)).isEqualTo(3);
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aDownloadOverTheNarrowPathCompletesByteExactLearningTheMtuFromIcmp() throws Exception {
        BulkPeer.Result r = download(7100);
        assertThat(engine.counter(TasCounter.TCP_PMTU_REDUCED)).as("fragmentation needed acted on").isEqualTo(1);
        assertThat(engine.counter(TasCounter.TCP_MTU_BLACK_HOLE)).isZero();
        assertThat(r.sent()).isEqualTo(DOWNLOAD);
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aDownloadOverTheNarrowPathCompletesByteExactWhenAFirewallDropsTheIcmp() throws Exception {
        Sh.inNs(routerNs, "iptables", "-A", "OUTPUT", "-p", "icmp", "--icmp-type", "fragmentation-needed",
                "-j", "DROP");
        BulkPeer.Result r = download(7101);
        assertThat(engine.counter(TasCounter.TCP_PMTU_REDUCED)).as("no ICMP reached the engine").isZero();
        assertThat(engine.counter(TasCounter.TCP_MTU_BLACK_HOLE)).as("black hole detected").isEqualTo(1);
        assertThat(r.sent()).isEqualTo(DOWNLOAD);
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aClientReconnectingFromItsPortWhileTheEngineIsInTimeWaitGetsInAtOnce() throws Exception {
        loop.listen(7200, 16, ReplyAndClose::new);
        String out;
        try (Sh.Background client = python("reconnect", ENGINE_IP, "7200", "45000")) {
            out = client.awaitSuccess(60, TimeUnit.SECONDS);
        }
        System.out.println("[routed] " + out.trim() + "; " + nonZeroCounters());
        assertThat(engine.counter(TasCounter.CONN_TIME_WAIT_REUSED)).as("the SYN ended TIME_WAIT").isEqualTo(1);
        Matcher m = Pattern.compile("second_connect_s=([0-9.]+)").matcher(out);
        assertThat(m.find()).isTrue();
    }

    private BulkPeer.Result download(int port) throws Exception {
        BulkPeer server = new BulkPeer(DOWNLOAD, 7);
        loop.listen(port, 16, () -> server);
        long t0 = System.nanoTime();
        String out;
        try (Sh.Background client = python("download", ENGINE_IP, Integer.toString(port))) {
            out = client.awaitSuccess(150, TimeUnit.SECONDS);
        }
        BulkPeer.Result r = server.result.get(30, TimeUnit.SECONDS);
        System.out.printf("[routed, MTU %d] 64 MiB download: %d ms; %s%n", NARROW_MTU,
                (System.nanoTime() - t0) / 1_000_000, nonZeroCounters());
        assertThat(out).contains("download bytes=" + DOWNLOAD + " sha256=" + r.sentSha256());
        return r;
    }

    private Sh.Background python(String... args) {
        java.nio.file.Path script = scratch.path("peer.py");
        if (!java.nio.file.Files.exists(script)) {
            try (java.io.InputStream s = RoutedPathLinuxTest.class.getResourceAsStream("peer.py")) {
                java.nio.file.Files.copy(s, script);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        String[] cmd = new String[args.length + 2];
        cmd[0] = "python3";
        cmd[1] = script.toString();
        System.arraycopy(args, 0, cmd, 2, args.length);
        return Sh.start(scratch.path("python-" + args[0] + "-" + System.nanoTime() + ".log"), Sh.nsCommand(peerNs, cmd));
    }

    private String nonZeroCounters() {
        StringBuilder sb = new StringBuilder();
        engine.counters().forEach((k, v) -> {
            if (v != 0) {
                sb.append(k).append('=').append(v).append(' ');
            }
        });
        return sb.toString();
    }

    /** Echoes what arrives, then closes first: the engine's end goes to TIME_WAIT. */
    private static final class ReplyAndClose implements ContextLoop.Handler {
        private final ByteBuffer buf = ByteBuffer.allocate(256);
        private boolean done;

        @Override
        public void onEvents(TasSocket s, int ev) {
            TasConnection c = (TasConnection) s;
            if (done || (ev & TasEvents.READABLE) == 0) {
                return;
            }
            int n = c.read(buf);
            if (n > 0) {
                buf.flip();
                c.write(buf);
                c.flush();
                c.close();
                done = true;
            }
        }
    }
}
