package io.tasnetty.it.containers;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.stream.ChunkedInput;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * HTTP/1.1 routes for clients in containers (after HttpServerCodec and ChunkedWriteHandler; one
 * instance per connection, sharing a {@link Stats}):
 * <ul>
 *   <li>{@code GET /bytes?n=N}: N bytes of {@link Pattern64}, generated as the connection can
 *       take them (a 64 MiB answer is never in memory at once);</li>
 *   <li>{@code GET /hold?n=N}: the same, but only once {@link Stats#holdTarget} such requests are
 *       waiting at the same time, each on its own connection (this proves that many concurrent
 *       connections: a client that never has that many open gets no answer and times out);</li>
 *   <li>{@code POST /upload}: answers {@code SHA256HEX LENGTH} of the body, digested as it arrives.</li>
 * </ul>
 */
final class BulkHttpHandler extends ChannelInboundHandlerAdapter {
    /** Counters and the hold barrier, shared by every connection of one server. */
    static final class Stats {
        final int holdTarget;
        final AtomicLong requests = new AtomicLong();
        final AtomicLong bytesSent = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        final AtomicLong uploads = new AtomicLong();
        volatile String lastUpload = "";
        private final List<Runnable> held = new ArrayList<>();
        private int heldMax;
        private boolean released;

        Stats(int holdTarget) {
            this.holdTarget = holdTarget;
        }

        /** The most requests that waited in /hold at once. */
        synchronized int heldMax() {
            return heldMax;
        }

        private void hold(Runnable answer) {
            List<Runnable> go;
            synchronized (this) {
                if (released) {
                    go = List.of(answer);
                } else {
                    held.add(answer);
                    heldMax = Math.max(heldMax, held.size());
                    if (held.size() < holdTarget) {
                        return;
                    }
                    released = true;
                    go = new ArrayList<>(held);
                    held.clear();
                }
            }
            go.forEach(Runnable::run);
        }
    }

    private final Stats stats;
    private MessageDigest upload;
    private long uploadLength;
    private boolean keepAlive;

    BulkHttpHandler(Stats stats) {
        this.stats = stats;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof HttpRequest req) {
                request(ctx, req);
            }
            if (msg instanceof HttpContent c && upload != null) {
                ByteBuf b = c.content();
                upload.update(b.nioBuffer());
                uploadLength += b.readableBytes();
                if (c instanceof LastHttpContent) {
                    String answer = HexFormat.of().formatHex(upload.digest()) + " " + uploadLength;
                    upload = null;
                    stats.uploads.incrementAndGet();
                    stats.lastUpload = answer;
                    respond(ctx, HttpResponseStatus.OK, answer + "\n");
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void request(ChannelHandlerContext ctx, HttpRequest req) {
        stats.requests.incrementAndGet();
        keepAlive = HttpUtil.isKeepAlive(req);
        QueryStringDecoder q = new QueryStringDecoder(req.uri());
        if (!req.decoderResult().isSuccess()) {
            respond(ctx, HttpResponseStatus.BAD_REQUEST, "bad request\n");
            return;
        }
        switch (q.path()) {
            case "/bytes", "/hold" -> {
                long n = Long.parseLong(q.parameters().getOrDefault("n", List.of("0")).get(0));
                boolean ka = keepAlive;
                if (q.path().equals("/hold")) {
                    stats.hold(() -> ctx.executor().execute(() -> sendBytes(ctx, n, ka)));
                } else {
                    sendBytes(ctx, n, ka);
                }
            }
            case "/upload" -> {
                if (req.method() != HttpMethod.POST) {
                    respond(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "POST only\n");
                } else {
                    upload = Pattern64.sha256();
                    uploadLength = 0;
                }
            }
            default -> respond(ctx, HttpResponseStatus.NOT_FOUND, "no route\n");
        }
    }

    private void sendBytes(ChannelHandlerContext ctx, long n, boolean ka) {
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
        HttpUtil.setContentLength(head, n);
        HttpUtil.setKeepAlive(head, ka);
        ctx.write(head);
        ctx.write(new PatternInput(n)); // ChunkedWriteHandler pulls it as the channel is writable
        var f = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        if (!ka) {
            f.addListener(ChannelFutureListener.CLOSE);
        }
    }

    private void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String text) {
        DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN);
        HttpUtil.setContentLength(r, r.content().readableBytes());
        HttpUtil.setKeepAlive(r, keepAlive);
        var f = ctx.writeAndFlush(r);
        if (!keepAlive) {
            f.addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A client that goes away mid-answer (a killed container) ends its connection here.
        stats.errors.incrementAndGet();
        ctx.close();
    }

    /** The pattern's first {@code n} bytes in 64 KiB chunks, made when the channel asks for them. */
    private final class PatternInput implements ChunkedInput<ByteBuf> {
        private static final int CHUNK = 1 << 16;
        private final long n;
        private long off;

        PatternInput(long n) {
            this.n = n;
        }

        @Override
        public boolean isEndOfInput() {
            return off >= n;
        }

        @Override
        public void close() {
        }

        @Deprecated
        @Override
        public ByteBuf readChunk(ChannelHandlerContext ctx) {
            return readChunk(ctx.alloc());
        }

        @Override
        public ByteBuf readChunk(ByteBufAllocator alloc) {
            if (off >= n) {
                return null;
            }
            int len = (int) Math.min(CHUNK, n - off);
            ByteBuf b = alloc.buffer(len);
            Pattern64.write(b, off, len);
            off += len;
            stats.bytesSent.addAndGet(len);
            return b;
        }

        @Override
        public long length() {
            return n;
        }

        @Override
        public long progress() {
            return off;
        }
    }
}
