package io.tasnetty.it.netty;

import io.tasnetty.engine.TasTestEnvironment;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.concurrent.TimeUnit;

/**
 * Multicast that never leaves the machine, for Netty's {@code DatagramMulticastTest}s.
 *
 * <p>Netty's test picks the first interface that is up, has the MULTICAST flag and an address of
 * the test's family; here that is {@code eth0}, so its group datagrams would go onto the network,
 * which this project's tests must not do. The TAS subclasses therefore accept only loopback
 * addresses (so only {@code lo} qualifies), and this class gives {@code lo} the MULTICAST flag for
 * the duration of a class (Linux loops multicast back on {@code lo} with or without it, but the
 * JDK's {@link NetworkInterface#supportsMulticast()}, which Netty's test asks, reads the flag).
 * Setting the flag needs root and {@code ip}: without them the class skips, or fails in CI.
 */
final class LoopbackMulticast {
    /** Whether {@link #enable()} set the flag (and {@link #restore()} must clear it). */
    private static boolean flagSetHere;

    private LoopbackMulticast() {
    }

    static synchronized void enable() throws IOException, InterruptedException {
        NetworkInterface lo = loopback();
        if (!lo.supportsMulticast()) {
            TasTestEnvironment.require(TasTestEnvironment.isRoot() && TasTestEnvironment.hasCommand("ip"),
                "root and the ip command, to give " + lo.getName() + " the MULTICAST flag");
            ip("link", "set", lo.getName(), "multicast", "on");
            flagSetHere = true;
        }
        TasTestEnvironment.require(lo.supportsMulticast(), lo.getName() + " with the MULTICAST flag");
    }

    static synchronized void restore() throws IOException, InterruptedException {
        if (flagSetHere) {
            flagSetHere = false;
            ip("link", "set", loopback().getName(), "multicast", "off");
        }
    }

    /** Netty's interface filter, narrowed to loopback addresses. */
    static boolean isLoopback(InetAddress address) {
        return address.isLoopbackAddress();
    }

    private static NetworkInterface loopback() throws SocketException {
        NetworkInterface lo = NetworkInterface.getByInetAddress(InetAddress.getLoopbackAddress());
        if (lo == null) {
            throw new SocketException("no interface has the loopback address " + InetAddress.getLoopbackAddress());
        }
        return lo;
    }

    private static void ip(String... args) throws IOException, InterruptedException {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "ip";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }
}
