package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.DatagramConnectedWriteExceptionTest;

import java.util.List;

/**
 * Netty's {@link DatagramConnectedWriteExceptionTest} on a {@code TasDatagramChannel}: once the
 * connected peer is gone, a write (auto-read off, so no read reports it first) fails with
 * {@link java.net.PortUnreachableException} and the channel goes on.
 */
class TasDatagramConnectedWriteExceptionTest extends DatagramConnectedWriteExceptionTest {
    @Override
    protected List<BootstrapFactory<Bootstrap>> newFactories() {
        return TasDatagramTestPermutation.INSTANCE.datagramSocket();
    }
}
