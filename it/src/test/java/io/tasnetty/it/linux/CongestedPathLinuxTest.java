package io.tasnetty.it.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A congested, lossy path (issue: production TCP): between the engine and a Linux peer, a router
 * with a 100 Mbit/s token-bucket bottleneck and a small queue in each direction ({@code tbf}), and
 * 1% random loss on everything it forwards ({@code iptables -m statistic}). A Linux host in the
 * engine's place (the twin, same router, same bottleneck) is the yardstick: the engine's default
 * congestion control (CUBIC) must move data about as well as Linux's, and share the bottleneck
 * with a Linux CUBIC flow.
 */
class CongestedPathLinuxTest {
    private static final int MBIT = 100;
    private static final int QUEUE_BYTES = 64 * 1024;
    private static final double LOSS = 0.01;
    private static final long GOODPUT_BYTES = 48L << 20;
    private static final Pattern SECONDS = Pattern.compile("download bytes=(\\d+) sha256=\\S+ seconds=([0-9.]+)");
    private static final Pattern BYTES_FOR = Pattern.compile("download-for bytes=(\\d+)");

    private RouterTopology t;

    @BeforeAll
    static void requirements() {
        ItDpdk.requireRootNetworking();
        ItDpdk.requireTools("python3", "ethtool", "iptables", "tc", "socat");
    }

    @BeforeEach
    void topology() {
        t = new RouterTopology(1500, true);
        t.bottleneck(t.routerToPeer, MBIT, QUEUE_BYTES); // towards the peer
        t.bottleneck(t.tap, MBIT, QUEUE_BYTES); // towards the engine
        t.bottleneck(t.routerToTwin, MBIT, QUEUE_BYTES); // towards the twin
        t.randomLoss(LOSS);
    }

    @AfterEach
    void teardown() {
        if (t != null) {
            t.close();
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void twoHundredFiftySixMiBEachWayArriveByteExact() throws Exception {
        Path in = LinuxInteropTestBase.Shared.bulkFile();
        BulkPeer server = new BulkPeer(LinuxInteropTestBase.BULK, 11);
        t.loop.listen(7300, 16, () -> server);
        Path out = t.scratch.path("from-tas.bin");
        long t0 = System.nanoTime();
        try (Sh.Background socat = Sh.start(t.scratch.path("socat.log"), Sh.nsCommand(t.peerNs,
                "socat", "-t", "60", "-b", "65536", "TCP4:" + RouterTopology.ENGINE_IP + ":7300",
                "OPEN:" + in + "!!CREATE:" + out))) {
            BulkPeer.Result r = server.result.get(200, TimeUnit.SECONDS);
            socat.awaitSuccess(60, TimeUnit.SECONDS);
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("[congested %d Mbit/s, %.1f%% loss] 256 MiB each way: %.1f s (%.0f Mbit/s each way); %s%n",
                    MBIT, LOSS * 100, secs, LinuxInteropTestBase.BULK * 8 / secs / 1e6, t.nonZeroCounters());
            assertThat(r.received()).isEqualTo(LinuxInteropTestBase.BULK);
            assertThat(r.receivedSha256()).as("Linux -> TAS").isEqualTo(LinuxInteropTestBase.Shared.bulkSha256());
            assertThat(Files256.sha256(out)).as("TAS -> Linux").isEqualTo(r.sentSha256());
        }
    }

    /**
     * Side by side through the same bottleneck and loss, best of two rounds each: the engine's
     * goodput to the peer is at least 90% of the Linux twin's.
     */
    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void goodputIsAtLeastNinetyPercentOfLinuxsUnderTheSameConditions() throws Exception {
        double engine = 0;
        double linux = 0;
        for (int round = 0; round < 2; round++) {
            linux = Math.max(linux, linuxGoodput(7400 + round));
            engine = Math.max(engine, engineGoodput(7310 + round));
        }
        System.out.printf("[congested %d Mbit/s, %.1f%% loss] goodput: engine %.1f Mbit/s, Linux %.1f Mbit/s"
                + " (%.2fx); %s%n", MBIT, LOSS * 100, engine, linux, engine / linux, t.nonZeroCounters());
        assertThat(engine).isGreaterThanOrEqualTo(0.9 * linux);
    }

    /** One engine flow and one Linux CUBIC flow into the same bottleneck at once: each gets 1/3 to 2/3. */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void sharesTheBottleneckWithALinuxCubicFlow() throws Exception {
        BulkPeer server = new BulkPeer(4L << 30, 13);
        t.loop.listen(7320, 16, () -> server);
        String cc = "cubic"; // peer.py send-server sets it on its socket
        try (Sh.Background twin = t.python(t.twinNs, "send-server", "7420", Long.toString(4L << 30))) {
            awaitListening(twin);
            String secs = "15";
            try (Sh.Background fromEngine = t.python(t.peerNs, "download-for", RouterTopology.ENGINE_IP, "7320", secs);
                 Sh.Background fromLinux = t.python(t.peerNs, "download-for", RouterTopology.TWIN_IP, "7420", secs)) {
                long e = bytesFor(fromEngine.awaitSuccess(60, TimeUnit.SECONDS));
                long l = bytesFor(fromLinux.awaitSuccess(60, TimeUnit.SECONDS));
                double share = (double) e / (e + l);
                System.out.printf("[congested %d Mbit/s, %.1f%% loss] sharing with Linux %s: engine %.1f Mbit/s,"
                        + " Linux %.1f Mbit/s, engine share %.2f%n", MBIT, LOSS * 100, cc, e * 8 / 15e6, l * 8 / 15e6,
                        share);
                assertThat(share).isBetween(1.0 / 3, 2.0 / 3);
            }
        }
    }

    private double engineGoodput(int port) throws Exception {
        BulkPeer server = new BulkPeer(GOODPUT_BYTES, port);
        t.loop.listen(port, 16, () -> server);
        try (Sh.Background client = t.python(t.peerNs, "download", RouterTopology.ENGINE_IP, Integer.toString(port))) {
            String out = client.awaitSuccess(150, TimeUnit.SECONDS);
            BulkPeer.Result r = server.result.get(30, TimeUnit.SECONDS);
            assertThat(out).contains("sha256=" + r.sentSha256());
            return mbit(out);
        }
    }

    private double linuxGoodput(int port) throws Exception {
        try (Sh.Background server = t.python(t.twinNs, "send-server", Integer.toString(port), Long.toString(GOODPUT_BYTES))) {
            awaitListening(server);
            try (Sh.Background client = t.python(t.peerNs, "download", RouterTopology.TWIN_IP, Integer.toString(port))) {
                return mbit(client.awaitSuccess(150, TimeUnit.SECONDS));
            }
        }
    }

    private static double mbit(String out) {
        Matcher m = SECONDS.matcher(out);
        assertThat(m.find()).as(out).isTrue();
        assertThat(Long.parseLong(m.group(1))).isEqualTo(GOODPUT_BYTES);
        return Long.parseLong(m.group(1)) * 8 / Double.parseDouble(m.group(2)) / 1e6;
    }

    private static long bytesFor(String out) {
        Matcher m = BYTES_FOR.matcher(out);
        assertThat(m.find()).as(out).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static void awaitListening(Sh.Background server) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!server.output().contains("listening")) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the Linux sender did not start: " + server.output());
            }
            Thread.sleep(20);
        }
    }
}
