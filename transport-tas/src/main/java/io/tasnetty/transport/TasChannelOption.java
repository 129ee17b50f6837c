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
 *
 * <p>Channels also take the per-connection options of Netty's epoll and NIO transports by their
 * names (whatever class declares them), so code written for those runs unchanged: see
 * {@link TasSocketChannelConfig} for what each does on the engine and kernel paths.
 */
public final class TasChannelOption<T> extends ChannelOption<T> {
    /** Receive-ring size of accepted connections, bytes (rounded up to a power of two; 0 = engine default). */
    public static final ChannelOption<Integer> ACCEPTED_RCVBUF = valueOf(TasChannelOption.class, "ACCEPTED_RCVBUF");
    /** Transmit-ring size of accepted connections, bytes (rounded up to a power of two; 0 = engine default). */
    public static final ChannelOption<Integer> ACCEPTED_SNDBUF = valueOf(TasChannelOption.class, "ACCEPTED_SNDBUF");

    /**
     * Seconds a connection with SO_KEEPALIVE stays idle before the first probe (0 = the engine's
     * {@code tcp-keepalive-idle}, or the kernel's default). The same option under Netty's epoll and
     * NIO names ({@code EpollChannelOption.TCP_KEEPIDLE}, {@code NioChannelOption.of(
     * ExtendedSocketOptions.TCP_KEEPIDLE)}) is accepted too.
     */
    public static final ChannelOption<Integer> TCP_KEEPIDLE = valueOf(TasChannelOption.class, "TCP_KEEPIDLE");
    /** Seconds between keepalive probes (also accepted as TCP_KEEPINTERVAL, NIO's name). */
    public static final ChannelOption<Integer> TCP_KEEPINTVL = valueOf(TasChannelOption.class, "TCP_KEEPINTVL");
    /** Unanswered keepalive probes before the connection is dropped (also accepted as TCP_KEEPCOUNT). */
    public static final ChannelOption<Integer> TCP_KEEPCNT = valueOf(TasChannelOption.class, "TCP_KEEPCNT");

    @SuppressWarnings({"unused", "deprecation"})
    private TasChannelOption() {
        super(null);
    }
}
