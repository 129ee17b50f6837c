package io.tasnetty.it.kernel;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.tasnetty.transport.Tas;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasPath;
import io.tasnetty.transport.TasServerSocketChannel;
import io.tasnetty.transport.TasSocketChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A TAS application on the embedded default engine (no DPDK, no root) next to the kernel's own
 * services, as a new user meets it: a TAS client reaches a kernel HTTP server
 * ({@code python3 -m http.server}) on 127.0.0.1, {@code curl} reaches a TAS server bound to
 * 127.0.0.1 and to 0.0.0.0, and a TAS client reaches a TAS server through every spelling of "this
 * host" ({@code 0.0.0.0}, {@code ::1}, {@code localhost}). Runs without
 * {@code java.net.preferIPv4Stack} (its own surefire execution, see it/pom.xml) so {@code ::1} is
 * usable.
 */
@Timeout(120)
class EmbeddedKernelInteropTest {
    private static final byte[] BODY = "served by netty on TAS\n".getBytes(StandardCharsets.US_ASCII);
    private static TasEventLoopGroup group;

    @BeforeAll
    static void start() {
        Tas.ensureAvailability();
        group = new TasEventLoopGroup(2); // the process-wide default engine: the embedded in-JVM wire
    }

    @AfterAll
    static void stop() throws Exception {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @ChannelHandler.Sharable
    private static final class Hello extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(BODY));
            res.headers().set(HttpHeaderNames.CONTENT_LENGTH, BODY.length)
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        }
    }

    private static Channel httpServer(String bind) throws InterruptedException {
        return new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
            .childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 16), new Hello());
                }
            }).bind(new InetSocketAddress(bind, 0)).sync().channel();
    }

    /** One GET with a TAS client; returns the response (status + body) and which path the connection took. */
    private static Response get(InetSocketAddress target, String uri) throws Exception {
        CompletableFuture<FullHttpResponse> answer = new CompletableFuture<>();
        Channel ch = new Bootstrap().group(group).channel(TasSocketChannel.class)
            .handler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel c) {
                    c.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(1 << 20),
                        new SimpleChannelInboundHandler<FullHttpResponse>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
                                answer.complete(res.retainedDuplicate());
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                answer.completeExceptionally(cause);
                            }
                        });
                }
            }).connect(target).sync().channel();
        TasPath path = ((TasSocketChannel) ch).path();
        DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri);
        req.headers().set(HttpHeaderNames.HOST, target.getHostString());
        ch.writeAndFlush(req);
        FullHttpResponse res = answer.get(30, TimeUnit.SECONDS);
        try {
            return new Response(res.status().code(), res.content().toString(StandardCharsets.UTF_8), path);
        } finally {
            res.release();
            ch.close().sync();
        }
    }

    private record Response(int status, String body, TasPath path) {
    }

    @Test
    void aTasClientReachesPythonsHttpServerOnLoopback(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("hello.txt"), "from the kernel's side\n");
        Process python = new ProcessBuilder("/usr/bin/python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1")
            .directory(dir.toFile()).redirectErrorStream(true).start();
        try {
            int port = portOf(python);
            Response r = get(new InetSocketAddress("127.0.0.1", port), "/hello.txt");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("from the kernel's side\n");
            assertThat(r.path()).isEqualTo(TasPath.KERNEL);
        } finally {
            python.destroy();
            python.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Reads "Serving HTTP on 127.0.0.1 port N" from python's output. */
    private static int portOf(Process python) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(python.getInputStream(), StandardCharsets.UTF_8));
        Pattern p = Pattern.compile("port (\\d+)");
        CompletableFuture<Integer> port = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            try {
                String line;
                while ((line = out.readLine()) != null) {
                    Matcher m = p.matcher(line);
                    if (m.find()) {
                        port.complete(Integer.parseInt(m.group(1)));
                    }
                }
                port.completeExceptionally(new IllegalStateException("python3 -m http.server ended without a port"));
            } catch (Exception e) {
                port.completeExceptionally(e);
            }
        });
        return port.get(30, TimeUnit.SECONDS);
    }

    @Test
    void curlReachesATasServerOnLoopbackAndOnTheWildcard() throws Exception {
        for (String bind : new String[]{"127.0.0.1", "0.0.0.0"}) {
            Channel server = httpServer(bind);
            try {
                int port = ((InetSocketAddress) server.localAddress()).getPort();
                Process curl = new ProcessBuilder("curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}",
                    "http://127.0.0.1:" + port + "/").redirectErrorStream(true).start();
                String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(curl.waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(out).as("curl against a server bound to %s", bind)
                    .isEqualTo(new String(BODY, StandardCharsets.US_ASCII) + "\n200");
            } finally {
                server.close().sync();
            }
        }
    }

    @Test
    void aTasClientReachesATasServerThroughEverySpellingOfThisHost() throws Exception {
        Channel server = httpServer("::"); // dual stack: IPv4 through the engine, IPv6 through the kernel
        try {
            int port = ((InetSocketAddress) server.localAddress()).getPort();
            assertThat(((InetSocketAddress) server.localAddress()).getAddress().getHostAddress()).isEqualTo("0:0:0:0:0:0:0:0");
            Response any = get(new InetSocketAddress("0.0.0.0", port), "/");
            assertThat(any.status()).isEqualTo(200);
            assertThat(any.path()).isEqualTo(TasPath.ENGINE);
            Response v4 = get(new InetSocketAddress("127.0.0.1", port), "/");
            assertThat(v4.path()).isEqualTo(TasPath.ENGINE);
            Response v6 = get(new InetSocketAddress("::1", port), "/");
            assertThat(v6.status()).isEqualTo(200);
            assertThat(v6.path()).isEqualTo(TasPath.KERNEL);
            Response name = get(new InetSocketAddress("localhost", port), "/");
            assertThat(name.status()).isEqualTo(200);
            assertThat(name.body()).isEqualTo(new String(BODY, StandardCharsets.US_ASCII));
        } finally {
            server.close().sync();
        }
    }
}
