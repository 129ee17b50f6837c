package io.tasnetty.it.frameworks;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A DNS responder on 127.0.0.1 for the framework tests: it answers A queries for the names it was
 * given, says "no such name" for every other name, and counts the queries per name. The resolvers
 * under test are pointed at it explicitly, so no test asks the machine's configured name server
 * (which lies outside this host). It runs on its own NIO loop: the side under test is the client.
 */
final class LoopbackDns implements AutoCloseable {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Map<String, byte[]> names;
    private final Map<String, AtomicInteger> queries = new ConcurrentHashMap<>();
    private final Channel channel;

    private LoopbackDns(Map<String, Inet4Address> names) throws InterruptedException {
        this.names = new ConcurrentHashMap<>();
        names.forEach((n, a) -> this.names.put(normalize(n), a.getAddress()));
        this.channel = new Bootstrap().group(group).channel(NioDatagramChannel.class)
            .handler(new ChannelInitializer<DatagramChannel>() {
                @Override
                protected void initChannel(DatagramChannel ch) {
                    ch.pipeline().addLast(new DatagramDnsQueryDecoder(), new DatagramDnsResponseEncoder(), new Answer());
                }
            })
            .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    /** Starts a responder that answers {@code names} (name to IPv4 address). */
    static LoopbackDns start(Map<String, Inet4Address> names) throws InterruptedException {
        return new LoopbackDns(names);
    }

    InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** "127.0.0.1:port", the form Vert.x's AddressResolverOptions takes. */
    String hostAndPort() {
        return address().getAddress().getHostAddress() + ":" + address().getPort();
    }

    /** Queries received for {@code name} (any type), so a test can tell DNS answered, not a hosts file. */
    int queriesFor(String name) {
        AtomicInteger n = queries.get(normalize(name));
        return n == null ? 0 : n.get();
    }

    private static String normalize(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    private final class Answer extends SimpleChannelInboundHandler<DatagramDnsQuery> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsQuery query) {
            DnsQuestion question = query.recordAt(DnsSection.QUESTION);
            String name = normalize(question.name());
            queries.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet();

            DatagramDnsResponse response = new DatagramDnsResponse(query.recipient(), query.sender(), query.id());
            response.setAuthoritativeAnswer(true).setRecursionDesired(query.isRecursionDesired()).setRecursionAvailable(true);
            response.addRecord(DnsSection.QUESTION, question);
            byte[] ip = names.get(name);
            if (ip == null) {
                response.setCode(DnsResponseCode.NXDOMAIN);
            } else if (question.type() == DnsRecordType.A) {
                response.addRecord(DnsSection.ANSWER,
                    new DefaultDnsRawRecord(question.name(), DnsRecordType.A, 60, Unpooled.wrappedBuffer(ip)));
            }
            // A known name asked for another type (AAAA): no error, no answer, it has only IPv4.
            ctx.writeAndFlush(response);
        }
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
