/**
 * Netty's own transport testsuite ({@code io.netty:netty-testsuite},
 * {@code io.netty.testsuite.transport.socket}) run against TAS channels: one subclass per test
 * class, unchanged, with {@link io.tasnetty.it.netty.TasSocketTestPermutation}'s bootstraps.
 *
 * <p>Every applicable class runs, including those whose peer is a plain {@code java.net.Socket} or
 * {@code java.net.ServerSocket} (they meet TAS channels through the kernel path). Not here, and why:
 * <ul>
 *   <li>{@code ServerSocketSuspendTest}: disabled by Netty for every transport; its body expects
 *       connects beyond a backlog of 1 to wait rather than time out, which Linux does not do (NIO
 *       fails it the same way).</li>
 *   <li>{@code SocketSslClientRenegotiateTest}: needs an OpenSSL that renegotiates; the only native
 *       TLS served here is BoringSSL, which refuses renegotiation by design, so Netty's own
 *       assumption skips every case on every transport.</li>
 *   <li>{@code SocketSslLargeCertificateTest}: not a transport test (it builds its own NIO group).</li>
 *   <li>{@code AbstractSocketReuseFdTest}: epoll/io_uring only (file-descriptor reuse).</li>
 * </ul>
 * The tests run with {@code -Djava.net.preferIPv4Stack=true} (see it/pom.xml): Netty's testsuite
 * binds {@code NetUtil.LOCALHOST}, which is {@code ::1} on these machines otherwise.
 */
package io.tasnetty.it.netty;
