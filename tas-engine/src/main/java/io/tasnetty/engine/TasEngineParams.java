package io.tasnetty.engine;

/**
 * The numbers the agents work with, derived once from {@code TasConfig} (times in nanoseconds,
 * sizes in bytes), so the data path never parses or converts configuration.
 */
public record TasEngineParams(
    int ip, int prefixLength, long mac, int mtu, int mss, int queues,
    long rtoInitNanos, long rtoMinNanos, long rtoMaxNanos, int handshakeRetries, int dataRetries,
    long timeWaitNanos, long keepaliveIdleNanos, long keepaliveIntervalNanos, int keepaliveProbes,
    boolean timestamps, boolean windowScale, boolean sack, boolean ecn,
    int rxBufLen, int txBufLen, int rxBufMax, int txBufMax, int maxFlows, int backlogMax,
    long pollIntervalNanos, boolean noInts, boolean softwareChecksums,
    long arpTimeoutNanos, long arpTimeoutMaxNanos, int arpRetries, long seed) {

    /**
     * Largest IP packet of a connection the engine loops to itself: as large as IPv4's 16-bit
     * total length allows (Linux's {@code lo} has an MTU of 65,536 but the same limit; its TCP
     * segments carry 65,483 bytes with timestamps).
     */
    public static final int LOOPBACK_MTU = 65_535;

    /**
     * The MSS we offer and accept at most: the port's for connections that leave the engine, the
     * loopback MTU's for connections the engine loops to itself.
     */
    public int mssFor(boolean loopback) {
        return loopback ? LOOPBACK_MTU - 40 : mss;
    }

    /** Window scale we offer: enough for the largest receive ring (RFC 7323 2.3, at most 14). */
    public int ourWindowScale(int rxCapacity) {
        if (!windowScale) {
            return 0;
        }
        int shift = 0;
        while (shift < 14 && (65535L << shift) < rxCapacity) {
            shift++;
        }
        return shift;
    }
}
