package io.tasnetty.engine.port;

/**
 * The Port SPI: how packets enter and leave the engine (ARCHITECTURE.md, "Ports").
 *
 * <p>A port has {@link #queueCount()} RX/TX queue pairs. Each queue pair is used by exactly one
 * fast-path thread, so {@link #rxBurst} and {@link #txBurst} on one queue are never called
 * concurrently; {@link #alloc} and {@link #free} may be called from any engine thread.
 *
 * <p>Burst semantics follow DPDK: {@code rxBurst} hands ownership of up to {@code max} buffers to
 * the caller; {@code txBurst} takes ownership of the first {@code n} buffers it returns as sent,
 * and the caller still owns (and must free or retry) the rest. Nothing here throws on the data
 * path: a full queue is a short count, a failed allocation is a zero.
 */
public interface TasPort extends AutoCloseable {

    /** A short human-readable name, e.g. {@code wire:a}, {@code tap:tas0}, {@code dpdk:0}. */
    String name();

    /** Number of RX/TX queue pairs (one per fast-path core). */
    int queueCount();

    /** The port's MAC address, as 48 bits in the low bits of a long (first octet most significant). */
    long macAddress();

    /** Largest IP packet (L3 MTU) the port carries, e.g. 1500. */
    int mtu();

    /** What the port can do beyond moving bytes. */
    TasPortCapabilities capabilities();

    /** Starts the port (after configuration, before the first burst). */
    void start();

    /** Receives up to {@code max} frames from {@code queue} into {@code bufs[0..n)}; returns n. */
    int rxBurst(int queue, PacketBuffer[] bufs, int max);

    /**
     * Transmits {@code bufs[0..count)} on {@code queue}. Returns how many were taken (those are
     * now the port's); {@code bufs[n..count)} remain the caller's.
     */
    int txBurst(int queue, PacketBuffer[] bufs, int count);

    /** Allocates {@code count} empty buffers into {@code bufs}; returns how many (0..count). */
    int alloc(PacketBuffer[] bufs, int count);

    /** Returns one buffer to the port. */
    void free(PacketBuffer buf);

    /** Returns {@code bufs[0..count)} to the port. */
    default void free(PacketBuffer[] bufs, int count) {
        for (int i = 0; i < count; i++) {
            free(bufs[i]);
            bufs[i] = null;
        }
    }

    /**
     * Blocks the calling fast-path thread until {@code queue} may have frames, {@link #wakeup} is
     * called for it, or {@code timeoutNanos} passes (spurious returns allowed). Ports with receive
     * interrupts arm them here; pure-Java ports use a doorbell. Returns at once if frames wait.
     */
    void awaitRx(int queue, long timeoutNanos);

    /** Wakes a thread blocked in {@link #awaitRx} on {@code queue}; callable from any thread. */
    void wakeup(int queue);

    /**
     * Whether any thread may receive from a queue (one at a time), or only the fast-path thread
     * that owns it: an application thread that runs the fast path inline then leaves the queue's
     * receiving to that thread. DPDK ports say no: some PMDs keep per-queue receive state that
     * another thread's burst upsets (the tap PMD's SIGIO trigger, edge-triggered interrupts).
     */
    default boolean rxFromAnyThread() {
        return true;
    }

    /**
     * The RX queue in {@code [0, queues)} on which this port will deliver the packets of the TCP
     * flow between the engine's {@code localIp:localPort} and the peer's {@code remoteIp:remotePort}
     * (so the engine can own the flow on that queue's fast path). {@code queues} is how many of
     * the port's queues the engine polls.
     *
     * <p>Ports that steer with {@link TasRss} (the in-JVM wire by default, single-queue ports)
     * keep this default. A port whose device steers by its own rule (a NIC's RSS: Toeplitz hash
     * and redirection table) answers with that rule. A port that cannot tell (no RSS, an unknown
     * hash) keeps the default: the engine then hands a segment that arrives on another queue to
     * the flow's fast path, which is correct but costs a trip through the slow path.
     */
    default int flowQueue(int localIp, int localPort, int remoteIp, int remotePort, int queues) {
        return TasRss.queueFor(localIp, localPort, remoteIp, remotePort, queues);
    }

    /** Port statistics as counted by the port itself (may be zero where the port cannot tell). */
    default TasPortStats stats() {
        return TasPortStats.EMPTY;
    }

    /** Stops the port and releases its memory; buffers still held become invalid. */
    @Override
    void close();
}
