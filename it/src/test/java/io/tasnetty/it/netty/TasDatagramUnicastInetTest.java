package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.socket.DatagramUnicastInetTest;

import java.util.List;

/**
 * Netty's {@link DatagramUnicastInetTest} on {@code TasDatagramChannel}s: IPv4 unicast:
 * unconnected, connected (then disconnected), bound to a port only, empty datagrams, unresolvable
 * recipients, every ByteBuf kind.
 *
 * <p>{@code testSendToUnresolvableAddress} runs as {@link UnresolvedRecipient} has it: the same
 * steps and checks, with an unresolved address made without asking DNS (Netty's version asks the
 * machine's resolver, off this machine, for {@code NOT_A_REAL_ADDRESS}).
 */
class TasDatagramUnicastInetTest extends DatagramUnicastInetTest {
    @Override
    protected List<BootstrapComboFactory<Bootstrap, Bootstrap>> newFactories() {
        return TasDatagramTestPermutation.INSTANCE.datagram(socketInternetProtocalFamily());
    }

    @Override
    public void testSendToUnresolvableAddress(Bootstrap sb, Bootstrap cb) throws Exception {
        UnresolvedRecipient.sendToUnresolvableAddress(sb, cb, newSocketAddress(), this::convertAnyAddress);
    }
}
