package io.tasnetty.engine.port;

import java.util.Arrays;

/**
 * A NIC's receive-side scaling, modelled: the Toeplitz hash ({@link TasToeplitz}) of the received
 * packet under the device's key, whose low bits index the redirection table (RETA); the entry is
 * the receive queue. {@code DpdkPort} uses it to tell the engine where the device will deliver a
 * flow; tests use it to make the in-JVM wire steer like such a device.
 *
 * <p>The RETA index is {@code hash & (size - 1)} for a power-of-two table (what devices do), else
 * {@code hash mod size} (unsigned). Immutable and thread-safe.
 */
public final class TasToeplitzSteering implements TasRxSteering {
    private final TasToeplitz toeplitz;
    private final int[] reta;
    private final int mask;
    private final boolean tcpPorts;

    /**
     * @param key the device's RSS key (at least {@value TasToeplitz#MIN_KEY_LENGTH} bytes)
     * @param reta the redirection table: entry i is the queue of hashes whose index is i (copied)
     * @param tcpPorts whether the device hashes TCP ports too (IPv4/TCP 4-tuple), or IPv4 addresses only
     */
    public TasToeplitzSteering(byte[] key, int[] reta, boolean tcpPorts) {
        if (reta.length == 0) {
            throw new IllegalArgumentException("the redirection table is empty");
        }
        for (int q : reta) {
            if (q < 0) {
                throw new IllegalArgumentException("negative queue in redirection table " + Arrays.toString(reta));
            }
        }
        this.toeplitz = new TasToeplitz(key);
        this.reta = reta.clone();
        this.mask = Integer.bitCount(reta.length) == 1 ? reta.length - 1 : -1;
        this.tcpPorts = tcpPorts;
    }

    /** A redirection table of {@code size} entries spreading over {@code queues} queues: entry i is {@code i % queues}. */
    public static int[] roundRobin(int size, int queues) {
        if (size < 1 || queues < 1) {
            throw new IllegalArgumentException("size and queues must be positive, were " + size + " and " + queues);
        }
        int[] t = new int[size];
        for (int i = 0; i < size; i++) {
            t[i] = i % queues;
        }
        return t;
    }

    /** The 32-bit hash the device computes for a received packet from {@code srcIp:srcPort} to {@code dstIp:dstPort}. */
    public int hash(int srcIp, int srcPort, int dstIp, int dstPort) {
        return tcpPorts ? toeplitz.hash(srcIp, dstIp, srcPort, dstPort) : toeplitz.hash(srcIp, dstIp);
    }

    /**
     * The redirection table's queue for the packet. An entry at or beyond {@code queues} (a table
     * spreading over more queues than the caller polls) is folded into range.
     */
    @Override
    public int queueForPacket(int srcIp, int srcPort, int dstIp, int dstPort, int queues) {
        int h = hash(srcIp, srcPort, dstIp, dstPort);
        int q = reta[mask >= 0 ? h & mask : Integer.remainderUnsigned(h, reta.length)];
        return q < queues ? q : q % Math.max(1, queues);
    }

    /** Entries of the redirection table. */
    public int retaSize() {
        return reta.length;
    }

    /** Whether TCP ports are part of the hash. */
    public boolean hashesTcpPorts() {
        return tcpPorts;
    }

    @Override
    public String toString() {
        return "Toeplitz RSS[key " + java.util.HexFormat.of().formatHex(toeplitz.key()) + ", reta " + reta.length
            + " entries, " + (tcpPorts ? "IPv4+TCP ports" : "IPv4 addresses") + "]";
    }
}
