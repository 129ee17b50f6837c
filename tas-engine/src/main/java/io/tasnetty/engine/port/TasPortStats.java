package io.tasnetty.engine.port;

/**
 * Counters a port keeps itself.
 *
 * @param rxPackets frames received
 * @param txPackets frames transmitted
 * @param rxDropped frames the port dropped on receive (queue full, no buffers)
 * @param txDropped frames the port dropped on transmit
 */
public record TasPortStats(long rxPackets, long txPackets, long rxDropped, long txDropped) {
    public static final TasPortStats EMPTY = new TasPortStats(0, 0, 0, 0);
}
