package io.tasnetty.it.containers;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.ContainerNetwork;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.wire.Ipv4;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.ContainerState;
import org.testcontainers.containers.Network;

/**
 * A TAS engine attached to a Testcontainers {@link Network}: a tap device enslaved to the
 * network's Linux bridge, and an engine on the Java TAP port ({@code port=tap:NAME}) with a free
 * address of the network's subnet. Containers on the network reach the engine's address, and
 * the engine reaches theirs, like two hosts on one Ethernet segment.
 *
 * <p>Why a tap and not a veth with {@code net_af_packet}: locally generated TCP leaves a
 * container with partial checksums; when such a frame leaves the bridge through a tap, the kernel
 * completes the checksum first (a tap offers no checksum offload), while {@code af_packet} would
 * hand the partial one to the engine. So containers keep their default settings.
 *
 * <p>The address: the highest host address of the subnet that no container on the network holds
 * now. Docker assigns container addresses from the bottom of the subnet, so on the usual /16 it
 * never reaches that one. Needs root (tap device, bridge) and a Docker bridge network.
 *
 * <p>This lives in the test sources of {@code it/}: it shells out to iproute2 and assumes the
 * engine host is the Docker host, which suits a test suite, not a library.
 * {@link #close()} stops the engine and deletes the tap, also after a failure half-way.
 */
public final class TasDockerNetwork implements AutoCloseable {
    private static final String TAP_PREFIX = "tastc";
    private static final long PID = ProcessHandle.current().pid();
    private static final AtomicInteger SEQ = new AtomicInteger();

    private final Network network;
    private final String bridge;
    private final String tap;
    private final int ip;
    private final int prefix;
    private final TasEngine engine;

    private TasDockerNetwork(Network network, String bridge, String tap, int ip, int prefix, TasEngine engine) {
        this.network = network;
        this.bridge = bridge;
        this.tap = tap;
        this.ip = ip;
        this.prefix = prefix;
        this.engine = engine;
    }

    /** Attaches an engine with default options (plus port and ip-addr) to {@code network}. */
    public static TasDockerNetwork attach(Network network) {
        return attach(network, b -> { });
    }

