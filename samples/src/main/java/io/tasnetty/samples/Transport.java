package io.tasnetty.samples;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.tasnetty.transport.Tas;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasServerSocketChannel;
import io.tasnetty.transport.TasSocketChannel;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The transports every sample runs on. The Netty code of a sample is the same on all of them; only
 * the event loop group and the two channel classes come from here. That is the whole change an
 * application makes to move from NIO to TAS:
 *
 * <pre>{@code
 * EventLoopGroup group = new TasEventLoopGroup();          // was: new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory())
 * new ServerBootstrap().group(group).channel(TasServerSocketChannel.class) ...   // was NioServerSocketChannel
 * new Bootstrap().group(group).channel(TasSocketChannel.class) ...               // was NioSocketChannel
 * }</pre>
 */
public enum Transport {
    /** TAS: the user-space TCP engine (the process-wide default engine, configured by {@code -Dtas.*}). */
    TAS("tas", TasServerSocketChannel.class, TasSocketChannel.class) {
        @Override
        public EventLoopGroup newGroup(int threads, String threadPrefix) {
            return new TasEventLoopGroup(threads, new DefaultThreadFactory(threadPrefix, true));
        }

        @Override
        public Throwable unavailabilityCause() {
            return Tas.isAvailable() ? null : Tas.unavailabilityCause();
        }
    },
    /** Java NIO over the kernel's TCP. */
    NIO("nio", NioServerSocketChannel.class, NioSocketChannel.class) {
        @Override
        public EventLoopGroup newGroup(int threads, String threadPrefix) {
            return group(threads, threadPrefix, NioIoHandler::newFactory);
        }

        @Override
        public Throwable unavailabilityCause() {
            return null;
        }
    },
    /** Netty's native epoll transport over the kernel's TCP. */
    EPOLL("epoll", EpollServerSocketChannel.class, EpollSocketChannel.class) {
        @Override
        public EventLoopGroup newGroup(int threads, String threadPrefix) {
            return group(threads, threadPrefix, EpollIoHandler::newFactory);
        }

        @Override
        public Throwable unavailabilityCause() {
            return Epoll.isAvailable() ? null : Epoll.unavailabilityCause();
        }
    },
    /** Netty's native io_uring transport over the kernel's TCP. */
    IO_URING("io_uring", IoUringServerSocketChannel.class, IoUringSocketChannel.class) {
        @Override
        public EventLoopGroup newGroup(int threads, String threadPrefix) {
            return group(threads, threadPrefix, IoUringIoHandler::newFactory);
        }

        @Override
        public Throwable unavailabilityCause() {
            return IoUring.isAvailable() ? null : IoUring.unavailabilityCause();
        }
    };

    private final String id;
    private final Class<? extends ServerChannel> serverChannel;
    private final Class<? extends SocketChannel> clientChannel;

    Transport(String id, Class<? extends ServerChannel> serverChannel, Class<? extends SocketChannel> clientChannel) {
        this.id = id;
        this.serverChannel = serverChannel;
        this.clientChannel = clientChannel;
    }

    /** An event loop group of this transport; {@code threads} 0 means Netty's default. */
    public abstract EventLoopGroup newGroup(int threads, String threadPrefix);

    /** Why this transport cannot run here, or null when it can. */
    public abstract Throwable unavailabilityCause();

    public boolean isAvailable() {
        return unavailabilityCause() == null;
    }

    /** The name used on command lines: tas, nio, epoll, io_uring. */
    public String id() {
        return id;
    }

    public Class<? extends ServerChannel> serverChannel() {
        return serverChannel;
    }

    public Class<? extends SocketChannel> clientChannel() {
        return clientChannel;
    }

    /** Fails with a readable message when this transport cannot run here. */
    public void ensureAvailable() {
        Throwable cause = unavailabilityCause();
        if (cause != null) {
            throw new IllegalStateException("transport " + id + " is not available here: " + cause, cause);
        }
    }

    /** Parses tas, nio, epoll, io_uring (also io-uring, iouring; case-insensitive). */
    public static Transport parse(String s) {
        String k = s.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        if (k.equals("iouring") || k.equals("uring")) {
            k = "io_uring";
        }
        for (Transport t : values()) {
            if (t.id.equals(k)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown transport \"" + s + "\"; expected one of "
            + Arrays.stream(values()).map(Transport::id).toList());
    }

    @Override
    public String toString() {
        return id;
    }

    private static EventLoopGroup group(int threads, String prefix, Supplier<IoHandlerFactory> factory) {
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(prefix, true), factory.get());
    }

    /** picocli converter, so options take {@code --transport=io_uring}. */
    public static final class Converter implements picocli.CommandLine.ITypeConverter<Transport> {
        @Override
        public Transport convert(String value) {
            return parse(value);
        }
    }
}
