package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.socket.DatagramUnicastIPv6MappedTest;

import java.util.List;

/**
 * Netty's {@link DatagramUnicastIPv6MappedTest} on {@code TasDatagramChannel}s: IPv6 sockets bound
 * to the wildcard, sending to 127.0.0.1 (IPv4-mapped).
 *
 * <p>It needs an IPv6-capable JVM. The it/ module runs with {@code
 * -Djava.net.preferIPv4Stack=true} (see {@code it.argLine} in it/pom.xml: Netty's socket tests
 * must bind to 127.0.0.1, which the engine serves), and then the JDK refuses IPv6 sockets: Netty's
 * own {@code @BeforeAll} ({@link DatagramUnicastIPv6MappedTest#assumeIpv6Supported()}) aborts the
 * class, exactly as it does for NIO in such a JVM. To run it, override the property: {@code ./mvnw
 * -pl it -am verify -Dtest='TasDatagram*' -Dsurefire.failIfNoSpecifiedTests=false
 * -Dit.argLine=-Dio.netty.testsuite.badHost=10.0.0.254}. {@code TasDatagramChannelTest} in
 * transport-tas covers {@code ::1} in every build.
 *
 * <p>{@code testSendToUnresolvableAddress} runs as {@link UnresolvedRecipient} has it: the same
 * steps and checks, with an unresolved address made without asking DNS (Netty's version asks the
 * machine's resolver, off this machine, for {@code NOT_A_REAL_ADDRESS}).
 */
class TasDatagramUnicastIPv6MappedTest extends DatagramUnicastIPv6MappedTest {
    @Override
    protected List<BootstrapComboFactory<Bootstrap, Bootstrap>> newFactories() {
        return TasDatagramTestPermutation.INSTANCE.datagram(socketInternetProtocalFamily());
    }

    @Override
    public void testSendToUnresolvableAddress(Bootstrap sb, Bootstrap cb) throws Exception {
        UnresolvedRecipient.sendToUnresolvableAddress(sb, cb, newSocketAddress(), this::convertAnyAddress);
    }
}
