package io.tasnetty.it.netty;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.SocketShutdownOutputByPeerTest;

import java.util.List;

/** Netty's {@link SocketShutdownOutputByPeerTest} on TAS channels. A TAS server seeing a plain {@code java.net.Socket} peer half-close: the peer reaches it through its kernel listener. */
class TasSocketShutdownOutputByPeerTest extends SocketShutdownOutputByPeerTest {
    @Override
    protected List<BootstrapFactory<ServerBootstrap>> newFactories() {
        return TasSocketTestPermutation.INSTANCE.serverSocket();
    }
}
