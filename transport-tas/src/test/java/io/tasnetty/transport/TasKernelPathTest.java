package io.tasnetty.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.ConnectException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.tasnetty.transport.TasTestEngine.eventually;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The kernel path: what the engine cannot serve runs on a kernel socket behind the same channel
 * classes, and servers bound to loopback or the wildcard also take the kernel's connections.
 */
@Timeout(60)
class TasKernelPathTest {
    private TasEngine engine;
    private TasEventLoopGroup boss;
    private TasEventLoopGroup workers;

    @BeforeEach
    void start() {
        engine = TasTestEngine.start(TasConfig.builder().set("arp-timeout", "100000").set("arp-retries", "2"));
        boss = new TasEventLoopGroup(1, engine);
        workers = new TasEventLoopGroup(2, engine);
    }

    @AfterEach
    void stop() throws Exception {
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        try {
            assertThat(engine.contextCount()).isZero();
            assertThat(eventually(5000, () -> engine.flowCount() == 0 && engine.ringBytesInUse() == 0))
                .as("flows %d, ring bytes %d", engine.flowCount(), engine.ringBytesInUse()).isTrue();
        } finally {
            engine.close();
        }
    }

    private ServerBootstrap echoServer() {
        return new ServerBootstrap().group(boss, workers).channel(TasServerSocketChannel.class).childHandler(new Echo());
    }

