package io.tasnetty.transport;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.service.TasService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The transport on an engine attached to a service (service mode), against a peer engine on the same wire. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TasAttachedModeTest {
    private static Path serviceDir(String name) throws java.io.IOException {
        Path shm = Path.of("/dev/shm");
        return Files.createTempDirectory(Files.isDirectory(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir")), name);
    }

    private static TasService startService(Path dir) {
        return TasService.start(TasConfig.builder().args("--ip-addr=10.0.78.1/24", "--port=wire",
            "--service=" + dir, "--service-app-len=64m", "--quiet").build());
    }

    /** An echo server on {@code group} at 10.0.78.1:{@code port}. */
    private static ChannelFuture echoServer(TasEventLoopGroup group, int port) {
        return new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
            .childHandler(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ctx.writeAndFlush(msg);
                }
            }).bind(new InetSocketAddress("10.0.78.1", port));
    }

    /** Sends {@code size} seeded bytes from {@code group} to the echo server and checks what comes back. */
    private static void echo(TasEventLoopGroup group, int port, int size, long seed) throws Exception {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        echoThrough(group, new InetSocketAddress("10.0.78.1", port), data).close().sync();
    }

    /**
     * Connects from {@code group} to the echo server at {@code remote}, sends {@code data} and
     * checks that the same bytes come back; returns the channel, still open.
     */
    private static TasSocketChannel echoThrough(TasEventLoopGroup group, InetSocketAddress remote, byte[] data) throws Exception {
        ByteBuf received = Unpooled.buffer(data.length);
        CompletableFuture<Void> done = new CompletableFuture<>();
        TasSocketChannel client = (TasSocketChannel) new Bootstrap().group(group).channel(TasSocketChannel.class)
            .handler(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ByteBuf b = (ByteBuf) msg;
                    received.writeBytes(b);
                    b.release();
                    if (received.readableBytes() == data.length) {
                        done.complete(null);
                    }
                }
            }).connect(remote).sync().channel();
        client.writeAndFlush(Unpooled.wrappedBuffer(data));
        done.get(60, TimeUnit.SECONDS);
        assertThat(received.array()).isEqualTo(data);
        return client;
    }

    /** Stops the groups, the engines and the service, and deletes the service's directory. */
    private static void tearDown(TasEventLoopGroup serverGroup, TasEventLoopGroup clientGroup, TasEngine attached,
                                 TasService service, TasEngine peer, Path dir) throws Exception {
        serverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        attached.close();
        service.close();
        peer.close();
        deleteTree(dir);
    }

    private static void deleteTree(Path dir) throws java.io.IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static double meter(SimpleMeterRegistry r, String name) {
        var m = r.get(name).meter();
        return m.measure().iterator().next().getValue();
    }

    @Test
    void shouldServeAgainOnTheSameGroupOnceARestartedServiceIsBackAndShowItsFiguresInMicrometer() throws Exception {
        Path dir = serviceDir("tas-reattach");
        TasService service = startService(dir);
        TasEngine peer = TasTestEngine.start(TasConfig.builder().set("ip-addr", "10.0.78.2/24").set("port", "wire"));
        TasEngine attached = TasEngine.attach(dir);
        TasEventLoopGroup serverGroup = new TasEventLoopGroup(2, attached);
        TasEventLoopGroup clientGroup = new TasEventLoopGroup(1, peer);
        try {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            new TasMeterBinder(serverGroup).bindTo(registry);
            Channel server = echoServer(serverGroup, 9100).sync().channel();
            echo(clientGroup, 9100, 256 << 10, 1);
            // This application's figures in the service, read from its region.
            assertThat(TasTestEngine.eventually(10_000, () -> meter(registry, "tas.service.connections") == 1)).isTrue();
            assertThat(meter(registry, "tas.service.sockets")).isGreaterThanOrEqualTo(1);
            assertThat(meter(registry, "tas.service.sockets.limit")).isEqualTo(65536);
            assertThat(meter(registry, "tas.service.ring.bytes.limit")).isEqualTo(64 << 20);
            assertThat(meter(registry, "tas.service.commands")).isPositive();
            assertThat(meter(registry, "tas.service.events")).isPositive();
            assertThat(meter(registry, "tas.service.alive")).isEqualTo(1);
            assertThat(meter(registry, "tas.service.attaches")).isEqualTo(1);

            service.close();
            server.closeFuture().await(30, TimeUnit.SECONDS);
            assertThat(server.isOpen()).isFalse();
            assertThat(TasTestEngine.eventually(10_000, () -> meter(registry, "tas.service.alive") == 0)).isTrue();
            // While it is away: a bind fails at once and says why.
            ChannelFuture down = echoServer(serverGroup, 9100).await();
            assertThat(down.isSuccess()).isFalse();
            assertThat(down.cause()).hasMessageContaining("has not come back");

            service = startService(dir);
            // The same group, its loops and their contexts: the next bind attaches anew.
            server = echoServer(serverGroup, 9100).sync().channel();
            echo(clientGroup, 9100, 256 << 10, 2);
            assertThat(meter(registry, "tas.service.alive")).isEqualTo(1);
            assertThat(meter(registry, "tas.service.attaches")).isEqualTo(2);
            assertThat(TasTestEngine.eventually(10_000, () -> meter(registry, "tas.service.connections") == 2))
                .as("counted over both sessions").isTrue();
            server.close().sync();
        } finally {
            tearDown(serverGroup, clientGroup, attached, service, peer, dir);
        }
    }

    /**
     * Two applications attached to one service, a server on 127.0.0.1 in one and a client in the
     * other: the client's connect to 127.0.0.1 goes through the service's in-engine loopback (the
     * service is asked who listens there), every byte comes back; a 127.0.0.1 port that only a
     * kernel socket listens on still goes to the kernel.
     */
    @Test
    void shouldConnectAcrossApplicationsOfAServiceThroughItsLoopbackAnd127ToTheKernelOtherwise() throws Exception {
        Path dir = serviceDir("tas-svc-lo");
        TasService service = startService(dir);
        TasEngine serverApp = TasEngine.attach(dir);
        TasEngine clientApp = TasEngine.attach(dir);
        TasEventLoopGroup serverGroup = new TasEventLoopGroup(1, serverApp);
        TasEventLoopGroup clientGroup = new TasEventLoopGroup(1, clientApp);
        try (java.net.ServerSocket kernelOnly = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Channel server = new ServerBootstrap().group(serverGroup).channel(TasServerSocketChannel.class)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ctx.writeAndFlush(msg);
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            int port = ((InetSocketAddress) server.localAddress()).getPort();

            byte[] data = new byte[1 << 20];
            new Random(7).nextBytes(data);
            TasSocketChannel client = echoThrough(clientGroup, new InetSocketAddress("127.0.0.1", port), data);
            assertThat(client.path()).as("a port the service's applications listen on").isEqualTo(TasPath.ENGINE);
            client.close().sync();

            TasSocketChannel toKernel = (TasSocketChannel) new Bootstrap().group(clientGroup).channel(TasSocketChannel.class)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(new InetSocketAddress("127.0.0.1", kernelOnly.getLocalPort())).sync().channel();
            assertThat(toKernel.path()).as("a port only a kernel socket listens on").isEqualTo(TasPath.KERNEL);
            toKernel.close().sync();
            server.close().sync();
        } finally {
            serverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            serverApp.close();
            clientApp.close();
            service.close();
            deleteTree(dir);
        }
    }

    @Test
    void shouldEchoThroughANettyServerAttachedToAServiceAndCloseItsChannelsWhenTheServiceStops() throws Exception {
        Path shm = Path.of("/dev/shm");
        Path dir = Files.createTempDirectory(Files.isDirectory(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir")), "tas-attached");
        TasService service = TasService.start(TasConfig.builder().args("--ip-addr=10.0.77.1/24", "--port=wire",
            "--service=" + dir, "--service-app-len=64m", "--quiet").build());
        TasEngine peer = TasTestEngine.start(TasConfig.builder().set("ip-addr", "10.0.77.2/24").set("port", "wire"));
        TasEngine attached = TasEngine.attach(dir);
        TasEventLoopGroup serverGroup = new TasEventLoopGroup(2, attached);
        TasEventLoopGroup clientGroup = new TasEventLoopGroup(1, peer);
        try {
            assertThat(attached.isAttached()).isTrue();
            CompletableFuture<Channel> child = new CompletableFuture<>();
            Channel server = new ServerBootstrap().group(serverGroup).channel(TasServerSocketChannel.class)
                .childHandler(new ChannelInitializer<TasSocketChannel>() {
                    @Override
                    protected void initChannel(TasSocketChannel ch) {
                        child.complete(ch);
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ctx.writeAndFlush(msg);
                            }
                        });
                    }
                }).bind(new InetSocketAddress("10.0.77.1", 9000)).sync().channel();

            // A second bind of the port through the same service: refused like a kernel socket's.
            assertThatThrownBy(() -> new ServerBootstrap().group(serverGroup).channel(TasServerSocketChannel.class)
                .childHandler(new ChannelInboundHandlerAdapter()).bind(new InetSocketAddress("10.0.77.1", 9000)).sync())
                .isInstanceOf(BindException.class);

            byte[] data = new byte[4 << 20];
            new Random(5).nextBytes(data);
            Channel client = echoThrough(clientGroup, new InetSocketAddress("10.0.77.1", 9000), data);

            Channel served = child.get(10, TimeUnit.SECONDS);
            service.close();
            // Closed, not hung: the attached side learns it from the control socket's end.
            served.closeFuture().await(30, TimeUnit.SECONDS);
            assertThat(served.isOpen()).isFalse();
            server.closeFuture().await(30, TimeUnit.SECONDS);
            assertThat(server.isOpen()).isFalse();
            client.close().sync();
        } finally {
            tearDown(serverGroup, clientGroup, attached, service, peer, dir);
        }
    }
}
