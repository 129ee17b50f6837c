package io.tasnetty.it.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * TAS inside a QEMU guest (TCG), on DPDK's virtio PMD, reached from the host's Linux stack
 * through the guest NICs' taps (the seed's "In Qemu/KVM" setup). One guest (2 vCPUs) serves every
 * test here, since starting a JVM under TCG is the slow part: {@link QemuGuestMain} runs two
 * engines with {@code fp-no-xsumoffload fp-no-ints fp-no-autoscale}, each with a Netty HTTP server
 * on TAS:
 *
 * <pre>
 *   test namespace                       guest (uio_pci_generic, virtio PMD, one EAL)
 *   tap A  .237.2 ==== virtio-net 00:03  engine A .237.1, 1 queue
 *   tap B  .236.2 ==== virtio-net 00:04  engine B .236.1, mq: 2 queues, fp-cores-max=2
 *          (multi_queue, queues=2)          + kni tap (guest Linux, also .236.1: ping, httpd :8081)
 * </pre>
 *
 * On failure the guest's serial console and QEMU's output are printed.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class) // the order of the issue; each test stands alone
class QemuGuestTest {
    static final QemuGuest.Nic SINGLE = new QemuGuest.Nic(3, PeerNet.ifname("qa"), "52:54:00:74:61:0a",
            "192.168.237.1", "192.168.237.2", 1, null);
    static final QemuGuest.Nic MULTI = new QemuGuest.Nic(4, PeerNet.ifname("qb"), "52:54:00:74:61:0b",
            "192.168.236.1", "192.168.236.2", 2, "tasguest0");
    static final int KERNEL_PORT = 8081;
    static final int TRANSFER = 4 << 20;

    static QemuGuest guest;
    static String token;
    static Files256 scratch;

