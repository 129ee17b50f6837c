package io.tasnetty.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
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
            ByteBuf received = Unpooled.buffer(data.length);
            CompletableFuture<Void> done = new CompletableFuture<>();
            Channel client = new Bootstrap().group(clientGroup).channel(TasSocketChannel.class)
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
                }).connect(new InetSocketAddress("10.0.77.1", 9000)).sync().channel();
            client.writeAndFlush(Unpooled.wrappedBuffer(data));
            done.get(60, TimeUnit.SECONDS);
            assertThat(received.array()).isEqualTo(data);

            Channel served = child.get(10, TimeUnit.SECONDS);
            service.close();
            // Closed, not hung: the attached side learns it from the control socket's end.
            served.closeFuture().await(30, TimeUnit.SECONDS);
            assertThat(served.isOpen()).isFalse();
            server.closeFuture().await(30, TimeUnit.SECONDS);
            assertThat(server.isOpen()).isFalse();
            client.close().sync();
        } finally {
            serverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            attached.close();
            service.close();
            peer.close();
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
