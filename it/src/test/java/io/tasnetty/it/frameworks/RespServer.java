package io.tasnetty.it.frameworks;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.ErrorRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.RedisArrayAggregator;
import io.netty.handler.codec.redis.RedisBulkStringAggregator;
import io.netty.handler.codec.redis.RedisDecoder;
import io.netty.handler.codec.redis.RedisEncoder;
import io.netty.handler.codec.redis.RedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A few commands of a Redis server (PING, SET, GET, and CLIENT answered OK), enough for Lettuce's
 * handshake and a byte-exact round trip, on 127.0.0.1 with the event loops and server channel
 * class the test chooses (TAS or NIO). Values are kept as bytes, keys as ISO-8859-1 strings.
 */
final class RespServer implements AutoCloseable {
    private final Map<String, byte[]> store = new ConcurrentHashMap<>();
    private final List<Channel> accepted = new CopyOnWriteArrayList<>();
    private final Channel channel;

    RespServer(EventLoopGroup group, Class<? extends ServerChannel> channelClass) throws InterruptedException {
        this.channel = new ServerBootstrap().group(group).channel(channelClass)
            .childHandler(new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel ch) {
                    accepted.add(ch);
                    // Commands are flat arrays of a few bulk strings.
                    ch.pipeline().addLast(new RedisDecoder(), new RedisBulkStringAggregator(), new RedisArrayAggregator(16, 2),
                        new RedisEncoder(), new Commands());
                }
            })
            .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    /** The connections this server accepted, in order. */
    List<Channel> accepted() {
        return accepted;
    }

    int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    private final class Commands extends SimpleChannelInboundHandler<ArrayRedisMessage> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ArrayRedisMessage command) {
            List<RedisMessage> args = command.children();
            String name = text(args.get(0)).toUpperCase(Locale.ROOT);
            RedisMessage reply = switch (name) {
                case "PING" -> new SimpleStringRedisMessage("PONG");
                case "CLIENT" -> new SimpleStringRedisMessage("OK"); // Lettuce announces its name and version
                case "SET" -> {
                    store.put(text(args.get(1)), ByteBufUtil.getBytes(((FullBulkStringRedisMessage) args.get(2)).content()));
                    yield new SimpleStringRedisMessage("OK");
                }
                case "GET" -> {
                    byte[] v = store.get(text(args.get(1)));
                    yield v == null ? FullBulkStringRedisMessage.NULL_INSTANCE
                        : new FullBulkStringRedisMessage(Unpooled.wrappedBuffer(v));
                }
                default -> new ErrorRedisMessage("ERR unknown command '" + name + "'");
            };
            ctx.writeAndFlush(reply);
        }

        private static String text(RedisMessage m) {
            return ((FullBulkStringRedisMessage) m).content().toString(StandardCharsets.ISO_8859_1);
        }
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }
}
