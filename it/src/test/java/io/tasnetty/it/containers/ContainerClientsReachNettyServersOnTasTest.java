package io.tasnetty.it.containers;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.tasnetty.samples.grpc.Greeter;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasServerSocketChannel;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;

/**
 * A Netty HTTP server ({@link BulkHttpHandler}) and a gRPC server (the samples' greeter on
 * grpc-netty) on one TAS engine attached to a Docker network; clients in containers call them:
 * curl for 1,000 requests over 100 concurrent connections, a 64 MiB download and a 64 MiB upload
 * (each checked by SHA-256), and the samples' gRPC client on NIO in a container running the
 * host's JDK. Every answer must be exact.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ContainerClientsReachNettyServersOnTasTest {
    static final int HTTP = 8080;
    static final int GRPC = 50051;
    static final long BIG = 64L << 20;

    @RegisterExtension
    static final ContainerLogs LOGS = new ContainerLogs();

    static Network net;
    static TasDockerNetwork tas;
    static EventLoopGroup group;
    static Channel http;
    static Server grpc;
    static BulkHttpHandler.Stats stats;
    static final AtomicLong grpcCalls = new AtomicLong();
    static GenericContainer<?> curl;

    @BeforeAll
    static void start() throws Exception {
        ContainerLogs.requireDockerAndRoot();
        net = Network.newNetwork();
        tas = TasDockerNetwork.attach(net, c -> c.set("tcp-time-wait", "1000000"));
        group = new TasEventLoopGroup(2, new DefaultThreadFactory("tas-servers", true), tas.engine());
        stats = new BulkHttpHandler.Stats(100);
        http = new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new ChunkedWriteHandler(), new BulkHttpHandler(stats));
                    }
                })
                .bind("0.0.0.0", HTTP).sync().channel();
        grpc = NettyServerBuilder.forAddress(new InetSocketAddress("0.0.0.0", GRPC))
                .channelType(TasServerSocketChannel.class)
                .bossEventLoopGroup(group)
                .workerEventLoopGroup(group)
                .directExecutor()
                .addService(Greeter.service("TAS", grpcCalls))
                .build()
                .start();
        curl = LOGS.container("curl").withNetwork(net).withCommand("sleep", "1000000");
        curl.start();
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (curl != null) {
                curl.stop();
            }
            if (grpc != null) {
                grpc.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            if (http != null) {
                http.close().sync();
            }
            if (group != null) {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
            }
        } finally {
            try {
                if (tas != null) {
                    tas.close();
                }
            } finally {
                if (net != null) {
                    net.close();
                }
            }
        }
    }

    /** Runs a busybox shell script in the curl container; fails unless it exits 0. */
    static String sh(String name, String script) throws Exception {
        long t0 = System.nanoTime();
        ExecResult r = curl.execInContainer("sh", "-c", script);
        String out = r.getStdout() + r.getStderr();
        LOGS.note(name, "exit " + r.getExitCode() + "\n" + out);
        assertThat(r.getExitCode()).as(name + " exit code; output:\n" + out).isZero();
        System.out.printf("[containers] %s: %d ms; %s%n", name, (System.nanoTime() - t0) / 1_000_000, tas.nonZeroCounters());
        return out;
    }

    @Test
    void thousandRequestsOverHundredConcurrentConnectionsAllExact() throws Exception {
        String base = "http://" + tas.ipAddress() + ":" + HTTP;
        // The first 100 ask for /hold: the server answers none of them before all 100 wait at
        // once, which needs 100 connections open together; the other 900 reuse them.
        String out = sh("curl x1000", """
                mkdir -p /tmp/r && rm -f /tmp/r/* && : > /tmp/urls
                i=1
                while [ $i -le 1000 ]; do
                  if [ $i -le 100 ]; then p=hold; else p=bytes; fi
                  echo "url = \\"%s/$p?n=4096&i=$i\\"" >> /tmp/urls
                  echo "output = \\"/tmp/r/$i\\"" >> /tmp/urls
                  i=$((i+1))
                done
                curl -s --parallel --parallel-immediate --parallel-max 100 --max-time 60 -K /tmp/urls \\
                  -w 'CODE %%{http_code} %%{size_download}\\n' > /tmp/codes
                echo "curl exit $?"
                sort /tmp/codes | uniq -c
                sha256sum /tmp/r/* | cut -d' ' -f1 | sort | uniq -c | sed 's/^/BODY /'
                """.formatted(base));
        assertThat(out).contains("curl exit 0");
        assertThat(out).as("1,000 answers 200 with 4096 bytes").containsPattern("(?m)^\\s*1000 CODE 200 4096$");
        assertThat(out).as("1,000 bodies, each the pattern").containsPattern("(?m)^BODY\\s+1000 " + Pattern64.sha256(4096) + "$");
        assertThat(stats.heldMax()).as("requests waiting at once in /hold (one per connection)").isEqualTo(100);
        assertThat(stats.requests.get()).isGreaterThanOrEqualTo(1000);
    }

    @Test
    void sixtyFourMebibyteDownloadArrivesByteExact() throws Exception {
        String out = sh("curl download", """
                curl -s --max-time 120 -o /tmp/dl 'http://%s:%d/bytes?n=%d' && echo "curl exit $?"
                wc -c < /tmp/dl | sed 's/^/SIZE /'
                sha256sum /tmp/dl
                rm -f /tmp/dl
                """.formatted(tas.ipAddress(), HTTP, BIG));
        assertThat(out).contains("curl exit 0").containsPattern("(?m)^SIZE\\s*" + BIG + "$");
        assertThat(out).as("SHA-256 of the download").contains(Pattern64.sha256(BIG) + "  /tmp/dl");
    }

    @Test
    void sixtyFourMebibyteUploadArrivesByteExact() throws Exception {
        // Expect: (empty) stops curl from waiting for a 100 Continue the server does not send.
        String out = sh("curl upload", """
                head -c %d /dev/urandom > /tmp/up && sha256sum /tmp/up | sed 's/^/SENT /'
                curl -s --max-time 120 -H 'Expect:' -H 'Content-Type: application/octet-stream' \\
                  --data-binary @/tmp/up 'http://%s:%d/upload' | sed 's/^/SERVER /'
                rm -f /tmp/up
                """.formatted(BIG, tas.ipAddress(), HTTP));
        Matcher sent = Pattern.compile("SENT ([0-9a-f]{64})").matcher(out);
        assertThat(sent.find()).as("the container's sha256sum").isTrue();
        assertThat(out).as("the server's SHA-256 and length of what arrived")
                .contains("SERVER " + sent.group(1) + " " + BIG);
        assertThat(stats.lastUpload).isEqualTo(sent.group(1) + " " + BIG);
    }

    @Test
    void grpcClientInContainerGetsEveryGreeting() throws Exception {
        long before = grpcCalls.get();
        try (GenericContainer<?> java = JavaInContainer.mount(LOGS.container("grpc-client"))
                .withNetwork(net).withCommand("sleep", "1000000")) {
            java.start();
            long t0 = System.nanoTime();
            ExecResult r = java.execInContainer(JavaInContainer.javaCommand("io.tasnetty.samples.grpc.GreeterSample",
                    "--transport", "nio", "--mode", "client", "--connect", tas.ipAddress(), "--port", "" + GRPC,
                    "--name", "container", "--calls", "1000", "--warmup", "0").toArray(String[]::new));
            String out = r.getStdout() + r.getStderr();
            LOGS.note("grpc-client exec", out);
            System.out.printf("[containers] grpc client in a container: %d ms; %s%n", (System.nanoTime() - t0) / 1_000_000,
                    out.lines().filter(l -> l.contains("calls/s")).findFirst().orElse(""));
            // The sample's client exits 0 only if every greeting was the expected one.
            assertThat(r.getExitCode()).as("GreeterSample client exit code; output:\n" + out).isZero();
            assertThat(out).contains("SayHello(\"container\")").contains("1,000 timed unary calls");
        }
        // 1,000 timed calls, the first call and a stream of 3 greetings.
        assertThat(grpcCalls.get() - before).isGreaterThanOrEqualTo(1001);
    }
}
