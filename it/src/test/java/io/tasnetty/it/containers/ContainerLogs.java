package io.tasnetty.it.containers;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import io.tasnetty.engine.TasTestEnvironment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterTestExecutionCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.OutputFrame;
import org.testcontainers.utility.DockerImageName;

/**
 * What every container test shares: its prerequisites (root, iproute2, a Docker daemon; missing
 * ones skip locally and fail in CI), containers of the {@link LocalImages local image}, and their
 * output, kept as they run and printed when the test fails (the containers are gone by then).
 * Register with {@code @RegisterExtension}.
 */
final class ContainerLogs implements BeforeEachCallback, AfterTestExecutionCallback {
    private final Map<String, StringBuffer> logs = new ConcurrentHashMap<>();
    private final List<String> order = new ArrayList<>();

    /** Skips (or in CI fails) unless the machine can run the container tests. */
    static void requireDockerAndRoot() {
        TasTestEnvironment.require(TasTestEnvironment.isRoot(), "root (tap devices on Docker's bridges)");
        TasTestEnvironment.require(TasTestEnvironment.hasCommand("ip"), "iproute2 (ip)");
        boolean docker;
        try {
            docker = DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            docker = false;
        }
        TasTestEnvironment.require(docker, "a Docker daemon (.ci/run starts dockerd)");
        removeStale();
    }

    private static final String PID_LABEL = "tasnetty.it.pid";
    private static final long PID = ProcessHandle.current().pid();
    private static boolean staleRemoved;

    /**
     * Ryuk (Testcontainers' reaper) is off here, so a test JVM that was killed leaves its
     * containers and networks behind: remove the containers of JVMs that no longer run (by
     * {@value #PID_LABEL}), then Testcontainers networks without containers older than ten minutes.
     */
    private static synchronized void removeStale() {
        if (staleRemoved) {
            return;
        }
        staleRemoved = true;
        DockerClient docker = DockerClientFactory.instance().client();
        try {
            for (Container c : docker.listContainersCmd().withShowAll(true).withLabelFilter(List.of(PID_LABEL)).exec()) {
                long pid = Long.parseLong(c.getLabels().get(PID_LABEL));
                if (pid != PID && ProcessHandle.of(pid).isEmpty()) {
                    docker.removeContainerCmd(c.getId()).withForce(true).exec();
                }
            }
            long old = System.currentTimeMillis() - TimeUnit.MINUTES.toMillis(10);
            for (var n : docker.listNetworksCmd().withFilter("label", List.of("org.testcontainers=true")).exec()) {
                var i = docker.inspectNetworkCmd().withNetworkId(n.getId()).exec();
                if ((i.getContainers() == null || i.getContainers().isEmpty())
                        && i.getCreated() != null && i.getCreated().getTime() < old) {
                    docker.removeNetworkCmd(n.getId()).exec();
                }
            }
        } catch (RuntimeException e) {
            System.out.println("[containers] could not remove stale containers or networks: " + e);
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        requireDockerAndRoot();
    }

    /** A container of the local image named {@code name} (also its network alias), its output kept. */
    GenericContainer<?> container(String name) {
        GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(LocalImages.peers()))
                .withLabel(PID_LABEL, String.valueOf(PID));
        follow(c, name);
        return c;
    }

    /** Keeps {@code c}'s output under {@code name} for a failure report. */
    void follow(GenericContainer<?> c, String name) {
        StringBuffer buf = new StringBuffer();
        synchronized (order) {
            order.add(name);
        }
        logs.put(name, buf);
        c.withLogConsumer((OutputFrame f) -> {
            if (buf.length() < 256 * 1024) {
                buf.append(f.getUtf8String());
            }
        });
    }

    /** Adds {@code text} (an exec's output, say) to what a failure prints under {@code name}. */
    void note(String name, String text) {
        logs.computeIfAbsent(name, k -> {
            synchronized (order) {
                order.add(k);
            }
            return new StringBuffer();
        }).append(text).append('\n');
    }

    @Override
    public void afterTestExecution(ExtensionContext context) {
        if (context.getExecutionException().isEmpty()) {
            return;
        }
        StringBuilder sb = new StringBuilder("\n==== container output for failed " + context.getDisplayName() + " ====\n");
        synchronized (order) {
            for (String name : order) {
                sb.append("---- ").append(name).append(" ----\n").append(logs.get(name)).append('\n');
            }
        }
        System.out.println(sb);
    }
}
