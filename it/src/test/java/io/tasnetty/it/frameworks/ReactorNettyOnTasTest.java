package io.tasnetty.it.frameworks;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.SingletonDnsServerAddressStreamProvider;
import io.tasnetty.transport.TasPath;
import io.tasnetty.transport.TasServerSocketChannel;
import io.tasnetty.transport.TasSocketChannel;
import io.tasnetty.transport.reactor.TasLoopResources;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.ConnectionProvider;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.tasnetty.it.frameworks.KernelHttpPeer.BODY;
import static io.tasnetty.it.frameworks.KernelHttpPeer.UPLOAD;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reactor Netty's HTTP server and client on TAS ({@link TasLoopResources} on the default engine):
 * bodies byte for byte both ways, host names through Reactor's own resolver (the hosts file, and a
 * made-up name only the test's DNS responder knows), and the path each connection took: engine
 * between TAS ends, kernel to and from a peer that is not TAS.
 */
class ReactorNettyOnTasTest {
    private static final String MADE_UP = "reactor.tas-frameworks.test";
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static TasLoopResources tas;
    private static LoopbackDns dns;
    private static DisposableServer server;
    private static final List<TasPath> serverPaths = new CopyOnWriteArrayList<>();
    private final List<TasPath> clientPaths = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        tas = new TasLoopResources(2);
        dns = LoopbackDns.start(Map.of(MADE_UP, (Inet4Address) InetAddress.getByAddress(new byte[]{127, 0, 0, 1})));
        server = HttpServer.create().runOn(tas).host("127.0.0.1").port(0)
            .doOnConnection(c -> serverPaths.add(path(c.channel())))
            .route(r -> r
                .get("/bytes", (req, res) -> res.sendByteArray(Mono.just(BODY)))
                .post("/echo", (req, res) -> res.send(req.receive().retain())))
            .bindNow(WAIT);
    }

    @AfterAll
    static void stop() {
        try {
            if (server != null) {
                server.disposeNow(WAIT);
            }
        } finally {
            if (dns != null) {
                dns.close();
            }
            tas.disposeLater(Duration.ZERO, Duration.ofSeconds(10)).block(WAIT);
        }
    }

    @BeforeEach
    void clear() {
        serverPaths.clear();
    }

    private static TasPath path(Channel ch) {
        assertThat(ch).isInstanceOf(TasSocketChannel.class);
        return ((TasSocketChannel) ch).path();
    }

    /**
     * A client on the same TAS loops: a new connection per request (so each one's path is seen),
     * Reactor's DNS resolver asking only the test's responder.
     */
    private HttpClient client() {
        return HttpClient.create(ConnectionProvider.newConnection())
            .runOn(tas)
            .resolver(spec -> spec
                .searchDomains(List.of())
                .dnsAddressResolverGroupProvider(builder -> new DnsAddressResolverGroup(
                    builder.nameServerProvider(new SingletonDnsServerAddressStreamProvider(dns.address())))))
            .doOnConnected(c -> clientPaths.add(path(c.channel())));
    }

    private byte[] get(String hostAndPort) {
        return client().get().uri("http://" + hostAndPort + "/bytes")
            .responseSingle((res, body) -> {
                assertThat(res.status().code()).isEqualTo(200);
                return body.asByteArray();
            })
            .block(WAIT);
    }

    private byte[] postEcho(String hostAndPort) {
        return client().post().uri("http://" + hostAndPort + "/echo")
            .send(Mono.fromSupplier(() -> Unpooled.wrappedBuffer(UPLOAD)))
            .responseSingle((res, body) -> {
                assertThat(res.status().code()).isEqualTo(200);
                return body.asByteArray();
            })
            .block(WAIT);
    }

    @Test
    void serverAndClientOnTasExchangeBodiesByteExactThroughTheEngine() {
        assertThat(server.channel()).isInstanceOf(TasServerSocketChannel.class);
        String at = "127.0.0.1:" + server.port();

        assertThat(get(at)).isEqualTo(BODY);
        assertThat(postEcho(at)).isEqualTo(UPLOAD);

        assertThat(clientPaths).containsExactly(TasPath.ENGINE, TasPath.ENGINE);
        assertThat(serverPaths).containsExactly(TasPath.ENGINE, TasPath.ENGINE);
    }

    @Test
    void localhostResolvesThroughReactorsResolverFromTheHostsFile() {
        assertThat(get("localhost:" + server.port())).isEqualTo(BODY);

        assertThat(dns.queriesFor("localhost")).as("the hosts file answers localhost, not DNS").isZero();
        assertThat(clientPaths).containsExactly(TasPath.ENGINE);
    }

    @Test
    void aMadeUpNameIsResolvedByDnsOverUdpFromATasLoop() {
        int before = dns.queriesFor(MADE_UP);

        assertThat(postEcho(MADE_UP + ":" + server.port())).isEqualTo(UPLOAD);

        // Reactor's resolver sent its query from the datagram channel TasLoopResources gave it.
        assertThat(dns.queriesFor(MADE_UP)).isGreaterThan(before);
        assertThat(clientPaths).containsExactly(TasPath.ENGINE);
        assertThat(serverPaths).containsExactly(TasPath.ENGINE);
    }

    @Test
    void aClientOnTasReachesAPlainJdkServerThroughTheKernel() throws Exception {
        try (KernelHttpPeer jdk = new KernelHttpPeer()) {
            String at = "127.0.0.1:" + jdk.port();

            assertThat(get(at)).isEqualTo(BODY);
            assertThat(postEcho(at)).isEqualTo(UPLOAD);

            assertThat(jdk.requests()).isEqualTo(2);
            assertThat(clientPaths).containsExactly(TasPath.KERNEL, TasPath.KERNEL);
        }
    }

    @Test
    void aServerOnTasAnswersAKernelClient() throws Exception {
        try (java.net.http.HttpClient jdk = java.net.http.HttpClient.newBuilder()
            .version(java.net.http.HttpClient.Version.HTTP_1_1).build()) {
            URI base = URI.create("http://127.0.0.1:" + server.port());

            HttpResponse<byte[]> got = jdk.send(HttpRequest.newBuilder(base.resolve("/bytes")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
            HttpResponse<byte[]> echoed = jdk.send(HttpRequest.newBuilder(base.resolve("/echo"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(UPLOAD)).build(), HttpResponse.BodyHandlers.ofByteArray());

            assertThat(got.statusCode()).isEqualTo(200);
            assertThat(got.body()).isEqualTo(BODY);
            assertThat(echoed.statusCode()).isEqualTo(200);
            assertThat(echoed.body()).isEqualTo(UPLOAD);
        }
        // The JDK client keeps its connection alive: one kernel connection accepted, at least.
        assertThat(serverPaths).isNotEmpty().containsOnly(TasPath.KERNEL);
    }
}