    @ChannelHandler.Sharable
    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }
    }

    private Bootstrap client(Collector c) {
        return new Bootstrap().group(workers).channel(TasSocketChannel.class).handler(c);
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Echoes with a Tas client through {@code target}; returns the client channel (still open). */
    private Channel echo(InetSocketAddress target, int size) throws Exception {
        byte[] data = random(size, size);
        Collector c = new Collector(data.length);
        Channel ch = client(c).connect(target).sync().channel();
        ch.writeAndFlush(Unpooled.wrappedBuffer(data));
        assertThat(c.done.get(30, TimeUnit.SECONDS)).isEqualTo(data);
        return ch;
    }

    /** A kernel echo service (plain java.net) on 127.0.0.1, one connection at a time. */
    private static final class KernelEchoServer implements AutoCloseable {
        final ServerSocket socket;
        final Thread thread;

        KernelEchoServer() throws Exception {
            socket = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            thread = Thread.ofPlatform().daemon().start(() -> {
                while (!socket.isClosed()) {
                    try (Socket s = socket.accept(); InputStream in = s.getInputStream();
                         OutputStream out = s.getOutputStream()) {
                        in.transferTo(out);
                    } catch (Exception e) {
                        // closed, or the client went away: take the next one
                    }
                }
            });
        }

        InetSocketAddress address() {
            return (InetSocketAddress) socket.getLocalSocketAddress();
        }

        @Override
        public void close() throws Exception {
            socket.close();
            thread.join(5000);
        }
    }

    @Test
    void aTasClientReachesAKernelServiceOnLoopbackThroughTheKernelPath() throws Exception {
        try (KernelEchoServer kernel = new KernelEchoServer()) {
            TasSocketChannel ch = (TasSocketChannel) echo(kernel.address(), 1 << 20);
            assertThat(ch.path()).isEqualTo(TasPath.KERNEL);
            assertThat(ch.remoteAddress()).isEqualTo(kernel.address());
            assertThat(ch.localAddress().getAddress().isLoopbackAddress()).isTrue();
            ch.close().sync();
        }
        long kernelConnections = workers.ioHandlers().stream().mapToLong(h -> h.stats().kernelConnections()).sum();
        assertThat(kernelConnections).isEqualTo(1);
    }

    @Test
    void aKernelClientReachesATasServerOnLoopbackAndOnTheWildcard() throws Exception {
        for (String bind : new String[]{"127.0.0.1", "0.0.0.0"}) {
            Channel server = echoServer().bind(new InetSocketAddress(bind, 0)).sync().channel();
            int port = ((InetSocketAddress) server.localAddress()).getPort();
            try (Socket s = new Socket("127.0.0.1", port)) {
                byte[] data = "hello over the kernel".getBytes(StandardCharsets.US_ASCII);
                s.getOutputStream().write(data);
                assertThat(s.getInputStream().readNBytes(data.length)).isEqualTo(data);
            }
            server.close().sync();
        }
        long kernelConnections = workers.ioHandlers().stream().mapToLong(h -> h.stats().kernelConnections()).sum();
        assertThat(kernelConnections).isEqualTo(2);
    }

    @Test
    void tasToTasOnLoopbackStaysOnTheEngineWhateverTheAddressSpelling() throws Exception {
        Channel server = echoServer().bind(new InetSocketAddress("0.0.0.0", 0)).sync().channel();
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        assertThat(((InetSocketAddress) server.localAddress()).getAddress().isAnyLocalAddress()).isTrue();
        for (String host : new String[]{"127.0.0.1", "0.0.0.0", "localhost"}) {
            TasSocketChannel ch = (TasSocketChannel) echo(new InetSocketAddress(host, port), 4096);
            assertThat(ch.path()).as(host).isEqualTo(TasPath.ENGINE);
            assertThat(ch.remoteAddress().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
            ch.close().sync();
        }
        server.close().sync();
    }

    @Test
    void ipv6LoopbackAndTheDualStackWildcardWorkThroughTheKernel() throws Exception {
        Channel server = echoServer().bind(new InetSocketAddress("::", 0)).sync().channel();
        InetSocketAddress bound = (InetSocketAddress) server.localAddress();
        assertThat(bound.getAddress()).isInstanceOf(Inet6Address.class);
        assertThat(bound.getAddress().isAnyLocalAddress()).isTrue();
        TasSocketChannel v6 = (TasSocketChannel) echo(new InetSocketAddress("::1", bound.getPort()), 8192);
        assertThat(v6.path()).isEqualTo(TasPath.KERNEL);
        v6.close().sync();
        // The same listener serves IPv4 through the engine.
        TasSocketChannel v4 = (TasSocketChannel) echo(new InetSocketAddress("127.0.0.1", bound.getPort()), 8192);
        assertThat(v4.path()).isEqualTo(TasPath.ENGINE);
        v4.close().sync();
        server.close().sync();

        Channel v6only = echoServer().bind(new InetSocketAddress("::1", 0)).sync().channel();
        assertThat(((InetSocketAddress) v6only.localAddress()).getAddress().getHostAddress()).isEqualTo("0:0:0:0:0:0:0:1");
        echo((InetSocketAddress) v6only.localAddress(), 100).close().sync();
        v6only.close().sync();
    }

    @Test
    void aPortAKernelSocketHoldsIsRefusedWithBindException() throws Exception {
        try (ServerSocket kernel = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            ChannelFuture f = echoServer().bind(new InetSocketAddress("127.0.0.1", kernel.getLocalPort())).await();
            assertThat(f.cause()).isInstanceOf(BindException.class);
            ChannelFuture any = echoServer().bind(new InetSocketAddress("0.0.0.0", kernel.getLocalPort())).await();
            assertThat(any.cause()).isInstanceOf(BindException.class);
        }
    }

    @Test
    void listenersAreKeyedByAddressAndPort() throws Exception {
        Channel loop = echoServer().bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        int port = ((InetSocketAddress) loop.localAddress()).getPort();
        // Another address, same port: allowed (as Linux), and reachable.
        Channel own = echoServer().bind(new InetSocketAddress("10.0.0.1", port)).sync().channel();
        TasSocketChannel ch = (TasSocketChannel) echo(new InetSocketAddress("10.0.0.1", port), 1000);
        assertThat(ch.path()).isEqualTo(TasPath.ENGINE);
        ch.close().sync();
        // The wildcard conflicts with both.
        ChannelFuture wild = echoServer().bind(new InetSocketAddress("0.0.0.0", port)).await();
        assertThat(wild.cause()).isInstanceOf(BindException.class);
        own.close().sync();
        loop.close().sync();
    }

    @Test
    void withTheKernelPathOffAKernelOnlyDestinationIsRefusedNamingTheOption() throws Exception {
        TasEngine strict = TasTestEngine.start(TasConfig.builder().ipAddr("10.0.9.1/24").noKernelPath(true));
        TasEventLoopGroup group = new TasEventLoopGroup(1, strict);
        try (KernelEchoServer kernel = new KernelEchoServer()) {
            ChannelFuture f = new Bootstrap().group(group).channel(TasSocketChannel.class)
                .handler(new ChannelInboundHandlerAdapter()).connect(kernel.address()).await();
            assertThat(f.cause()).isInstanceOf(ConnectException.class).hasMessageContaining("no-kernel-path");
            ChannelFuture b = new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
                .childHandler(new ChannelInboundHandlerAdapter()).bind(new InetSocketAddress("::1", 0)).await();
            assertThat(b.cause()).isInstanceOf(BindException.class).hasMessageContaining("no-kernel-path");
            // Engine only: port 0 reports the port the engine chose, and the engine serves it.
            Channel server = new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
                .childHandler(new Echo()).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            InetSocketAddress bound = (InetSocketAddress) server.localAddress();
            assertThat(bound.getPort()).isPositive();
            Collector c = new Collector(5);
            Channel ch = new Bootstrap().group(group).channel(TasSocketChannel.class).handler(c).connect(bound).sync().channel();
            ch.writeAndFlush(Unpooled.wrappedBuffer(new byte[]{1, 2, 3, 4, 5}));
            assertThat(c.done.get(10, TimeUnit.SECONDS)).containsExactly(1, 2, 3, 4, 5);
            assertThat(((TasSocketChannel) ch).path()).isEqualTo(TasPath.ENGINE);
            ch.close().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            strict.close();
        }
    }

    @Test
    void inputIsShutdownOnceThePeersFinClosedTheChannel() throws Exception {
        Channel server = echoServer().bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        Channel other = new ServerBootstrap().group(boss, workers).channel(TasServerSocketChannel.class)
            .childHandler(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelActive(ChannelHandlerContext ctx) {
                    accepted.complete(ctx.channel());
                }
            }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        Channel client = client(new Collector(1)).connect(other.localAddress()).sync().channel();
        Channel peer = accepted.get(10, TimeUnit.SECONDS);
        peer.close().sync(); // FIN; the client has no ALLOW_HALF_CLOSURE, so it closes
        assertThat(client.closeFuture().await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(((TasSocketChannel) client).isInputShutdown()).isTrue();
        other.close().sync();
        server.close().sync();
    }

    @Test
    void nettysOwnNioChannelsRunOnTasLoops() throws Exception {
        Channel server = echoServer().bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        byte[] data = random(100_000, 7);
        Collector c = new Collector(data.length);
        Channel nio = new Bootstrap().group(workers).channel(NioSocketChannel.class).handler(c)
            .connect(server.localAddress()).sync().channel();
        nio.writeAndFlush(Unpooled.wrappedBuffer(data));
        assertThat(c.done.get(30, TimeUnit.SECONDS)).isEqualTo(data);
        nio.close().sync();
        server.close().sync();
    }

    @Test
    void aLoopWithKernelSocketsBlocksWhenIdle() throws Exception {
        Channel server = echoServer().bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        TasIoHandler bossLoop = boss.ioHandlers().get(0);
        assertThat(bossLoop.kernelRegistrations()).isEqualTo(1);
        long before = bossLoop.stats().blocks();
        Thread.sleep(300);
        long blocks = bossLoop.stats().blocks() - before;
        // Idle: each block lasts until the next scheduled task or a wake-up, not a spin.
        assertThat(blocks).isLessThan(100);
        // ...and an engine event still wakes it out of the selector at once.
        TasSocketChannel ch = (TasSocketChannel) echo((InetSocketAddress) server.localAddress(), 10);
        assertThat(ch.path()).isEqualTo(TasPath.ENGINE);
        ch.close().sync();
        server.close().sync();
        assertThat(eventually(5000, () -> bossLoop.kernelRegistrations() == 0)).isTrue();
    }

    @Test
    void childOptionsApplyToKernelAcceptedConnections() throws Exception {
        CompletableFuture<TasSocketChannel> child = new CompletableFuture<>();
        Channel server = echoServer().childOption(ChannelOption.SO_KEEPALIVE, true)
            .childOption(ChannelOption.SO_SNDBUF, 256 * 1024)
            .handler(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ctx.fireChannelRead(msg);
                    child.complete((TasSocketChannel) msg); // after the acceptor applied the child options
                }
            })
            .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        try (Socket s = new Socket("127.0.0.1", ((InetSocketAddress) server.localAddress()).getPort())) {
            TasSocketChannel ch = child.get(10, TimeUnit.SECONDS);
            assertThat(ch.path()).isEqualTo(TasPath.KERNEL);
            assertThat(ch.config().isKeepAlive()).isTrue();
            assertThat(ch.config().getSendBufferSize()).isGreaterThanOrEqualTo(256 * 1024);
            assertThat(ch.remoteAddress().getPort()).isEqualTo(s.getLocalPort());
        }
        server.close().sync();
    }

    @Test
    void aKernelConnectToAClosedPortFailsWithConnectionRefused() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        ChannelFuture f = client(new Collector(1)).connect(new InetSocketAddress("127.0.0.1", port)).await();
        assertThat(f.cause()).isInstanceOf(ConnectException.class);
        assertThat(f.channel().closeFuture().await(5, TimeUnit.SECONDS)).isTrue();
        assertThatThrownBy(() -> f.channel().writeAndFlush(Unpooled.EMPTY_BUFFER).sync()).isNotNull();
    }
}
