package io.tasnetty.transport;

import io.netty.channel.ChannelOption;

/**
 * Options only TAS channels understand.
 *
 * <p>A connection's receive and transmit rings are allocated when it opens and cannot be resized.
 * For connections a {@link TasServerSocketChannel} accepts that is when the SYN arrives, before
 * the child channel exists, so {@code childOption(SO_RCVBUF/SO_SNDBUF)} comes too late; set these
 * on the server channel instead ({@code option(...)} before bind). {@code SO_RCVBUF} and
 * {@code SO_SNDBUF} on the server channel mean the same (as Linux, whose accepted sockets inherit
 * the listener's buffer sizes).
 */
public final class TasChannelOption<T> extends ChannelOption<T> {
    /** Receive-ring size of accepted connections, bytes (rounded up to a power of two; 0 = engine default). */
    public static final ChannelOption<Integer> ACCEPTED_RCVBUF = valueOf(TasChannelOption.class, "ACCEPTED_RCVBUF");
    /** Transmit-ring size of accepted connections, bytes (rounded up to a power of two; 0 = engine default). */
    public static final ChannelOption<Integer> ACCEPTED_SNDBUF = valueOf(TasChannelOption.class, "ACCEPTED_SNDBUF");

    @SuppressWarnings({"unused", "deprecation"})
    private TasChannelOption() {
        super(null);
    }
}
