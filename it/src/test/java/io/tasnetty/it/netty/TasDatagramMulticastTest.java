package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.socket.DatagramMulticastTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.net.InetAddress;
import java.util.List;

/**
 * Netty's {@link DatagramMulticastTest} on {@code TasDatagramChannel}s, on the loopback interface only
 * (see {@link LoopbackMulticast}: Netty's own choice here would be eth0, i.e. the network).
 *
 * <p>IPv4 group 230.0.0.1 on 127.0.0.1: join, receive, leave, nothing more received, then the
 * loopback-mode option.
 */
class TasDatagramMulticastTest extends DatagramMulticastTest {
    @BeforeAll
    static void loopbackMulticast() throws Exception {
        LoopbackMulticast.enable();
    }

    @AfterAll
    static void restoreLoopback() throws Exception {
        LoopbackMulticast.restore();
    }

    @Override
    protected List<BootstrapComboFactory<Bootstrap, Bootstrap>> newFactories() {
        return TasDatagramTestPermutation.INSTANCE.datagram(socketInternetProtocalFamily());
    }

    @Override
    protected boolean isSupported(SocketProtocolFamily family, InetAddress address) {
        return LoopbackMulticast.isLoopback(address) && super.isSupported(family, address);
    }
}
