package io.tasnetty.engine.port;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/**
 * An in-JVM Ethernet hub/switch linking two or more engines in one process: the embedded default
 * and the test harness (ARCHITECTURE.md, "Ports").
 *
 * <p>Forwarding by destination MAC, like a learning switch that already learned everyone: an
 * exact match goes to that port only; broadcast, multicast (I/G bit set) and unknown unicast go to
 * every attached port except the sender. A frame is never sent back to the port it came from.
 * Each delivery copies the frame into a buffer of the receiving port's own pool, so ports never
 * share buffers.
 *
 * <p>{@link #attach} and {@link #detach} are rare and synchronized; the forwarding path reads an
 * immutable snapshot array (copy-on-write) and takes no lock. The MAC lookup is a linear scan:
 * a wire links a handful of engines.
 */
public final class TasWire implements AutoCloseable {
    /** Default depth of each RX queue (rounded up to a power of two). */
    public static final int DEFAULT_RX_QUEUE_CAPACITY = 4096;

    private static final WirePort[] NONE = new WirePort[0];
    private volatile WirePort[] ports = NONE;

    /**
     * Attaches a port with a pool sized for its RX queues plus a transmit working set.
     *
     * @param name short name, the port is called {@code wire:<name>}
     * @param mac the port's MAC address (48 bits, unicast)
     * @param queues RX/TX queue pairs
     * @param mtu L3 MTU (e.g. 1500)
     * @param rxQueueCapacity frames each RX queue holds before dropping (rounded up to a power of two)
     */
    public WirePort attach(String name, long mac, int queues, int mtu, int rxQueueCapacity) {
        long pool = (long) queues * ceilPow2(rxQueueCapacity) + Math.max(1024, rxQueueCapacity);
        if (pool > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("wire port pool too large: " + pool + " buffers");
        }
        return attach(name, mac, queues, mtu, rxQueueCapacity, (int) pool);
    }

    /** As {@link #attach(String, long, int, int, int)}, with an explicit pool size in buffers. */
    public synchronized WirePort attach(String name, long mac, int queues, int mtu, int rxQueueCapacity,
                                        int poolBuffers) {
        if (queues < 1) {
            throw new IllegalArgumentException("queues must be at least 1, was " + queues);
        }
        if (mtu < 68 || mtu > 65_000) {
            throw new IllegalArgumentException("mtu must be in [68, 65000], was " + mtu);
        }
        if (rxQueueCapacity < 2 || rxQueueCapacity > (1 << 24)) {
            throw new IllegalArgumentException("rxQueueCapacity must be in [2, 2^24], was " + rxQueueCapacity);
        }
        if ((mac & ~0xFFFF_FFFF_FFFFL) != 0 || (mac & (1L << 40)) != 0 || mac == 0) {
            throw new IllegalArgumentException("mac must be a non-zero 48-bit unicast address, was "
                    + WirePort.formatMac(mac));
        }
        for (WirePort p : ports) {
            if (p.macAddress() == mac) {
                throw new IllegalArgumentException("mac " + WirePort.formatMac(mac) + " already on the wire ("
                        + p.name() + ")");
            }
        }
        WirePort p = new WirePort(this, name, mac, queues, mtu, rxQueueCapacity, poolBuffers);
        WirePort[] next = Arrays.copyOf(ports, ports.length + 1);
        next[next.length - 1] = p;
        ports = next; // volatile publish: senders see the fully constructed port
        return p;
    }

    /** Removes {@code port} from the wire (its pool stays until the port is closed). */
    public synchronized void detach(WirePort port) {
        WirePort[] cur = ports;
        for (int i = 0; i < cur.length; i++) {
            if (cur[i] == port) {
                WirePort[] next = new WirePort[cur.length - 1];
                System.arraycopy(cur, 0, next, 0, i);
                System.arraycopy(cur, i + 1, next, i, cur.length - i - 1);
                ports = next;
                return;
            }
        }
    }

    /** The ports attached now (a snapshot). */
    public List<WirePort> ports() {
        return List.of(ports);
    }

    /** Closes every attached port. */
    @Override
    public void close() {
        for (WirePort p : ports) {
            p.close();
        }
    }

    /** Forwards the frame at {@code s[off, off + len)} from {@code from}; len is at least 14. */
    void forward(WirePort from, MemorySegment s, long off, int len) {
        WirePort[] ps = ports;
        long dst = ((s.get(TasRss.BE_SHORT, off) & 0xFFFFL) << 32) | (s.get(TasRss.BE_INT, off + 2) & 0xFFFF_FFFFL);
        if ((dst & (1L << 40)) == 0) { // unicast: I/G bit (lowest bit of the first octet) clear
            for (WirePort p : ps) {
                if (p.macAddress() == dst) {
                    if (p != from) {
                        p.receive(s, off, len);
                    }
                    return;
                }
            }
        }
        for (WirePort p : ps) { // broadcast, multicast or unknown unicast: flood
            if (p != from) {
                p.receive(s, off, len);
            }
        }
    }

    private static long ceilPow2(int n) {
        return n <= 1 ? 1 : Long.highestOneBit((long) n - 1) << 1;
    }
}
