package io.tasnetty.samples.http;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.tasnetty.samples.Transport;

import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A small HTTP/1.1 server on plain Netty ({@link HttpServerCodec}, {@link HttpObjectAggregator}).
 * Nothing in it knows about TAS: the transport only chooses the group and the channel class.
 *
 * <ul>
 *   <li>{@code GET /} answers a greeting naming the transport;</li>
 *   <li>{@code POST /echo} (or PUT) answers the request body with its content type;
 *       {@code GET /echo?msg=text} answers {@code text};</li>
 *   <li>{@code GET /stats} answers the number of requests and connections served;</li>
 *   <li>anything else is 404, other methods on known paths 405.</li>
 * </ul>
 * Keep-alive and pipelined requests work as HTTP/1.1 says.
 */
public final class HttpSampleServer implements AutoCloseable {
    /** Largest request body the server aggregates. */
    public static final int MAX_CONTENT = 1 << 20;

    private final Transport transport;
    private final Channel channel;
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong connections = new AtomicLong();

    private HttpSampleServer(Transport transport, EventLoopGroup boss, EventLoopGroup workers, SocketAddress bind)
        throws InterruptedException {
        this.transport = transport;
        this.channel = new ServerBootstrap()
            .group(boss, workers)
            .channel(transport.serverChannel())
            .option(ChannelOption.SO_BACKLOG, 128)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    connections.incrementAndGet();
                    ch.pipeline().addLast(
                        new HttpServerCodec(),
                        new HttpServerExpectContinueHandler(),
                        new HttpObjectAggregator(MAX_CONTENT),
                        new Handler());
                }
            })
            .bind(bind).sync().channel();
    }

    /** Binds the server on {@code bind} (port 0 picks a free port; see {@link #localAddress()}). */
    public static HttpSampleServer start(Transport transport, EventLoopGroup boss, EventLoopGroup workers,
        SocketAddress bind) throws InterruptedException {
        return new HttpSampleServer(transport, boss, workers, bind);
    }

    public SocketAddress localAddress() {
        return channel.localAddress();
    }

    public Channel channel() {
        return channel;
    }

    public long requestsServed() {
        return requests.get();
    }

    public long connectionsAccepted() {
        return connections.get();
    }

    /** Closes the listening channel (the groups belong to the caller). */
    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            requests.incrementAndGet();
            if (!req.decoderResult().isSuccess()) {
                respond(ctx, req, HttpResponseStatus.BAD_REQUEST, text("bad request\n"), "text/plain; charset=utf-8");
                return;
            }
            QueryStringDecoder uri = new QueryStringDecoder(req.uri());
            HttpMethod m = req.method();
            switch (uri.path()) {
                case "/" -> {
                    if (m.equals(HttpMethod.GET) || m.equals(HttpMethod.HEAD)) {
                        respond(ctx, req, HttpResponseStatus.OK, text("Hello from Netty on " + transport.id()
                            + " (served by " + ctx.channel().getClass().getSimpleName() + ")\n"),
                            "text/plain; charset=utf-8");
                    } else {
                        notAllowed(ctx, req, "GET, HEAD");
                    }
                }
                case "/echo" -> {
                    if (m.equals(HttpMethod.POST) || m.equals(HttpMethod.PUT)) {
                        CharSequence type = req.headers().get(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
                        respond(ctx, req, HttpResponseStatus.OK, req.content().retainedDuplicate(), type);
                    } else if (m.equals(HttpMethod.GET)) {
                        List<String> msg = uri.parameters().getOrDefault("msg", List.of(""));
                        respond(ctx, req, HttpResponseStatus.OK, text(msg.get(0)), "text/plain; charset=utf-8");
                    } else {
                        notAllowed(ctx, req, "GET, POST, PUT");
                    }
                }
                case "/stats" -> respond(ctx, req, HttpResponseStatus.OK,
                    text("{\"transport\":\"" + transport.id() + "\",\"requests\":" + requests.get()
                        + ",\"connections\":" + connections.get() + "}\n"), "application/json");
                default -> respond(ctx, req, HttpResponseStatus.NOT_FOUND, text("no route for " + uri.path() + "\n"),
                    "text/plain; charset=utf-8");
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        private void notAllowed(ChannelHandlerContext ctx, FullHttpRequest req, String allow) {
            FullHttpResponse r = response(req, HttpResponseStatus.METHOD_NOT_ALLOWED, text("method not allowed\n"),
                "text/plain; charset=utf-8");
            r.headers().set(HttpHeaderNames.ALLOW, allow);
            send(ctx, req, r);
        }

        private void respond(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, ByteBuf body,
            CharSequence contentType) {
            send(ctx, req, response(req, status, body, contentType));
        }

        private FullHttpResponse response(FullHttpRequest req, HttpResponseStatus status, ByteBuf body,
            CharSequence contentType) {
            FullHttpResponse r = new DefaultFullHttpResponse(req.protocolVersion(), status, body);
            r.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, contentType)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                .set(HttpHeaderNames.SERVER, "tas-netty-sample/" + transport.id());
            if (req.method().equals(HttpMethod.HEAD)) {
                r.content().clear();
            }
            return r;
        }

        private void send(ChannelHandlerContext ctx, FullHttpRequest req, FullHttpResponse r) {
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (keepAlive) {
                if (!req.protocolVersion().isKeepAliveDefault()) {
                    r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
                }
            } else {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            var f = ctx.writeAndFlush(r);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }

        private static ByteBuf text(String s) {
            return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
        }
    }
}
