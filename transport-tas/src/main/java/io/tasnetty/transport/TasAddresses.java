package io.tasnetty.transport;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.wire.Ipv4;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/** Socket addresses as Linux treats them, and why the engine does or does not serve one. */
final class TasAddresses {
    private static final InetAddress LOOPBACK4 = InetAddress.getLoopbackAddress() instanceof Inet4Address a
        ? a : address(new byte[]{127, 0, 0, 1});
    private static final InetAddress LOOPBACK6 = address(new byte[]{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});

    private TasAddresses() {
    }

    private static InetAddress address(byte[] b) {
        try {
            return InetAddress.getByAddress(b);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The IPv4 address as an int (network order). */
    static int ipv4(Inet4Address a) {
        byte[] b = a.getAddress();
        return ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
    }

    /** A connect to 0.0.0.0 or :: means this host (Linux: the loopback address of that family). */
    static InetSocketAddress wildcardToLoopback(InetSocketAddress a) {
        InetAddress ia = a.getAddress();
        if (ia == null || !ia.isAnyLocalAddress()) {
            return a;
        }
        return new InetSocketAddress(ia instanceof Inet6Address ? LOOPBACK6 : LOOPBACK4, a.getPort());
    }

    /** Why {@code engine} does not serve a connection to {@code r}, for error messages. */
    static String whyNotEngine(TasEngine engine, InetSocketAddress r) {
        InetAddress ia = r.getAddress();
        if (!(ia instanceof Inet4Address a)) {
            return "the engine speaks IPv4 only";
        }
        int ip = ipv4(a);
        if ((ip >>> 24) == 127) {
            return "no engine listener on " + Ipv4.toString(ip) + ":" + r.getPort();
        }
        return Ipv4.toString(ip) + " is outside ip-addr " + Ipv4.toString(engine.ipAddress()) + "/"
            + engine.params().prefixLength() + " and no ip-route covers it";
    }
}
