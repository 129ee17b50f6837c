package io.tasnetty.it.linux;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasServerSocketChannel;
import io.tasnetty.transport.TasSocketChannel;

import java.net.InetSocketAddress;
import java.util.SplittableRandom;

/**
 * An application attached to a TAS service ({@code -Dtas.service=DIR}), for
 * {@link ServiceModeLinuxTest}: started as its own JVM, as an unprivileged user.
 *
 * <ul>
 *   <li>{@code serve PORT BYTES}: every connection to PORT gets {@link #pattern BYTES of the
 *       pattern}, then the server closes it. Prints {@code serving PORT} once bound.</li>
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
        TasEventLoopGroup group = new TasEventLoopGroup(1);
        int port = Integer.parseInt(args[1]);
        try {
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
