package io.tasnetty.it.linux;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A tiny HTTP/1.1 handler (after HttpServerCodec + HttpObjectAggregator): {@code /} answers
 * {@link #ROOT_BODY}, {@code /echo?n=N} answers N bytes of {@link #pattern}; always with
 * Content-Length, keep-alive as the request asks. Stateless, so one instance serves every channel.
 */
@ChannelHandler.Sharable
final class HttpTestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    static final byte[] ROOT_BODY = "hello from netty on TAS\n".getBytes(StandardCharsets.US_ASCII);
    static final int MAX_ECHO = 4 << 20;
    private static final byte[] PATTERN = pattern(MAX_ECHO);

    final AtomicLong requests = new AtomicLong();
    final AtomicLong errors = new AtomicLong();

    /** The known pattern: byte i is {@code (i * 31 + (i >>> 8) + 7) & 0xff}. */
    static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + (i >>> 8) + 7);
        }
        return b;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        requests.incrementAndGet();
        QueryStringDecoder q = new QueryStringDecoder(req.uri());
        HttpResponseStatus status = HttpResponseStatus.OK;
        ByteBuf body;
        if (!req.decoderResult().isSuccess()) {
            status = HttpResponseStatus.BAD_REQUEST;
            body = Unpooled.EMPTY_BUFFER;
        } else if (q.path().equals("/")) {
            body = Unpooled.wrappedBuffer(ROOT_BODY);
        } else if (q.path().equals("/echo")) {
            List<String> n = q.parameters().get("n");
            int len;
            try {
                len = n == null ? -1 : Integer.parseInt(n.get(0));
            } catch (NumberFormatException e) {
                len = -1;
            }
            if (len < 0 || len > MAX_ECHO) {
                status = HttpResponseStatus.BAD_REQUEST;
                body = Unpooled.EMPTY_BUFFER;
            } else {
                body = Unpooled.wrappedBuffer(PATTERN, 0, len);
            }
        } else {
            status = HttpResponseStatus.NOT_FOUND;
            body = Unpooled.EMPTY_BUFFER;
        }
        FullHttpResponse resp = new DefaultFullHttpResponse(req.protocolVersion(), status, body);
        resp.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
        HttpUtil.setContentLength(resp, body.readableBytes());
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        HttpUtil.setKeepAlive(resp, keepAlive);
        if (keepAlive) {
            ctx.writeAndFlush(resp, ctx.voidPromise());
        } else {
            ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A peer reset (wrk stopping mid-request) is an ordinary end of a connection here.
        errors.incrementAndGet();
        ctx.close();
    }
}
