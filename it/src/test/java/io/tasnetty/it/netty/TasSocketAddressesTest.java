package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.socket.SocketAddressesTest;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Netty's {@link SocketAddressesTest} on TAS channels: both ends report real IPv4 addresses and ports. */
class TasSocketAddressesTest extends SocketAddressesTest {
    @Override
    protected List<BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return TasSocketTestPermutation.INSTANCE.socket();
    }

    @Override
    protected void assertAddress(SocketAddress address) {
        assertThat(address).isInstanceOf(InetSocketAddress.class);
        InetSocketAddress a = (InetSocketAddress) address;
        assertThat(a.getPort()).isPositive();
        assertThat(a.getAddress().getAddress()).hasSize(4);
        assertThat(a.getAddress().isAnyLocalAddress()).isFalse();
    }
}
