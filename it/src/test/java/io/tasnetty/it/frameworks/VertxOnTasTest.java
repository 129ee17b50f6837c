package io.tasnetty.it.frameworks;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.transport.Tas;
import io.tasnetty.transport.vertx.TasVertxTransport;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.dns.AddressResolverOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.PoolOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.tasnetty.it.frameworks.KernelHttpPeer.BODY;
import static io.tasnetty.it.frameworks.KernelHttpPeer.UPLOAD;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Vert.x's HTTP server and client on TAS ({@link TasVertxTransport} on the default engine): bodies
 * byte for byte both ways, host names through Vert.x's own resolver (its hosts file, and a made-up
 * name only the test's DNS responder knows), and which path connections took, read from the
 * engine's connection counters (Vert.x does not show its channels): engine between TAS ends,
 * kernel to and from a peer that is not TAS.
 */
class VertxOnTasTest {
    private static final String MADE_UP = "vertx.tas-frameworks.test";
    private static final long WAIT_SECONDS = 30;

    private static LoopbackDns dns;
    private static Vertx vertx;
    private static HttpServer server;
    private static TasEngine engine;
    private long activeOpens;
    private long passiveOpens;

    @BeforeAll
    static void start() throws Exception {
        dns = LoopbackDns.start(Map.of(MADE_UP, (Inet4Address) InetAddress.getByAddress(new byte[]{127, 0, 0, 1})));
        vertx = Vertx.builder()
            .with(new VertxOptions().setEventLoopPoolSize(2).setAddressResolverOptions(new AddressResolverOptions()
                .setServers(List.of(dns.hostAndPort())) // only the test's responder, never resolv.conf's
                .setSearchDomains(List.of())))
            .withTransport(new TasVertxTransport())
            .build();
        server = vertx.createHttpServer()
            .requestHandler(req -> {
                if (req.method() == HttpMethod.GET && req.path().equals("/bytes")) {
                    req.response().end(Buffer.buffer(BODY));
                } else if (req.method() == HttpMethod.POST && req.path().equals("/echo")) {
                    req.body().onSuccess(b -> req.response().end(b));
                } else {
                    req.response().setStatusCode(404).end();
                }
            })
            .listen(0, "127.0.0.1").await(WAIT_SECONDS, TimeUnit.SECONDS);
        // Vert.x's loops hold the process-wide default engine while the instance runs.
        engine = Tas.defaultEngine().orElseThrow();
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (vertx != null) {
                vertx.close().await(WAIT_SECONDS, TimeUnit.SECONDS);
            }
        } finally {
            if (dns != null) {
                dns.close();
            }
        }
    }

    @BeforeEach
    void countersBefore() {
        activeOpens = engine.counter(TasCounter.CONN_ACTIVE_OPENS);
        passiveOpens = engine.counter(TasCounter.CONN_PASSIVE_OPENS);
    }

    private long newActiveOpens() {
        return engine.counter(TasCounter.CONN_ACTIVE_OPENS) - activeOpens;
    }

    private long newPassiveOpens() {
        return engine.counter(TasCounter.CONN_PASSIVE_OPENS) - passiveOpens;
    }

    /** A client of the same Vert.x instance (so on the same TAS loops), closed after {@code use}. */
    private static <T> T withClient(java.util.function.Function<HttpClient, Future<T>> use) throws Exception {
        HttpClient client = vertx.createHttpClient(new HttpClientOptions(), new PoolOptions());
        try {
            return use.apply(client).await(WAIT_SECONDS, TimeUnit.SECONDS);
        } finally {
            client.close().await(WAIT_SECONDS, TimeUnit.SECONDS);
        }
    }

    private static Future<byte[]> body(HttpClientResponse res) {
        assertThat(res.statusCode()).isEqualTo(200);
        return res.body().map(Buffer::getBytes);
    }

    private static byte[] get(String host, int port) throws Exception {
        return withClient(c -> c.request(HttpMethod.GET, port, host, "/bytes")
            .compose(req -> req.send())
            .compose(VertxOnTasTest::body));
    }

    private static byte[] postEcho(String host, int port) throws Exception {
        return withClient(c -> c.request(HttpMethod.POST, port, host, "/echo")
            .compose(req -> req.send(Buffer.buffer(UPLOAD)))
            .compose(VertxOnTasTest::body));
    }

    @Test
    void serverAndClientOnTasExchangeBodiesByteExactThroughTheEngine() throws Exception {
        assertThat(get("127.0.0.1", server.actualPort())).isEqualTo(BODY);
        assertThat(postEcho("127.0.0.1", server.actualPort())).isEqualTo(UPLOAD);

        // One connection per client: opened by the engine at both ends.
        assertThat(newActiveOpens()).isEqualTo(2);
        assertThat(newPassiveOpens()).isEqualTo(2);
    }

    @Test
    void localhostResolvesThroughVertxsResolverFromTheHostsFile() throws Exception {
        assertThat(get("localhost", server.actualPort())).isEqualTo(BODY);

        assertThat(dns.queriesFor("localhost")).as("the hosts file answers localhost, not DNS").isZero();
        assertThat(newActiveOpens()).isEqualTo(1);
    }

    @Test
    void aMadeUpNameIsResolvedByDnsOverUdpFromATasLoop() throws Exception {
        int before = dns.queriesFor(MADE_UP);

        assertThat(postEcho(MADE_UP, server.actualPort())).isEqualTo(UPLOAD);

        // Vert.x's resolver sent its query from the datagram channel TasVertxTransport gave it.
        assertThat(dns.queriesFor(MADE_UP)).isGreaterThan(before);
        assertThat(newActiveOpens()).isEqualTo(1);
        assertThat(newPassiveOpens()).isEqualTo(1);
    }

    @Test
    void aClientOnTasReachesAPlainJdkServerThroughTheKernel() throws Exception {
        try (KernelHttpPeer jdk = new KernelHttpPeer()) {
            assertThat(get("127.0.0.1", jdk.port())).isEqualTo(BODY);
            assertThat(postEcho("127.0.0.1", jdk.port())).isEqualTo(UPLOAD);

            assertThat(jdk.requests()).isEqualTo(2);
        }
        assertThat(newActiveOpens()).as("no engine connection for a kernel peer").isZero();
    }

    @Test
    void aServerOnTasAnswersAKernelClient() throws Exception {
        try (java.net.http.HttpClient jdk = java.net.http.HttpClient.newBuilder()
            .version(java.net.http.HttpClient.Version.HTTP_1_1).build()) {
            URI base = URI.create("http://127.0.0.1:" + server.actualPort());

            HttpResponse<byte[]> got = jdk.send(HttpRequest.newBuilder(base.resolve("/bytes")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
            HttpResponse<byte[]> echoed = jdk.send(HttpRequest.newBuilder(base.resolve("/echo"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(UPLOAD)).build(), HttpResponse.BodyHandlers.ofByteArray());

            assertThat(got.statusCode()).isEqualTo(200);
            assertThat(got.body()).isEqualTo(BODY);
            assertThat(echoed.statusCode()).isEqualTo(200);
            assertThat(echoed.body()).isEqualTo(UPLOAD);
        }
        assertThat(newPassiveOpens()).as("the kernel accepted these, not the engine").isZero();
    }
}
