package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.SocketTestPermutation;
import io.tasnetty.transport.Tas;
import io.tasnetty.transport.TasDatagramChannel;

import java.util.List;

/**
 * The permutation Netty's {@code Datagram*} tests run with here: {@link TasDatagramChannel}s on
 * both ends, on the TAS worker loops the socket tests use ({@link TasSocketTestPermutation#TAS_WORKER}),
 * so UDP shares its loops with TCP channels as in an application. {@code datagram(family)} opens
 * sockets of the family the test asks for, as NIO's permutation does with
 * {@code new NioDatagramChannel(family)}; {@code datagramSocket()} uses the no-argument
 * constructor (Netty's reflective factory).
 *
 * <p>UDP on Tas loops is the kernel's (the engine has no UDP), so unlike TCP a TAS datagram
 * channel and an NIO one meet; Netty's tests that use a plain JDK socket as the peer
 * ({@code testReceiveEmptyDatagrams}) show it.
 */
final class TasDatagramTestPermutation extends SocketTestPermutation {
    static final TasDatagramTestPermutation INSTANCE = new TasDatagramTestPermutation();

    private TasDatagramTestPermutation() {
    }

    @Override
    public List<BootstrapComboFactory<Bootstrap, Bootstrap>> datagram(SocketProtocolFamily family) {
        BootstrapFactory<Bootstrap> tas = () -> new Bootstrap().group(TasSocketTestPermutation.TAS_WORKER)
            .channelFactory(Tas.datagramChannelFactory(family));
        return combo(List.of(tas), List.of(tas));
    }

    @Override
    public List<BootstrapFactory<Bootstrap>> datagramSocket() {
        return List.of(() -> new Bootstrap().group(TasSocketTestPermutation.TAS_WORKER).channel(TasDatagramChannel.class));
    }
}
