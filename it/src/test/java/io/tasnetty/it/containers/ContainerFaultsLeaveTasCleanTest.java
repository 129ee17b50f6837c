package io.tasnetty.it.containers;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.ContainerNetwork;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasServerSocketChannel;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;

/**
 * Faults from the Docker side, with TAS on the other end: a container killed in the middle of a
 * 64 MiB download from a Netty server on TAS, and a Redis container taken off the network and put
 * back while a Netty client on TAS waits for an answer. Either way the TAS side must end up clean
 * (every flow, record and ring byte given back, which the engine's counters and flow count show)
 * and serve new connections. A container that leaves the network and stays away makes the
 * engine give up on its connection by itself.
 *
 * <p>The engines here cap the retransmission timeout at 1 s, so that a connection whose peer
 * vanished without a word times out in seconds (15 retransmissions) rather than minutes.
 */
class ContainerFaultsLeaveTasCleanTest {
    @RegisterExtension
    final ContainerLogs logs = new ContainerLogs();

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void containerKilledMidDownloadLeavesNoFlowBehind() throws Exception {
        try (Network net = Network.newNetwork();
             TasDockerNetwork tas = TasDockerNetwork.attach(net,
                     c -> c.set("tcp-time-wait", "1000000").set("tcp-rto-max", "1000000"))) {
            EventLoopGroup group = new TasEventLoopGroup(1, new DefaultThreadFactory("tas-http", true), tas.engine());
            try {
                BulkHttpHandler.Stats stats = new BulkHttpHandler.Stats(1);
                Channel server = new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
                        .childHandler(new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel ch) {
                                ch.pipeline().addLast(new HttpServerCodec(), new ChunkedWriteHandler(),
                                        new BulkHttpHandler(stats));
                            }
                        })
                        .bind("0.0.0.0", 8080).sync().channel();
                String url = "http://" + tas.ipAddress() + ":8080/bytes?n=";
                // Slow (2 MB/s) so that the 64 MiB are far from done when the container dies.
                try (GenericContainer<?> victim = logs.container("victim").withNetwork(net)
                        .withCommand("curl", "-s", "--limit-rate", "2M", "-o", "/dev/null", url + (64 << 20))) {
                    victim.start();
                    await(() -> stats.bytesSent.get() >= 4 << 20, 30, "4 MiB sent to the victim");
                    assertThat(tas.engine().flowCount()).as("the download's flow").isEqualTo(1);
                    DockerClientFactory.instance().client().killContainerCmd(victim.getContainerId()).exec();
                    long t0 = System.nanoTime();
                    tas.awaitReclaimed(60);
                    long resets = tas.engine().counter(TasCounter.CONN_RESETS_RECEIVED);
                    long timeouts = tas.engine().counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS);
                    System.out.printf("[containers] killed mid-download after %,d bytes: clean in %d ms"
                                    + " (resets received %d, retransmission timeouts %d); %s%n", stats.bytesSent.get(),
                            (System.nanoTime() - t0) / 1_000_000, resets, timeouts, tas.nonZeroCounters());
                    assertThat(resets + timeouts).as("the engine saw a reset or timed out").isPositive();
                    assertThat(stats.bytesSent.get()).as("the download did not finish").isLessThan(64 << 20);
                }
                // The server still serves: a new container downloads 1 MiB exactly.
                try (GenericContainer<?> next = logs.container("next").withNetwork(net).withCommand("sleep", "1000000")) {
                    next.start();
                    ExecResult r = next.execInContainer("sh", "-c",
                            "curl -s --max-time 30 '" + url + (1 << 20) + "' | sha256sum");
                    logs.note("next exec", r.getStdout() + r.getStderr());
                    assertThat(r.getStdout()).as("SHA-256 of 1 MiB after the kill").startsWith(Pattern64.sha256(1 << 20));
                }
                server.close().sync();
                tas.awaitReclaimed(20);
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void networkDisconnectAndReconnectRecoversOrFailsCleanlyAndNewConnectionsWork() throws Exception {
        DockerClient docker = DockerClientFactory.instance().client();
        // Docker gives a container a chosen address only on a network with a subnet of its own:
        // a private /24 that only this test uses.
        String subnet = "10.213." + (ProcessHandle.current().pid() % 250) + ".0/24";
        try (Network net = Network.builder().createNetworkCmdModifier(cmd -> cmd.withIpam(
                        new com.github.dockerjava.api.model.Network.Ipam().withConfig(
                                new com.github.dockerjava.api.model.Network.Ipam.Config().withSubnet(subnet))))
                     .build();
             GenericContainer<?> redis = logs.container("redis")
                     .withNetwork(net)
                     .withCommand("redis-server", "--port", "6379", "--protected-mode", "no", "--save", "",
                             "--appendonly", "no")
                     .waitingFor(Wait.forLogMessage(".*Ready to accept connections.*", 1));
             TasDockerNetwork tas = TasDockerNetwork.attach(net,
                     c -> c.set("tcp-time-wait", "1000000").set("tcp-rto-max", "1000000"))) {
            redis.start();
            String ip = tas.addressOf(redis);
            InetSocketAddress server = new InetSocketAddress(ip, 6379);
            EventLoopGroup group = new TasEventLoopGroup(1, new DefaultThreadFactory("redis-client", true), tas.engine());
            try {
                byte[] value = RedisContainerAnswersNettyClientOnTasTest.value(42);
                String outcome;
                try (RespClient before = RespClient.connect(group, server)) {
                    assertThat(before.sync("SET", "k", value)).isEqualTo("OK");
                    docker.disconnectFromNetworkCmd().withNetworkId(net.getId())
                            .withContainerId(redis.getContainerId()).exec();
                    long rtos = tas.engine().counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS);
                    CompletableFuture<Object> get = before.send(true, "GET", "k");
                    // The request goes nowhere: the engine retransmits it at least once.
                    await(() -> tas.engine().counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS) > rtos, 20,
                            "a retransmission timeout while the container is off the network");
                    // Back with its old address (Docker allows the request: the address is free again).
                    docker.connectToNetworkCmd().withNetworkId(net.getId()).withContainerId(redis.getContainerId())
                            .withContainerNetwork(new ContainerNetwork()
                                    .withIpamConfig(new ContainerNetwork.Ipam().withIpv4Address(ip)))
                            .exec();
                    assertThat(tas.addressOf(redis)).isEqualTo(ip);
                    // Recovered: the retransmitted GET is answered, exactly; or failed cleanly: the
                    // connection closes with the request failed. Nothing else within 60 s.
                    CompletableFuture<Object> either = CompletableFuture.anyOf(get, before.closed());
                    try {
                        either.get(60, TimeUnit.SECONDS);
                    } catch (TimeoutException e) {
                        throw new AssertionError("neither an answer nor a closed connection 60 s after the reconnect; "
                                + tas.nonZeroCounters());
                    } catch (java.util.concurrent.ExecutionException ignored) {
                        // the GET failed: looked at below
                    }
                    if (get.isDone() && !get.isCompletedExceptionally()) {
                        outcome = "recovered";
                        assertThat(Arrays.equals((byte[]) get.join(), value)).as("the GET's answer after reconnect").isTrue();
                        assertThat(before.sync("GET", "k")).isEqualTo(value);
                    } else {
                        outcome = "failed cleanly";
                        assertThat(before.closed().get(30, TimeUnit.SECONDS)).as("connection closed").isNotNull();
                        assertThat(get).isCompletedExceptionally();
                    }
                }
                // New connections work after the reconnect.
                try (RespClient after = RespClient.connect(group, server)) {
                    for (int i = 0; i < 100; i++) {
                        assertThat(after.sync("SET", "n" + i, RedisContainerAnswersNettyClientOnTasTest.value(i)))
                                .isEqualTo("OK");
                        assertThat((byte[]) after.sync("GET", "n" + i))
                                .isEqualTo(RedisContainerAnswersNettyClientOnTasTest.value(i));
                    }
                }
                tas.awaitReclaimed(30);
                System.out.printf("[containers] network disconnect/reconnect: the open connection %s; %s%n", outcome,
                        tas.nonZeroCounters());
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void containerThatStaysOffTheNetworkTimesOutAndLeavesNoFlowBehind() throws Exception {
        try (Network net = Network.newNetwork();
             GenericContainer<?> redis = logs.container("redis")
                     .withNetwork(net)
                     .withCommand("redis-server", "--port", "6379", "--protected-mode", "no", "--save", "",
                             "--appendonly", "no")
                     .waitingFor(Wait.forLogMessage(".*Ready to accept connections.*", 1));
             TasDockerNetwork tas = TasDockerNetwork.attach(net,
                     c -> c.set("tcp-time-wait", "1000000").set("tcp-rto-max", "1000000"))) {
            redis.start();
            EventLoopGroup group = new TasEventLoopGroup(1, new DefaultThreadFactory("redis-client", true), tas.engine());
            try {
                RespClient client = RespClient.connect(group, new InetSocketAddress(tas.addressOf(redis), 6379));
                assertThat(client.sync("PING")).isEqualTo("PONG");
                DockerClientFactory.instance().client().disconnectFromNetworkCmd().withNetworkId(net.getId())
                        .withContainerId(redis.getContainerId()).exec();
                long t0 = System.nanoTime();
                CompletableFuture<Object> ping = client.send(true, "PING");
                // No answer and no reset can come: the engine must give up by itself (15
                // retransmissions, at most 1 s apart here) and close the connection.
                Throwable cause = client.closed().get(90, TimeUnit.SECONDS);
                assertThat(ping).isCompletedExceptionally();
                tas.awaitReclaimed(20);
                System.out.printf("[containers] peer gone without a word: connection failed after %d ms (%s);"
                                + " %s%n", (System.nanoTime() - t0) / 1_000_000, cause, tas.nonZeroCounters());
                assertThat(tas.engine().counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS)).isGreaterThanOrEqualTo(2);
                assertThat(tas.engine().counter(TasCounter.CONN_RESETS_RECEIVED)).isZero();
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
            }
        }
    }

    private static void await(BooleanSupplier cond, int seconds, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + seconds + " s waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
