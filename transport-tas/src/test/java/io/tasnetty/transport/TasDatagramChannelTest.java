package io.tasnetty.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultAddressedEnvelope;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioChannelOption;
import io.tasnetty.engine.TasEngine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.NotYetConnectedException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.tasnetty.transport.TasTestEngine.eventually;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link TasDatagramChannel} on TAS event loops: kernel UDP through each loop's selector. Every
 * exchange stays on loopback (127.0.0.1, ::1; multicast only on the loopback interface).
 */
@Timeout(120)
class TasDatagramChannelTest {
    private static final InetSocketAddress LOOPBACK4 = new InetSocketAddress("127.0.0.1", 0);
    private static final InetSocketAddress LOOPBACK6 = new InetSocketAddress("::1", 0);

    private static TasEngine engine;
    private static TasEventLoopGroup group;

    @BeforeAll
    static void start() {
        engine = TasTestEngine.start();
        group = new TasEventLoopGroup(2, engine);
    }

    @AfterAll
    static void stop() throws InterruptedException {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        engine.close();
    }

    /** A datagram received by {@link #receiver}: its text and addresses (the buffer is released at once). */
    private record Received(String text, InetSocketAddress sender, InetSocketAddress recipient) {
    }

    /** A handler that queues what it receives and, if {@code echo}, sends the same text back. */
    private static SimpleChannelInboundHandler<DatagramPacket> receiver(BlockingQueue<Received> into, boolean echo) {
        return new SimpleChannelInboundHandler<>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket msg) {
                into.add(new Received(msg.content().toString(StandardCharsets.UTF_8), msg.sender(), msg.recipient()));
                if (echo) {
                    ctx.writeAndFlush(new DatagramPacket(msg.content().retainedDuplicate(), msg.sender()));
                }
            }
        };
    }

    private static Bootstrap bootstrap(SimpleChannelInboundHandler<DatagramPacket> handler) {
        return new Bootstrap().group(group).channel(TasDatagramChannel.class).handler(handler);
    }

    private static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    private static Received poll(BlockingQueue<Received> q) throws InterruptedException {
        Received r = q.poll(10, TimeUnit.SECONDS);
        assertThat(r).as("a datagram within 10 s").isNotNull();
        return r;
    }

    @Test
    void unconnectedChannelsExchangeDatagramPacketsAndEnvelopes() throws Exception {
        BlockingQueue<Received> atServer = new LinkedBlockingQueue<>();
        BlockingQueue<Received> atClient = new LinkedBlockingQueue<>();
        TasDatagramChannel server = (TasDatagramChannel) bootstrap(receiver(atServer, true)).bind(LOOPBACK4).sync().channel();
        TasDatagramChannel client = (TasDatagramChannel) bootstrap(receiver(atClient, false)).bind(LOOPBACK4).sync().channel();
        try {
            assertThat(server.eventLoop()).isInstanceOf(EventLoop.class);
            assertThat(server.isActive()).isTrue();
            assertThat(server.isConnected()).isFalse();
            assertThat(server.localAddress().getPort()).isPositive();

            client.writeAndFlush(new DatagramPacket(text("packet"), server.localAddress())).sync();
            // Heap content in an AddressedEnvelope is copied to a direct buffer before it is sent.
            client.writeAndFlush(new DefaultAddressedEnvelope<>(Unpooled.wrappedBuffer("envelope".getBytes(StandardCharsets.UTF_8)),
                server.localAddress())).sync();

            Received first = poll(atServer);
            assertThat(first.text()).isEqualTo("packet");
            assertThat(first.sender()).isEqualTo(client.localAddress());
            assertThat(first.recipient()).isEqualTo(server.localAddress());
            assertThat(poll(atServer).text()).isEqualTo("envelope");

            Received echo = poll(atClient);
            assertThat(echo.text()).isEqualTo("packet");
            assertThat(echo.sender()).isEqualTo(server.localAddress());
            assertThat(poll(atClient).text()).isEqualTo("envelope");

            // Without a peer a plain ByteBuf has nowhere to go.
            ChannelFuture f = client.writeAndFlush(text("no peer")).await();
            assertThat(f.cause()).isInstanceOf(NotYetConnectedException.class);
            assertThat(client.isOpen()).isTrue();
        } finally {
            client.close().sync();
            server.close().sync();
        }
    }

    @Test
    void connectedChannelWritesByteBufsAndDisconnects() throws Exception {
        BlockingQueue<Received> atServer = new LinkedBlockingQueue<>();
        BlockingQueue<Received> atClient = new LinkedBlockingQueue<>();
        TasDatagramChannel server = (TasDatagramChannel) bootstrap(receiver(atServer, true)).bind(LOOPBACK4).sync().channel();
        // connect binds an ephemeral port on the way, as a UDP connect does.
        TasDatagramChannel client = (TasDatagramChannel) bootstrap(receiver(atClient, false))
            .connect(server.localAddress()).sync().channel();
        try {
            assertThat(client.isActive()).isTrue();
            assertThat(client.isConnected()).isTrue();
            assertThat(client.remoteAddress()).isEqualTo(server.localAddress());

            client.writeAndFlush(text("one")).sync();
            client.writeAndFlush(text("two")).sync();
            assertThat(poll(atServer)).isEqualTo(new Received("one", client.localAddress(), server.localAddress()));
            assertThat(poll(atServer).text()).isEqualTo("two");
            assertThat(poll(atClient).text()).isEqualTo("one");
            assertThat(poll(atClient).text()).isEqualTo("two");

            client.disconnect().sync();
            assertThat(client.isConnected()).isFalse();
            assertThat(client.remoteAddress()).isNull();
            assertThat(client.isOpen()).isTrue();
            assertThat(client.writeAndFlush(text("three")).await().cause()).isInstanceOf(NotYetConnectedException.class);
            // Still usable with an explicit recipient.
            client.writeAndFlush(new DatagramPacket(text("four"), server.localAddress())).sync();
            assertThat(poll(atServer).text()).isEqualTo("four");
        } finally {
            client.close().sync();
            server.close().sync();
        }
    }

    @Test
    void ipv6LoopbackWorks() throws Exception {
        BlockingQueue<Received> atServer = new LinkedBlockingQueue<>();
        BlockingQueue<Received> atClient = new LinkedBlockingQueue<>();
        Bootstrap inet6 = new Bootstrap().group(group).channelFactory(Tas.datagramChannelFactory(SocketProtocolFamily.INET6));
        TasDatagramChannel server = (TasDatagramChannel) inet6.clone().handler(receiver(atServer, true)).bind(LOOPBACK6).sync().channel();
        TasDatagramChannel client = (TasDatagramChannel) inet6.clone().handler(receiver(atClient, false))
            .connect(server.localAddress(), LOOPBACK6).sync().channel();
        try {
            assertThat(server.localAddress().getAddress()).isEqualTo(InetAddress.getByName("::1"));
            client.writeAndFlush(text("six")).sync();
            Received r = poll(atServer);
            assertThat(r).isEqualTo(new Received("six", client.localAddress(), server.localAddress()));
            assertThat(poll(atClient)).isEqualTo(new Received("six", server.localAddress(), client.localAddress()));
        } finally {
            client.close().sync();
            server.close().sync();
        }
    }

    @Test
    void exchangesDatagramsWithAPlainKernelSocket() throws Exception {
        BlockingQueue<Received> atServer = new LinkedBlockingQueue<>();
        TasDatagramChannel server = (TasDatagramChannel) bootstrap(receiver(atServer, true)).bind(LOOPBACK4).sync().channel();
        try (DatagramChannel peer = DatagramChannel.open(StandardProtocolFamily.INET)) {
            peer.bind(LOOPBACK4);
            peer.send(ByteBuffer.wrap("from the kernel".getBytes(StandardCharsets.UTF_8)), server.localAddress());
            Received r = poll(atServer);
            assertThat(r.text()).isEqualTo("from the kernel");
            assertThat(r.sender()).isEqualTo(peer.getLocalAddress());

            ByteBuffer reply = ByteBuffer.allocate(64);
            SocketAddress from = peer.receive(reply); // blocking: the echo
            assertThat(from).isEqualTo(server.localAddress());
            assertThat(new String(reply.array(), 0, reply.position(), StandardCharsets.UTF_8)).isEqualTo("from the kernel");
        } finally {
            server.close().sync();
        }
    }

    @Test
    void closingAChannelFreesItsSocket() throws Exception {
        TasIoHandler[] handlers = group.ioHandlers().toArray(new TasIoHandler[0]);
        TasDatagramChannel channel = (TasDatagramChannel) bootstrap(receiver(new LinkedBlockingQueue<>(), false))
            .bind(LOOPBACK4).sync().channel();
        TasIoHandler handler = null;
        for (TasIoHandler h : handlers) {
            if (channel.eventLoop().submit(h::inLoop).get()) {
                handler = h;
            }
        }
        assertThat(handler).isNotNull();
        TasIoHandler owner = handler;
        assertThat(owner.kernelRegistrations()).isEqualTo(1);
        InetSocketAddress bound = channel.localAddress();

        // Bound without SO_REUSEADDR: while it is open, nobody else gets the port.
        try (DatagramChannel other = DatagramChannel.open(StandardProtocolFamily.INET)) {
            assertThatThrownBy(() -> other.bind(bound)).isInstanceOf(java.net.BindException.class);
        }

        channel.close().sync();
        assertThat(channel.isOpen()).isFalse();
        assertThat(channel.isActive()).isFalse();
        assertThat(eventually(5000, () -> owner.kernelRegistrations() == 0)).as("registration cancelled").isTrue();
        // The JDK releases the descriptor when the key leaves the selector: the port is free again.
        assertThat(eventually(5000, () -> canBind(bound))).as("port %d free after close", bound.getPort()).isTrue();
    }

    private static boolean canBind(InetSocketAddress address) {
        try (DatagramChannel probe = DatagramChannel.open(StandardProtocolFamily.INET)) {
            probe.bind(address);
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    @Test
    void loopWithADatagramChannelBlocksWhenIdleAndWakesForADatagram() throws Exception {
        TasEventLoopGroup one = new TasEventLoopGroup(1, engine);
        try {
            BlockingQueue<Received> received = new LinkedBlockingQueue<>();
            Channel channel = new Bootstrap().group(one).channel(TasDatagramChannel.class).handler(receiver(received, false))
                .bind(LOOPBACK4).sync().channel();
            TasIoHandler handler = one.ioHandlers().getFirst();
            long threadId = channel.eventLoop().submit(() -> Thread.currentThread().threadId()).get();
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            Thread.sleep(100);
            long cpuBefore = mx.getThreadCpuTime(threadId);
            long blocksBefore = handler.stats().blocks();
            Thread.sleep(1000);
            long blocks = handler.stats().blocks() - blocksBefore;
            long cpuMillis = (mx.getThreadCpuTime(threadId) - cpuBefore) / 1_000_000;
            // It blocked (in the selector, with a kernel socket registered), and not in a tight
            // wake-up loop: without scheduled tasks Netty wakes it about once a second.
            assertThat(blocks).as("blocks in 1 s idle").isBetween(1L, 20L);
            assertThat(cpuMillis).as("CPU time of the idle loop in 1 s").isLessThan(50);

            // Kernel readiness wakes the blocked loop.
            try (DatagramChannel peer = DatagramChannel.open(StandardProtocolFamily.INET)) {
                peer.send(ByteBuffer.wrap("wake".getBytes(StandardCharsets.UTF_8)), channel.localAddress());
            }
            assertThat(poll(received).text()).isEqualTo("wake");
            channel.close().sync();
        } finally {
            one.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void shuttingDownTheGroupClosesItsDatagramChannels() throws Exception {
        TasEventLoopGroup own = new TasEventLoopGroup(1, engine);
        Channel channel = new Bootstrap().group(own).channel(TasDatagramChannel.class)
            .handler(new ChannelInboundHandlerAdapter()).bind(LOOPBACK4).sync().channel();
        InetSocketAddress bound = (InetSocketAddress) channel.localAddress();
        // A quiet period above 0: Netty's loop then runs its handler's prepareToDestroy (which closes
        // what is still registered) at least once after the shutdown began. With 0 it may stop
        // without it, if the shutdown begins between its check and confirmShutdown.
        own.shutdownGracefully(10, 1000, TimeUnit.MILLISECONDS).sync();
        assertThat(channel.closeFuture().await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(canBind(bound)).isTrue();
    }

    @Test
    void runsOnAPlainNioLoopToo() throws Exception {
        MultiThreadIoEventLoopGroup nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            BlockingQueue<Received> atTas = new LinkedBlockingQueue<>();
            BlockingQueue<Received> atNio = new LinkedBlockingQueue<>();
            Channel tas = bootstrap(receiver(atTas, true)).bind(LOOPBACK4).sync().channel();
            Channel onNio = new Bootstrap().group(nio).channel(TasDatagramChannel.class).handler(receiver(atNio, false))
                .bind(LOOPBACK4).sync().channel();
            onNio.writeAndFlush(new DatagramPacket(text("nio"), (InetSocketAddress) tas.localAddress())).sync();
            assertThat(poll(atTas).text()).isEqualTo("nio");
            assertThat(poll(atNio).text()).isEqualTo("nio");
            onNio.close().sync();
            tas.close().sync();
        } finally {
            nio.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @SuppressWarnings("deprecation") // DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION: deprecated in Netty, still honoured
    @Test
    void optionsReachTheKernelSocket() throws Exception {
        NetworkInterface lo = NetworkInterface.getByInetAddress(InetAddress.getByName("127.0.0.1"));
        TasDatagramChannel ch = (TasDatagramChannel) new Bootstrap().group(group)
            .channelFactory(Tas.datagramChannelFactory(SocketProtocolFamily.INET))
            .handler(new ChannelInboundHandlerAdapter())
            .option(ChannelOption.SO_BROADCAST, true)
            .option(ChannelOption.SO_RCVBUF, 65536)
            .option(ChannelOption.SO_SNDBUF, 32768)
            .option(ChannelOption.SO_REUSEADDR, true)
            .option(ChannelOption.IP_TOS, 0x10)
            .option(ChannelOption.IP_MULTICAST_TTL, 3)
            .option(ChannelOption.IP_MULTICAST_LOOP_DISABLED, true)
            .option(ChannelOption.IP_MULTICAST_IF, lo)
            .option(NioChannelOption.of(StandardSocketOptions.SO_REUSEPORT), true)
            .bind(LOOPBACK4).sync().channel();
        try {
            TasDatagramChannelConfig c = ch.config();
            assertThat(c.getOption(ChannelOption.SO_BROADCAST)).isTrue();
            assertThat(c.getOption(ChannelOption.SO_RCVBUF)).isGreaterThanOrEqualTo(65536); // Linux doubles it
            assertThat(c.getOption(ChannelOption.SO_SNDBUF)).isGreaterThanOrEqualTo(32768);
            assertThat(c.getOption(ChannelOption.SO_REUSEADDR)).isTrue();
            assertThat(c.getOption(ChannelOption.IP_TOS)).isEqualTo(0x10);
            assertThat(c.getOption(ChannelOption.IP_MULTICAST_TTL)).isEqualTo(3);
            assertThat(c.getOption(ChannelOption.IP_MULTICAST_LOOP_DISABLED)).isTrue();
            assertThat(c.getOption(ChannelOption.IP_MULTICAST_IF)).isEqualTo(lo);
            assertThat(c.getOption(ChannelOption.IP_MULTICAST_ADDR)).isIn(lo.inetAddresses().toArray());
            assertThat(c.getOption(NioChannelOption.of(StandardSocketOptions.SO_REUSEPORT))).isTrue();
            assertThat(c.getOptions()).containsKeys(ChannelOption.SO_BROADCAST, ChannelOption.IP_MULTICAST_TTL,
                ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION);

            c.setLoopbackModeDisabled(false).setBroadcast(false);
            assertThat(c.isLoopbackModeDisabled()).isFalse();
            assertThat(c.isBroadcast()).isFalse();
            // Only before registration.
            assertThatThrownBy(() -> c.setOption(ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION, true))
                .isInstanceOf(IllegalStateException.class);
        } finally {
            ch.close().sync();
        }
    }

    @SuppressWarnings("deprecation")
    @Test
    void activeOnRegistrationSendsWithoutBind() throws Exception {
        BlockingQueue<Received> atServer = new LinkedBlockingQueue<>();
        Channel server = bootstrap(receiver(atServer, false)).bind(LOOPBACK4).sync().channel();
        Channel unbound = new Bootstrap().group(group).channel(TasDatagramChannel.class).handler(new ChannelInboundHandlerAdapter())
            .option(ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION, true).register().sync().channel();
        Channel inactive = new Bootstrap().group(group).channel(TasDatagramChannel.class).handler(new ChannelInboundHandlerAdapter())
            .register().sync().channel();
        try {
            assertThat(unbound.isActive()).isTrue();
            assertThat(unbound.localAddress()).isNull();
            assertThat(inactive.isActive()).isFalse();
            unbound.writeAndFlush(new DatagramPacket(text("implicit bind"), (InetSocketAddress) server.localAddress())).sync();
            Received r = poll(atServer);
            assertThat(r.text()).isEqualTo("implicit bind");
            assertThat(r.sender().getPort()).isPositive();
        } finally {
            unbound.close().sync();
            inactive.close().sync();
            server.close().sync();
        }
    }

    @Test
    void unsupportedMessagesAndUnresolvedRecipientsFailTheWriteOnly() throws Exception {
        Channel ch = bootstrap(receiver(new LinkedBlockingQueue<>(), false)).bind(LOOPBACK4).sync().channel();
        try {
            assertThat(ch.writeAndFlush("a string").await().cause()).isInstanceOf(UnsupportedOperationException.class);
            InetSocketAddress unresolved = InetSocketAddress.createUnresolved("no.such.host.invalid", 9);
            assertThat(ch.writeAndFlush(new DatagramPacket(text("x"), unresolved)).await().cause())
                .isInstanceOf(java.nio.channels.UnresolvedAddressException.class);
            assertThat(ch.isOpen()).isTrue();
        } finally {
            ch.close().sync();
        }
    }

    @Test
    void multicastJoinBlockAndLeaveOnTheLoopbackInterface() throws Exception {
        NetworkInterface lo = NetworkInterface.getByInetAddress(InetAddress.getByName("127.0.0.1"));
        InetAddress group4 = InetAddress.getByName("239.255.77.1");
        BlockingQueue<Received> atMember = new LinkedBlockingQueue<>();
        Bootstrap inet = new Bootstrap().group(group).channelFactory(Tas.datagramChannelFactory(SocketProtocolFamily.INET));
        // A member must be bound to the wildcard (or the group) address to receive the group's datagrams.
        TasDatagramChannel member = (TasDatagramChannel) inet.clone().handler(receiver(atMember, false))
            .option(ChannelOption.SO_REUSEADDR, true).bind(new InetSocketAddress("0.0.0.0", 0)).sync().channel();
        // The sender's multicast leaves through lo only: nothing goes on any wire.
        TasDatagramChannel sender = (TasDatagramChannel) inet.clone().handler(new ChannelInboundHandlerAdapter())
            .option(ChannelOption.IP_MULTICAST_IF, lo).bind(LOOPBACK4).sync().channel();
        try {
            int port = member.localAddress().getPort();
            InetSocketAddress groupAddress = new InetSocketAddress(group4, port);
            InetSocketAddress unicast = new InetSocketAddress("127.0.0.1", port);
            member.joinGroup(groupAddress, lo).sync();

            sender.writeAndFlush(new DatagramPacket(text("to the group"), groupAddress)).sync();
            Received r = poll(atMember);
            assertThat(r.text()).isEqualTo("to the group");
            assertThat(r.sender()).isEqualTo(sender.localAddress());

            // Blocked source: its group datagram is dropped, its unicast one (sent after it) arrives.
            member.block(group4, lo, InetAddress.getByName("127.0.0.1")).sync();
            sender.writeAndFlush(new DatagramPacket(text("blocked"), groupAddress)).sync();
            sender.writeAndFlush(new DatagramPacket(text("unicast 1"), unicast)).sync();
            assertThat(poll(atMember).text()).isEqualTo("unicast 1");

            member.leaveGroup(groupAddress, lo).sync();
            member.joinGroup(groupAddress, lo).sync(); // a new membership has no blocked sources
            sender.writeAndFlush(new DatagramPacket(text("member again"), groupAddress)).sync();
            assertThat(poll(atMember).text()).isEqualTo("member again");

            member.leaveGroup(groupAddress, lo).sync();
            sender.writeAndFlush(new DatagramPacket(text("after leaving"), groupAddress)).sync();
            sender.writeAndFlush(new DatagramPacket(text("unicast 2"), unicast)).sync();
            assertThat(poll(atMember).text()).isEqualTo("unicast 2");

            // Blocking needs a membership.
            assertThat(member.block(group4, lo, InetAddress.getByName("127.0.0.1")).await().cause())
                .isInstanceOf(IllegalStateException.class);
            // Group operations without an interface use the bound address's; a wildcard-bound socket has none.
            assertThat(member.joinGroup(group4).await().cause()).isInstanceOf(java.net.SocketException.class);
            assertThat(group4).isInstanceOf(Inet4Address.class);
        } finally {
            sender.close().sync();
            member.close().sync();
        }
    }
}
