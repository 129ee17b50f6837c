package io.tasnetty.it.frameworks;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.EventLoopGroupProvider;
import io.lettuce.core.resource.NettyCustomizer;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.SingletonDnsServerAddressStreamProvider;
import io.netty.util.concurrent.EventExecutorGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.tasnetty.transport.TasDatagramChannel;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasPath;
import io.tasnetty.transport.TasServerSocketChannel;
import io.tasnetty.transport.TasSocketChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How far Lettuce goes on TAS without an adapter. Its documented {@link EventLoopGroupProvider}
 * hands it TAS loops, and it runs on them; but its channel class comes from a static choice in its
 * {@code Transports} (NIO, epoll, kqueue or io_uring), so its connections are
 * {@link NioSocketChannel}s on the kernel path, registered on the TAS loops. They still reach a
 * server on TAS, whose loopback listener also accepts kernel connections; they never use the
 * engine. (A {@link NettyCustomizer} cannot swap the class: Netty's bootstrap refuses a second
 * channel factory, "channelFactory set already".) Its address resolver is Netty's DNS resolver with
 * NIO datagrams on the same loops, pointed at the test's responder.
 *
 * <p>The server is a few Redis commands on Netty ({@link RespServer}), on TAS and on NIO.
 */
class LettuceOnTasTest {
    private static final String MADE_UP = "redis.tas-frameworks.test";

    private static TasEventLoopGroup loops;
    private static EventLoopGroup nio;
    private static LoopbackDns dns;
    private static RespServer onTas;
    private static RespServer onKernel;
    private static ClientResources resources;
    private static final List<Channel> channels = new CopyOnWriteArrayList<>();

    /** Lettuce's event loops: always the TAS loops, whatever type it asks for; the test shuts them down. */
    private static final class TasLoops implements EventLoopGroupProvider {
        @SuppressWarnings("unchecked")
        @Override
        public <T extends EventLoopGroup> T allocate(Class<T> type) {
            // Lettuce asks for MultiThreadIoEventLoopGroup (its NIO choice), which TasEventLoopGroup is.
            return (T) loops;
        }

        @Override
        public int threadPoolSize() {
            return loops.executorCount();
        }

        @Override
        public Future<Boolean> release(EventExecutorGroup group, long quietPeriod, long timeout, TimeUnit unit) {
            return ImmediateEventExecutor.INSTANCE.newSucceededFuture(Boolean.TRUE);
        }

        @Override
        public Future<Boolean> shutdown(long quietPeriod, long timeout, TimeUnit timeUnit) {
            return ImmediateEventExecutor.INSTANCE.newSucceededFuture(Boolean.TRUE);
        }
    }

    @BeforeAll
    static void start() throws Exception {
        loops = new TasEventLoopGroup(2);
        nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        dns = LoopbackDns.start(Map.of(MADE_UP, (Inet4Address) InetAddress.getByAddress(new byte[]{127, 0, 0, 1})));
        onTas = new RespServer(loops, TasServerSocketChannel.class);
        onKernel = new RespServer(nio, NioServerSocketChannel.class);
        resources = ClientResources.builder()
            .eventLoopGroupProvider(new TasLoops())
            .nettyCustomizer(new NettyCustomizer() {
                @Override
                public void afterChannelInitialized(Channel channel) {
                    channels.add(channel);
                }
            })
            .addressResolverGroup(new DnsAddressResolverGroup(new DnsNameResolverBuilder()
                .datagramChannelType(TasDatagramChannel.class)
                .socketChannelType(NioSocketChannel.class)
                .searchDomains(List.of())
                .nameServerProvider(new SingletonDnsServerAddressStreamProvider(dns.address()))))
            .build();
    }

    @AfterAll
    static void stop() {
        try {
            if (resources != null) {
                resources.shutdown(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
            }
            if (onTas != null) {
                onTas.close();
            }
            if (onKernel != null) {
                onKernel.close();
            }
            if (dns != null) {
                dns.close();
            }
        } finally {
            loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            nio.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @BeforeEach
    void clear() {
        channels.clear();
    }

    /** Connects to {@code host:port}, stores a 64 KiB value, reads it back; returns it. */
    private static byte[] roundTrip(String host, int port) {
        RedisClient client = RedisClient.create(resources, RedisURI.builder().withHost(host).withPort(port)
            .withTimeout(Duration.ofSeconds(30)).build());
        client.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP2).build());
        try (StatefulRedisConnection<byte[], byte[]> c = client.connect(ByteArrayCodec.INSTANCE)) {
            byte[] key = "tas:frameworks".getBytes(StandardCharsets.US_ASCII);
            assertThat(c.sync().ping()).isEqualTo("PONG");
            assertThat(c.sync().set(key, KernelHttpPeer.BODY)).isEqualTo("OK");
            return c.sync().get(key);
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(5));
        }
    }

    /** Lettuce's one connection of the last round trip: an NIO channel on one of the TAS loops. */
    private static Channel onlyClientChannel() {
        assertThat(channels).hasSize(1);
        Channel c = channels.get(0);
        assertThat(c).isInstanceOf(NioSocketChannel.class);
        assertThat(c.eventLoop().parent()).isSameAs(loops);
        return c;
    }

    /** The server's side of that connection: accepted on TAS, through the kernel. */
    private static TasPath lastAcceptedPathOnTas() {
        List<Channel> accepted = onTas.accepted();
        assertThat(accepted).isNotEmpty();
        return ((TasSocketChannel) accepted.get(accepted.size() - 1)).path();
    }

    @Test
    void setAndGetAreByteExactWithAServerOnTasThroughTheKernel() {
        assertThat(roundTrip("127.0.0.1", onTas.port())).isEqualTo(KernelHttpPeer.BODY);

        assertThat(onlyClientChannel().remoteAddress()).isEqualTo(onTas.accepted().getLast().localAddress());
        assertThat(lastAcceptedPathOnTas()).isEqualTo(TasPath.KERNEL);
    }

    @Test
    void aMadeUpNameIsResolvedByDnsOverUdpFromATasLoop() {
        int before = dns.queriesFor(MADE_UP);

        assertThat(roundTrip(MADE_UP, onTas.port())).isEqualTo(KernelHttpPeer.BODY);

        assertThat(dns.queriesFor(MADE_UP)).isGreaterThan(before);
        onlyClientChannel();
    }

    @Test
    void localhostResolvesFromTheHostsFile() {
        assertThat(roundTrip("localhost", onTas.port())).isEqualTo(KernelHttpPeer.BODY);

        assertThat(dns.queriesFor("localhost")).isZero();
        onlyClientChannel();
    }

    @Test
    void aServerOnTheKernelIsReachedToo() {
        assertThat(roundTrip("127.0.0.1", onKernel.port())).isEqualTo(KernelHttpPeer.BODY);
        onlyClientChannel();
        assertThat(onKernel.accepted()).hasSize(1);
    }
}
