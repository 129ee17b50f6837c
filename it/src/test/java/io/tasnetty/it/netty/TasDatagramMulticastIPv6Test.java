package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.socket.DatagramMulticastIPv6Test;

import java.util.List;

/**
 * Netty's {@link DatagramMulticastIPv6Test} on {@code TasDatagramChannel}s, unchanged.
 *
 * <p>Unlike the IPv4 variant ({@link TasDatagramMulticastTest}) it may use Netty's own choice of
 * interface (eth0 here): its group, {@code FF01::101}, has interface-local scope (RFC 4291), which
 * Linux loops back to the host's own members and never transmits on a non-loopback device (checked
 * with a capture on eth0: nothing). ({@code lo} is no alternative: without an IPv6 multicast route
 * Linux refuses to send there.)
 *
 * <p>It needs an IPv6-capable JVM: under the it/ module's {@code -Djava.net.preferIPv4Stack=true}
 * (see {@code it.argLine} in it/pom.xml: Netty's socket tests must bind to 127.0.0.1, which the
 * engine serves) the JDK lists no IPv6 address on any interface, so Netty's own
 * {@code assumeTrue(iface != null, ...)} skips both tests, exactly as for NIO in such a JVM. To run
 * it: {@code ./mvnw -pl it -am verify -Dtest='TasDatagram*' -Dsurefire.failIfNoSpecifiedTests=false
 * -Dit.argLine=-Dio.netty.testsuite.badHost=10.0.0.254}.
 */
class TasDatagramMulticastIPv6Test extends DatagramMulticastIPv6Test {
    @Override
    protected List<BootstrapComboFactory<Bootstrap, Bootstrap>> newFactories() {
        return TasDatagramTestPermutation.INSTANCE.datagram(socketInternetProtocalFamily());
    }
}
