package io.tasnetty.it.containers;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.ErrorRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.IntegerRedisMessage;
import io.netty.handler.codec.redis.RedisArrayAggregator;
import io.netty.handler.codec.redis.RedisBulkStringAggregator;
import io.netty.handler.codec.redis.RedisDecoder;
import io.netty.handler.codec.redis.RedisEncoder;
import io.netty.handler.codec.redis.RedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import io.tasnetty.transport.TasSocketChannel;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A minimal pipelining Redis client on Netty's RESP codec: {@link #send} writes one command and
 * completes with its reply (Redis answers in order, so a FIFO of futures matches them up).
 * Replies are turned into plain values: String (simple strings), byte[] (bulk), Long, null, or
 * an exception for an error reply. On TAS channels; the loop group is the caller's.
 */
final class RespClient implements AutoCloseable {
    private final Channel channel;
    private final ArrayDeque<CompletableFuture<Object>> pending = new ArrayDeque<>();
    private final CompletableFuture<Throwable> closed = new CompletableFuture<>();
    private Throwable cause; // event loop only

    private RespClient(Channel channel) {
        this.channel = channel;
    }

    static RespClient connect(EventLoopGroup group, InetSocketAddress redis) throws InterruptedException {
        RespClient[] self = new RespClient[1];
        Channel ch = new Bootstrap().group(group).channel(TasSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new RedisDecoder(), new RedisBulkStringAggregator(),
                                new RedisArrayAggregator(), new RedisEncoder(), new Replies(() -> self[0]));
                    }
                })
                .connect(redis).sync().channel();
        self[0] = new RespClient(ch);
        // On the event loop, after any exceptionCaught: pending calls fail before closed() completes.
        ch.closeFuture().addListener(f -> self[0].onClosed());
        return self[0];
    }

    /** Sends {@code args} as one command (written, flushed only if {@code flush}). */
    CompletableFuture<Object> send(boolean flush, Object... args) {
        List<RedisMessage> parts = new ArrayList<>(args.length);
        for (Object a : args) {
            byte[] b = a instanceof byte[] bytes ? bytes : a.toString().getBytes(StandardCharsets.UTF_8);
            parts.add(new FullBulkStringRedisMessage(Unpooled.wrappedBuffer(b)));
        }
        CompletableFuture<Object> f = new CompletableFuture<>();
        channel.eventLoop().execute(() -> {
            if (!channel.isActive()) {
                f.completeExceptionally(new IllegalStateException("connection closed"));
                return;
            }
            pending.add(f);
            if (flush) {
                channel.writeAndFlush(new ArrayRedisMessage(parts), channel.voidPromise());
            } else {
                channel.write(new ArrayRedisMessage(parts), channel.voidPromise());
            }
        });
        return f;
    }

    CompletableFuture<Object> call(Object... args) {
        return send(true, args);
    }

    /** Calls and waits for the reply. */
    Object sync(Object... args) throws Exception {
        return call(args).get(30, TimeUnit.SECONDS);
    }

    Channel channel() {
        return channel;
    }

    /** Completes (with the cause, or null) when the connection has closed. */
    CompletableFuture<Throwable> closed() {
        return closed;
    }

    private void onClosed() {
        Throwable t = cause != null ? cause : new IllegalStateException("connection closed");
        CompletableFuture<Object> f;
        while ((f = pending.poll()) != null) {
            f.completeExceptionally(t);
        }
        closed.complete(cause);
    }

    @Override
    public void close() throws InterruptedException {
        channel.close().sync();
    }

    private static final class Replies extends SimpleChannelInboundHandler<RedisMessage> {
        private final java.util.function.Supplier<RespClient> client;

        Replies(java.util.function.Supplier<RespClient> client) {
            this.client = client;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, RedisMessage msg) {
            CompletableFuture<Object> f = client.get().pending.poll();
            if (f == null) {
                ctx.fireExceptionCaught(new IllegalStateException("a reply nobody asked for: " + msg));
                return;
            }
            switch (msg) {
                case SimpleStringRedisMessage s -> f.complete(s.content());
                case ErrorRedisMessage e -> f.completeExceptionally(new IllegalStateException("redis: " + e.content()));
                case IntegerRedisMessage i -> f.complete(i.value());
                case FullBulkStringRedisMessage b -> f.complete(b.isNull() ? null : ByteBufUtil.getBytes(b.content()));
                default -> f.complete(msg.toString());
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            client.get().cause = cause;
            ctx.close();
        }
    }
}
