package io.tasnetty.it.linux;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
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
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.tasnetty.engine.service.TasServiceIntruder;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasServerSocketChannel;
import io.tasnetty.transport.TasSocketChannel;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * An application attached to a TAS service ({@code -Dtas.service=DIR}), for
 * {@link ServiceModeLinuxTest}: started as its own JVM, as an unprivileged user.
 *
 * <ul>
 *   <li>{@code serve PORT BYTES [HTTPPORT NAME]}: every connection to PORT gets {@link #pattern
 *       BYTES of the pattern}, then the server closes it; with HTTPPORT, an HTTP server there
 *       answers every GET with {@code hello from NAME PATH}. Prints {@code serving PORT} once bound.</li>
 *   <li>{@code client HOST HTTPPORT1 HTTPPORT2 N}: an HTTP client on the service: N rounds of a GET
 *       to each port, a new connection each; prints each body and {@code client ok K} with K the
 *       answers that came back whole.</li>
 *   <li>{@code reset-others DIR IDS}: writes aborts and unlistens for socket ids it does not hold
 *       into its own command queue ({@link TasServiceIntruder}); prints {@code refused N of M}.</li>
 *   <li>{@code bind PORT}: tries to bind PORT and prints {@code bound} or the exception's class
 *       and message.</li>
 *   <li>{@code map FILE}: tries to open another application's region file for reading and writing.</li>
 * </ul>
 */
public final class ServiceAppMain {
    private ServiceAppMain() {
    }

    /** The bytes a connection gets: SplittableRandom(seed) ints, one byte each. */
    static void pattern(SplittableRandom r, byte[] into, int n) {
        for (int i = 0; i < n; i++) {
            into[i] = (byte) r.nextInt();
        }
    }

    public static void main(String[] args) throws Exception {
        if (args[0].equals("map")) {
            // Isolation: another user's application tries to map a region that is not its own.
            try (java.nio.channels.FileChannel fc = java.nio.channels.FileChannel.open(java.nio.file.Path.of(args[1]),
                    java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
                System.out.println("mapped " + fc.size());
            } catch (java.io.IOException e) {
                System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            return;
        }
        if (args[0].equals("reset-others")) {
            TasServiceIntruder.main(new String[] {args[1], args[2]});
            return;
        }
        TasEventLoopGroup group = new TasEventLoopGroup(1);
        try {
            if (args[0].equals("client")) {
                httpClient(group, args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]));
                return;
            }
            int port = Integer.parseInt(args[1]);
            if (args[0].equals("bind")) {
                try {
                    Channel ch = new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
                        .childHandler(new ChannelInboundHandlerAdapter()).bind(new InetSocketAddress(port)).sync().channel();
                    System.out.println("bound " + ch.localAddress());
                } catch (Exception e) {
                    // sync() rethrows the channel's cause as it is (a checked BindException included)
                    System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
                }
                return;
            }
            long bytes = Long.parseLong(args[2]);
            if (args.length > 4) {
                String name = args[4];
                new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<TasSocketChannel>() {
                        @Override
                        protected void initChannel(TasSocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 16), new Hello(name));
                        }
                    }).bind(new InetSocketAddress(Integer.parseInt(args[3]))).sync();
            }
            Channel server = new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
                .childHandler(new ChannelInitializer<TasSocketChannel>() {
                    @Override
                    protected void initChannel(TasSocketChannel ch) {
                        ch.pipeline().addLast(new Sender(bytes, port));
                    }
                }).bind(new InetSocketAddress(port)).sync().channel();
            System.out.println("serving " + port + " on " + group.engine());
            System.out.flush();
            server.closeFuture().sync();
        } finally {
            group.shutdownGracefully().sync();
        }
    }

    /** Answers every request with {@code hello from NAME PATH}. */
    private static final class Hello extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final String name;

        Hello(String name) {
            this.name = name;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            byte[] body = ("hello from " + name + " " + req.uri() + "\n").getBytes(StandardCharsets.US_ASCII);
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(body));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain").setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            HttpUtil.setKeepAlive(res, keepAlive);
            if (keepAlive) {
                ctx.writeAndFlush(res);
            } else {
                ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
            }
        }
    }

    /** {@code rounds} GETs to each of two ports on {@code host}, one connection each; prints {@code client ok K}. */
    private static void httpClient(TasEventLoopGroup group, String host, int port1, int port2, int rounds) throws Exception {
        int ok = 0;
        for (int i = 0; i < rounds; i++) {
            for (int port : new int[] {port1, port2}) {
                CompletableFuture<String> body = new CompletableFuture<>();
                Channel ch = new Bootstrap().group(group).channel(TasSocketChannel.class)
                    .handler(new ChannelInitializer<TasSocketChannel>() {
                        @Override
                        protected void initChannel(TasSocketChannel c) {
                            c.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(1 << 16),
                                new SimpleChannelInboundHandler<FullHttpResponse>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
                                        body.complete(res.status().code() + " " + res.content().toString(StandardCharsets.US_ASCII));
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                        body.completeExceptionally(cause);
                                        ctx.close();
                                    }
                                });
                        }
                    }).connect(new InetSocketAddress(host, port)).sync().channel();
                FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/jvm3-" + i);
                req.headers().set(HttpHeaderNames.HOST, host).set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ch.writeAndFlush(req);
                String got = body.get(60, TimeUnit.SECONDS);
                System.out.print(got);
                if (got.startsWith("200 hello from ") && got.endsWith(" /jvm3-" + i + "\n")) {
                    ok++;
                }
                ch.closeFuture().await(10, TimeUnit.SECONDS);
            }
        }
        System.out.println("client ok " + ok);
    }

    /** Writes the pattern while the channel is writable, then closes after the last byte. */
    private static final class Sender extends ChannelInboundHandlerAdapter {
        private final long total;
        private final SplittableRandom r;
        private final byte[] chunk = new byte[64 << 10];
        private long sent;

        Sender(long total, long seed) {
            this.total = total;
            this.r = new SplittableRandom(seed);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            fill(ctx);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            fill(ctx);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ((ByteBuf) msg).release();
        }

        private void fill(ChannelHandlerContext ctx) {
            while (sent < total && ctx.channel().isWritable()) {
                int n = (int) Math.min(chunk.length, total - sent);
                pattern(r, chunk, n);
                sent += n;
                ctx.write(ctx.alloc().buffer(n).writeBytes(chunk, 0, n));
                if (sent == total) {
                    ctx.writeAndFlush(ctx.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
                    return;
                }
            }
            ctx.flush();
        }
    }
}