    /**
     * Attaches an engine to {@code network} (created in Docker now if it was not yet);
     * {@code options} may set further engine options (tcp-time-wait, ...) on the builder.
     */
    public static TasDockerNetwork attach(Network network, Consumer<TasConfig.Builder> options) {
        removeStaleTaps();
        DockerClient docker = DockerClientFactory.instance().client();
        com.github.dockerjava.api.model.Network info = docker.inspectNetworkCmd().withNetworkId(network.getId()).exec();
        if (!"bridge".equals(info.getDriver())) {
            throw new IllegalArgumentException("network " + info.getName() + " uses driver " + info.getDriver()
                    + "; only bridge networks have a Linux bridge to attach to");
        }
        String subnet = info.getIpam().getConfig().stream()
                .map(com.github.dockerjava.api.model.Network.Ipam.Config::getSubnet)
                .filter(s -> s != null && s.indexOf(':') < 0) // IPv4 only
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("network " + info.getName() + " has no IPv4 subnet"));
        String bridge = info.getOptions() == null ? null : info.getOptions().get("com.docker.network.bridge.name");
        if (bridge == null) {
            bridge = "br-" + info.getId().substring(0, 12);
        }
        int slash = subnet.indexOf('/');
        int prefix = Integer.parseInt(subnet.substring(slash + 1));
        int base = Ipv4.parse(subnet.substring(0, slash));
        int ip = freeHighAddress(base, prefix, taken(info));
        String tap = TAP_PREFIX + PID + "x" + SEQ.incrementAndGet();
        if (tap.length() > 15) {
            tap = TAP_PREFIX + (PID % 100_000) + "x" + SEQ.get() % 100;
        }
        TasEngine engine = null;
        try {
            Cmd.run("ip", "tuntap", "add", "mode", "tap", tap);
            Cmd.run("ip", "link", "set", tap, "master", bridge);
            Cmd.run("ip", "link", "set", tap, "up");
            TasConfig.Builder b = TasConfig.builder()
                    .set("port", "tap:" + tap)
                    .set("ip-addr", Ipv4.toString(ip) + "/" + prefix);
            options.accept(b);
            engine = TasEngine.start(b.build());
            return new TasDockerNetwork(network, bridge, tap, ip, prefix, engine);
        } catch (RuntimeException | Error e) {
            if (engine != null) {
                engine.close();
            }
            Cmd.runQuietly("ip", "link", "del", tap);
            throw e;
        }
    }

    private static Set<Integer> taken(com.github.dockerjava.api.model.Network info) {
        Set<Integer> taken = new HashSet<>();
        if (info.getIpam().getConfig() != null) {
            info.getIpam().getConfig().stream()
                    .map(com.github.dockerjava.api.model.Network.Ipam.Config::getGateway)
                    .filter(g -> g != null && g.indexOf(':') < 0)
                    .forEach(g -> taken.add(Ipv4.parse(g)));
        }
        if (info.getContainers() != null) {
            for (var c : info.getContainers().values()) {
                String a = c.getIpv4Address();
                if (a != null && !a.isEmpty()) {
                    taken.add(Ipv4.parse(a.substring(0, a.indexOf('/') < 0 ? a.length() : a.indexOf('/'))));
                }
            }
        }
        return taken;
    }

    /** The highest host address of base/prefix not in {@code taken}. */
    static int freeHighAddress(int base, int prefix, Set<Integer> taken) {
        if (prefix > 30) {
            throw new IllegalArgumentException("subnet /" + prefix + " is too small");
        }
        long size = 1L << (32 - prefix);
        int network = (int) (base & (0xFFFF_FFFFL << (32 - prefix)));
        for (long host = size - 2; host >= 1; host--) {
            int a = (int) (network + host);
            if (!taken.contains(a)) {
                return a;
            }
        }
        throw new IllegalStateException("no free address in " + Ipv4.toString(network) + "/" + prefix);
    }

    /** Deletes taps of earlier test JVMs that no longer run (killed runs). */
    private static void removeStaleTaps() {
        for (String line : Cmd.runQuietly("ip", "-o", "link", "show").split("\n")) {
            String[] f = line.split(":\\s+");
            if (f.length < 2) {
                continue;
            }
            String name = f[1].split("@")[0];
            if (name.startsWith(TAP_PREFIX)) {
                int x = name.indexOf('x', TAP_PREFIX.length());
                try {
                    long pid = Long.parseLong(name.substring(TAP_PREFIX.length(), x));
                    if (pid != PID && pid != PID % 100_000 && ProcessHandle.of(pid).isEmpty()) {
                        Cmd.runQuietly("ip", "link", "del", name);
                    }
                } catch (RuntimeException ignored) {
                    // not one of ours
                }
            }
        }
    }

    /** The engine; give it to {@code new TasEventLoopGroup(n, threadFactory, engine())}. */
    public TasEngine engine() {
        return engine;
    }

    /** The engine's address, e.g. {@code 172.18.255.254}. */
    public String ipAddress() {
        return Ipv4.toString(ip);
    }

    /** The subnet's prefix length. */
    public int prefixLength() {
        return prefix;
    }

    /** The Linux bridge of the network ({@code br-<id>}). */
    public String bridge() {
        return bridge;
    }

    /** The tap device the engine uses. */
    public String tap() {
        return tap;
    }

    /** The address {@code container} has on this network (it must be started). */
    public String addressOf(ContainerState container) {
        InspectContainerResponse i = DockerClientFactory.instance().client()
                .inspectContainerCmd(container.getContainerId()).exec();
        for (Map.Entry<String, ContainerNetwork> e : i.getNetworkSettings().getNetworks().entrySet()) {
            if (network.getId().equals(e.getValue().getNetworkID())) {
                return e.getValue().getIpAddress();
            }
        }
        throw new IllegalStateException("container " + container.getContainerId() + " is not on network "
                + network.getId());
    }

    /**
     * Waits (polling every 20 ms) until the engine holds no flow, flow record or ring byte, as
     * after every connection has closed and left TIME_WAIT; fails after {@code seconds}.
     */
    public void awaitReclaimed(int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (engine.flowCount() != 0 || engine.ringBytesInUse() != 0 || engine.flowRecordsInUse() != 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("after " + seconds + " s the engine still holds flows=" + engine.flowCount()
                        + " rings=" + engine.ringBytesInUse() + " records=" + engine.flowRecordsInUse()
                        + "; counters: " + nonZeroCounters());
            }
            Thread.sleep(20);
        }
    }

    /** The engine's counters that are not zero, e.g. for a failure message. */
    public String nonZeroCounters() {
        return io.tasnetty.engine.TasEnginePair.nonZero(engine);
    }

    @Override
    public void close() {
        try {
            engine.close();
        } finally {
            Cmd.runQuietly("ip", "link", "del", tap);
        }
    }

    @Override
    public String toString() {
        return "TAS " + ipAddress() + "/" + prefix + " on " + tap + " in " + bridge;
    }
}
