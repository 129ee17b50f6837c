package io.tasnetty.it.linux;

import io.tasnetty.engine.TasTestEnvironment;
import io.tasnetty.engine.port.dpdk.TasDpdk;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A QEMU guest (TCG) that runs {@link QemuGuestMain} on its virtio NICs, for {@link QemuGuestTest}.
 *
 * <p>The guest boots Debian's generic kernel ({@value #KERNEL_CACHE}/VERSION/, which
 * {@code .ci/run} downloads) with a busybox initramfs built here: {@code qemu-init.sh} loads the
 * virtio, 9p, uio and tun modules, mounts the host's root file system read-only over 9p and
 * chroots into it, so the guest runs this machine's JDK 25, DPDK and the test JVM's own class path.
 * The script it runs ({@code guest.sh}, written here into a scratch directory under
 * {@code target/}, which the guest sees through 9p) binds the NICs to {@code uio_pci_generic},
 * reserves hugepages, starts a busybox httpd as the guest kernel's own TCP service and execs the JVM.
 *
 * <p>Each NIC is a tap device created in a network namespace of this test and opened by QEMU, which
 * runs inside that namespace: the host's Linux stack reaches the guest only there, nothing is
 * routed anywhere else. {@link #close} kills QEMU and deletes the namespace (and so the taps).
 */
final class QemuGuest implements AutoCloseable {
    static final String KERNEL_CACHE = "/var/cache/tas-qemu";
    /** Modules for the initramfs, dependencies first (qemu-init.sh makes two passes anyway). */
    static final List<String> MODULES = List.of("virtio_ring", "virtio", "virtio_pci_modern_dev",
            "virtio_pci_legacy_dev", "virtio_pci", "netfs", "fscache", "9pnet", "9pnet_virtio", "9p",
            "uio", "uio_pci_generic", "tun");
    static final String JAVA_OPTS = "-XX:TieredStopAtLevel=1 -XX:-UsePerfData -Xshare:auto -XX:+UseSerialGC"
            + " -Xms64m -Xmx256m -XX:MaxDirectMemorySize=256m -Djava.net.preferIPv4Stack=true"
            + " --enable-native-access=ALL-UNNAMED -XX:ErrorFile=" + QemuGuest.HS_ERR;
    /** Where a crashing guest JVM writes its error report (the guest's tmpfs; guest.sh prints it). */
    static final String HS_ERR = "/tmp/tas-guest-hs_err.log";

    /** A guest NIC: its PCI slot, tap, MAC, the engine's and the host's addresses, fast-path cores, kni name. */
    record Nic(int slot, String tap, String mac, String engineIp, String hostIp, int queues, String kni) {
        String bdf() {
            return String.format("0000:00:%02x.0", slot);
        }
    }

    final String ns;
    final List<Nic> nics;
    final Path dir;
    final Path console;
    private final long bootNanos = System.nanoTime();
    private Sh.Background qemu;

    private QemuGuest(String ns, List<Nic> nics, Path dir) {
        this.ns = ns;
        this.nics = nics;
        this.dir = dir;
        this.console = dir.resolve("console.log");
    }

    /** Skips (locally) or fails (in CI) unless QEMU, busybox, cpio, root, DPDK and a guest kernel are there. */
    static Path requireKernel() {
        ItDpdk.requireRootNetworking();
        ItDpdk.requireTools("qemu-system-x86_64", "cpio", "gzip", "curl");
        TasTestEnvironment.require(Files.isExecutable(Path.of("/bin/busybox")), "/bin/busybox (busybox-static)");
        TasTestEnvironment.require(TasDpdk.isAvailable(), "DPDK via libtasshim (the guest runs the host's)");
        Path kernelDir = null;
        try (Stream<Path> s = Files.list(Path.of(KERNEL_CACHE))) {
            // The newest download (.ci/run fetches the version linux-image-amd64 names today).
            kernelDir = s.filter(p -> Files.isDirectory(p.resolve("lib/modules")))
                    .max(Comparator.comparing(p -> p.toFile().lastModified())).orElse(null);
        } catch (IOException ignored) {
            // no cache yet
        }
        TasTestEnvironment.require(kernelDir != null, "a guest kernel in " + KERNEL_CACHE + "/VERSION/ (.ci/run"
                + " downloads it: apt-get download linux-image-VERSION-unsigned; dpkg-deb -x)");
        return kernelDir;
    }

    /**
     * Boots a guest with {@code cpus} vCPUs and {@code nics}, and starts {@link QemuGuestMain}
     * with EAL {@code -l 0 -m 256 -a BDF... --iova-mode=pa}. Returns once QEMU runs; use
     * {@link #awaitConsole} for the guest's progress. {@code token} is what the guest kernel's
     * httpd serves at {@code /kernel.txt} on port {@code kernelPort}.
     */
    static QemuGuest boot(Path kernelDir, String tag, int cpus, List<Nic> nics, int kernelPort, String token) {
        Path dir = Path.of("target", "qemu-" + tag + "-" + PeerNet.PID).toAbsolutePath();
        QemuGuest g = new QemuGuest(PeerNet.nsName(tag), nics, dir);
        try {
            deleteTree(dir);
            Files.createDirectories(dir);
            g.createNamespace();
            Path initrd = g.initramfs(kernelDir);
            g.writeGuestScript(kernelPort, token);
            String version = kernelDir.getFileName().toString();
            // The shell around QEMU: should this JVM die without closing (killed at a fork
            // timeout), QEMU dies with it instead of spinning its vCPUs on forever. (Not
            // PR_SET_PDEATHSIG: these machines' kernels do not deliver it.)
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", g.ns, "sh", "-c",
                    "qemu-system-x86_64 \"$@\" & q=$!; while kill -0 " + PeerNet.PID + " && kill -0 $q; do sleep 1; done"
                            + " 2>/dev/null; kill -9 $q 2>/dev/null; wait $q", "qemu",
                    // thread=single: one host thread runs all vCPUs in turn. With multi-threaded
                    // TCG (the default) a vCPU could run code another vCPU was rewriting: the guest
                    // JVM patches a compiled method's entry (made not entrant on deoptimization)
                    // while a hot thread keeps calling it, and that thread then faulted inside the
                    // new jmp (#GP at verified entry + 2, or a wild address), which real x86 never
                    // does. Serialized vCPUs see each rewrite whole.
                    "-name", g.ns, "-machine", "q35", "-accel", "tcg,thread=single", "-cpu", "max",
                    "-smp", Integer.toString(cpus), "-m", "1536", "-nodefaults", "-no-user-config",
                    "-display", "none", "-no-reboot", "-serial", "file:" + g.console,
                    "-kernel", kernelDir.resolve("boot/vmlinuz-" + version).toString(),
                    "-initrd", initrd.toString(),
                    "-append", "console=ttyS0 quiet panic=-1 tasqemu.run=" + dir.resolve("guest.sh"),
                    "-virtfs", "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap"));
            for (int i = 0; i < nics.size(); i++) {
                Nic n = nics.get(i);
                String netdev = "tap,id=n" + i + ",ifname=" + n.tap + ",script=no,downscript=no";
                String device = "virtio-net-pci,netdev=n" + i + ",mac=" + n.mac + ",addr=0x" + Integer.toHexString(n.slot);
                if (n.queues > 1) {
                    // One queue pair per fast-path core; vectors: 2 per pair + config + control.
                    netdev += ",queues=" + n.queues;
                    device += ",mq=on,vectors=" + (2 * n.queues + 2);
                }
                cmd.addAll(List.of("-netdev", netdev, "-device", device));
            }
            g.qemu = Sh.start(dir.resolve("qemu.log"), cmd.toArray(String[]::new));
            return g;
        } catch (IOException e) {
            g.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException | Error e) {
            g.close();
            throw e;
        }
    }

    private void createNamespace() {
        Sh.runQuietly("ip", "netns", "del", ns);
        Sh.run("ip", "netns", "add", ns);
        Sh.inNs(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
        Sh.inNs(ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1");
        Sh.run("ip", "-n", ns, "link", "set", "lo", "up");
        for (Nic n : nics) {
            List<String> add = new ArrayList<>(List.of("ip", "-n", ns, "tuntap", "add", "mode", "tap", "name", n.tap));
            if (n.queues > 1) {
                add.add("multi_queue");
            }
            Sh.run(add.toArray(String[]::new));
            Sh.run("ip", "-n", ns, "addr", "add", n.hostIp + "/24", "dev", n.tap);
            Sh.run("ip", "-n", ns, "link", "set", n.tap, "up");
        }
    }

    /** busybox, qemu-init.sh as /init, and the modules of {@code kernelDir} with their load order. */
    private Path initramfs(Path kernelDir) throws IOException {
        Path root = dir.resolve("initramfs");
        Path mods = root.resolve("modules");
        Files.createDirectories(root.resolve("bin"));
        Files.createDirectories(mods);
        Files.copy(Path.of("/bin/busybox"), root.resolve("bin/busybox"));
        try (InputStream in = QemuGuest.class.getResourceAsStream("qemu-init.sh")) {
            Files.copy(in, root.resolve("init"));
        }
        root.resolve("init").toFile().setExecutable(true);
        List<Path> all;
        try (Stream<Path> s = Files.walk(kernelDir.resolve("lib/modules"))) {
            all = s.filter(p -> p.getFileName().toString().endsWith(".ko")).toList();
        }
        for (String m : MODULES) {
            Path ko = all.stream().filter(p -> p.getFileName().toString().equals(m + ".ko")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("module " + m + ".ko not in " + kernelDir));
            Files.copy(ko, mods.resolve(m + ".ko"));
        }
        Files.writeString(mods.resolve("order"), String.join("\n", MODULES) + "\n");
        for (String d : List.of("dev", "proc", "sys")) {
            Files.createDirectories(root.resolve(d));
        }
        Path initrd = dir.resolve("initrd.gz");
        Sh.run(false, 60, "sh", "-c", "cd '" + root + "' && find . | cpio -o -H newc --quiet | gzip -1 > '" + initrd + "'");
        return initrd;
    }

    private void writeGuestScript(int kernelPort, String token) throws IOException {
        List<String> eal = new ArrayList<>(List.of("-l", "0", "-m", "256"));
        for (Nic n : nics) {
            eal.addAll(List.of("-a", n.bdf()));
        }
        eal.addAll(List.of("--iova-mode=pa", "--file-prefix=tasqemu", "--no-telemetry", "--log-level=lib.eal:warning"));
        StringBuilder args = new StringBuilder(JAVA_OPTS).append('\n');
        args.append("-cp\n").append(quote(System.getProperty("java.class.path"))).append('\n');
        args.append(QemuGuestMain.class.getName()).append('\n');
        for (String a : eal) {
            args.append(a).append('\n');
        }
        args.append("--\n");
        for (Nic n : nics) {
            args.append(n.bdf()).append(',').append(n.engineIp).append("/24,").append(n.queues)
                    .append(n.kni == null ? "" : "," + n.kni).append('\n');
        }
        Files.writeString(dir.resolve("guest.args"), args.toString(), StandardCharsets.UTF_8);

        StringBuilder sh = new StringBuilder("set -e\n");
        sh.append("echo \"TASQEMU-GUEST chroot at $(cut -d' ' -f1 /proc/uptime) s\"\n");
        for (Nic n : nics) {
            // From virtio-pci to uio_pci_generic (new_id binds every unbound device of that id:
            // the NICs, not the 9p device, which stays on virtio-pci).
            sh.append("echo ").append(n.bdf()).append(" > /sys/bus/pci/devices/").append(n.bdf())
                    .append("/driver/unbind\n");
        }
        sh.append("echo '1af4 1000' > /sys/bus/pci/drivers/uio_pci_generic/new_id\n");
        for (Nic n : nics) {
            sh.append("echo \"TASQEMU-GUEST ").append(n.bdf()).append(" driver $(basename $(readlink /sys/bus/pci/devices/")
                    .append(n.bdf()).append("/driver))\"\n");
        }
        sh.append("echo 192 > /proc/sys/vm/nr_hugepages\n");
        sh.append("echo \"TASQEMU-GUEST hugepages $(cat /proc/sys/vm/nr_hugepages)\"\n");
        sh.append("mkdir -p /tmp/www && echo '").append(token).append("' > /tmp/www/kernel.txt\n");
        sh.append("/bin/busybox httpd -p ").append(kernelPort).append(" -h /tmp/www\n");
        // Not exec: if the JVM crashes, its hs_err file lives in the guest's tmpfs; print it to the
        // console, which the host test reports.
        // "|| rc=$?": under set -e a failing JVM would end the script before the report is printed.
        sh.append("rc=0\n");
        sh.append(System.getProperty("java.home")).append("/bin/java @").append(dir.resolve("guest.args"))
                .append(" || rc=$?\n");
        sh.append("if [ -f ").append(HS_ERR).append(" ]; then echo TASQEMU-HS_ERR begin; cat ").append(HS_ERR)
                .append("; echo TASQEMU-HS_ERR end; fi\n");
        // The guest kernel's view too (an oops, a device error) when the JVM failed.
        sh.append("if [ $rc -ne 0 ]; then echo TASQEMU-DMESG begin; dmesg | tail -n 40; echo TASQEMU-DMESG end; fi\n");
        sh.append("exit $rc\n");
        Files.writeString(dir.resolve("guest.sh"), sh.toString(), StandardCharsets.UTF_8);
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /**
     * Waits until the console has a line matching {@code regex} (returned as a matcher on that
     * line); fails with the console if QEMU exits, the guest reports a failure, or {@code seconds} pass.
     */
    Matcher awaitConsole(String regex, int seconds) throws InterruptedException {
        Pattern p = Pattern.compile(regex);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            String log = console();
            for (String line : log.split("\n")) {
                Matcher m = p.matcher(line);
                if (m.find()) {
                    return m;
                }
            }
            if (log.contains("TASQEMU-FAIL") || log.contains("TASQEMU-EXIT")) {
                throw new AssertionError("the guest failed while waiting for /" + regex + "/\n" + describe());
            }
            if (!qemu.process().isAlive()) {
                throw new AssertionError("QEMU exited " + qemu.process().exitValue() + " while waiting for /"
                        + regex + "/\n" + describe());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + seconds + " s waiting for /" + regex + "/\n" + describe());
            }
            Thread.sleep(250);
        }
    }

    /**
     * If the guest JVM has begun a fatal error report, waits up to {@code seconds} for guest.sh to
     * have printed it (TASQEMU-EXIT), so a failure message carries the whole hs_err file.
     */
    void awaitCrashReport(int seconds) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (console().contains("A fatal error has been detected") && !console().contains("TASQEMU-EXIT")
                && qemu.process().isAlive() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    long secondsSinceBoot() {
        return TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - bootNanos);
    }

    String console() {
        try {
            return Files.exists(console) ? Files.readString(console, StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            return "(console unreadable: " + e.getMessage() + ")";
        }
    }

    /** QEMU's own output and the guest's serial console, for failure messages. */
    String describe() {
        return "---- qemu ----\n" + (qemu == null ? "(not started)" : qemu.output()) + "\n---- guest console ----\n"
                + console();
    }

    /** Runs {@code cmd} in the host-side namespace (where the taps are). */
    String inNs(int timeoutSeconds, String... cmd) {
        return Sh.run(false, timeoutSeconds, Sh.nsCommand(ns, cmd));
    }

    @Override
    public void close() {
        try {
            if (qemu != null) {
                qemu.close();
            }
        } finally {
            Sh.runQuietly("ip", "netns", "del", ns);
            deleteTree(dir);
        }
    }

    private static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }
}
