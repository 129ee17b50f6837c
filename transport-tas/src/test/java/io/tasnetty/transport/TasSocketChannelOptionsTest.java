package io.tasnetty.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.nio.NioChannelOption;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.stats.TasCounter;
import jdk.net.ExtendedSocketOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.TimeUnit;

import static io.tasnetty.transport.TasTestEngine.eventually;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Per-connection options under the names Netty's epoll and NIO transports give them, on both paths. */
@Timeout(60)
class TasSocketChannelOptionsTest {
    /** What {@code EpollChannelOption.TCP_KEEPIDLE} etc. are called (the epoll classes are not on this classpath). */
    private static final ChannelOption<Integer> EPOLL_KEEPIDLE =
        ChannelOption.valueOf("io.netty.channel.epoll.EpollChannelOption#TCP_KEEPIDLE");
    private static final ChannelOption<Integer> EPOLL_KEEPINTVL =
        ChannelOption.valueOf("io.netty.channel.epoll.EpollChannelOption#TCP_KEEPINTVL");
    private static final ChannelOption<Integer> EPOLL_KEEPCNT =
        ChannelOption.valueOf("io.netty.channel.epoll.EpollChannelOption#TCP_KEEPCNT");
    private static final ChannelOption<Boolean> EPOLL_QUICKACK =
        ChannelOption.valueOf("io.netty.channel.epoll.EpollChannelOption#TCP_QUICKACK");
    private static final ChannelOption<Integer> EPOLL_USER_TIMEOUT =
        ChannelOption.valueOf("io.netty.channel.epoll.EpollChannelOption#TCP_USER_TIMEOUT");
    private static final ChannelOption<byte[]> EPOLL_MD5SIG =
        ChannelOption.valueOf("io.netty.channel.epoll.EpollChannelOption#TCP_MD5SIG");

    private TasEngine engine;
    private TasEventLoopGroup group;

    @BeforeEach
    void start() {
        engine = TasTestEngine.start(TasConfig.builder());
        group = new TasEventLoopGroup(2, engine);
    }

    @AfterEach
    void stop() throws Exception {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        engine.close();
    }

