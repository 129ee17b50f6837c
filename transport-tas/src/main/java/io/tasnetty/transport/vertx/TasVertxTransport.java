package io.tasnetty.transport.vertx;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramChannelConfig;
import io.netty.channel.socket.InternetProtocolFamily;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.transport.Tas;
import io.tasnetty.transport.TasDatagramChannel;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasIoHandler;
import io.tasnetty.transport.TasServerSocketChannel;
import io.tasnetty.transport.TasSocketChannel;
import io.vertx.core.datagram.DatagramSocketOptions;

import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;

/**
 * Vert.x 5 on TAS: every event loop of the Vert.x instance is a TAS loop, and its TCP channels are
 * {@link TasSocketChannel} and {@link TasServerSocketChannel} (engine or kernel path per
 * connection).
 * <pre>{@code
 * Vertx vertx = Vertx.builder().withTransport(new TasVertxTransport()).build();
 * }</pre>
 *
 * <p>It is both halves of Vert.x's transport API: the SPI ({@link io.vertx.core.spi.transport.Transport},
 * what Vert.x calls) and the handle that {@code VertxBuilder.withTransport} takes
 * ({@link io.vertx.core.transport.Transport}, whose {@link #implementation()} is this object).
 *
 * <p>UDP (Vert.x's {@code DatagramSocket} and the datagrams of its DNS resolver, which reads the
 * hosts file first and then asks the configured name servers) runs on {@link TasDatagramChannel}:
 * UDP through the kernel, on the same TAS loops. Unix domain sockets are not supported. If
 * the TAS transport is unavailable ({@link Tas#unavailabilityCause()}), Vert.x falls back to NIO
 * as it does for an unavailable native transport.
 */
public final class TasVertxTransport implements io.vertx.core.spi.transport.Transport, io.vertx.core.transport.Transport {
    /** Null for the process-wide default engine. */
    private final TasEngine engine;

    /** Loops on the process-wide default engine (started from {@code -Dtas.*} with the first loop). */
    public TasVertxTransport() {
        this.engine = null;
    }

    /** Loops on {@code engine}, which the caller stops after closing the Vert.x instance. */
    public TasVertxTransport(TasEngine engine) {
        this.engine = Objects.requireNonNull(engine, "engine");
    }

    // ------------------------------------------------------------------ the handle (withTransport)

    @Override
    public String name() {
        return "tas";
    }

    @Override
    public boolean available() {
        return Tas.isAvailable();
    }

    @Override
    public io.vertx.core.spi.transport.Transport implementation() {
        return this;
    }

    // ------------------------------------------------------------------ the SPI

    @Override
    public boolean isAvailable() {
        return Tas.isAvailable();
    }

    @Override
    public Throwable unavailabilityCause() {
        return Tas.unavailabilityCause();
    }

    @Override
    public IoHandlerFactory ioHandlerFactory() {
        return engine == null ? TasIoHandler.newFactory() : TasIoHandler.newFactory(engine);
    }

    /**
     * A {@link TasEventLoopGroup} for Vert.x's event loops and for its acceptor loop alike (each
     * loop owns one engine context). Netty 4.2's I/O loops have no I/O ratio; it is ignored.
     */
    @Override
    public EventLoopGroup eventLoopGroup(int type, int nThreads, ThreadFactory threadFactory, int ioRatio) {
        return engine == null
            ? new TasEventLoopGroup(nThreads, threadFactory)
            : new TasEventLoopGroup(nThreads, threadFactory, engine);
    }

    @Override
    public DatagramChannel datagramChannel() {
        return new TasDatagramChannel();
    }

    @Override
    @SuppressWarnings("deprecation") // the SPI names Netty's older InternetProtocolFamily
    public DatagramChannel datagramChannel(InternetProtocolFamily family) {
        return new TasDatagramChannel(family.toSocketProtocolFamily());
    }

    @Override
    public ChannelFactory<? extends Channel> channelFactory(boolean domainSocket) {
        refuseDomainSocket(domainSocket);
        return TasSocketChannel::new;
    }

    @Override
    public ChannelFactory<? extends ServerChannel> serverChannelFactory(boolean domainSocket) {
        refuseDomainSocket(domainSocket);
        return TasServerSocketChannel::new;
    }

    private static void refuseDomainSocket(boolean domainSocket) {
        if (domainSocket) {
            throw new IllegalArgumentException("the TAS transport has no Unix domain sockets; "
                + "use Vert.x's NIO or a native transport for them");
        }
    }

    /**
     * What Vert.x does for its NIO transport: the SPI's default applies the multicast options (TTL,
     * loopback mode, interface) only to NIO's channel; TasDatagramChannel is a kernel socket too.
     */
    @Override
    public void configure(DatagramChannel channel, DatagramSocketOptions options) {
        io.vertx.core.spi.transport.Transport.super.configure(channel, options);
        DatagramChannelConfig config = channel.config();
        config.setLoopbackModeDisabled(options.isLoopbackModeDisabled());
        if (options.getMulticastTimeToLive() != -1) {
            config.setTimeToLive(options.getMulticastTimeToLive());
        }
        String name = options.getMulticastNetworkInterface();
        if (name != null) {
            config.setNetworkInterface(networkInterface(name));
        }
    }

    private static NetworkInterface networkInterface(String name) {
        NetworkInterface nif;
        try {
            nif = NetworkInterface.getByName(name);
        } catch (SocketException e) {
            throw new IllegalArgumentException("Could not look up network interface " + name, e);
        }
        if (nif == null) {
            throw new IllegalArgumentException("Could not find network interface with name " + name);
        }
        return nif;
    }

    @Override
    public String toString() {
        return "TasVertxTransport[" + (engine == null ? "default engine" : engine) + "]";
    }
}
