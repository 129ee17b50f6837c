package io.tasnetty.transport.reactor;

import io.tasnetty.transport.TasDatagramChannel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.DomainSocketChannel;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasPath;
import io.tasnetty.transport.TasServerSocketChannel;
import io.tasnetty.transport.TasSocketChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.netty.Connection;
import reactor.netty.DisposableServer;
import reactor.netty.tcp.TcpClient;
import reactor.netty.tcp.TcpServer;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Reactor Netty's TCP server and client on {@link TasLoopResources}, on an engine of the test's own. */
@Timeout(60)
class TasLoopResourcesTest {
    private TasEngine engine;
    private TasLoopResources tas;

    @BeforeEach
    void start() {
        engine = TasEngine.start(TasConfig.builder().set("tcp-time-wait", "0").build());
        tas = new TasLoopResources(engine, 2);
    }

    @AfterEach
    void stop() {
        try {
            tas.disposeLater(Duration.ZERO, Duration.ofSeconds(5)).block(Duration.ofSeconds(10));
        } finally {
            engine.close();
        }
    }

    @Test
    void channelsOfEachKindAreTheTasOnesForServerAndClientGroups() {
        for (EventLoopGroup g : List.of(tas.onServer(true), tas.onServerSelect(false), tas.onClient(true))) {
            assertThat(tas.onChannelClass(SocketChannel.class, g)).isEqualTo(TasSocketChannel.class);
            assertThat(tas.onChannelClass(ServerSocketChannel.class, g)).isEqualTo(TasServerSocketChannel.class);
            assertThat(tas.onChannelClass(DatagramChannel.class, g)).isEqualTo(TasDatagramChannel.class);
            assertThat(tas.onChannel(SocketChannel.class, g)).isInstanceOf(TasSocketChannel.class);
            assertThat(tas.onChannel(ServerSocketChannel.class, g)).isInstanceOf(TasServerSocketChannel.class);
        }
        assertThat(tas.onServer(true)).isSameAs(tas.eventLoopGroup()).isInstanceOf(TasEventLoopGroup.class);
        assertThat(tas.eventLoopGroup().engine()).isSameAs(engine);
    }

    @Test
    void domainSocketsAreRefusedWithAReason() {
        assertThatThrownBy(() -> tas.onChannelClass(DomainSocketChannel.class, tas.onClient(true)))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("DomainSocketChannel");
    }

    @Test
    void aGroupThatIsNotTasKeepsReactorsOwnChannels() {
        EventLoopGroup nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            assertThat(tas.onChannelClass(SocketChannel.class, nio)).isEqualTo(NioSocketChannel.class);
            assertThat(tas.onChannelClass(ServerSocketChannel.class, nio)).isEqualTo(NioServerSocketChannel.class);
        } finally {
            nio.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void aClientCallOnALoopStaysOnThatLoop() throws Exception {
        EventLoopGroup client = tas.onClient(true);
        for (int i = 0; i < 2; i++) {
            EventLoop loop = tas.eventLoopGroup().next();
            CompletableFuture<EventLoop> picked = new CompletableFuture<>();
            loop.execute(() -> picked.complete(client.next()));
            assertThat(picked.get(10, TimeUnit.SECONDS)).isSameAs(loop);
        }
    }

    @Test
    void loopThreadsAreNonBlockingDaemonsForReactor() throws Exception {
        CompletableFuture<boolean[]> seen = new CompletableFuture<>();
        tas.eventLoopGroup().next().execute(() -> seen.complete(new boolean[]{
            Schedulers.isInNonBlockingThread(), Thread.currentThread().isDaemon()}));
        assertThat(seen.get(10, TimeUnit.SECONDS)).containsExactly(true, true);
        assertThat(tas.daemon()).isTrue();
    }

    @Test
    void tcpServerAndClientEchoByteExactThroughTheEngine() {
        List<TasPath> serverPaths = new CopyOnWriteArrayList<>();
        DisposableServer server = TcpServer.create().runOn(tas).host("127.0.0.1").port(0)
            .doOnConnection(c -> serverPaths.add(((TasSocketChannel) c.channel()).path()))
            .handle((in, out) -> out.send(in.receive().retain()))
            .bindNow(Duration.ofSeconds(10));
        try {
            assertThat(server.channel()).isInstanceOf(TasServerSocketChannel.class);
            byte[] payload = new byte[256 * 1024];
            new Random(9).nextBytes(payload);

            Connection c = TcpClient.create().runOn(tas).host("127.0.0.1").port(server.port())
                .connectNow(Duration.ofSeconds(10));
            try {
                assertThat(c.channel()).isInstanceOf(TasSocketChannel.class);
                assertThat(((TasSocketChannel) c.channel()).path()).isEqualTo(TasPath.ENGINE);
                ByteArrayOutputStream echoed = new ByteArrayOutputStream();
                Mono<Void> receive = c.inbound().receive().asByteArray()
                    .doOnNext(echoed::writeBytes)
                    .takeUntil(b -> echoed.size() >= payload.length)
                    .then();
                Mono.when(c.outbound().sendByteArray(Mono.just(payload)).then(), receive)
                    .block(Duration.ofSeconds(30));
                assertThat(echoed.toByteArray()).isEqualTo(payload);
            } finally {
                c.disposeNow(Duration.ofSeconds(5));
            }
            assertThat(serverPaths).containsExactly(TasPath.ENGINE);
        } finally {
            server.disposeNow(Duration.ofSeconds(5));
        }
    }

    @Test
    void disposeLaterStopsTheLoopsAndRefusesNewOnes() {
        TasEventLoopGroup loops = tas.eventLoopGroup();
        assertThat(tas.isDisposed()).isFalse();

        tas.disposeLater(Duration.ZERO, Duration.ofSeconds(5)).block(Duration.ofSeconds(10));

        assertThat(tas.isDisposed()).isTrue();
        assertThat(loops.isTerminated()).isTrue();
        assertThatThrownBy(() -> tas.onServer(true)).isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("disposed");
        // Again: completes at once, with the same termination.
        tas.disposeLater().block(Duration.ofSeconds(10));
    }

    @Test
    void disposingResourcesNeverUsedStartsNothing() {
        TasLoopResources unused = new TasLoopResources(engine, 1);
        unused.disposeLater().block(Duration.ofSeconds(10));
        assertThat(unused.isDisposed()).isTrue();
        assertThat(engine.contextCount()).isZero();
    }

    @Test
    void workerCountMustBePositive() {
        assertThatThrownBy(() -> new TasLoopResources(engine, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