    private Channel server() throws InterruptedException {
        return new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
            .childHandler(new ChannelInboundHandlerAdapter()).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    @Test
    void epollsAndNiosKeepaliveOptionsTimeTheEnginesProbes() throws Exception {
        Channel server = server();
        TasSocketChannel ch = (TasSocketChannel) new Bootstrap().group(group).channel(TasSocketChannel.class)
            .handler(new ChannelInboundHandlerAdapter())
            .option(ChannelOption.SO_KEEPALIVE, true)
            .option(EPOLL_KEEPIDLE, 1)
            .option(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), 1)
            .option(EPOLL_KEEPCNT, 3)
            .option(ChannelOption.IP_TOS, 0xB8) // DSCP EF
            .connect(server.localAddress()).sync().channel();
        assertThat(ch.path()).isEqualTo(TasPath.ENGINE);
        assertThat(ch.config().getOption(TasChannelOption.TCP_KEEPIDLE)).isEqualTo(1);
        assertThat(ch.config().getOption(TasChannelOption.TCP_KEEPINTVL)).isEqualTo(1);
        assertThat(ch.config().getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT))).isEqualTo(3);
        assertThat(ch.connection().flow().keepaliveIdleNanos).isEqualTo(TimeUnit.SECONDS.toNanos(1));
        assertThat(ch.connection().flow().tos).isEqualTo(0xB8);
        // Idle for a second: the engine probes (the default idle time is two hours).
        assertThat(eventually(10_000, () -> engine.counter(TasCounter.TCP_KEEPALIVES) > 0)).isTrue();
        assertThat(ch.isActive()).isTrue(); // the peer answers the probes
        ch.close().sync();
        server.close().sync();
    }

    @Test
    void tcpNoDelayChoosesNaglePerConnection() throws Exception {
        Channel server = server();
        TasSocketChannel quick = (TasSocketChannel) new Bootstrap().group(group).channel(TasSocketChannel.class)
            .handler(new ChannelInboundHandlerAdapter())
            .connect(server.localAddress()).sync().channel();
        assertThat(quick.config().isTcpNoDelay()).as("Netty's default").isTrue();
        assertThat(quick.connection().flow().nagle).isFalse();
        TasSocketChannel nagle = (TasSocketChannel) new Bootstrap().group(group).channel(TasSocketChannel.class)
            .handler(new ChannelInboundHandlerAdapter())
            .option(ChannelOption.TCP_NODELAY, false)
            .connect(server.localAddress()).sync().channel();
        assertThat(nagle.connection().flow().nagle).as("set before connect").isTrue();
        nagle.config().setOption(ChannelOption.TCP_NODELAY, true);
        assertThat(nagle.connection().flow().nagle).as("set after connect").isFalse();
        quick.config().setTcpNoDelay(false);
        assertThat(quick.connection().flow().nagle).isTrue();
        quick.close().sync();
        nagle.close().sync();
        server.close().sync();
    }

    @Test
    void epollsUserTimeoutClosesAConnectionWhosePeerKeepsItsWindowShut() throws Exception {
        // The server never reads: its ring fills, it answers every zero-window probe, and without
        // TCP_USER_TIMEOUT the client would wait forever. With it, the client gives up (RFC 5482).
        Channel server = new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
            .childOption(ChannelOption.AUTO_READ, false)
            .childHandler(new ChannelInboundHandlerAdapter()).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        TasSocketChannel ch = (TasSocketChannel) new Bootstrap().group(group).channel(TasSocketChannel.class)
            .handler(new ChannelInboundHandlerAdapter() {
                @Override
                public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
                    failure.compareAndSet(null, cause);
                    ctx.close();
                }
            })
            .option(EPOLL_USER_TIMEOUT, 1000)
            .connect(server.localAddress()).sync().channel();
        assertThat(ch.config().getOption(EPOLL_USER_TIMEOUT)).isEqualTo(1000);
        assertThat(ch.connection().flow().userTimeoutNanos).isEqualTo(TimeUnit.SECONDS.toNanos(1));
        io.netty.channel.ChannelFuture lastWrite = null;
        for (int i = 0; i < 64; i++) {
            lastWrite = ch.writeAndFlush(io.netty.buffer.Unpooled.wrappedBuffer(new byte[16 * 1024]));
        }
        assertThat(ch.closeFuture().await(30, TimeUnit.SECONDS)).as("closed by the user timeout").isTrue();
        assertThat(lastWrite.await(30, TimeUnit.SECONDS)).isTrue();
        Throwable why = failure.get() != null ? failure.get() : lastWrite.cause();
        assertThat(why).as("the application learns why (ETIMEDOUT)").isInstanceOf(java.net.SocketException.class)
            .hasMessageContaining("timed out");
        assertThat(engine.counter(TasCounter.CONN_USER_TIMEOUTS)).isEqualTo(1);
        server.close().sync();
    }

    @Test
    void onTheKernelPathTheOptionsReachTheSocket() throws Exception {
        try (ServerSocket kernel = new ServerSocket(0, 5, InetAddress.getByName("127.0.0.1"))) {
            TasSocketChannel ch = (TasSocketChannel) new Bootstrap().group(group).channel(TasSocketChannel.class)
                .handler(new ChannelInboundHandlerAdapter())
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(EPOLL_KEEPIDLE, 42)
                .option(EPOLL_KEEPINTVL, 7)
                .option(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), 5)
                .option(EPOLL_QUICKACK, true)
                .connect(kernel.getLocalSocketAddress()).sync().channel();
            assertThat(ch.path()).isEqualTo(TasPath.KERNEL);
            KernelStreamPath k = ch.kernelPath();
            assertThat(k.getOption(ExtendedSocketOptions.TCP_KEEPIDLE)).isEqualTo(42);
            assertThat(k.getOption(ExtendedSocketOptions.TCP_KEEPINTERVAL)).isEqualTo(7);
            assertThat(k.getOption(ExtendedSocketOptions.TCP_KEEPCOUNT)).isEqualTo(5);
            assertThat(k.getOption(java.net.StandardSocketOptions.SO_KEEPALIVE)).isTrue();
            // Set after connect: applied at once.
            ch.config().setOption(EPOLL_KEEPIDLE, 60);
            assertThat(k.getOption(ExtendedSocketOptions.TCP_KEEPIDLE)).isEqualTo(60);
            ch.close().sync();
        }
    }

    @Test
    void everyEpollSocketOptionIsAnsweredAndMd5SigIsRefused() throws Exception {
        TasSocketChannel ch = new TasSocketChannel();
        TasSocketChannelConfig c = ch.config();
        assertThat(c.setOption(EPOLL_USER_TIMEOUT, 5000)).isTrue();
        assertThat(c.getOption(EPOLL_USER_TIMEOUT)).isEqualTo(5000);
        for (String name : new String[]{"TCP_CORK", "IP_TRANSPARENT", "IP_FREEBIND", "TCP_FASTOPEN_CONNECT"}) {
            ChannelOption<Boolean> o = ChannelOption.valueOf("io.netty.channel.epoll.EpollChannelOption#" + name);
            assertThat(c.setOption(o, true)).as(name).isTrue();
            assertThat(c.getOption(o)).as(name).isTrue();
        }
        ChannelOption<Boolean> reusePort = ChannelOption.valueOf("io.netty.channel.unix.UnixChannelOption#SO_REUSEPORT");
        assertThat(c.setOption(reusePort, true)).isTrue();
        assertThatThrownBy(() -> c.setOption(EPOLL_MD5SIG, new byte[16]))
            .isInstanceOf(ChannelException.class).hasMessageContaining("TCP_MD5SIG");
        assertThatThrownBy(() -> c.setOption(EPOLL_KEEPCNT, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> c.setOption(ChannelOption.IP_TOS, 256)).isInstanceOf(IllegalArgumentException.class);
    }
}
