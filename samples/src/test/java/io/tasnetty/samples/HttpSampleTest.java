package io.tasnetty.samples;

import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpMethod;
import io.tasnetty.samples.http.HttpSampleClient;
import io.tasnetty.samples.http.HttpSampleServer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The HTTP sample answers correctly on TAS (engine loopback) and on NIO (kernel loopback). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HttpSampleTest {

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"TAS", "NIO"})
    void routesAnswerOverTheTransport(Transport t) throws Exception {
        EventLoopGroup boss = t.newGroup(1, "test-http-boss");
        EventLoopGroup workers = t.newGroup(1, "test-http-worker");
        EventLoopGroup clients = t.newGroup(1, "test-http-client");
        try (HttpSampleServer server = HttpSampleServer.start(t, boss, workers, new InetSocketAddress("127.0.0.1", 0))) {
            assertThat(server.channel()).isInstanceOf(t.serverChannel());
            int port = ((InetSocketAddress) server.localAddress()).getPort();
            assertThat(port).isPositive();
            try (HttpSampleClient c = HttpSampleClient.connect(t, clients, new InetSocketAddress("127.0.0.1", port))) {
                assertThat(c.channel()).isInstanceOf(t.clientChannel());

                HttpSampleClient.Response hello = c.get("/");
                assertThat(hello.status()).isEqualTo(200);
                assertThat(hello.body()).startsWith("Hello from Netty on " + t.id());

                assertThat(c.get("/echo?msg=hello%20world").body()).isEqualTo("hello world");

                String json = "{\"a\":[1,2,3],\"b\":\"ü\"}";
                HttpSampleClient.Response echo = c.post("/echo", "application/json", json);
                assertThat(echo.status()).isEqualTo(200);
                assertThat(echo.contentType()).isEqualTo("application/json");
                assertThat(echo.body()).isEqualTo(json);

                String big = "x".repeat(200_000); // several segments and reads each way
                assertThat(c.post("/echo", "text/plain", big).body()).isEqualTo(big);

                assertThat(c.get("/missing").status()).isEqualTo(404);
                assertThat(c.request(HttpMethod.DELETE, "/", null, null).status()).isEqualTo(405);

                for (int i = 0; i < 200; i++) { // keep-alive: all on one connection
                    assertThat(c.get("/echo?msg=" + i).body()).isEqualTo(Integer.toString(i));
                }
                assertThat(c.get("/stats").body()).contains("\"connections\":1");
            }
            assertThat(server.requestsServed()).isGreaterThanOrEqualTo(207);
        } finally {
            clients.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"TAS", "NIO"})
    void sampleRunsServerAndClientInOneProcess(Transport t) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        boolean ok = io.tasnetty.samples.http.HttpSample.runBoth(t, "127.0.0.1", 0, "127.0.0.1", 50, 0, 1,
            new PrintStream(buf, true, StandardCharsets.UTF_8));
        String out = buf.toString(StandardCharsets.UTF_8);
        assertThat(ok).as(out).isTrue();
        assertThat(out).contains("-> 200 hello tas").contains("-> 404").doesNotContain("UNEXPECTED");
    }
}
