package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.SocketShutdownOutputBySelfTest;

import java.util.List;

/**
 * Netty's {@link SocketShutdownOutputBySelfTest} on a TAS client half-closing towards a plain
 * {@code java.net.ServerSocket}: the client takes the kernel path. (Netty itself disables
 * {@code testWriteAfterShutdownOutputNoWritabilityChange}; its body fails with an index error in
 * the test's own buffer handling, on NIO as here.)
 */
class TasSocketShutdownOutputBySelfTest extends SocketShutdownOutputBySelfTest {
    @Override
    protected List<BootstrapFactory<Bootstrap>> newFactories() {
        return TasSocketTestPermutation.INSTANCE.clientSocket();
    }
}
