package io.tasnetty.it.linux;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.port.TapPort;

/**
 * An engine behind a Linux router, as on a real network, built from namespaces this test owns:
 *
 * <pre>
 *   engine 192.168.240.1 --(TAP)-- router .240.254 | .241.254 --(veth)-- peer 192.168.241.2
 *                                         .242.254 --(veth)-- twin 192.168.242.1  (optional)
 * </pre>
 *
 * The engine's pure-Java TAP port has its kernel side in the router namespace. The peer is the
 * Linux stack under test; the twin is a Linux host in the engine's place (same router, same path
 * to the peer), for comparing the engine with Linux under identical conditions. Nothing is
 * routed out of these namespaces. {@link #close()} removes all of it.
 */
final class RouterTopology implements AutoCloseable {
    static final String ENGINE_NET = "192.168.240";
    static final String PEER_NET = "192.168.241";
    static final String TWIN_NET = "192.168.242";
    static final String ENGINE_IP = ENGINE_NET + ".1";
    static final String PEER_IP = PEER_NET + ".2";
    static final String TWIN_IP = TWIN_NET + ".1";
    private static final long MAC = 0x02_00_c0_a8_f0_01L;

    final String routerNs = PeerNet.nsName("rt");
    final String peerNs = PeerNet.nsName("rp");
    final String twinNs = PeerNet.nsName("rw");
    final String tap = PeerNet.ifname("rtap");
    /** The router's interfaces towards the peer and the twin. */
    final String routerToPeer = PeerNet.ifname("rra");
    final String routerToTwin = PeerNet.ifname("rrc");
    private final String peerIf = PeerNet.ifname("rrb");
    private final String twinIf = PeerNet.ifname("rrd");
    final Files256 scratch = new Files256();
    TasEngine engine;
    ContextLoop loop;

    /**
     * @param peerHopMtu MTU of the router's interface towards the peer (the peer's own stays 1500,
     *                   so its SYN still says MSS 1460 and only ICMP tells the engine)
     * @param withTwin   also build the Linux twin
     */
    RouterTopology(int peerHopMtu, boolean withTwin) {
        try {
            build(peerHopMtu, withTwin);
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    private void build(int peerHopMtu, boolean withTwin) {
        PeerNet.removeStale();
        for (String ns : withTwin ? new String[] {routerNs, peerNs, twinNs} : new String[] {routerNs, peerNs}) {
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
        link(routerToPeer, peerIf, peerNs, PEER_NET, 2, peerHopMtu);
        if (withTwin) {
            link(routerToTwin, twinIf, twinNs, TWIN_NET, 1, 1500);
        }

        engine = TasEngine.builder().config(TasConfig.builder().set("ip-addr", ENGINE_IP + "/24")
                .set("ip-route", PEER_NET + ".0/24," + ENGINE_NET + ".254")
                .set("ip-route", TWIN_NET + ".0/24," + ENGINE_NET + ".254").build()).port(port).build();
        loop = new ContextLoop(engine, "tas-it-routed");
    }

    /** A veth from the router (.254) to host {@code hostOctet} of {@code net} in namespace {@code ns}. */
    private void link(String routerIf, String hostIf, String ns, String net, int hostOctet, int routerMtu) {
        Sh.runQuietly("ip", "link", "del", routerIf);
        Sh.run("ip", "link", "add", routerIf, "type", "veth", "peer", "name", hostIf);
        Sh.run("ip", "link", "set", routerIf, "netns", routerNs);
        Sh.run("ip", "link", "set", hostIf, "netns", ns);
        Sh.run("ip", "-n", routerNs, "link", "set", routerIf, "mtu", Integer.toString(routerMtu));
        Sh.run("ip", "-n", routerNs, "addr", "add", net + ".254/24", "dev", routerIf);
        Sh.run("ip", "-n", routerNs, "link", "set", routerIf, "up");
        Sh.run("ip", "-n", ns, "addr", "add", net + "." + hostOctet + "/24", "dev", hostIf);
        Sh.run("ip", "-n", ns, "link", "set", hostIf, "up");
        Sh.run("ip", "-n", ns, "route", "add", "default", "via", net + ".254");
        // Real NICs deliver finished checksums and MTU-sized segments (and a tbf must see those).
        Sh.inNs(ns, "ethtool", "-K", hostIf, "tx", "off", "tso", "off", "gso", "off", "gro", "off");
        Sh.inNs(routerNs, "ethtool", "-K", routerIf, "tx", "off", "tso", "off", "gso", "off", "gro", "off");
    }

    /** A token-bucket bottleneck of {@code mbit} Mbit/s with a {@code queueBytes} queue on router interface {@code dev}. */
    void bottleneck(String dev, int mbit, int queueBytes) {
        Sh.inNs(routerNs, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", mbit + "mbit", "burst", "32kb",
                "limit", Integer.toString(queueBytes));
    }

    /** Drops each forwarded packet with probability {@code p} (both directions). */
    void randomLoss(double p) {
        Sh.inNs(routerNs, "iptables", "-A", "FORWARD", "-m", "statistic", "--mode", "random", "--probability",
                Double.toString(p), "-j", "DROP");
    }

    /** Runs peer.py {@code args} in namespace {@code ns}. */
    Sh.Background python(String ns, String... args) {
        return EngineFixture.peerPy(scratch, ns, args);
    }

    String nonZeroCounters() {
        return io.tasnetty.engine.TasEnginePair.nonZero(engine);
    }

    @Override
    public void close() {
        try {
            if (loop != null) {
                loop.close();
            }
            if (engine != null) {
                engine.close();
            }
        } finally {
            Sh.runQuietly("ip", "netns", "del", peerNs);
            Sh.runQuietly("ip", "netns", "del", twinNs);
            Sh.runQuietly("ip", "netns", "del", routerNs);
            Sh.runQuietly("ip", "link", "del", tap);
            scratch.close();
        }
    }
}
