package io.tasnetty.it.containers;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Device;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;

/**
 * The service under test itself in a container: the samples' HTTP server (TasSamplesMain) on TAS,
 * run by the host's JDK 25 with the build's jars (bind-mounted read-only), its engine on the
 * container's own network link; another container reaches it by its network alias with curl.
 *
 * <p>How the engine gets the container's link: a container has no tap of its own, so it gets
 * {@code NET_ADMIN} and {@code /dev/net/tun}; the engine opens a tap ({@code --port=tap:tas0})
 * and takes over the container's address, which the start script moves off {@code eth0}; a
 * bridge inside the container joins {@code eth0} and the tap. Frames from other containers leave
 * that bridge through the tap, where the kernel completes their checksums (as on the host side,
 * see {@link TasDockerNetwork}); no ethtool, no DPDK in the image.
 */
class SampleServerOnTasInsideContainerAnswersOtherContainersTest {
    @RegisterExtension
    final ContainerLogs logs = new ContainerLogs();

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void curlInAnotherContainerGetsExactAnswersFromTheServiceContainer() throws Exception {
        String javaCmd = JavaInContainer.shellJava("io.tasnetty.samples.TasSamplesMain", "--sample", "http",
                "--requests", "20", "--warmup", "0", "--serve");
        String script = """
                set -e
                CIDR=$(ip -o -4 addr show dev eth0 | awk '{print $4}')
                echo "engine takes $CIDR from eth0"
                ip addr flush dev eth0
                ip link add br0 type bridge
                ip link set eth0 master br0
                ip link set br0 up
                %s --port=tap:tas0 --ip-addr=$CIDR &
                PID=$!
                while [ ! -e /sys/class/net/tas0 ]; do usleep 50000; done
                ip link set tas0 master br0
                ip link set tas0 up
                echo "tap bridged"
                wait $PID
                """.formatted(javaCmd);
        try (Network net = Network.newNetwork();
             GenericContainer<?> service = JavaInContainer.mount(logs.container("service"))
                     .withNetwork(net)
                     .withNetworkAliases("service")
                     .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig()
                             .withCapAdd(Capability.NET_ADMIN, Capability.NET_RAW)
                             .withDevices(new Device("rwm", "/dev/net/tun", "/dev/net/tun")))
                     .withCommand("sh", "-c", script)
                     .waitingFor(Wait.forLogMessage(".*Serving until stopped.*", 1)
                             .withStartupTimeout(Duration.ofMinutes(2)));
             GenericContainer<?> curl = logs.container("curl").withNetwork(net).withCommand("sleep", "1000000")) {
            long t0 = System.nanoTime();
            service.start();
            long started = System.nanoTime();
            // The engine (not the container's kernel, whose eth0 lost its address) serves it.
            assertThat(service.getLogs()).contains("tap bridged").contains("port=tap:tas0").contains("OK in");
            curl.start();
            // /echo (POST) answers the body it got: 1 MiB (the sample's limit) of random bytes.
            ExecResult r = curl.execInContainer("sh", "-c", """
                    curl -s --max-time 30 http://service:8080/ | sed 's/^/ROOT /'
                    head -c 1048576 /dev/urandom > /tmp/body && sha256sum /tmp/body | sed 's/^/SENT /'
                    curl -s --max-time 30 -H 'Expect:' -H 'Content-Type: application/octet-stream' \\
                      --data-binary @/tmp/body -o /tmp/back -w 'CODE %{http_code} %{size_download}\\n' \\
                      http://service:8080/echo
                    sha256sum /tmp/back | sed 's/^/BACK /'
                    i=0; ok=0
                    while [ $i -lt 200 ]; do
                      [ "$(curl -s --max-time 10 "http://service:8080/echo?msg=m$i")" = "m$i" ] && ok=$((ok+1))
                      i=$((i+1))
                    done
                    echo "ECHOED $ok"
                    curl -s --max-time 10 http://service:8080/stats | sed 's/^/STATS /'
                    """);
            String out = r.getStdout() + r.getStderr();
            logs.note("curl exec", out);
            System.out.printf("[containers] service in a container: started in %d ms, curl run %d ms%n",
                    (started - t0) / 1_000_000, (System.nanoTime() - started) / 1_000_000);
            assertThat(r.getExitCode()).as("curl script; output:\n" + out).isZero();
            assertThat(out).contains("ROOT ");
            Matcher sent = Pattern.compile("SENT ([0-9a-f]{64})").matcher(out);
            assertThat(sent.find()).as("sha256sum of the body sent:\n" + out).isTrue();
            assertThat(out).as("1 MiB echoed back").contains("CODE 200 1048576").contains("BACK " + sent.group(1));
            assertThat(out).as("200 small echoes, each its own text").contains("ECHOED 200");
        }
    }
}
