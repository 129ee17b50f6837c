package io.tasnetty.engine.port.dpdk;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import io.tasnetty.engine.TasTestEnvironment;
import io.tasnetty.engine.port.PacketBuffer;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one EAL every DPDK test of this JVM shares (rte_eal_init works once per process), plus
 * shell, namespace and frame helpers. Devices beyond {@code net_ring0} are hot-plugged by tests.
 */
final class DpdkTestSupport {
    static final long PID = ProcessHandle.current().pid();
    /** No hugepages, no PCI, one lcore, private files; net_ring0 is a loopback port. */
    static final List<String> EAL = List.of("--no-huge", "-m", "256", "--no-pci", "-l", "0",
            "--file-prefix=tastest" + PID, "--no-shconf", "--no-telemetry", "--vdev=net_ring0");

    static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private static String affinityBefore;
    private static String affinityAfter;

    private DpdkTestSupport() {
    }

    /** Skips (or, in CI, fails) unless DPDK is usable; starts the shared EAL. */
    static synchronized void requireEal() {
        TasTestEnvironment.require(TasDpdk.isAvailable(), "DPDK via libtasshim ("
                + (TasDpdk.unavailabilityCause() == null ? "" : TasDpdk.unavailabilityCause().getMessage()) + ")");
        if (!TasDpdk.isEalInitialized()) {
            affinityBefore = cpusAllowed();
            TasDpdk.initEal(EAL);
            affinityAfter = cpusAllowed();
            // --no-shconf leaves only an empty runtime directory behind; remove it when the JVM ends.
            Path runtimeDir = Path.of("/var/run/dpdk/tastest" + PID);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    Files.deleteIfExists(runtimeDir);
                } catch (IOException ignored) {
                    // not empty or not ours to remove
                }
            }));
        }
    }

    /** Cpus_allowed_list of the thread that started the EAL, before and after. */
    static String[] initThreadAffinity() {
        return new String[] {affinityBefore, affinityAfter};
    }

    static String cpusAllowed() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/thread-self/status"))) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
            return "?";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Skips (or fails in CI) unless this is root with iproute2 (namespaces, veth, tap). */
    static void requireRootNetworking() {
        TasTestEnvironment.require(TasTestEnvironment.isRoot(), "root (network namespaces, veth, tap)");
        TasTestEnvironment.require(TasTestEnvironment.hasCommand("ip") && TasTestEnvironment.hasCommand("sysctl"),
                "iproute2 and procps (ip, sysctl)");
    }

    /** Runs a command, fails with its output unless it exits 0 (or ignoreFailure). */
    static String sh(boolean ignoreFailure, String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + String.join(" ", cmd));
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.exitValue() != 0 && !ignoreFailure) {
                throw new IllegalStateException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String sh(String... cmd) {
        return sh(false, cmd);
    }

    /** A network namespace with IPv6 off (no router solicitations or MLD noise on test links). */
    static void createNamespace(String ns) {
        sh(true, "ip", "netns", "del", ns);
        sh("ip", "netns", "add", ns);
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1");
        sh("ip", "-n", ns, "link", "set", "lo", "up");
    }

    /**
     * A namespace (see {@link #createNamespace}) holding one end of a veth pair, {@code linuxIf}
     * with {@code linuxCidr}; the other end, {@code engineIf}, stays here, up, with IPv6 off and
     * no address (the engine's port takes it).
     */
    static void vethIntoNamespace(String ns, String engineIf, String linuxIf, String linuxCidr) {
        createNamespace(ns);
        sh("ip", "link", "add", engineIf, "type", "veth", "peer", "name", linuxIf);
        sh("sysctl", "-qw", "net.ipv6.conf." + engineIf + ".disable_ipv6=1");
        sh("ip", "link", "set", linuxIf, "netns", ns);
        sh("ip", "-n", ns, "addr", "add", linuxCidr, "dev", linuxIf);
        sh("ip", "-n", ns, "link", "set", linuxIf, "up");
        sh("ip", "link", "set", engineIf, "up");
    }

    static long macOf(String ns, String iface) {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        if (ns != null) {
            cmd.addAll(List.of("-n", ns));
        }
        cmd.addAll(List.of("-o", "link", "show", "dev", iface));
        String out = sh(cmd.toArray(String[]::new));
        Matcher m = Pattern.compile("link/ether ([0-9a-f:]{17})").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no MAC in: " + out);
        }
        return Long.parseLong(m.group(1).replace(":", ""), 16);
    }

    static String macString(long mac) {
        StringBuilder sb = new StringBuilder();
        for (int i = 5; i >= 0; i--) {
            sb.append(String.format("%02x", (mac >>> (8 * i)) & 0xff));
            if (i > 0) {
                sb.append(':');
            }
        }
        return sb.toString();
    }

    static int ipv4(int a, int b, int c, int d) {
        return a << 24 | b << 16 | c << 8 | d;
    }

    // ---- frames (written in place into a PacketBuffer) ----

    static void putMac(MemorySegment s, long off, long mac) {
        for (int i = 0; i < 6; i++) {
            s.set(JAVA_BYTE, off + i, (byte) (mac >>> (8 * (5 - i))));
        }
    }

    static long getMac(MemorySegment s, long off) {
        long mac = 0;
        for (int i = 0; i < 6; i++) {
            mac = mac << 8 | (s.get(JAVA_BYTE, off + i) & 0xff);
        }
        return mac;
    }

    /** ARP request "who has targetIp? tell senderIp" from srcMac, broadcast. */
    static void writeArpRequest(PacketBuffer b, long srcMac, int senderIp, int targetIp) {
        MemorySegment s = b.segment;
        long o = b.offset;
        putMac(s, o, 0xffff_ffff_ffffL);
        putMac(s, o + 6, srcMac);
        s.set(BE_SHORT, o + 12, (short) 0x0806);
        s.set(BE_SHORT, o + 14, (short) 1);      // Ethernet
        s.set(BE_SHORT, o + 16, (short) 0x0800); // IPv4
        s.set(JAVA_BYTE, o + 18, (byte) 6);
        s.set(JAVA_BYTE, o + 19, (byte) 4);
        s.set(BE_SHORT, o + 20, (short) 1);      // request
        putMac(s, o + 22, srcMac);
        s.set(BE_INT, o + 28, senderIp);
        putMac(s, o + 32, 0);
        s.set(BE_INT, o + 38, targetIp);
        for (int i = 42; i < 60; i++) {
            s.set(JAVA_BYTE, o + i, (byte) 0);
        }
        b.length = 60;
    }

    static int etherType(PacketBuffer b) {
        return b.segment.get(BE_SHORT, b.offset + 12) & 0xffff;
    }

    /** Ethernet + IPv4 header (checksum left 0: offload fills it, or {@link #ipChecksum}). */
    static void writeIpv4(PacketBuffer b, long srcMac, long dstMac, int proto, int src, int dst, int l4Length) {
        MemorySegment s = b.segment;
        long o = b.offset;
        putMac(s, o, dstMac);
        putMac(s, o + 6, srcMac);
        s.set(BE_SHORT, o + 12, (short) 0x0800);
        long ip = o + 14;
        s.set(JAVA_BYTE, ip, (byte) 0x45);
        s.set(JAVA_BYTE, ip + 1, (byte) 0);
        s.set(BE_SHORT, ip + 2, (short) (20 + l4Length));
        s.set(BE_SHORT, ip + 4, (short) 0x1234);
        s.set(BE_SHORT, ip + 6, (short) 0x4000); // DF
        s.set(JAVA_BYTE, ip + 8, (byte) 64);
        s.set(JAVA_BYTE, ip + 9, (byte) proto);
        s.set(BE_SHORT, ip + 10, (short) 0);
        s.set(BE_INT, ip + 12, src);
        s.set(BE_INT, ip + 16, dst);
        b.length = 14 + 20 + l4Length;
        b.l2Length = 14;
        b.l3Length = 20;
    }

    /** One's-complement sum of [off, off+len), folded, not inverted. */
    static int sum16(MemorySegment s, long off, int len, int initial) {
        long sum = initial;
        for (int i = 0; i + 1 < len; i += 2) {
            sum += s.get(BE_SHORT, off + i) & 0xffff;
        }
        if ((len & 1) != 0) {
            sum += (s.get(JAVA_BYTE, off + len - 1) & 0xff) << 8;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) sum;
    }

    static boolean ipChecksumValid(PacketBuffer b) {
        return sum16(b.segment, b.offset + 14, 20, 0) == 0xffff;
    }

    /** TCP pseudo-header sum (not inverted), as DPDK's tx offload wants it in the checksum field. */
    static int tcpPseudoHeaderSum(int src, int dst, int tcpLength) {
        long sum = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 6 + tcpLength;
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) sum;
    }
}
