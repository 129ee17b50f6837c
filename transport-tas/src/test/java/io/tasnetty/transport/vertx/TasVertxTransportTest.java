package io.tasnetty.transport.vertx;

import io.tasnetty.transport.TasDatagramChannel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.InternetProtocolFamily;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasServerSocketChannel;
import io.tasnetty.transport.TasSocketChannel;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import io.vertx.core.spi.transport.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Vert.x's TCP server and client on {@link TasVertxTransport}, on an engine of the test's own. */
@Timeout(60)
class TasVertxTransportTest {
    private TasEngine engine;
    private TasVertxTransport transport;

    @BeforeEach
    void start() {
        engine = TasEngine.start(TasConfig.builder().set("tcp-time-wait", "0").build());
        transport = new TasVertxTransport(engine);
    }

    @AfterEach
    void stop() {
        engine.close();
    }

    @Test
    void isItsOwnImplementationForTheBuilder() {
        assertThat(transport.implementation()).isSameAs(transport);
        assertThat(transport.name()).isEqualTo("tas");
        assertThat(transport.available()).isTrue();
        assertThat(transport.isAvailable()).isTrue();
        assertThat(transport.unavailabilityCause()).isNull();
    }

    @Test
    void loopsAreTasLoopsOnTheGivenEngine() {
        EventLoopGroup g = transport.eventLoopGroup(Transport.IO_EVENT_LOOP_GROUP, 2, Thread::new, 50);
        try {
            assertThat(g).isInstanceOf(TasEventLoopGroup.class);
            assertThat(((TasEventLoopGroup) g).engine()).isSameAs(engine);
            assertThat(g).hasSize(2);
        } finally {
            g.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    @SuppressWarnings("deprecation")
    void channelsAreTheTasOnesAndDatagramsNios() {
        assertThat(transport.channelFactory(false).newChannel()).isInstanceOf(TasSocketChannel.class);
        assertThat(transport.serverChannelFactory(false).newChannel()).isInstanceOf(TasServerSocketChannel.class);
        DatagramChannel udp = transport.datagramChannel(InternetProtocolFamily.IPv4);
        assertThat(udp).isInstanceOf(TasDatagramChannel.class);
        udp.unsafe().closeForcibly();
        assertThat(transport.supportsDomainSockets()).isFalse();
        assertThatThrownBy(() -> transport.channelFactory(true)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("domain");
        assertThatThrownBy(() -> transport.serverChannelFactory(true)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void netServerAndClientEchoByteExactThroughTheEngine() throws Exception {
        Vertx vertx = Vertx.builder().withTransport(transport).build();
        try {
            long activeOpens = engine.counter(TasCounter.CONN_ACTIVE_OPENS);
            long passiveOpens = engine.counter(TasCounter.CONN_PASSIVE_OPENS);
            NetServer server = vertx.createNetServer()
                .connectHandler(s -> s.handler(s::write))
                .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);

            byte[] payload = new byte[200_000];
            new Random(11).nextBytes(payload);
            NetClient client = vertx.createNetClient();
            NetSocket socket = client.connect(server.actualPort(), "127.0.0.1").await(10, TimeUnit.SECONDS);
            Buffer echoed = Buffer.buffer();
            CompletableFuture<Void> all = new CompletableFuture<>();
            socket.handler(b -> {
                echoed.appendBuffer(b);
                if (echoed.length() >= payload.length) {
                    all.complete(null);
                }
            });
            socket.write(Buffer.buffer(payload));
            all.get(30, TimeUnit.SECONDS);

            assertThat(echoed.getBytes()).isEqualTo(payload);
            // Both ends of the one connection went through the engine (its loopback), not the kernel.
            assertThat(engine.counter(TasCounter.CONN_ACTIVE_OPENS) - activeOpens).isEqualTo(1);
            assertThat(engine.counter(TasCounter.CONN_PASSIVE_OPENS) - passiveOpens).isEqualTo(1);
            socket.close().await(10, TimeUnit.SECONDS);
        } finally {
            vertx.close().await(20, TimeUnit.SECONDS);
        }
        assertThat(engine.contextCount()).as("Vert.x's loops let go of their contexts").isZero();
    }
}
