package io.tasnetty.it.linux;

import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasSocket;
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
    private static final long DOWNLOAD = 64L << 20;
    private static final int NARROW_MTU = 1280;

    private RouterTopology t;

    @BeforeAll
    static void requirements() {
        ItDpdk.requireRootNetworking();
        ItDpdk.requireTools("python3", "ethtool", "iptables");
    }

    @BeforeEach
    void topology() {
        t = new RouterTopology(NARROW_MTU, false);
    }

    @AfterEach
    void teardown() {
        if (t != null) {
            t.close();
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void theEngineAnswersPingThroughTheRouter() throws Exception {
        try (Sh.Background ping = t.python(t.peerNs, "ping", RouterTopology.ENGINE_IP, "3")) {
            String out = ping.awaitSuccess(30, TimeUnit.SECONDS);
            assertThat(out).contains("ping answered=3");
        }
        assertThat(t.engine.counter(TasCounter.ICMP_ECHO_REPLIES)).isEqualTo(3);
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aDownloadOverTheNarrowPathCompletesByteExactLearningTheMtuFromIcmp() throws Exception {
        BulkPeer.Result r = download(7100);
        assertThat(t.engine.counter(TasCounter.TCP_PMTU_REDUCED)).as("fragmentation needed acted on").isEqualTo(1);
        assertThat(t.engine.counter(TasCounter.TCP_MTU_BLACK_HOLE)).isZero();
        assertThat(r.sent()).isEqualTo(DOWNLOAD);
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aDownloadOverTheNarrowPathCompletesByteExactWhenAFirewallDropsTheIcmp() throws Exception {
        Sh.inNs(t.routerNs, "iptables", "-A", "OUTPUT", "-p", "icmp", "--icmp-type", "fragmentation-needed",
                "-j", "DROP");
        BulkPeer.Result r = download(7101);
        assertThat(t.engine.counter(TasCounter.TCP_PMTU_REDUCED)).as("no ICMP reached the engine").isZero();
        assertThat(t.engine.counter(TasCounter.TCP_MTU_BLACK_HOLE)).as("black hole detected").isEqualTo(1);
        assertThat(r.sent()).isEqualTo(DOWNLOAD);
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aClientReconnectingFromItsPortWhileTheEngineIsInTimeWaitGetsInAtOnce() throws Exception {
        t.loop.listen(7200, 16, ReplyAndClose::new);
        String out;
        try (Sh.Background client = t.python(t.peerNs, "reconnect", RouterTopology.ENGINE_IP, "7200", "45000")) {
            out = client.awaitSuccess(60, TimeUnit.SECONDS);
        }
        System.out.println("[routed] " + out.trim() + "; " + t.nonZeroCounters());
        assertThat(t.engine.counter(TasCounter.CONN_TIME_WAIT_REUSED)).as("the SYN ended TIME_WAIT").isEqualTo(1);
        Matcher m = Pattern.compile("second_connect_s=([0-9.]+)").matcher(out);
        assertThat(m.find()).isTrue();
    }

    private BulkPeer.Result download(int port) throws Exception {
        BulkPeer server = new BulkPeer(DOWNLOAD, 7);
        t.loop.listen(port, 16, () -> server);
        long t0 = System.nanoTime();
        String out;
        try (Sh.Background client = t.python(t.peerNs, "download", RouterTopology.ENGINE_IP, Integer.toString(port))) {
            out = client.awaitSuccess(150, TimeUnit.SECONDS);
        }
        BulkPeer.Result r = server.result.get(30, TimeUnit.SECONDS);
        System.out.printf("[routed, MTU %d] 64 MiB download: %d ms; %s%n", NARROW_MTU,
                (System.nanoTime() - t0) / 1_000_000, t.nonZeroCounters());
        assertThat(out).contains("download bytes=" + DOWNLOAD + " sha256=" + r.sentSha256());
        return r;
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
