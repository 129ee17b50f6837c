package io.tasnetty.engine.slow;

import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasException;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.wire.Ipv4;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The engine's listening sockets, keyed by (address, port) with Linux's rules: a listener on the
 * wildcard address (0) takes SYNs to every engine address on its port, one on a specific address
 * only those to that address; a specific listener wins over the wildcard one. Binding conflicts as
 * on Linux for listening sockets: the wildcard conflicts with any listener on the port, a specific
 * address with the wildcard and with itself, and two different specific addresses share a port.
 *
 * <p>Lookups (the slow path on every SYN, applications deciding where a connection goes) read a
 * concurrent map without locking; binds and unbinds are rare and serialised, so the conflict
 * check and the insert are one step.
 */
final class TasListenerTable {
    private final ConcurrentHashMap<Long, TasListener> byAddress = new ConcurrentHashMap<>();
    /** Listeners per port, for "is this port taken at all" (wildcard binds, ephemeral choice). */
    private final ConcurrentHashMap<Integer, Integer> perPort = new ConcurrentHashMap<>();
    private final int ephemeralLow;
    private final int ephemeralHigh;

    TasListenerTable(int ephemeralLow, int ephemeralHigh) {
        this.ephemeralLow = ephemeralLow;
        this.ephemeralHigh = ephemeralHigh;
    }

    private static long key(int ip, int port) {
        return ((ip & 0xFFFF_FFFFL) << 16) | port;
    }

    /** The open listener that takes a SYN to {@code ip:port}: the specific one, else the wildcard one; or null. */
    TasListener lookup(int ip, int port) {
        TasListener l = byAddress.get(key(ip, port));
        if (l == null || !l.isOpen()) {
            l = byAddress.get(key(0, port));
        }
        return l == null || !l.isOpen() ? null : l;
    }

    /** Whether any listener holds {@code port}, on any address. */
    boolean portInUse(int port) {
        return perPort.containsKey(port);
    }

    /**
     * Binds a listener on {@code ip:port} (ip 0 = every engine address); port 0 picks a free
     * ephemeral port. Throws {@link TasException} "address already in use" on a conflict.
     */
    synchronized TasListener bind(int ip, int port, TasContext.ListenerFactory factory) {
        if (port != 0) {
            if (conflicts(ip, port)) {
                throw new TasException("address already in use: " + Ipv4.toString(ip) + ":" + port);
            }
            return put(ip, port, factory.create(port));
        }
        int range = ephemeralHigh - ephemeralLow + 1;
        int start = (int) Math.floorMod(System.nanoTime(), range);
        for (int i = 0; i < range; i++) {
            int p = ephemeralLow + Math.floorMod(start + i, range);
            if (!portInUse(p)) {
                return put(ip, p, factory.create(p));
            }
        }
        throw new TasException("no free ephemeral port to listen on");
    }

    private boolean conflicts(int ip, int port) {
        if (ip == 0) {
            return portInUse(port);
        }
        return byAddress.containsKey(key(ip, port)) || byAddress.containsKey(key(0, port));
    }

    private TasListener put(int ip, int port, TasListener l) {
        byAddress.put(key(ip, port), l);
        perPort.merge(port, 1, Integer::sum);
        return l;
    }

    /** Removes {@code l} if it is still the listener on its address. */
    synchronized boolean remove(TasListener l) {
        if (!byAddress.remove(key(l.ip(), l.port()), l)) {
            return false;
        }
        perPort.computeIfPresent(l.port(), (p, n) -> n == 1 ? null : n - 1);
        return true;
    }

    int size() {
        return byAddress.size();
    }
}
