package io.tasnetty.it.containers;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.tasnetty.transport.TasEventLoopGroup;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;

/**
 * nginx (Debian's, in a container of the local image) serves a 64 MiB file of random bytes it made
 * itself; a Netty HTTP client on TAS downloads it over the Docker network: the SHA-256 of what
 * arrived must equal the one the container computed of its file.
 */
class NginxContainerServesNettyClientOnTasTest {
    static final long SIZE = 64L << 20;

    @RegisterExtension
    final ContainerLogs logs = new ContainerLogs();

    /** nginx serving /srv/big.bin (SIZE random bytes) on port 80; prints the file's SHA-256 first. */
    static GenericContainer<?> nginx(ContainerLogs logs, Network net) {
        return logs.container("nginx")
                .withNetwork(net)
                .withCommand("sh", "-c", "head -c " + SIZE + " /dev/urandom > /srv/big.bin && sha256sum /srv/big.bin"
                        + " && nginx && echo NGINX-READY && exec sleep 1000000")
                .waitingFor(Wait.forLogMessage(".*NGINX-READY.*", 1));
    }

    /** The SHA-256 the container printed of its file. */
    static String fileSha256(GenericContainer<?> nginx) {
        Matcher m = Pattern.compile("([0-9a-f]{64})\\s+/srv/big.bin").matcher(nginx.getLogs());
        assertThat(m.find()).as("sha256sum line in nginx's output").isTrue();
        return m.group(1);
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void sixtyFourMebibyteDownloadArrivesByteExact() throws Exception {
        try (Network net = Network.newNetwork();
             GenericContainer<?> nginx = nginx(logs, net);
             TasDockerNetwork tas = TasDockerNetwork.attach(net, c -> c.set("tcp-time-wait", "1000000"))) {
            nginx.start();
            String expected = fileSha256(nginx);
            EventLoopGroup group = new TasEventLoopGroup(1, new DefaultThreadFactory("nginx-client", true), tas.engine());
            try {
                long t0 = System.nanoTime();
                DigestingHttpClient get = DigestingHttpClient.get(group,
                        new InetSocketAddress(tas.addressOf(nginx), 80), "/big.bin");
                DigestingHttpClient.Result r = get.result.get(120, TimeUnit.SECONDS);
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.length()).isEqualTo(SIZE);
                assertThat(r.sha256()).as("SHA-256 of the download").isEqualTo(expected);
                System.out.printf("[containers] nginx: 64 MiB in %d ms (%.0f MB/s); %s%n", ms, SIZE / 1e3 / ms,
                        tas.nonZeroCounters());
                tas.awaitReclaimed(20);
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
            }
        }
    }
}
