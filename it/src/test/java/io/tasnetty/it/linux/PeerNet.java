package io.tasnetty.it.linux;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Linux side of an interop test: a network namespace that only this test creates, holding
 * one interface with {@link #LINUX_IP} in the private test subnet {@value #SUBNET}.0/24. The
 * engine sits on the other end of that interface (a veth pair whose root-namespace end the engine
 * opens with {@code net_af_packet}, or a tap device the engine created and the test moved in).
 *
 * <p>Names carry the JVM's pid so parallel runs do not collide; {@link #removeStale()} deletes what
 * a killed run of an earlier JVM left behind. {@link #close()} deletes the namespace (which
 * destroys the interfaces inside it) and the veth pair.
 */
final class PeerNet implements AutoCloseable {
    static final String SUBNET = "192.168.239";
    static final String ENGINE_IP = SUBNET + ".1";
    static final String LINUX_IP = SUBNET + ".2";
    static final long PID = ProcessHandle.current().pid();
    private static final String NS_PREFIX = "tasit-";

    final String ns;
    /** The interface inside the namespace (the Linux peer's). */
    final String linuxIf;
    /** The root-namespace end of the veth pair (the engine's), or null. */
    final String engineIf;

    private PeerNet(String ns, String linuxIf, String engineIf) {
        this.ns = ns;
        this.linuxIf = linuxIf;
        this.engineIf = engineIf;
    }

    /** Short interface name: {@code t<tag><pid>}, at most 15 characters. */
    static String ifname(String tag) {
        return ("t" + tag + PID).substring(0, Math.min(15, 1 + tag.length() + String.valueOf(PID).length()));
    }

    static String nsName(String tag) {
        return NS_PREFIX + tag + "-" + PID;
    }

    /**
     * A namespace and a veth pair: {@code ifname(tag + "l")} inside with {@link #LINUX_IP}/24,
     * {@code ifname(tag + "e")} in the root namespace without an address, for the engine.
     *
     * <p>The root end gets IPv6 off and IPv4 forwarding off: the root kernel sees every frame the
     * peer sends to the engine (the engine uses the veth's MAC), and with forwarding on (Docker
     * turns it on) it would route packets for the engine's address out of its default route.
     * With forwarding off on the input device the kernel drops them silently (ip_error, no ICMP).
     * The Linux end computes its checksums in software (see below): needs {@code ethtool}.
     */
    static PeerNet veth(String tag) {
        io.tasnetty.engine.TasTestEnvironment.require(Sh.has("ethtool"), "the ethtool command (.ci/run installs it)");
        PeerNet n = new PeerNet(nsName(tag), ifname(tag + "l"), ifname(tag + "e"));
        try {
            n.createNamespace();
            Sh.runQuietly("ip", "link", "del", n.engineIf);
            Sh.run("ip", "link", "add", n.engineIf, "type", "veth", "peer", "name", n.linuxIf);
            Sh.run("sysctl", "-qw", "net.ipv6.conf." + n.engineIf + ".disable_ipv6=1");
            Sh.run("sysctl", "-qw", "net.ipv4.conf." + n.engineIf + ".forwarding=0");
            Sh.run("ip", "link", "set", n.linuxIf, "netns", n.ns);
            n.configureLinuxSide();
            // Locally generated TCP leaves a veth with CHECKSUM_PARTIAL (only the pseudo-header
            // sum in the checksum field) and as 64 KiB TSO frames; af_packet hands both to DPDK
            // as they are, and DPDK 22.11's af_packet PMD does not report TP_STATUS_CSUMNOTREADY.
            // A NIC never delivers such frames, so the Linux peer computes checksums and segments
            // in software here, as on a real wire.
            Sh.inNs(n.ns, "ethtool", "-K", n.linuxIf, "tx", "off", "tso", "off", "gso", "off");
            Sh.run("ip", "link", "set", n.engineIf, "up");
            return n;
        } catch (RuntimeException | Error e) {
            n.close();
            throw e;
        }
    }

    /** Only the namespace; {@link #adopt} moves the engine's tap device in later. */
    static PeerNet namespaceOnly(String tag) {
        PeerNet n = new PeerNet(nsName(tag), null, null);
        try {
            n.createNamespace();
            return n;
        } catch (RuntimeException | Error e) {
            n.close();
            throw e;
        }
    }

    /** A namespace whose Linux side is a TAP device, and the engine's port on that device. */
    record WithTap(PeerNet net, io.tasnetty.engine.port.TapPort port) {
    }

    /**
     * After a test on {@link #namespaceWithTap}: closes {@code first} (the engine fixture, which
     * owns the port; may be null), then the namespaces, then deletes the device if it is left.
     */
    static void closeWithTap(AutoCloseable first, String tap, PeerNet... nets) throws Exception {
        try {
            if (first != null) {
                first.close();
            }
        } finally {
            try {
                for (PeerNet n : nets) {
                    if (n != null) {
                        n.close();
                    }
                }
            } finally {
                Sh.runQuietly("ip", "link", "del", tap);
            }
        }
    }

    /**
     * Opens the engine's TAP port {@code tap} (MAC {@code mac}) and moves the device's kernel end
     * into a new namespace tagged {@code tag}; on failure closes what it opened.
     */
    static WithTap namespaceWithTap(String tag, String tap, long mac) {
        PeerNet ns = namespaceOnly(tag);
        io.tasnetty.engine.port.TapPort port = null;
        try {
            port = io.tasnetty.engine.port.TapPort.open(tap, mac, 1500);
            return new WithTap(ns.adopt(tap), port);
        } catch (RuntimeException | Error e) {
            if (port != null) {
                port.close();
            }
            ns.close();
            throw e;
        }
    }

    /**
     * Moves root-namespace interface {@code ifname} (the kernel end of a tap the engine opened)
     * into the namespace and gives it {@link #LINUX_IP}/24. Returns a view with {@code linuxIf} set.
     */
    PeerNet adopt(String ifname) {
        Sh.run("ip", "link", "set", ifname, "netns", ns);
        PeerNet n = new PeerNet(ns, ifname, engineIf);
        n.configureLinuxSide();
        return n;
    }

    private void createNamespace() {
        Sh.runQuietly("ip", "netns", "del", ns);
        Sh.run("ip", "netns", "add", ns);
        Sh.inNs(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
        Sh.inNs(ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1");
        Sh.run("ip", "-n", ns, "link", "set", "lo", "up");
    }

    private void configureLinuxSide() {
        Sh.runQuietly("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf." + linuxIf + ".disable_ipv6=1");
        Sh.run("ip", "-n", ns, "addr", "add", LINUX_IP + "/24", "dev", linuxIf);
        Sh.run("ip", "-n", ns, "link", "set", linuxIf, "up");
    }

    /** The MAC of the Linux peer's interface. */
    long linuxMac() {
        return macOf(ns, linuxIf);
    }

    /** The MAC Linux has in its neighbour table for {@code ip}, or -1. */
    long neighbourMac(String ip) {
        String out = Sh.run("ip", "-n", ns, "neigh", "show", ip, "dev", linuxIf);
        Matcher m = Pattern.compile("lladdr ([0-9a-f:]{17})").matcher(out);
        return m.find() ? Long.parseLong(m.group(1).replace(":", ""), 16) : -1;
    }

    void flushNeighbours() {
        Sh.run("ip", "-n", ns, "neigh", "flush", "dev", linuxIf);
    }

    static long macOf(String ns, String iface) {
        String out = ns == null ? Sh.run("ip", "-o", "link", "show", "dev", iface)
                : Sh.run("ip", "-n", ns, "-o", "link", "show", "dev", iface);
        Matcher m = Pattern.compile("link/ether ([0-9a-f:]{17})").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no MAC in: " + out);
        }
        return Long.parseLong(m.group(1).replace(":", ""), 16);
    }

    static String macString(long mac) {
        StringBuilder sb = new StringBuilder();
        for (int i = 5; i >= 0; i--) {
            sb.append(String.format(Locale.ROOT, "%02x", (mac >>> (8 * i)) & 0xff));
            if (i > 0) {
                sb.append(':');
            }
        }
        return sb.toString();
    }

    /** Deletes namespaces and veths of earlier test JVMs that no longer run (killed runs). */
    static void removeStale() {
        for (String line : Sh.runQuietly("ip", "netns", "list").split("\n")) {
            String name = line.split("\\s+")[0];
            if (name.startsWith(NS_PREFIX)) {
                int dash = name.lastIndexOf('-');
                try {
                    long pid = Long.parseLong(name.substring(dash + 1));
                    if (pid != PID && ProcessHandle.of(pid).isEmpty()) {
                        Sh.runQuietly("ip", "netns", "del", name);
                    }
                } catch (NumberFormatException ignored) {
                    // not one of ours
                }
            }
        }
    }

    @Override
    public void close() {
        Sh.runQuietly("ip", "netns", "del", ns);
        if (engineIf != null) {
            Sh.runQuietly("ip", "link", "del", engineIf);
        }
    }
}
