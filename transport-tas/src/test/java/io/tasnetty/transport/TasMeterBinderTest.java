package io.tasnetty.transport;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.SimpleChannelInboundHandler;
import io.tasnetty.engine.TasEngine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(60)
class TasMeterBinderTest {
    @Test
    void exposesEngineCountersAndPerLoopFigures() throws Exception {
        TasEngine engine = TasTestEngine.start();
        TasEventLoopGroup group = new TasEventLoopGroup(2, engine);
        try {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            new TasMeterBinder(group).bindTo(registry);

            int size = 256 * 1024;
            CountDownLatch received = new CountDownLatch(size);
            Channel server = new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
                .childHandler(new SimpleChannelInboundHandler<ByteBuf>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                        for (int i = msg.readableBytes(); i > 0; i--) {
                            received.countDown();
                        }
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            Channel client = new Bootstrap().group(group).channel(TasSocketChannel.class)
                .handler(new ChannelInboundHandlerAdapter()).connect(server.localAddress()).sync().channel();
            client.writeAndFlush(Unpooled.wrappedBuffer(new byte[size])).sync();
            assertThat(received.await(10, TimeUnit.SECONDS)).isTrue();

            assertThat(registry.get("tas.conn.established").functionCounters().stream()
                .mapToDouble(c -> c.count()).sum()).isEqualTo(2.0);
            assertThat(registry.get("tas.tx.packets").tag("agent", "fp0").functionCounter().count()).isPositive();
            assertThat(registry.get("tas.tcp.retransmitted.segments").functionCounters()).isNotEmpty();
            assertThat(registry.get("tas.drop.rx.ring.full").functionCounters()).isNotEmpty();
            assertThat(registry.get("tas.flows").gauge().value()).isEqualTo(2.0);
            assertThat(registry.get("tas.listeners").gauge().value()).isEqualTo(1.0);
            assertThat(registry.get("tas.contexts").gauge().value()).isEqualTo(2.0);
            assertThat(registry.get("tas.ring.bytes.in.use").gauge().value()).isPositive();
            double written = registry.get("tas.loop.bytes.written").functionCounters().stream()
                .mapToDouble(c -> c.count()).sum();
            double read = registry.get("tas.loop.bytes.read").functionCounters().stream()
                .mapToDouble(c -> c.count()).sum();
            assertThat(written).isEqualTo(size);
            assertThat(read).isEqualTo(size);
            // Server, its child and the client: three channels over the two loops.
            assertThat(registry.get("tas.loop.channels").gauges().stream().mapToDouble(g -> g.value()).sum())
                .isEqualTo(3.0);
            assertThat(registry.get("tas.loop.events").tag("loop", "0").functionCounter()).isNotNull();
            assertThat(registry.get("tas.loop.pending.tasks").gauges()).hasSize(2);
            // One client connection and its accepted peer, both through the engine's loopback.
            assertThat(registry.get("tas.loop.connections").tag("path", "engine").functionCounters().stream()
                .mapToDouble(c -> c.count()).sum()).isEqualTo(2.0);
            assertThat(registry.get("tas.loop.connections").tag("path", "kernel").functionCounters().stream()
                .mapToDouble(c -> c.count()).sum()).isZero();
            client.close().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            engine.close();
        }
    }
}
