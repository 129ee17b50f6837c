package io.tasnetty.transport;

import io.netty.channel.ChannelFactory;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;

import java.util.Optional;

/**
 * Whether the TAS transport can be used in this JVM, in the style of Netty's native transports
 * ({@code Epoll.isAvailable()}, {@code IoUring.isAvailable()}).
 *
 * <p>The transport needs JDK 25 or newer (the engine uses the Foreign Function &amp; Memory API),
 * the engine's classes, and a valid {@code -Dtas.*} configuration for the process-wide default
 * engine. The configuration is checked once, when this class loads; ports (TAP, DPDK) are opened
 * only when the first event loop starts, so an unusable port shows up there, not here.
 *
 * <p>It also names the transport's channel classes, so code that picks channels per event loop
 * group (resolvers, framework adapters) can find them: {@link #socketChannelType()},
 * {@link #serverSocketChannelType()}, {@link #datagramChannelType()}, as Netty's
 * {@code SocketChannel}/{@code DatagramChannel} type hooks (e.g. {@code DnsNameResolverBuilder})
 * expect them.
 */
public final class Tas {
    private static final Throwable UNAVAILABILITY_CAUSE = check();

    private Tas() {
    }

    private static Throwable check() {
        if (Runtime.version().feature() < 25) {
            return new UnsupportedOperationException(
                "the TAS transport needs JDK 25 or newer; this JVM is " + Runtime.version());
        }
        try {
            Class.forName(TasEngine.class.getName(), false, Tas.class.getClassLoader());
            TasConfig.fromSystemProperties();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    /** True if TAS channels can be used. */
    public static boolean isAvailable() {
        return UNAVAILABILITY_CAUSE == null;
    }

    /**
     * Throws if the transport is unavailable.
     *
     * @throws IllegalStateException with {@link #unavailabilityCause()} as its cause
     */
    public static void ensureAvailability() {
        if (UNAVAILABILITY_CAUSE != null) {
            throw new IllegalStateException("the TAS transport is unavailable: " + UNAVAILABILITY_CAUSE.getMessage(),
                UNAVAILABILITY_CAUSE);
        }
    }

    /** Why the transport is unavailable, or null if it is available. */
    public static Throwable unavailabilityCause() {
        return UNAVAILABILITY_CAUSE;
    }

    /**
     * The process-wide default engine, if one runs now: it starts with the first event loop created
     * without an explicit engine and stops when the last such loop shuts down.
     */
    public static Optional<TasEngine> defaultEngine() {
        return Optional.ofNullable(TasDefaultEngine.current());
    }

    /** The TCP channel class of this transport: {@link TasSocketChannel}. */
    public static Class<? extends SocketChannel> socketChannelType() {
        return TasSocketChannel.class;
    }

    /** The listening TCP channel class of this transport: {@link TasServerSocketChannel}. */
    public static Class<? extends ServerSocketChannel> serverSocketChannelType() {
        return TasServerSocketChannel.class;
    }

    /**
     * The UDP channel class of this transport: {@link TasDatagramChannel} (kernel UDP on TAS event
     * loops), e.g. for {@code DnsNameResolverBuilder.datagramChannelType(Tas.datagramChannelType())}.
     */
    public static Class<? extends DatagramChannel> datagramChannelType() {
        return TasDatagramChannel.class;
    }

    /**
     * Makes {@link TasDatagramChannel}s of {@code family} ({@link SocketProtocolFamily#INET} or
     * {@code INET6}; null means the system's default), for APIs that take a channel factory rather
     * than a class, e.g. {@code DnsNameResolverBuilder.datagramChannelFactory}.
     */
    public static ChannelFactory<TasDatagramChannel> datagramChannelFactory(SocketProtocolFamily family) {
        return new ChannelFactory<>() {
            @Override
            public TasDatagramChannel newChannel() {
                return new TasDatagramChannel(family);
            }

            @Override
            public String toString() {
                return "TasDatagramChannel(" + (family == null ? "default family" : family) + ")";
            }
        };
    }
}
