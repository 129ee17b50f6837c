package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.SocketChannelEOFTest;

import java.util.List;

/** Netty's {@link SocketChannelEOFTest} on TAS channels. A TAS client reading everything a plain {@code java.net.ServerSocket} peer sent before its EOF: the client takes the kernel path. */
class TasSocketChannelEOFTest extends SocketChannelEOFTest {
    @Override
    protected List<BootstrapFactory<Bootstrap>> newFactories() {
        return TasSocketTestPermutation.INSTANCE.clientSocket();
    }
}
