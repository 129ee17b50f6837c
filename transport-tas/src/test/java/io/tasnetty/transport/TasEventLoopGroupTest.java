package io.tasnetty.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.util.concurrent.EventExecutor;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.tasnetty.transport.TasTestEngine.eventually;
import static org.assertj.core.api.Assertions.assertThat;

@Timeout(120)
class TasEventLoopGroupTest {
    private static final InetSocketAddress LOCALHOST_ANY_PORT = new InetSocketAddress("127.0.0.1", 0);

    /** Connects a client to a fresh echo server on {@code group} and checks one round trip; returns both channels. */
    private static Channel[] roundTrip(MultiThreadIoEventLoopGroup group) throws Exception {
        Channel server = new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
            .childHandler(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ctx.writeAndFlush(msg);
                }
            }).bind(LOCALHOST_ANY_PORT).sync().channel();
        CompletableFuture<Integer> echoed = new CompletableFuture<>();
        Channel client = new Bootstrap().group(group).channel(TasSocketChannel.class)
            .handler(new SimpleChannelInboundHandler<ByteBuf>() {
                @Override
                protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                    echoed.complete((int) msg.readByte());
                }
            }).connect(server.localAddress()).sync().channel();
        client.writeAndFlush(Unpooled.wrappedBuffer(new byte[]{42}));
        assertThat(echoed.get(10, TimeUnit.SECONDS)).isEqualTo(42);
        return new Channel[]{server, client};
    }

    @Test
    void creatingAndShuttingDownManyGroupsLeaksNothing() throws Exception {
        TasEngine engine = TasTestEngine.start();
        try {
            for (int i = 0; i < 25; i++) {
                TasEventLoopGroup group = new TasEventLoopGroup(2, engine);
                assertThat(group.engine()).isSameAs(engine);
                Channel[] ch = roundTrip(group);
                if (i % 2 == 0) {
                    ch[1].close().sync(); // the other half stays open: the shutdown closes it
                    ch[0].close().sync();
                }
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            }
            assertThat(engine.contextCount()).isZero();
            assertThat(engine.listenerCount()).isZero();
            assertThat(eventually(5000, () -> engine.flowCount() == 0 && engine.ringBytesInUse() == 0 && engine.flowRecordsInUse() == 0))
                .as("flows %d, ring bytes %d", engine.flowCount(), engine.ringBytesInUse()).isTrue();
        } finally {
            engine.close();
        }
    }

    @Test
    void theDefaultEngineStartsWithTheFirstGroupAndStopsWithTheLast() throws Exception {
        assertThat(Tas.defaultEngine()).isEmpty();
        TasEventLoopGroup first = new TasEventLoopGroup(1);
        TasEventLoopGroup second = new TasEventLoopGroup(2);
        TasEngine engine = Tas.defaultEngine().orElseThrow();
        assertThat(first.engine()).isSameAs(engine);
        assertThat(second.engine()).isSameAs(engine);
        assertThat(engine.contextCount()).isEqualTo(3);
        roundTrip(first);

        first.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        assertThat(engine.isRunning()).isTrue();
        assertThat(engine.contextCount()).isEqualTo(2);

        second.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        assertThat(engine.isRunning()).isFalse();
        assertThat(Tas.defaultEngine()).isEmpty();

        // A later group starts a fresh default engine.
        TasEventLoopGroup third = new TasEventLoopGroup(1);
        assertThat(Tas.defaultEngine()).get().isNotSameAs(engine);
        roundTrip(third);
        third.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        assertThat(Tas.defaultEngine()).isEmpty();
    }

    @Test
    void theHandlerFactoryWorksWithAPlainMultiThreadIoEventLoopGroup() throws Exception {
        TasEngine engine = TasTestEngine.start();
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(2, TasIoHandler.newFactory(engine));
        try {
            for (EventExecutor e : group) {
                assertThat(((IoEventLoop) e).isIoType(TasIoHandler.class)).isTrue();
            }
            Channel[] ch = roundTrip(group);
            ch[1].close().sync();
            ch[0].close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            engine.close();
        }
    }

    @Test
    void idleEventLoopsBlockInsteadOfSpinning() throws Exception {
        // Engine defaults (fp-poll-interval-app 10 ms): a loop polls briefly after its last event, then parks.
        TasEngine engine = TasEngine.start(TasConfig.builder().set("tcp-time-wait", "0").build());
        TasEventLoopGroup group = new TasEventLoopGroup(2, engine);
        try {
            Channel[] ch = roundTrip(group); // connections stay open, idle
            List<Long> threadIds = new ArrayList<>();
            for (EventExecutor e : group) {
                threadIds.add(((EventLoop) e).submit(() -> Thread.currentThread().threadId()).get());
            }
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            Thread.sleep(100);
            long[] before = threadIds.stream().mapToLong(mx::getThreadCpuTime).toArray();
            long blocksBefore = group.ioHandlers().stream().mapToLong(h -> h.stats().blocks()).sum();
            Thread.sleep(1000);
            for (int i = 0; i < before.length; i++) {
                long cpuMillis = (mx.getThreadCpuTime(threadIds.get(i)) - before[i]) / 1_000_000;
                assertThat(cpuMillis).as("CPU time of idle loop %d in 1 s", i).isLessThan(50);
            }
            // Without scheduled tasks a loop wakes about once a second (Netty's purge interval).
            long blocks = group.ioHandlers().stream().mapToLong(h -> h.stats().blocks()).sum() - blocksBefore;
            assertThat(blocks).isLessThan(20);
            ch[1].close().sync();
            ch[0].close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            engine.close();
        }
    }
}
