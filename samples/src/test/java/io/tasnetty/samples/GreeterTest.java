package io.tasnetty.samples;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.tasnetty.samples.grpc.GreeterClient;
import io.tasnetty.samples.grpc.GreeterServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The gRPC greeter (grpc-netty, unshaded) round-trips over TAS, and over NIO for comparison. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GreeterTest {

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"TAS", "NIO"})
    void greeterRoundTrips(Transport t) throws Exception {
        try (GreeterServer server = GreeterServer.start(t, new InetSocketAddress("127.0.0.1", 0), 1);
             GreeterClient client = GreeterClient.connect(t, new InetSocketAddress("127.0.0.1", server.port()))) {
            assertThat(client.sayHello("Ada")).isEqualTo("Hello, Ada (from gRPC on " + t.id() + ")");
            assertThat(client.sayHelloStream("Bob", 5)).hasSize(5).first().isEqualTo("Hello #1, Bob");
            String longName = "n".repeat(100_000); // larger than one HTTP/2 frame and one TCP segment
            assertThat(client.sayHello(longName)).contains(longName);
            for (int i = 0; i < 100; i++) {
                assertThat(client.sayHello("c" + i)).startsWith("Hello, c" + i + " ");
            }
            assertThat(server.calls()).isEqualTo(103);
        }
    }

    @Test
    void unknownServerIsUnavailableOnTas() throws Exception {
        int port;
        try (GreeterServer s = GreeterServer.start(Transport.TAS, new InetSocketAddress("127.0.0.1", 0), 1)) {
            port = s.port();
        }
        try (GreeterClient client = GreeterClient.connect(Transport.TAS, new InetSocketAddress("127.0.0.1", port))) {
            assertThatThrownBy(() -> client.sayHello("nobody"))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                    e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        }
    }
}
