package io.tasnetty.it.linux;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasPath;
import io.tasnetty.transport.TasServerSocketChannel;
import io.tasnetty.transport.TasSocketChannel;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The two paths behind one channel class on a real port: with the engine on a DPDK port (or the
 * pure-Java TAP port) facing a Linux peer in a namespace, a TAS client reaches the peer through
 * the engine, and a kernel service on this host's 127.0.0.1 through the kernel; a TAS server bound
 * to the wildcard takes the peer's connection through the engine and a local kernel client's
 * through its kernel listener. Every exchange is byte-exact.
 */
class KernelPathOnPortsLinuxInteropTest {
    private static final int PEER_ECHO_PORT = 7031;
    private static final int TAS_PORT = 7032;

    @BeforeAll
    static void requirements() {
        ItDpdk.requireRootNetworking();
        ItDpdk.requireTools("socat");
    }

    @ChannelHandler.Sharable
    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }
    }

    /** Collects bytes until {@code expected} arrived. */
    private static final class Collector extends SimpleChannelInboundHandler<ByteBuf> {
        final ByteBuf received = Unpooled.buffer();
        final CompletableFuture<byte[]> done = new CompletableFuture<>();
        final int expected;

        Collector(int expected) {
            this.expected = expected;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
            received.writeBytes(msg);
            if (received.readableBytes() >= expected) {
                byte[] b = new byte[received.readableBytes()];
                received.readBytes(b);
                done.complete(b);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            done.completeExceptionally(cause);
        }
    }

    /** Echoes {@code size} random bytes through a TAS client to {@code target}; returns the path it took. */
    private static TasPath echo(EventLoopGroup group, InetSocketAddress target, int size) throws Exception {
        byte[] data = new byte[size];
        new Random(size).nextBytes(data);
        Collector c = new Collector(size);
        TasSocketChannel ch = (TasSocketChannel) new Bootstrap().group(group).channel(TasSocketChannel.class)
                .handler(c).connect(target).sync().channel();
        try {
            ch.writeAndFlush(Unpooled.wrappedBuffer(data));
            assertThat(c.done.get(30, TimeUnit.SECONDS)).as("echo from " + target).isEqualTo(data);
            return ch.path();
        } finally {
            ch.close().sync();
        }
    }

    @ParameterizedTest
    @EnumSource(value = LinuxLink.Kind.class, names = {"AF_PACKET", "NET_TAP", "JAVA_TAP"})
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void engineForThePeerKernelForTheHostsOwnServices(LinuxLink.Kind kind) throws Exception {
        try (LinuxLink link = LinuxLink.open(kind, "kp", false, false);
             Files256 scratch = new Files256()) {
            TasEngine engine = TasEngine.builder().config(TasConfig.builder()
                    .set("ip-addr", PeerNet.ENGINE_IP + "/24").set("tcp-time-wait", "0").build())
                    .port(link.takePort()).build();
            EventLoopGroup group = new TasEventLoopGroup(2, new DefaultThreadFactory("tas-kp", true), engine);
            try (Sh.Background peerEcho = Sh.start(scratch.path("socat-echo.log"), Sh.nsCommand(link.net.ns,
                    "socat", "TCP4-LISTEN:" + PEER_ECHO_PORT + ",reuseaddr,fork", "EXEC:cat"));
                 ServerSocket hostService = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
                Thread.ofPlatform().daemon().start(() -> serveEcho(hostService));

                // The Linux peer behind the port: through the engine (retry while socat starts).
                TasPath toPeer = null;
                for (int attempt = 0; toPeer == null; attempt++) {
                    try {
                        toPeer = echo(group, new InetSocketAddress(PeerNet.LINUX_IP, PEER_ECHO_PORT), 200_000);
                    } catch (Exception e) {
                        if (attempt > 50 || !peerEcho.process().isAlive()) {
                            throw e;
                        }
                        Thread.sleep(100);
                    }
                }
                assertThat(toPeer).isEqualTo(TasPath.ENGINE);

                // A service of this host's kernel on 127.0.0.1: through the kernel.
                assertThat(echo(group, (InetSocketAddress) hostService.getLocalSocketAddress(), 200_000))
                        .isEqualTo(TasPath.KERNEL);

                // A TAS server on the wildcard: the peer reaches it through the engine...
                Channel server = new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
                        .childHandler(new Echo()).bind(new InetSocketAddress("0.0.0.0", TAS_PORT)).sync().channel();
                try {
                    String fromPeer = Sh.run(false, 30, Sh.nsCommand(link.net.ns, "sh", "-c",
                            "printf 'hello from the peer' | socat -t 5 - TCP4:" + PeerNet.ENGINE_IP + ":" + TAS_PORT));
                    assertThat(fromPeer).isEqualTo("hello from the peer");
                    // ...and a client of this host's kernel through the kernel listener.
                    try (Socket s = new Socket("127.0.0.1", TAS_PORT)) {
                        byte[] hello = "hello from this host".getBytes(StandardCharsets.US_ASCII);
                        s.getOutputStream().write(hello);
                        assertThat(s.getInputStream().readNBytes(hello.length)).isEqualTo(hello);
                    }
                } finally {
                    server.close().sync();
                }
                long engineConns = ((TasEventLoopGroup) group).ioHandlers().stream()
                        .mapToLong(h -> h.stats().engineConnections()).sum();
                long kernelConns = ((TasEventLoopGroup) group).ioHandlers().stream()
                        .mapToLong(h -> h.stats().kernelConnections()).sum();
                // Client to the peer + the peer's connection in; client to the host service + the host's connection in.
                assertThat(engineConns).isGreaterThanOrEqualTo(2);
                assertThat(kernelConns).isEqualTo(2);
            } finally {
                group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
                engine.close();
            }
        }
    }

    private static void serveEcho(ServerSocket ss) {
        while (!ss.isClosed()) {
            try (Socket s = ss.accept(); InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                in.transferTo(out);
            } catch (Exception e) {
                // closed, or the client left: take the next one
            }
        }
    }
}