    @RegisterExtension
    final TestWatcher consoleOnFailure = new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            if (guest != null) {
                guest.awaitCrashReport(60);
                System.out.println("[qemu] " + context.getDisplayName() + " failed; " + guest.describe());
            }
        }
    };

    @BeforeAll
    @Timeout(value = 12, unit = TimeUnit.MINUTES) // TCG on a busy 2-core machine: about 1 minute when idle
    static void bootGuest() throws Exception {
        Path kernel = QemuGuest.requireKernel();
        token = "guest-linux-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
        scratch = new Files256();
        guest = QemuGuest.boot(kernel, "qm", 2, List.of(SINGLE, MULTI), KERNEL_PORT, token);
        try {
            guest.awaitConsole("TASQEMU-INIT up", 120);
            long init = guest.secondsSinceBoot();
            guest.awaitConsole("TASQEMU-JVM up", 240);
            long jvm = guest.secondsSinceBoot();
            guest.awaitConsole("TASQEMU-SERVING", 360);
            long serving = guest.secondsSinceBoot();
            // The guest's first pass over both pools (QemuGuestMain checks them every 5 s after).
            String audit = guest.awaitConsole("TASQEMU-AUDIT dpdk:1 ok.*", 60).group();
            System.out.printf("[qemu] guest kernel and initramfs: %d s, JVM started: %d s, both engines serving: %d s,"
                    + " pools checked: %d s after QEMU started (%s); %s%n", init, jvm, serving, guest.secondsSinceBoot(),
                    kernel.getFileName(), audit);
        } catch (Throwable t) {
            System.out.println("[qemu] boot failed; " + guest.describe());
            throw t;
        }
    }

    @AfterAll
    static void stopGuest() {
        try {
            if (guest != null) {
                guest.close();
            }
        } finally {
            if (scratch != null) {
                scratch.close();
            }
        }
    }

    /** Requests answered and 4 MiB each way byte-exact through a single-queue virtio NIC. */
    @Test
    @Order(1)
    void nettyHttpServerOnTasInTheGuestAnswersTheHostsLinuxStack(TestInfo info) throws Exception {
        long t0 = System.nanoTime();
        Matcher ready = guest.awaitConsole("TASQEMU-READY " + SINGLE.bdf() + " .* queues=(\\d+)", 10);
        assertThat(ready.group(1)).as("queues of the single-queue NIC").isEqualTo("1");
        String base = "http://" + SINGLE.engineIp() + ":" + QemuGuestMain.HTTP_PORT;

        // Several requests on one keep-alive connection, the last a 4 MiB download.
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "--max-time", "120",
                "-w", "%{http_code} %{size_download} %{num_connects}\\n"));
        String[] paths = {"/", "/echo?n=1460", "/nope", "/echo?n=" + TRANSFER};
        for (int i = 0; i < paths.length; i++) {
            cmd.addAll(List.of("-o", scratch.path("single" + i).toString(), base + paths[i]));
        }
        String[] lines = guest.inNs(150, cmd.toArray(String[]::new)).strip().split("\n");
        assertThat(lines).hasSize(paths.length);
        assertThat(lines[0]).isEqualTo("200 " + HttpTestHandler.ROOT_BODY.length + " 1");
        assertThat(lines[1]).isEqualTo("200 1460 0");
        assertThat(lines[2]).isEqualTo("404 0 0");
        assertThat(lines[3]).as("one keep-alive connection for all").isEqualTo("200 " + TRANSFER + " 0");
        assertSameBytes(scratch.path("single0"), HttpTestHandler.ROOT_BODY);
        assertSameBytes(scratch.path("single1"), HttpTestHandler.pattern(1460));
        assertSameBytes(scratch.path("single3"), HttpTestHandler.pattern(TRANSFER));

        // 4 MiB upload: the guest answers the SHA-256 of what it received.
        Path up = scratch.random("upload", TRANSFER);
        String answer = guest.inNs(150, "curl", "-s", "--max-time", "120", "--data-binary", "@" + up,
                "-H", "Content-Type: application/octet-stream", base + "/sha256").strip();
        assertThat(answer).isEqualTo(TRANSFER + " " + Files256.sha256(up));

        Map<String, Long> c = counters(SINGLE);
        assertThat(c.getOrDefault("fp0.RX_FLOW_SEGMENTS", 0L)).isPositive();
        assertThat(c.getOrDefault("fp0.DROP_TCP_CHECKSUM", 0L)).as("software checksums check out").isZero();
        assertThat(c).doesNotContainKey("fp1.RX_PACKETS");
        report(info, t0, c);
    }

    /** A multi-queue tap and virtio NIC, two fast-path cores: connections on both queues, byte-exact. */
    @Test
    @Order(2)
    void multiQueueVirtioSpreadsConnectionsOverBothFastPathCores(TestInfo info) throws Exception {
        long t0 = System.nanoTime();
        Matcher ready = guest.awaitConsole("TASQEMU-READY " + MULTI.bdf() + " .* queues=(\\d+) cores=(\\d+)", 10);
        assertThat(ready.group(1)).as("queues the virtio PMD opened on the mq NIC").isEqualTo("2");
        String base = "http://" + MULTI.engineIp() + ":" + QemuGuestMain.HTTP_PORT;

        // 16 connections (HTTP/1.0: the server closes each), 256 KiB each: the tap spreads new
        // flows over its queues by hash, so each queue gets some with near certainty (2^-15 not).
        int conns = 16;
        int size = 256 << 10;
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-0", "--max-time", "120",
                "-w", "%{http_code} %{size_download} %{num_connects}\\n"));
        for (int i = 0; i < conns; i++) {
            cmd.addAll(List.of("-o", scratch.path("multi" + i).toString(), base + "/echo?n=" + size));
        }
        String[] lines = guest.inNs(150, cmd.toArray(String[]::new)).strip().split("\n");
        assertThat(lines).hasSize(conns);
        byte[] expected = HttpTestHandler.pattern(size);
        for (int i = 0; i < conns; i++) {
            assertThat(lines[i]).as("connection " + i).isEqualTo("200 " + size + " 1");
            assertSameBytes(scratch.path("multi" + i), expected);
        }
        Path up = scratch.random("upload-mq", TRANSFER);
        String answer = guest.inNs(150, "curl", "-s", "--max-time", "120", "--data-binary", "@" + up,
                "-H", "Content-Type: application/octet-stream", base + "/sha256").strip();
        assertThat(answer).isEqualTo(TRANSFER + " " + Files256.sha256(up));

        Map<String, Long> c = counters(MULTI);
        for (String q : List.of("fp0", "fp1")) {
            assertThat(c.getOrDefault(q + ".CONN_ESTABLISHED", 0L)).as("connections owned by " + q + "\n" + c)
                    .isPositive();
            assertThat(c.getOrDefault(q + ".RX_PACKETS", 0L)).as("frames the device delivered on queue " + q + "\n" + c)
                    .isPositive();
            assertThat(c.getOrDefault(q + ".RX_FLOW_SEGMENTS", 0L)).as("segments handled on " + q + "\n" + c)
                    .isPositive();
        }
        report(info, t0, c);
    }

    /** kni-name in the guest: the guest's Linux answers ping and its own TCP port on engine B's NIC. */
    @Test
    @Order(3)
    void guestLinuxSharesTheNicThroughTheKernelPathWhileTasServesItsPort(TestInfo info) throws Exception {
        long t0 = System.nanoTime();
        Matcher ready = guest.awaitConsole("TASQEMU-READY " + MULTI.bdf() + " .* kni=(\\S+)", 10);
        assertThat(ready.group(1)).isEqualTo(MULTI.kni());
        String ip = MULTI.engineIp();
        Map<String, Long> before = counters(MULTI);
        assertTasServes(ip, "kni-before");

        String ping = guest.inNs(90, "/bin/busybox", "ping", "-c", "3", "-w", "60", ip);
        assertThat(ping).as("ICMP is the guest kernel's").contains("3 packets received");
        String fromKernel = guest.inNs(60, "curl", "-s", "--max-time", "40",
                "http://" + ip + ":" + KERNEL_PORT + "/kernel.txt").strip();
        assertThat(fromKernel).as("the guest kernel's httpd on :" + KERNEL_PORT).isEqualTo(token);
        // ... while TAS serves its port on the same address and NIC.
        assertTasServes(ip, "kni-after");

        Map<String, Long> c = counters(MULTI);
        // The slow path hands frames to the kernel; the kernel path's own thread sends the kernel's.
        // At least: to it 3 echo requests and the httpd connection's SYN, ACK, request and FIN;
        // from it 3 echo replies, the SYN-ACK, the response and its FIN.
        assertThat(delta(before, c, "slow.KNI_TO_KERNEL")).as("frames passed to the guest kernel\n" + c)
                .isGreaterThanOrEqualTo(7);
        assertThat(delta(before, c, "kni.KNI_FROM_KERNEL")).as("frames the guest kernel sent\n" + c)
                .isGreaterThanOrEqualTo(6);
        assertThat(c.getOrDefault("slow.CONN_NO_LISTENER", 0L)).as("no RST for the kernel's port").isZero();
        assertThat(c.getOrDefault("slow.DROP_KNI", 0L) + c.getOrDefault("kni.DROP_KNI", 0L)).isZero();
        report(info, t0, c);
    }

    private static void assertTasServes(String ip, String name) throws IOException {
        Path body = scratch.path(name);
        String tas = guest.inNs(60, "curl", "-s", "--max-time", "40", "-o", body.toString(), "-w", "%{http_code}",
                "http://" + ip + ":" + QemuGuestMain.HTTP_PORT + "/");
        assertThat(tas).as("TAS's HTTP server").isEqualTo("200");
        assertSameBytes(body, HttpTestHandler.ROOT_BODY);
    }

    private static long delta(Map<String, Long> before, Map<String, Long> after, String counter) {
        return after.getOrDefault(counter, 0L) - before.getOrDefault(counter, 0L);
    }

    /** The engine's non-zero counters ({@code fp0.RX_PACKETS} ...), read over HTTP from the guest. */
    private static Map<String, Long> counters(QemuGuest.Nic nic) {
        String out = guest.inNs(60, "curl", "-s", "--max-time", "40",
                "http://" + nic.engineIp() + ":" + QemuGuestMain.HTTP_PORT + "/counters");
        Map<String, Long> m = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(line.substring(0, eq), Long.parseLong(line.substring(eq + 1).trim()));
            }
        }
        assertThat(m).as("counters from " + nic.engineIp() + ": " + out).containsKey("flows");
        return m;
    }

    private static void assertSameBytes(Path file, byte[] expected) throws IOException {
        byte[] got = Files.readAllBytes(file);
        assertThat(sha256(got)).as("SHA-256 of " + file.getFileName() + " (" + got.length + " bytes, expected "
                + expected.length + ")").isEqualTo(sha256(expected));
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void report(TestInfo info, long t0, Map<String, Long> counters) {
        System.out.printf("[qemu] %s: %d ms; %s%n", info.getDisplayName(), (System.nanoTime() - t0) / 1_000_000,
                counters);
    }
}
