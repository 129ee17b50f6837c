package io.tasnetty.it.linux;

import io.tasnetty.engine.port.TapPort;
import io.tasnetty.engine.port.TasPort;
import io.tasnetty.engine.port.dpdk.DpdkPort;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How the engine reaches the Linux stack in the peer namespace: the port the engine uses plus the
 * namespace. {@link #close()} closes the port if the engine did not take it, then the namespace.
 */
final class LinuxLink implements AutoCloseable {
    /** The three ways in. */
    enum Kind {
        /** DPDK {@code net_af_packet} on the root end of a veth pair (no rx interrupts, software checksums). */
        AF_PACKET,
        /** DPDK {@code net_tap}: the tap's kernel side is moved into the namespace (rx interrupts, checksum offload). */
        NET_TAP,
        /** The engine's pure-Java {@link TapPort} (no DPDK), its kernel side moved into the namespace. */
        JAVA_TAP,
        /**
         * DPDK's virtio PMD, as in a QEMU guest: {@code net_virtio_user} (server) in this JVM, its
         * vhost-user peer {@code net_vhost} (client) in a second DPDK process, {@link VhostForwarder},
         * which forwards to a {@code net_tap} whose kernel side is in the namespace.
         */
        VIRTIO_USER
    }

    private static final AtomicInteger VDEV_SEQ = new AtomicInteger(10);
    /**
     * af_packet's rx ring: DPDK's default of 512 frames overflows when Linux sends a burst (1,000
     * connections each sending at once) while the engine shares two cores with the sender; a NIC
     * has thousands of descriptors. 4096 frames of 2 KiB, 8 MiB per queue.
     */
    static final String AF_PACKET_RING = ",framecnt=4096,framesz=2048,blocksz=4096";

    final Kind kind;
    final PeerNet net;
    final TasPort port;
    /** The vhost side (VIRTIO_USER only), or null. */
    final VhostForwarder forwarder;
    private boolean portTaken;

    private LinuxLink(Kind kind, PeerNet net, TasPort port, VhostForwarder forwarder) {
        this.kind = kind;
        this.net = net;
        this.port = port;
        this.forwarder = forwarder;
    }

    /** The engine MAC for a port whose MAC the engine chooses (the Java tap); 02:00 + the IP's octets. */
    static final long JAVA_TAP_MAC = 0x02_00_c0_a8_ef_01L;

    /**
     * Creates the namespace and the port. {@code noXsumOffload}/{@code noInts} are TAS's
     * fp-no-xsumoffload / fp-no-ints (DPDK ports only).
     */
    static LinuxLink open(Kind kind, String tag, boolean noXsumOffload, boolean noInts) {
        return open(kind, tag, noXsumOffload, noInts, 1);
    }

    /**
     * As {@link #open(Kind, String, boolean, boolean)} with {@code queues} rx/tx queue pairs
     * (AF_PACKET only: {@code qpairs=N}, one PACKET_FANOUT_HASH socket per queue, so the kernel's
     * flow hash picks each packet's queue).
     */
    static LinuxLink open(Kind kind, String tag, boolean noXsumOffload, boolean noInts, int queues) {
        if (queues != 1 && kind != Kind.AF_PACKET) {
            throw new IllegalArgumentException(kind + " links have one queue here");
        }
        PeerNet net = null;
        TasPort port = null;
        VhostForwarder fwd = null;
        try {
            switch (kind) {
                case AF_PACKET -> {
                    net = PeerNet.veth(tag);
                    port = ItDpdk.attach("net_af_packet" + VDEV_SEQ.incrementAndGet() + ",iface=" + net.engineIf + AF_PACKET_RING
                            + (queues > 1 ? ",qpairs=" + queues : ""), queues, noXsumOffload, noInts);
                }
                case NET_TAP -> {
                    net = PeerNet.namespaceOnly(tag);
                    String tap = PeerNet.ifname(tag + "t");
                    port = ItDpdk.attach("net_tap" + VDEV_SEQ.incrementAndGet() + ",iface=" + tap, noXsumOffload, noInts);
                    net = net.adopt(tap);
                }
                case JAVA_TAP -> {
                    net = PeerNet.namespaceOnly(tag);
                    String tap = PeerNet.ifname(tag + "j");
                    port = TapPort.open(tap, JAVA_TAP_MAC, 1500);
                    net = net.adopt(tap);
                }
                case VIRTIO_USER -> {
                    ItDpdk.require();
                    net = PeerNet.namespaceOnly(tag);
                    String tap = PeerNet.ifname(tag + "v");
                    fwd = VhostForwarder.start(tag, tap);
                    net = net.adopt(tap);
                    // server=1: this side listens and the forwarder's vhost client connects (it
                    // retries every second); probing blocks in accept() until it has.
                    port = ItDpdk.attach("net_virtio_user" + VDEV_SEQ.incrementAndGet() + ",path=" + fwd.socket
                            + ",server=1,queues=1,queue_size=1024", noXsumOffload, noInts);
                }
            }
            return new LinuxLink(kind, net, port, fwd);
        } catch (RuntimeException | Error e) {
            if (port != null) {
                port.close();
            }
            if (fwd != null) {
                fwd.close();
            }
            if (net != null) {
                net.close();
            }
            throw e;
        }
    }

    /** The engine now owns the port (it closes it). */
    TasPort takePort() {
        portTaken = true;
        return port;
    }

    /** The engine's MAC as Linux must see it. */
    long engineMac() {
        return port.macAddress();
    }

    String describe() {
        return kind + (port instanceof DpdkPort d ? " (" + d.driverName() + ", " + d.capabilities() + ")" : "");
    }

    @Override
    public void close() {
        try {
            if (!portTaken) {
                port.close();
            }
        } finally {
            try {
                if (forwarder != null) {
                    forwarder.close();
                }
            } finally {
                net.close();
            }
        }
    }
}
