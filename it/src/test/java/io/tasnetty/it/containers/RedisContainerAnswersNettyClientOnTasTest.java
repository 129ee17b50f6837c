package io.tasnetty.it.containers;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.tasnetty.transport.TasEventLoopGroup;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;

/**
 * A real Redis (Debian's redis-server, in a container of the local image) on a Docker network, and
 * a Netty client on a {@link TasEventLoopGroup} whose engine sits on the same network through
 * {@link TasDockerNetwork}: 10,000 SET/GET pairs, pipelined, each value read back byte for byte.
 * This is the example the README's "Testing a TAS service with Testcontainers" points to.
 */
class RedisContainerAnswersNettyClientOnTasTest {
    static final int PAIRS = 10_000;

    @RegisterExtension
    final ContainerLogs logs = new ContainerLogs();

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void tenThousandSetGetPairsReadBackExactly() throws Exception {
        try (Network net = Network.newNetwork();
             GenericContainer<?> redis = logs.container("redis")
                     .withNetwork(net)
                     .withCommand("redis-server", "--port", "6379", "--protected-mode", "no", "--save", "",
                             "--appendonly", "no")
                     .waitingFor(Wait.forLogMessage(".*Ready to accept connections.*", 1));
             TasDockerNetwork tas = TasDockerNetwork.attach(net, c -> c.set("tcp-time-wait", "1000000"))) {
            redis.start();
            EventLoopGroup group = new TasEventLoopGroup(1, new DefaultThreadFactory("redis-client", true), tas.engine());
            try {
                long t0 = System.nanoTime();
                InetSocketAddress server = new InetSocketAddress(tas.addressOf(redis), 6379);
                try (RespClient client = RespClient.connect(group, server)) {
                    assertThat(client.sync("PING")).isEqualTo("PONG");
                    int bad = 0;
                    String firstBad = null;
                    // Windows of 500 pairs in flight: SET k v; GET k, checked in order.
                    for (int from = 0; from < PAIRS; from += 500) {
                        List<CompletableFuture<Object>> sets = new ArrayList<>();
                        List<CompletableFuture<Object>> gets = new ArrayList<>();
                        int to = Math.min(PAIRS, from + 500);
                        for (int i = from; i < to; i++) {
                            boolean flush = i == to - 1;
                            sets.add(client.send(false, "SET", key(i), value(i)));
                            gets.add(client.send(flush, "GET", key(i)));
                        }
                        for (int i = from; i < to; i++) {
                            Object set = sets.get(i - from).get(30, TimeUnit.SECONDS);
                            Object got = gets.get(i - from).get(30, TimeUnit.SECONDS);
                            if (!"OK".equals(set) || !(got instanceof byte[] b) || !Arrays.equals(b, value(i))) {
                                bad++;
                                if (firstBad == null) {
                                    firstBad = key(i) + ": SET -> " + set + ", GET -> "
                                            + (got instanceof byte[] b ? b.length + " bytes" : got);
                                }
                            }
                        }
                    }
                    assertThat(bad).as("pairs not read back exactly; first: " + firstBad).isZero();
                    // Redis itself holds them all (not a cache on our side).
                    assertThat(client.sync("DBSIZE")).isEqualTo((long) PAIRS);
                    assertThat(client.sync("STRLEN", key(PAIRS - 1))).isEqualTo((long) value(PAIRS - 1).length);
                }
                System.out.printf("[containers] redis: %,d SET/GET pairs in %d ms; %s%n", PAIRS,
                        (System.nanoTime() - t0) / 1_000_000, tas.nonZeroCounters());
                tas.awaitReclaimed(20);
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
            }
        }
    }

    static String key(int i) {
        return "key:" + i;
    }

    /** 1 to 1,500 bytes of the pattern, a different slice per key. */
    static byte[] value(int i) {
        int len = 1 + (i * 7919) % 1500;
        byte[] b = new byte[len];
        for (int k = 0; k < len; k++) {
            b[k] = Pattern64.at((long) i * 4096 + k);
        }
        return b;
    }
}
