package io.tasnetty.it.dns;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DefaultDnsResponse;
import io.netty.handler.codec.dns.DnsQuery;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.handler.codec.dns.TcpDnsQueryDecoder;
import io.netty.handler.codec.dns.TcpDnsResponseEncoder;
import io.netty.resolver.ResolvedAddressTypes;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsNameResolverChannelStrategy;
import io.netty.resolver.dns.NoopDnsCache;
import io.netty.resolver.dns.SingletonDnsServerAddressStreamProvider;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import io.tasnetty.transport.Tas;
import io.tasnetty.transport.TasDatagramChannel;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasServerSocketChannel;
import io.tasnetty.transport.TasSocketChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Host-name resolution on a Tas event loop: Netty's {@link DnsNameResolver} on a
 * {@link TasEventLoopGroup} loop, its queries on {@link TasDatagramChannel}s (and its TCP retry of a
 * truncated answer on a {@link TasSocketChannel}), against a small authoritative responder this
 * test runs itself.
 *
 * <p>The responder is written with Netty's DNS codec: UDP on an NIO loop (a kernel socket, as a
 * real name server would be) on 127.0.0.1, and TCP on the same port on a Tas server channel (the
 * engine's loopback, where a {@code TasSocketChannel} to 127.0.0.1 goes). It answers A and AAAA for
 * {@value #NAME}, answers {@value #LARGE} over UDP with the truncation bit only (and in full over
 * TCP), and NXDOMAIN for anything else. Every resolver here names that responder as its only name
 * server, with no search domains: no query goes to the machine's own resolver (which is off this
 * machine). The addresses handed out come from the documentation ranges and are never contacted.
 */
@Timeout(120)
class TasDnsNameResolverTest {
    private static final String NAME = "service.tas.test";
    private static final String LARGE = "large.tas.test";
    private static final List<InetAddress> NAME_V4 = addresses("198.51.100.7", "198.51.100.8");
    private static final List<InetAddress> NAME_V6 = addresses("2001:db8::7");
    private static final List<InetAddress> LARGE_V4 = new ArrayList<>();

    static {
        for (int i = 0; i < 40; i++) {
            LARGE_V4.add(addresses("198.51.100." + (100 + i)).getFirst());
        }
    }

    private static EventLoopGroup nio;
    private static TasEventLoopGroup tas;
    private static Channel udpResponder;
    private static Channel tcpResponder;
    private static InetSocketAddress nameServer;
    /** What the responder was asked, e.g. "udp A service.tas.test". */
    private static final Queue<String> queries = new ConcurrentLinkedQueue<>();

