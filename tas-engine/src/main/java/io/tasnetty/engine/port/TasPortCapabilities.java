package io.tasnetty.engine.port;

/**
 * What a port offers beyond moving frames.
 *
 * @param txChecksumOffload the port computes IPv4/TCP checksums on transmit when asked
 * @param rxChecksumOffload the port verifies IPv4/TCP checksums on receive and reports it in flags
 * @param rssRetaSize entries of the RSS redirection table, 0 when the port has no RSS
 * @param rxInterrupts the port can block in {@link TasPort#awaitRx} without spinning
 */
public record TasPortCapabilities(boolean txChecksumOffload, boolean rxChecksumOffload, int rssRetaSize,
                                  boolean rxInterrupts) {
    /** A port that only moves frames (checksums in software, no RSS), but can block. */
    public static final TasPortCapabilities SOFTWARE = new TasPortCapabilities(false, false, 0, true);
}
