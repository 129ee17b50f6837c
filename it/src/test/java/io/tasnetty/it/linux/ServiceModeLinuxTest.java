package io.tasnetty.it.linux;

import io.tasnetty.engine.TasTestEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Service mode end to end (issue 13): one engine process owns a TAP port whose other end is in a
 * namespace this test creates; application JVMs, run as {@code nobody}, attach to it with
 * {@code -Dtas.service=DIR} and serve Linux clients in that namespace. Two applications each
 * stream {@value #BYTES} bytes to a Linux client, checked byte for byte, and serve HTTP to curl in
 * the namespace and to a third attached JVM (a Netty HTTP client, connecting through the
 * service's engine to both) while the other's transfer runs. A fourth, mid-transfer, is
 * {@code kill -9}ed: the service resets its connection, reclaims its flows, rings and region, and
 * the others go on. Isolation: a bind of a port the first holds fails with BindException,
 * another user cannot map a region file, and an application that writes aborts and unlistens for
 * socket ids it does not hold into its queue is refused each time (counted) without any other
 * application's connection noticing.
 */
class ServiceModeLinuxTest {
    private static final long BYTES = Long.getLong("tas.it.serviceBytes", 256L << 20);
    private static final int HTTP_ROUNDS = 20;
    /**
     * Seconds each Linux client sleeps per MiB it reads, so that 256 MiB take half a minute and
     * the HTTP traffic runs while both transfers do (how fast they go is not what is tested).
     */
    private static final String PACE = "0.1";
    private static final String CLIENT_PY = String.join("\n",
        "import socket, hashlib, sys, time",
        "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=120)",
        "pace = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0",
        "h = hashlib.sha256(); n = 0; said = False; mib = 0",
        "try:",
        "    while True:",
        "        b = s.recv(1 << 20)",
        "        if not b: break",
        "        h.update(b); n += len(b)",
        "        if pace and n >> 20 > mib:",
        "            mib = n >> 20; time.sleep(pace)",
        "        if not said and n >= 4 << 20:",
        "            print('progress', flush=True); said = True",
        "    print('done', n, h.hexdigest(), flush=True)",
        "except Exception as e:",
        "    print('error', n, type(e).__name__, flush=True)",
        "");

    @BeforeAll
    static void requirements() {
        ItDpdk.requireRootNetworking();
        ItDpdk.requireTools("python3", "setpriv");
        TasTestEnvironment.require(Files.exists(Path.of("/dev/net/tun")), "/dev/net/tun (TAP devices)");
        TasTestEnvironment.require(Files.isDirectory(Path.of("/dev/shm")), "/dev/shm (tmpfs for the service's shared memory)");
    }

    @Test
    @Timeout(value = 900, unit = TimeUnit.SECONDS)
    void shouldServeTwoUnprivilegedApplicationsAndReclaimAKilledOneWithoutDisturbingTheOther() throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "tas-it-svc");
        Path cp = Files.createTempDirectory(Path.of("/dev/shm"), "tas-it-cp");
        Path logs = Files.createTempDirectory("tas-it-svc-logs");
        // The permission model: who may enter DIR may attach. Here: everybody (nobody included).
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(cp, PosixFilePermissions.fromString("rwxr-xr-x"));
        String tap = PeerNet.ifname("svj");
        List<AutoCloseable> open = new ArrayList<>();
        PeerNet net = PeerNet.namespaceOnly("svc");
        try {
            String java = ProcessHandle.current().info().command().orElse("java");
            String rootCp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            Sh.Background service = Sh.start(logs.resolve("service.log"), java, "--enable-native-access=ALL-UNNAMED",
                "-XX:-UsePerfData", "-cp", rootCp, "io.tasnetty.engine.service.TasService", "--service=" + dir,
                "--port=tap:" + tap, "--ip-addr=" + PeerNet.ENGINE_IP + "/24", "--mac-addr=" + PeerNet.macString(LinuxLink.JAVA_TAP_MAC));
            open.add(service);
            awaitLine(service, "listening on");
            net = net.adopt(tap);

            String appCp = readableClassPath(rootCp, cp);
            // One after the other, so that they are the service's applications 1, 2 and 3.
            Sh.Background app1 = startApp(logs, "app1", java, appCp, dir, "serve", "8081", String.valueOf(BYTES), "8091", "app1");
            open.add(app1);
            awaitLine(app1, "serving 8081");
            Sh.Background app2 = startApp(logs, "app2", java, appCp, dir, "serve", "8082", String.valueOf(BYTES), "8092", "app2");
            open.add(app2);
            awaitLine(app2, "serving 8082");
            Sh.Background doomed = startApp(logs, "doomed", java, appCp, dir, "serve", "8083", String.valueOf(1L << 40));
            open.add(doomed);
            awaitLine(doomed, "serving 8083");

            // Isolation: a third application cannot take a port the first one holds.
            Sh.Background app3 = startApp(logs, "app3", java, appCp, dir, "bind", "8081");
            open.add(app3);
            assertThat(app3.awaitSuccess(120, TimeUnit.SECONDS)).contains("BindException");
            // The region files belong to the applications' user, readable by nobody else.
            Path region1 = dir.resolve("app-1.shm");
            assertThat(Files.getOwner(region1).getName()).isEqualTo("nobody");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(region1))).isEqualTo("rw-------");
            // An application of another user cannot map it.
            Sh.Background intruder = startApp(logs, "intruder", "daemon", java, appCp, dir, "map", region1.toString());
            open.add(intruder);
            assertThat(intruder.awaitSuccess(120, TimeUnit.SECONDS)).contains("AccessDeniedException");

            Path py = logs.resolve("client.py");
            Files.writeString(py, CLIENT_PY);
            Sh.Background bulk = Sh.start(logs.resolve("client1.log"),
                Sh.nsCommand(net.ns, "python3", "-u", py.toString(), PeerNet.ENGINE_IP, "8081", PACE));
            open.add(bulk);
            Sh.Background bulk2 = Sh.start(logs.resolve("client2.log"),
                Sh.nsCommand(net.ns, "python3", "-u", py.toString(), PeerNet.ENGINE_IP, "8082", PACE));
            open.add(bulk2);
            Sh.Background victim = Sh.start(logs.resolve("client3.log"),
                Sh.nsCommand(net.ns, "python3", "-u", py.toString(), PeerNet.ENGINE_IP, "8083", PACE));
            open.add(victim);
            // The service's counters every second while the transfers run (for a failure's diagnosis).
            Path statsLog = logs.resolve("service-stats.log");
            Thread watcher = Thread.ofPlatform().daemon().start(() -> {
                while (bulk.process().isAlive()) {
                    try {
                        Files.writeString(statsLog, Instant.now() + "\n" + stats(dir) + "\n",
                            StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                        Thread.sleep(1000);
                    } catch (IOException | InterruptedException e) {
                        return;
                    }
                }
            });
            open.add(watcher::interrupt);
            try {
                awaitLine(victim, "progress");
            } catch (AssertionError e) {
                System.err.println("service stats:\n" + stats(dir));
                String jstack = Path.of(java).resolveSibling("jstack").toString();
                System.err.println("service threads:\n" + Sh.runQuietly(jstack, String.valueOf(service.pid())));
                throw e;
            }
            // While both transfers run: each application serves HTTP to Linux (curl in the
            // namespace) and to a third attached JVM, whose connections to both go through the
            // service's engine; and an application tries to reset and unbind what it does not hold.
            awaitLine(bulk, "progress");
            awaitLine(bulk2, "progress");
            Sh.Background curl = Sh.start(logs.resolve("curl.log"), Sh.nsCommand(net.ns, "sh", "-c",
                "for i in $(seq 1 " + HTTP_ROUNDS + "); do for p in 8091 8092; do curl -sS --max-time 60 http://"
                    + PeerNet.ENGINE_IP + ":$p/linux-$i; done; done"));
            open.add(curl);
            Sh.Background client = startApp(logs, "client", java, appCp, dir, "client", PeerNet.ENGINE_IP, "8091", "8092",
                String.valueOf(HTTP_ROUNDS));
            open.add(client);
            Sh.Background resetter = startApp(logs, "resetter", java, appCp, dir, "reset-others", dir.toString(), "64");
            open.add(resetter);
            String curlOut = curl.awaitSuccess(300, TimeUnit.SECONDS);
            for (int i = 1; i <= HTTP_ROUNDS; i++) {
                assertThat(curlOut).contains("hello from app1 /linux-" + i + "\n").contains("hello from app2 /linux-" + i + "\n");
            }
            assertThat(client.awaitSuccess(300, TimeUnit.SECONDS)).contains("client ok " + (2 * HTTP_ROUNDS))
                .contains("hello from app1 /jvm3-0").contains("hello from app2 /jvm3-0");
            assertThat(resetter.awaitSuccess(120, TimeUnit.SECONDS)).contains("refused 128 of 128");

            long victimPid = doomed.pid();
            doomed.process().destroyForcibly(); // SIGKILL: no goodbye on the control socket
            doomed.process().waitFor();

            String bulkOut = bulk.awaitSuccess(600, TimeUnit.SECONDS);
            if (!bulkOut.contains("done")) {
                // Diagnostics for a stalled transfer: the service's view, and the application's threads.
                System.err.println("service stats:\n" + stats(dir));
                System.err.println("service threads:\n"
                    + Sh.runQuietly(Path.of(java).resolveSibling("jstack").toString(), String.valueOf(service.pid())));
                Sh.runQuietly("kill", "-QUIT", String.valueOf(app1.pid()));
                Thread.sleep(1000);
                System.err.println("app1:\n" + app1.output());
            }
            assertThat(bulkOut).as("the first application's transfer").contains("done " + BYTES + " " + expectedSha(8081, BYTES));
            assertThat(bulk2.awaitSuccess(600, TimeUnit.SECONDS)).as("the second application's transfer")
                .contains("done " + BYTES + " " + expectedSha(8082, BYTES));
            String victimOut = victim.awaitSuccess(120, TimeUnit.SECONDS);
            assertThat(victimOut).as("the killed application's client sees its connection reset").contains("error");

            // Reclaimed: the killed application's entry, rings and region file are gone (the
            // others detached normally before); the two servers are still attached.
            String stats = stats(dir);
            while (stats.contains("pid=" + victimPid) || !stats.contains("applications 2\n")) {
                Thread.sleep(20);
                stats = stats(dir);
            }
            assertThat(stats).contains("pid=" + app1.pid()).contains("pid=" + app2.pid());
            // The refused attempts were counted for the one that made them, none for the servers.
            assertThat(stats).containsPattern("pid=" + app1.pid() + " .* refused_foreign=0 ")
                .containsPattern("pid=" + app2.pid() + " .* refused_foreign=0 ");
            assertThat(Files.exists(dir.resolve("app-3.shm"))).isFalse();
            assertThat(app1.process().isAlive()).isTrue();
            // The stats tool reads the same from outside.
            String table = Sh.run(java, "-cp", rootCp, "io.tasnetty.engine.service.TasStat", dir.toString());
            assertThat(table).contains("engine: 2 applications").containsPattern("(?m)^\\s+1 nobody\\s+" + app1.pid() + " ");

            // The service dies: the attached applications' server channels close (SERVICE_GONE),
            // so their mains return instead of hanging.
            service.process().destroyForcibly();
            assertThat(app1.await(120, TimeUnit.SECONDS)).isZero();
            assertThat(app2.await(120, TimeUnit.SECONDS)).isZero();
        } finally {
            for (AutoCloseable c : open.reversed()) {
                c.close();
            }
            net.close();
            Sh.runQuietly("rm", "-rf", dir.toString(), cp.toString());
        }
    }

    private static Sh.Background startApp(Path logs, String name, String java, String cp, Path dir, String... args) {
        return startApp(logs, name, "nobody", java, cp, dir, args);
    }

    private static Sh.Background startApp(Path logs, String name, String user, String java, String cp, Path dir,
                                          String... args) {
        String group = user.equals("nobody") ? "nogroup" : user;
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=" + user, "--regid=" + group, "--clear-groups",
            java, "--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData", "-Djava.net.preferIPv4Stack=true",
            "-Dtas.service=" + dir,
            "-Dtas.no-kernel-path=true", "-cp", cp,
            "io.tasnetty.it.linux.ServiceAppMain"));
        cmd.addAll(List.of(args));
        return Sh.start(logs.resolve(name + ".log"), cmd.toArray(String[]::new));
    }

    /** The class path with every jar copied where {@code nobody} can read it (~/.m2 is root's). */
    private static String readableClassPath(String classPath, Path into) throws IOException {
        List<String> out = new ArrayList<>();
        int i = 0;
        for (String e : classPath.split(java.io.File.pathSeparator)) {
            Path p = Path.of(e);
            if (Files.isRegularFile(p)) {
                Path copy = into.resolve((i++) + "-" + p.getFileName());
                Files.copy(p, copy);
                Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-r--r--"));
                out.add(copy.toString());
            } else {
                out.add(e);
            }
        }
        return String.join(java.io.File.pathSeparator, out);
    }

    private static void awaitLine(Sh.Background p, String text) throws InterruptedException {
        while (!p.output().contains(text)) {
            if (!p.process().isAlive()) {
                throw new AssertionError(p.command() + " exited before printing \"" + text + "\":\n" + p.output());
            }
            Thread.sleep(20);
        }
    }

    /** The service's counters, read as an outside tool would: TAS-STATS on its control socket. */
    private static String stats(Path dir) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(dir.resolve("control")));
            ch.write(ByteBuffer.wrap("TAS-STATS\n".getBytes(StandardCharsets.US_ASCII)));
            ByteBuffer b = ByteBuffer.allocate(1 << 16);
            while (ch.read(b) >= 0) {
                if (!b.hasRemaining()) {
                    break;
                }
            }
            return new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII);
        }
    }

    private static String expectedSha(long seed, long bytes) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        SplittableRandom r = new SplittableRandom(seed);
        byte[] chunk = new byte[64 << 10];
        for (long left = bytes; left > 0; ) {
            int n = (int) Math.min(chunk.length, left);
            ServiceAppMain.pattern(r, chunk, n);
            md.update(chunk, 0, n);
            left -= n;
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
