package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.SocketChannelNotYetConnectedTest;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

import java.util.List;

/** Netty's {@link SocketChannelNotYetConnectedTest} on a TAS client channel. */
class TasSocketChannelNotYetConnectedTest extends SocketChannelNotYetConnectedTest {
    @Override
    protected List<BootstrapFactory<Bootstrap>> newFactories() {
        return TasSocketTestPermutation.INSTANCE.clientSocket();
    }

    @Test
    @Disabled("its server is an NioServerSocketChannel on the kernel's loopback, which a TAS client cannot reach:"
        + " TAS channels connect through the engine's own loopback (reaching kernel sockets needs a TAP or DPDK"
        + " port). TasSocketDataReadInitialStateTest and TasSocketAutoReadTest cover reads requested before and"
        + " after the channel is active.")
    @Override
    public void readMustBePendingUntilChannelIsActive(TestInfo info) {
    }
}
