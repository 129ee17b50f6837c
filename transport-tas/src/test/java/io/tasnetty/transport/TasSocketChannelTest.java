package io.tasnetty.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.stats.TasCounter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static io.tasnetty.transport.TasTestEngine.eventually;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
class TasSocketChannelTest {
    private static final InetSocketAddress LOCALHOST_ANY_PORT = new InetSocketAddress("127.0.0.1", 0);

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
            assertThat(eventually(5000, () -> engine.flowCount() == 0 && engine.ringBytesInUse() == 0 && engine.flowRecordsInUse() == 0))
                .as("flows %d, ring bytes %d", engine.flowCount(), engine.ringBytesInUse()).isTrue();
        } finally {
            engine.close();
        }
    }

    private ServerBootstrap server() {
        return new ServerBootstrap().group(boss, workers).channel(TasServerSocketChannel.class);
    }

    private Bootstrap client() {
        return new Bootstrap().group(workers).channel(TasSocketChannel.class);
    }

    private Channel echoServer() throws InterruptedException {
        return server().childHandler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ctx.write(msg);
            }

            @Override
            public void channelReadComplete(ChannelHandlerContext ctx) {
                ctx.flush();
            }
        }).bind(LOCALHOST_ANY_PORT).sync().channel();
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void echoesEveryByteInOrderThroughTheEngineLoopback() throws Exception {
        Channel server = echoServer();
        byte[] data = random(3 << 20, 1);
        Collector collector = new Collector(data.length);
        Channel client = client().handler(collector).connect(server.localAddress()).sync().channel();
        // Heap, direct and composite buffers, written in pieces and gathered per flush.
        int off = 0;
        while (off < data.length) {
            int n = Math.min(data.length - off, 70_000);
            CompositeByteBuf composite = Unpooled.compositeBuffer();
            composite.addComponent(true, Unpooled.wrappedBuffer(data, off, n / 2));
            composite.addComponent(true, Unpooled.directBuffer(n - n / 2).writeBytes(data, off + n / 2, n - n / 2));
            client.write(composite);
            off += n;
        }
        client.flush();
        assertThat(collector.done.get(30, TimeUnit.SECONDS)).isEqualTo(data);
        client.close().sync();
        server.close().sync();
    }

    @Test
    void bindToPortZeroReportsTheRealPortAndAPortInUseIsRefused() throws Exception {
        Channel server = echoServer();
        InetSocketAddress bound = (InetSocketAddress) server.localAddress();
        assertThat(bound.getPort()).isPositive();
        assertThat(bound.getAddress().getHostAddress()).isEqualTo("127.0.0.1");
        assertThat(server.isActive()).isTrue();

        ChannelFuture second = server().childHandler(new ChannelInboundHandlerAdapter()).bind(bound).await();
        assertThat(second.cause()).isInstanceOf(BindException.class);
        server.close().sync();
    }

    @Test
    void connectToAPortNobodyListensOnFailsWithConnectException() throws Exception {
        Channel server = echoServer();
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        server.close().sync();
        ChannelFuture f = client().handler(new ChannelInboundHandlerAdapter())
            .connect(new InetSocketAddress("127.0.0.1", port)).await();
        assertThat(f.cause()).isInstanceOf(ConnectException.class).hasMessageContaining("refused");
        assertThat(f.channel().closeFuture().await(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void connectTimeoutMillisFailsAConnectNobodyAnswers() throws Exception {
        // 10.0.0.77 is in the engine's subnet and nobody answers its ARP requests.
        long t0 = System.nanoTime();
        ChannelFuture f = client().handler(new ChannelInboundHandlerAdapter())
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 300)
            .connect(new InetSocketAddress("10.0.0.77", 9)).await();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(f.cause()).isInstanceOf(ConnectTimeoutException.class);
        assertThat(ms).isBetween(250L, 5_000L);
        assertThat(f.channel().closeFuture().await(5, TimeUnit.SECONDS)).isTrue();
        // The engine keeps the attempt until ARP gives up (arp-timeout 100 ms, 2 retries: 0.7 s).
    }

    @Test
    void acceptedConnectionsAreServedOnTheWorkerLoops() throws Exception {
        CompletableFuture<EventLoop> childLoop = new CompletableFuture<>();
        Channel server = server().childHandler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                TasSocketChannel ch = (TasSocketChannel) ctx.channel();
                // The engine delivers the connection's events to the child's own loop context.
                assertThat(ch.connection().context()).isSameAs(ch.registration.context());
                childLoop.complete(ctx.channel().eventLoop());
            }
        }).bind(LOCALHOST_ANY_PORT).sync().channel();
        Channel client = client().handler(new ChannelInboundHandlerAdapter()).connect(server.localAddress()).sync()
            .channel();
        EventLoop loop = childLoop.get(10, TimeUnit.SECONDS);
        assertThat(workers).contains(loop);
        assertThat(boss).doesNotContain(loop);
        // The boss loop's context owns only the listener: closing it (boss groups usually shut
        // down first) must not touch connections the workers serve.
        assertThat(boss.ioHandlers().get(0).context().socketCount()).isEqualTo(1);
        client.close().sync();
        server.close().sync();
    }

    @Test
    void autoReadOffLeavesBytesInTheRingAndStallsTheWriterUntilReadIsCalled() throws Exception {
        AtomicReference<Channel> child = new AtomicReference<>();
        CountDownLatch accepted = new CountDownLatch(1);
        Collector collector = new Collector(1 << 20);
        Channel server = server()
            .option(ChannelOption.SO_RCVBUF, 32 * 1024)
            .childOption(ChannelOption.AUTO_READ, false)
            .childHandler(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelActive(ChannelHandlerContext ctx) {
                    child.set(ctx.channel());
                    accepted.countDown();
                }

                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
                    collector.channelRead(ctx, msg);
                }

                @Override
                public void channelReadComplete(ChannelHandlerContext ctx) {
                    ctx.read();
                }
            }).bind(LOCALHOST_ANY_PORT).sync().channel();
        Channel client = client().option(ChannelOption.SO_SNDBUF, 32 * 1024)
            .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 64 * 1024))
            .handler(new ChannelInboundHandlerAdapter()).connect(server.localAddress()).sync().channel();
        accepted.await();
        client.writeAndFlush(Unpooled.wrappedBuffer(random(1 << 20, 2)));
        // Nobody reads: the receive ring (32 KiB) fills, the window closes, the client's transmit
        // ring fills, and the rest stays in the client's outbound buffer above the high water mark.
        TasSocketChannel c = (TasSocketChannel) child.get();
        assertThat(eventually(5000, () -> c.connection().readableBytes() == 32 * 1024)).isTrue();
        assertThat(eventually(5000, () -> !client.isWritable())).isTrue();
        Thread.sleep(200);
        assertThat(c.connection().readableBytes()).isEqualTo(32 * 1024);
        assertThat(collector.received.readableBytes()).isZero();

        c.read();
        assertThat(collector.done.get(30, TimeUnit.SECONDS)).isEqualTo(random(1 << 20, 2));
        assertThat(eventually(5000, client::isWritable)).isTrue();
        assertThat(c.config().getReceiveBufferSize()).isEqualTo(32 * 1024);
        assertThat(((SocketChannel) client).config().getSendBufferSize()).isEqualTo(32 * 1024);
        client.close().sync();
        server.close().sync();
    }

    @Test
    void halfClosedConnectionStillCarriesTheOtherDirection() throws Exception {
        CompletableFuture<Object> inputShutdown = new CompletableFuture<>();
        Channel server = server().childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .childHandler(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ((ByteBuf) msg).release();
                }

                @Override
                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                    if (evt == ChannelInputShutdownEvent.INSTANCE) {
                        inputShutdown.complete(evt);
                        // The client's FIN closed only its direction: answer on ours, then close.
                        ctx.writeAndFlush(Unpooled.copiedBuffer(new byte[]{1, 2, 3}))
                            .addListener(f -> ctx.close());
                    }
                }
            }).bind(LOCALHOST_ANY_PORT).sync().channel();
        Collector collector = new Collector(3);
        SocketChannel client = (SocketChannel) client().option(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .handler(collector).connect(server.localAddress()).sync().channel();
        client.writeAndFlush(Unpooled.copiedBuffer(new byte[]{9})).sync();
        client.shutdownOutput().sync();
        assertThat(client.isOutputShutdown()).isTrue();
        // (The client's input may already be shut down here: the server answers and closes at once.)
        assertThat(inputShutdown.get(10, TimeUnit.SECONDS)).isSameAs(ChannelInputShutdownEvent.INSTANCE);
        assertThat(collector.done.get(10, TimeUnit.SECONDS)).containsExactly(1, 2, 3);
        assertThat(eventually(5000, client::isInputShutdown)).isTrue();
        client.close().sync();
        server.close().sync();
    }

    @Test
    void soLingerZeroClosesWithResetAndThePeerSeesConnectionReset() throws Exception {
        Channel server = server().childOption(ChannelOption.SO_LINGER, 0)
            .childHandler(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelActive(ChannelHandlerContext ctx) {
                    ctx.close();
                }
            }).bind(LOCALHOST_ANY_PORT).sync().channel();
        long resetsBefore = engine.counter(TasCounter.CONN_RESETS_RECEIVED);
        CompletableFuture<Throwable> error = new CompletableFuture<>();
        Channel client = client().handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                error.complete(cause);
            }
        }).connect(server.localAddress()).sync().channel();
        assertThat(error.get(10, TimeUnit.SECONDS)).isInstanceOf(IOException.class).hasMessageContaining("reset");
        assertThat(client.closeFuture().await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(engine.counter(TasCounter.CONN_RESETS_RECEIVED)).isGreaterThan(resetsBefore);
        server.close().sync();
    }

    @Test
    void fileRegionIsCopiedIntoTheTransmitRing(@TempDir Path dir) throws Exception {
        byte[] data = random(2 << 20, 3);
        Path file = dir.resolve("data.bin");
        Files.write(file, data);
        Channel server = server().childHandler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                ctx.writeAndFlush(new DefaultFileRegion(file.toFile(), 0, data.length));
            }
        }).bind(LOCALHOST_ANY_PORT).sync().channel();
        Collector collector = new Collector(data.length);
        Channel client = client().handler(collector).connect(server.localAddress()).sync().channel();
        assertThat(collector.done.get(30, TimeUnit.SECONDS)).isEqualTo(data);
        client.close().sync();
        server.close().sync();
    }

    @Test
    void optionsAreAcceptedAndReported() throws Exception {
        Channel server = echoServer();
        SocketChannel client = (SocketChannel) client().handler(new ChannelInboundHandlerAdapter())
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.SO_KEEPALIVE, true)
            .option(ChannelOption.SO_REUSEADDR, true)
            .option(ChannelOption.SO_RCVBUF, 20_000)
            .connect(server.localAddress()).sync().channel();
        assertThat(client.config().isTcpNoDelay()).isTrue();
        assertThat(client.config().isKeepAlive()).isTrue();
        assertThat(client.config().isReuseAddress()).isTrue();
        assertThat(client.config().getReceiveBufferSize()).isEqualTo(32 * 1024); // rounded up to a power of two
        assertThat(client.localAddress().getPort()).isPositive();
        assertThat(client.remoteAddress()).isEqualTo(server.localAddress());
        assertThatThrownBy(() -> client.connect(server.localAddress()).sync())
            .isInstanceOf(java.nio.channels.AlreadyConnectedException.class);
        client.close().sync();
        server.close().sync();
    }
}
