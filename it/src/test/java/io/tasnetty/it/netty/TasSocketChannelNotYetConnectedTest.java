package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.SocketChannelNotYetConnectedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Netty's {@link SocketChannelNotYetConnectedTest} on a TAS client channel. */
class TasSocketChannelNotYetConnectedTest extends SocketChannelNotYetConnectedTest {
    @Override
    protected List<BootstrapFactory<Bootstrap>> newFactories() {
        return TasSocketTestPermutation.INSTANCE.clientSocket();
    }

    /**
     * Netty's version serves from an NioServerSocketChannel on the kernel's loopback, which a TAS
     * client cannot reach (TAS channels connect through the engine's own loopback). The same
     * check with a TAS server: auto-read off, {@code read()} requested while the channel is only
     * registered, the server writes as soon as it accepts; the request must stay pending and the
     * byte arrive once the channel is active.
     */
    @Test
    @Override
    public void readMustBePendingUntilChannelIsActive(TestInfo info) throws Throwable {
        Channel server = new ServerBootstrap().group(TasSocketTestPermutation.TAS_BOSS, TasSocketTestPermutation.TAS_WORKER)
            .channel(io.tasnetty.transport.TasServerSocketChannel.class)
            .childHandler(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelActive(ChannelHandlerContext ctx) {
                    ctx.writeAndFlush(ctx.alloc().buffer(1).writeByte(42));
                }
            })
            .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        CompletableFuture<Integer> received = new CompletableFuture<>();
        Channel client = null;
        try {
            client = TasSocketTestPermutation.INSTANCE.clientSocket().get(0).newInstance()
                .option(ChannelOption.AUTO_READ, false)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRegistered(ChannelHandlerContext ctx) {
                        ctx.read(); // before the connection exists
                        ctx.fireChannelRegistered();
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ByteBuf b = (ByteBuf) msg;
                        received.complete((int) b.readByte());
                        b.release();
                    }
                })
                .connect(server.localAddress()).sync().channel();
            assertThat(received.get(10, TimeUnit.SECONDS)).isEqualTo(42);
        } finally {
            if (client != null) {
                client.close().sync();
            }
            server.close().sync();
        }
    }
}
