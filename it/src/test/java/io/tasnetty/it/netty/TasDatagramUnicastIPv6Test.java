package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.socket.DatagramUnicastIPv6Test;

import java.util.List;

/**
 * Netty's {@link DatagramUnicastIPv6Test} on {@code TasDatagramChannel}s: IPv6 unicast on {@code
 * ::1}.
 *
 * <p>It needs an IPv6-capable JVM. The it/ module runs with {@code
 * -Djava.net.preferIPv4Stack=true} (see {@code it.argLine} in it/pom.xml: Netty's socket tests
 * must bind to 127.0.0.1, which the engine serves), and then the JDK refuses IPv6 sockets: Netty's
 * own {@code @BeforeAll} ({@link DatagramUnicastIPv6Test#assumeIpv6Supported()}) aborts the class,
 * exactly as it does for NIO in such a JVM. To run it, override the property: {@code ./mvnw -pl it
 * -am verify -Dtest='TasDatagram*' -Dsurefire.failIfNoSpecifiedTests=false
 * -Dit.argLine=-Dio.netty.testsuite.badHost=10.0.0.254}. {@code TasDatagramChannelTest} in
 * transport-tas covers {@code ::1} in every build.
 *
 * <p>{@code testSendToUnresolvableAddress} runs as {@link UnresolvedRecipient} has it: the same
 * steps and checks, with an unresolved address made without asking DNS (Netty's version asks the
 * machine's resolver, off this machine, for {@code NOT_A_REAL_ADDRESS}).
 */
class TasDatagramUnicastIPv6Test extends DatagramUnicastIPv6Test {
    @Override
    protected List<BootstrapComboFactory<Bootstrap, Bootstrap>> newFactories() {
        return TasDatagramTestPermutation.INSTANCE.datagram(socketInternetProtocalFamily());
    }

    @Override
    public void testSendToUnresolvableAddress(Bootstrap sb, Bootstrap cb) throws Exception {
        UnresolvedRecipient.sendToUnresolvableAddress(sb, cb, newSocketAddress(), this::convertAnyAddress);
    }
}
