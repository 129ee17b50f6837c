package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.DatagramConnectNotExistsTest;

import java.util.List;

/**
 * Netty's {@link DatagramConnectNotExistsTest} on a {@code TasDatagramChannel}: a datagram to a
 * closed loopback port (connected socket) comes back as a {@link java.net.PortUnreachableException}
 * through {@code exceptionCaught}, and the channel stays open.
 */
class TasDatagramConnectNotExistsTest extends DatagramConnectNotExistsTest {
    @Override
    protected List<BootstrapFactory<Bootstrap>> newFactories() {
        return TasDatagramTestPermutation.INSTANCE.datagramSocket();
    }
}
