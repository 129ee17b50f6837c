package io.tasnetty.it.containers;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.tasnetty.transport.TasSocketChannel;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One HTTP GET on a TAS channel whose answer is digested as it arrives (never held in memory):
 * completes with the status, the body's length and its SHA-256, or exceptionally when the
 * connection fails or closes before the end of the answer.
 */
final class DigestingHttpClient {
    record Result(int status, long length, String sha256) {
    }

    /** Bytes of body received so far, readable while the transfer runs. */
    final AtomicLong received = new AtomicLong();
    final CompletableFuture<Result> result = new CompletableFuture<>();
    private volatile Channel channel;

    /** Starts {@code GET path} to {@code server}; see {@link #result}. */
    static DigestingHttpClient get(EventLoopGroup group, InetSocketAddress server, String path) {
        DigestingHttpClient c = new DigestingHttpClient();
        new Bootstrap().group(group).channel(TasSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), c.new Digest());
                    }
                })
                .connect(server).addListener(f -> {
                    if (!f.isSuccess()) {
                        c.result.completeExceptionally(f.cause());
                        return;
                    }
                    Channel ch = ((io.netty.channel.ChannelFuture) f).channel();
                    c.channel = ch;
                    DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
                    req.headers().set(HttpHeaderNames.HOST, server.getHostString());
                    ch.writeAndFlush(req);
                    ch.closeFuture().addListener(x -> c.result.completeExceptionally(
                            new IllegalStateException("connection closed after " + c.received.get() + " bytes")));
                });
        return c;
    }

    /** The connection, once connected (null before). */
    Channel channel() {
        return channel;
    }

    private final class Digest extends SimpleChannelInboundHandler<HttpObject> {
        private final MessageDigest md = Pattern64.sha256();
        private int status;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (msg instanceof HttpResponse r) {
                status = r.status().code();
            }
            if (msg instanceof HttpContent c) {
                md.update(c.content().nioBuffer());
                received.addAndGet(c.content().readableBytes());
                if (c instanceof LastHttpContent) {
                    result.complete(new Result(status, received.get(), HexFormat.of().formatHex(md.digest())));
                    ctx.close();
                }
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.completeExceptionally(cause);
            ctx.close();
        }
    }
}
