package io.tasnetty.samples;

import io.tasnetty.engine.wire.Ipv4;
import io.tasnetty.engine.config.TasConfig;

/** What the samples print about the default TAS engine and how to reach it from outside the JVM. */
public final class TasSetup {
    private TasSetup() {
    }

    /** The configuration the process-wide default engine starts from ({@code -Dtas.*}, else defaults). */
    public static TasConfig defaultEngineConfig() {
        return TasConfig.fromSystemProperties();
    }

    /** e.g. {@code port=wire, ip-addr=10.0.0.1/24}. */
    public static String describe(TasConfig c) {
        return "port=" + c.port() + ", ip-addr=" + engineIp(c) + "/" + c.ipPrefixLength()
            + (c.nonDefaults().isEmpty() ? " (the embedded default)" : ", options " + c.nonDefaults());
    }

    public static String engineIp(TasConfig c) {
        return Ipv4.toString(c.ipAddr());
    }

    /** True when the engine is on the in-JVM wire: nothing outside this process can reach it. */
    public static boolean embedded(TasConfig c) {
        return "wire".equals(c.port());
    }

    /** How to make a TAS server in this program reachable from outside, for the given service port. */
    public static String outsideHelp(String what, int port, String exampleClient) {
        return """
            To reach %1$s from outside this JVM, give the engine a real port (same program, JVM flags only):
              TAP device (root, no DPDK):
                ip tuntap add mode tap tas0 && ip addr add 192.168.77.1/24 dev tas0 && ip link set tas0 up
                java -Dtas.port=tap:tas0 -Dtas.ip-addr=192.168.77.2/24 ...   then: %3$s
              DPDK (any ethdev, e.g. a NIC bound to vfio-pci, or net_af_packet on an interface):
                java -Dtas.port=dpdk -Dtas.ip-addr=10.0.0.1/24 -Dtas.dpdk-extra="--vdev=net_af_packet0,iface=eth1" ...
            The server binds 0.0.0.0:%2$d, so it answers on the engine's address.""".formatted(what, port,
            exampleClient);
    }
}
