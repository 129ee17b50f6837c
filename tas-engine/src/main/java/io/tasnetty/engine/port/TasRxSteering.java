package io.tasnetty.engine.port;

import java.lang.foreign.MemorySegment;

/**
 * Which receive queue a port puts a received frame on: its receive-side scaling as the engine
 * models it. The engine asks the same model where a flow's packets will arrive
 * ({@link TasPort#flowQueue}) and places the flow on that queue's fast path.
 *
 * <p>Only {@link #queueForPacket} must be given; a flow's queue is the queue of the packets it
 * receives (source = the peer), and a frame that is not unfragmented IPv4/TCP goes to queue 0
 * (the engine hands such frames to its slow path from any queue).
 */
@FunctionalInterface
public interface TasRxSteering {
    /** The engine's own symmetric software hash ({@link TasRss}): what the in-JVM wire does by default. */
    TasRxSteering SOFTWARE = TasRss::queueFor;

    /**
     * Queue in {@code [0, queues)} that a received IPv4/TCP packet from {@code srcIp:srcPort} to
     * {@code dstIp:dstPort} lands on.
     */
    int queueForPacket(int srcIp, int srcPort, int dstIp, int dstPort, int queues);

    /** Queue in {@code [0, queues)} that the packets of the engine's flow local ↔ remote arrive on. */
    default int flowQueue(int localIp, int localPort, int remoteIp, int remotePort, int queues) {
        return queueForPacket(remoteIp, remotePort, localIp, localPort, queues);
    }

    /** Queue for the Ethernet frame at {@code s[off, off + len)} (see {@link TasRss#queueForFrame}). */
    default int queueForFrame(MemorySegment s, long off, int len, int queues) {
        return TasRss.queueForFrame(s, off, len, queues, this);
    }
}