    @BeforeAll
    static void startResponder() throws InterruptedException {
        nio = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("dns-responder", true), NioIoHandler.newFactory());
        tas = new TasEventLoopGroup(1, new DefaultThreadFactory("dns-tas", true));
        udpResponder = new Bootstrap().group(nio).channel(NioDatagramChannel.class)
            .handler(new ChannelInitializer<DatagramChannel>() {
                @Override
                protected void initChannel(DatagramChannel ch) {
                    ch.pipeline().addLast(new DatagramDnsQueryDecoder(), new DatagramDnsResponseEncoder(),
                        new SimpleChannelInboundHandler<DatagramDnsQuery>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsQuery query) {
                                ctx.writeAndFlush(answer(query, new DatagramDnsResponse(query.recipient(), query.sender(),
                                    query.id()), false));
                            }
                        });
                }
            }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        nameServer = (InetSocketAddress) udpResponder.localAddress();
        tcpResponder = new ServerBootstrap().group(tas).channel(TasServerSocketChannel.class)
            .childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast(new TcpDnsQueryDecoder(), new TcpDnsResponseEncoder(),
                        new SimpleChannelInboundHandler<DnsQuery>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, DnsQuery query) {
                                ctx.writeAndFlush(answer(query, new DefaultDnsResponse(query.id()), true));
                            }
                        });
                }
            }).bind(nameServer).sync().channel();
    }

    @AfterAll
    static void stopResponder() throws InterruptedException {
        tcpResponder.close().sync();
        udpResponder.close().sync();
        tas.shutdownGracefully(10, 1000, TimeUnit.MILLISECONDS).sync();
        nio.shutdownGracefully(10, 1000, TimeUnit.MILLISECONDS).sync();
    }

    /** Fills {@code response} to {@code query} as the responder's zone has it. */
    private static DnsResponse answer(DnsQuery query, DnsResponse response, boolean tcp) {
        DnsQuestion question = query.recordAt(DnsSection.QUESTION);
        String name = question.name().toLowerCase(Locale.ROOT);
        name = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
        queries.add((tcp ? "tcp " : "udp ") + question.type().name() + " " + name);
        response.setAuthoritativeAnswer(true).setRecursionDesired(query.isRecursionDesired());
        response.addRecord(DnsSection.QUESTION, new DefaultDnsQuestion(question.name(), question.type()));
        if (name.equals(NAME)) {
            List<InetAddress> records = question.type() == DnsRecordType.A ? NAME_V4
                : question.type() == DnsRecordType.AAAA ? NAME_V6 : List.of();
            records.forEach(a -> response.addRecord(DnsSection.ANSWER, record(question, a)));
        } else if (name.equals(LARGE)) {
            if (!tcp) {
                response.setTruncated(true); // "too large for UDP": the resolver must ask again over TCP
            } else if (question.type() == DnsRecordType.A) {
                LARGE_V4.forEach(a -> response.addRecord(DnsSection.ANSWER, record(question, a)));
            }
        } else {
            response.setCode(DnsResponseCode.NXDOMAIN);
        }
        return response;
    }

    private static DefaultDnsRawRecord record(DnsQuestion question, InetAddress address) {
        return new DefaultDnsRawRecord(question.name(), question.type(), 60, Unpooled.wrappedBuffer(address.getAddress()));
    }

    /** A resolver on a Tas loop that asks only the responder; channels from the classes given. */
    private static DnsNameResolverBuilder resolver() {
        return new DnsNameResolverBuilder(tas.next())
            .nameServerProvider(new SingletonDnsServerAddressStreamProvider(nameServer))
            .searchDomains(List.of())
            .ndots(1)
            .resolvedAddressTypes(ResolvedAddressTypes.IPV4_PREFERRED)
            .queryTimeoutMillis(10_000);
    }

    @Test
    void resolvesAAndAaaaRecordsOverTasDatagramChannel() throws Exception {
        DnsNameResolver resolver = resolver()
            .datagramChannelType(TasDatagramChannel.class)
            .socketChannelType(TasSocketChannel.class)
            .build();
        try {
            List<InetAddress> all = resolver.resolveAll(NAME).get(30, TimeUnit.SECONDS);
            assertThat(all).containsExactlyInAnyOrder(NAME_V4.get(0), NAME_V4.get(1), NAME_V6.get(0));
            assertThat(all.getFirst()).isInstanceOf(Inet4Address.class); // IPv4 preferred
            assertThat(resolver.resolve(NAME).get(30, TimeUnit.SECONDS)).isIn(NAME_V4);
            assertThat(queries).contains("udp A " + NAME, "udp AAAA " + NAME);
        } finally {
            resolver.close();
        }
    }

    @Test
    void unknownNameFailsWithUnknownHostException() throws Exception {
        DnsNameResolver resolver = resolver()
            .datagramChannelType(Tas.datagramChannelType())
            .socketChannelType(Tas.socketChannelType())
            .build();
        try {
            Future<InetAddress> f = resolver.resolve("nothing-here.tas.test").await();
            assertThat(f.isSuccess()).isFalse();
            assertThat(f.cause()).isInstanceOf(UnknownHostException.class).hasMessageContaining("nothing-here.tas.test");
            assertThat(queries).contains("udp A nothing-here.tas.test");
        } finally {
            resolver.close();
        }
    }

    @Test
    void truncatedAnswerIsAskedAgainOverTcpOnATasSocketChannel() throws Exception {
        DnsNameResolver resolver = resolver()
            .datagramChannelType(TasDatagramChannel.class)
            .socketChannelType(TasSocketChannel.class)
            .build();
        try {
            List<InetAddress> all = resolver.resolveAll(LARGE).get(30, TimeUnit.SECONDS);
            assertThat(all).containsExactlyInAnyOrderElementsOf(LARGE_V4);
            assertThat(queries).contains("udp A " + LARGE, "tcp A " + LARGE);
        } finally {
            resolver.close();
        }
    }

    @Test
    void channelPerResolutionOpensAndClosesATasDatagramChannelPerLookup() throws Exception {
        List<Channel> made = new CopyOnWriteArrayList<>();
        ChannelFactory<TasDatagramChannel> tasFactory = Tas.datagramChannelFactory(null);
        DnsNameResolver resolver = resolver()
            .datagramChannelFactory(() -> {
                TasDatagramChannel ch = tasFactory.newChannel();
                made.add(ch);
                return ch;
            })
            .datagramChannelStrategy(DnsNameResolverChannelStrategy.ChannelPerResolution)
            .resolveCache(NoopDnsCache.INSTANCE) // every lookup asks
            .build();
        try {
            for (int i = 0; i < 3; i++) {
                assertThat(resolver.resolve(NAME).get(30, TimeUnit.SECONDS)).isIn(NAME_V4);
            }
            assertThat(made).hasSizeGreaterThanOrEqualTo(3);
            for (Channel ch : made) {
                assertThat(ch.eventLoop().parent()).isSameAs(tas);
                assertThat(ch.closeFuture().await(10, TimeUnit.SECONDS)).as("%s closed after its lookup", ch).isTrue();
            }
        } finally {
            resolver.close();
        }
    }

    private static List<InetAddress> addresses(String... literals) {
        List<InetAddress> list = new ArrayList<>();
        for (String s : literals) {
            try {
                list.add(InetAddress.getByName(s)); // literals: no lookup
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException(s, e);
            }
        }
        return List.copyOf(list);
    }
}
