package io.tasnetty.it.linux;

import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.stats.TasCounter;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The engine's gateway (a Linux router, {@link RouterTopology}) changes its MAC in the middle of a
 * download, as after a failover or a replaced NIC, and announces it with a gratuitous ARP (Linux's
 * arp_notify). The established connection must follow the new MAC and finish byte-exact; with a
 * peer MAC fixed at open, its frames would go to an address nobody answers and the download would
 * stall until the peer's timeout.
 */
class GatewayMacChangeLinuxTest {
    private static final long DOWNLOAD = 64L << 20;
    private static final String NEW_MAC = "02:00:c0:a8:f0:fe";

    private RouterTopology t;

    @BeforeAll
    static void requirements() {
        ItDpdk.requireRootNetworking();
        ItDpdk.requireTools("python3", "ethtool");
    }

    @BeforeEach
    void topology() {
        t = new RouterTopology(1500, false);
    }

    @AfterEach
    void teardown() {
        if (t != null) {
            t.close();
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aDownloadSurvivesTheGatewayChangingItsMac() throws Exception {
        // Linux announces a new hardware address with a gratuitous ARP only when asked to.
        Sh.inNs(t.routerNs, "sysctl", "-qw", "net.ipv4.conf." + t.tap + ".arp_notify=1");
        BulkPeer server = new BulkPeer(DOWNLOAD, 11);
        t.loop.listen(7300, 16, () -> server);
        long t0 = System.nanoTime();
        String out;
        try (Sh.Background client = t.python(t.peerNs, "download", RouterTopology.ENGINE_IP, "7300")) {
            // Once a few MiB are through (the flow is established and busy), move the gateway.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (t.engine.counter(TasCounter.TX_BYTES) < (4L << 20)) {
                assertThat(System.nanoTime()).as("the download started").isLessThan(deadline);
                Thread.sleep(20);
            }
            Sh.run("ip", "-n", t.routerNs, "link", "set", "dev", t.tap, "address", NEW_MAC);
            out = client.awaitSuccess(150, TimeUnit.SECONDS);
        }
        BulkPeer.Result r = server.result.get(30, TimeUnit.SECONDS);
        System.out.printf("[gateway MAC change] 64 MiB download: %d ms; %s%n",
                (System.nanoTime() - t0) / 1_000_000, t.nonZeroCounters());
        assertThat(out).contains("download bytes=" + DOWNLOAD + " sha256=" + r.sentSha256());
        assertThat(t.engine.counter(TasCounter.ARP_MAC_CHANGED)).as("the gratuitous ARP was taken").isEqualTo(1);
        assertThat(t.engine.counter(TasCounter.ARP_FLOWS_MOVED)).as("the download's flow followed").isEqualTo(1);
    }
}
