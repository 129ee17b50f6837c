package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Netty's {@code DatagramUnicastTest.testSendToUnresolvableAddress}, step for step, with one change:
 * its unresolvable recipient is made with {@link InetSocketAddress#createUnresolved} instead of
 * {@code new InetSocketAddress("NOT_A_REAL_ADDRESS", port)}. The latter asks the system's DNS
 * resolver (a host outside this machine, per /etc/resolv.conf) for that name, and this project's
 * tests send nothing off the machine (a capture on eth0 during Netty's version showed the two
 * queries). Either way the test gets an unresolved address; what it checks is the channel's answer:
 * the write fails with {@link UnresolvedAddressException} and the channel stays open and usable.
 */
final class UnresolvedRecipient {
    private UnresolvedRecipient() {
    }

    @SuppressWarnings("deprecation") // DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION, as Netty's test sets it
    static void sendToUnresolvableAddress(Bootstrap sb, Bootstrap cb, SocketAddress bindAddress,
                                          UnaryOperator<InetSocketAddress> convertAnyAddress) throws Exception {
        Channel sc = sb.handler(new SimpleChannelInboundHandler<DatagramPacket>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket msg) {
                // dropped
            }
        }).bind(bindAddress).sync().channel();
        Channel cc = cb.option(ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION, true)
            .handler(new ChannelInboundHandlerAdapter()).register().sync().channel();
        try {
            InetSocketAddress goodHost = convertAnyAddress.apply((InetSocketAddress) sc.localAddress());
            InetSocketAddress unresolvedHost = InetSocketAddress.createUnresolved("NOT_A_REAL_ADDRESS", goodHost.getPort());
            assertFalse(goodHost.isUnresolved());
            assertTrue(unresolvedHost.isUnresolved());

            for (int round = 0; round < 2; round++) {
                cc.writeAndFlush(new DatagramPacket(Unpooled.copiedBuffer("hello world!", StandardCharsets.US_ASCII), goodHost))
                    .sync();
                assertInstanceOf(UnresolvedAddressException.class, cc.writeAndFlush(new DatagramPacket(
                    Unpooled.copiedBuffer("hello world!", StandardCharsets.US_ASCII), unresolvedHost)).await().cause());
                assertTrue(cc.isOpen()); // still open, and the next round still sends
            }
        } finally {
            cc.close().sync();
            sc.close().sync();
        }
    }
}
