package io.tasnetty.samples.http;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.tasnetty.samples.Transport;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A minimal HTTP/1.1 client on Netty ({@link HttpClientCodec}): one keep-alive connection, one
 * request at a time. Good enough to show the server working and to test it.
 */
public final class HttpSampleClient implements AutoCloseable {
    /** A response as the client saw it. */
    public record Response(int status, String contentType, String body, long nanos) {
    }

    private final Channel channel;
    private final String host;
    private volatile CompletableFuture<FullHttpResponse> pending;

    private HttpSampleClient(Channel channel, String host) {
        this.channel = channel;
        this.host = host;
    }

    /** Connects to {@code remote} with {@code transport}'s client channel on {@code group}. */
    public static HttpSampleClient connect(Transport transport, EventLoopGroup group, InetSocketAddress remote)
        throws InterruptedException {
        HttpSampleClient[] self = new HttpSampleClient[1];
        Channel ch = new Bootstrap()
            .group(group)
            .channel(transport.clientChannel())
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
            .handler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(HttpSampleServer.MAX_CONTENT),
                        new SimpleChannelInboundHandler<FullHttpResponse>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse msg) {
                                CompletableFuture<FullHttpResponse> p = self[0] == null ? null : self[0].pending;
                                if (p != null) {
                                    p.complete(msg.retainedDuplicate());
                                }
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                CompletableFuture<FullHttpResponse> p = self[0] == null ? null : self[0].pending;
                                if (p != null) {
                                    p.completeExceptionally(new IOException("connection closed"));
                                }
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                CompletableFuture<FullHttpResponse> p = self[0] == null ? null : self[0].pending;
                                if (p != null) {
                                    p.completeExceptionally(cause);
                                }
                                ctx.close();
                            }
                        });
                }
            })
            .connect(remote).sync().channel();
        self[0] = new HttpSampleClient(ch, remote.getHostString() + ":" + remote.getPort());
        return self[0];
    }

    public Channel channel() {
        return channel;
    }

    public Response get(String path) throws IOException {
        return request(HttpMethod.GET, path, null, null);
    }

    public Response post(String path, String contentType, String body) throws IOException {
        return request(HttpMethod.POST, path, contentType, body);
    }

    /** Sends one request and waits (10 s at most) for its response. */
    public synchronized Response request(HttpMethod method, String path, String contentType, String body)
        throws IOException {
        byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, path,
            Unpooled.wrappedBuffer(bytes));
        req.headers().set(HttpHeaderNames.HOST, host);
        if (body != null) {
            req.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        }
        CompletableFuture<FullHttpResponse> p = new CompletableFuture<>();
        pending = p;
        long t0 = System.nanoTime();
        channel.writeAndFlush(req).addListener(f -> {
            if (!f.isSuccess()) {
                p.completeExceptionally(f.cause());
            }
        });
        FullHttpResponse r;
        try {
            r = p.get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (ExecutionException e) {
            throw new IOException(method + " " + path + " failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException(method + " " + path + ": no response within 10 s");
        } finally {
            pending = null;
        }
        long nanos = System.nanoTime() - t0;
        try {
            return new Response(r.status().code(), r.headers().get(HttpHeaderNames.CONTENT_TYPE),
                r.content().toString(StandardCharsets.UTF_8), nanos);
        } finally {
            r.release();
        }
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }
}
