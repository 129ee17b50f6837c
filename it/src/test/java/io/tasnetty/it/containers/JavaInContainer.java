package io.tasnetty.it.containers;

import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Volume;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.testcontainers.containers.GenericContainer;

/**
 * Runs this build's Java code inside a container of the local image: the host's JDK 25 and every
 * entry of this JVM's class path (the samples' jar, gRPC, Netty, this module's test classes) are
 * bind-mounted read-only at the same paths, so the class path string works unchanged inside. The
 * image already holds the system libraries the JDK needs.
 */
final class JavaInContainer {
    private JavaInContainer() {
    }

    /**
     * Bind-mounts the JDK and the class path into {@code c}. Through the create command, not
     * {@code withFileSystemBind}: that one first checks that mounting works by running Testcontainers'
     * alpine image, which cannot be pulled here.
     */
    static <T extends GenericContainer<?>> T mount(T c) {
        List<Bind> binds = new ArrayList<>();
        binds.add(new Bind(LocalImages.JDK.toString(), new Volume(LocalImages.JDK.toString()), AccessMode.ro));
        for (String e : classPath()) {
            binds.add(new Bind(e, new Volume(e), AccessMode.ro));
        }
        c.withCreateContainerCmdModifier(cmd -> {
            List<Bind> all = new ArrayList<>(binds);
            if (cmd.getHostConfig().getBinds() != null) {
                all.addAll(List.of(cmd.getHostConfig().getBinds()));
            }
            cmd.getHostConfig().withBinds(all);
        });
        return c;
    }

    /** The class path entries that exist (directories and jars). */
    static List<String> classPath() {
        Set<String> entries = new LinkedHashSet<>();
        // Surefire starts the test JVM through a manifest-only jar; it names the real class path here.
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path extra = null;
        for (String e : cp.split(File.pathSeparator)) {
            if (!e.isEmpty() && Files.exists(Path.of(e))) {
                Path p = Path.of(e).toAbsolutePath();
                entries.add(p.toString());
                // it/'s own test-classes: in a reactor build before packaging, other modules'
                // test-classes (tas-engine's test helpers) are on the class path too.
                if (p.endsWith("test-classes") && Files.isDirectory(p.resolveSibling("container-classpath"))) {
                    extra = p.resolveSibling("container-classpath");
                }
            }
        }
        // The samples' epoll and io_uring jars, kept off the test class path (see it/pom.xml).
        if (extra != null && Files.isDirectory(extra)) {
            try (var s = Files.list(extra)) {
                s.filter(f -> f.toString().endsWith(".jar")).sorted().forEach(f -> entries.add(f.toString()));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return new ArrayList<>(entries);
    }

    /**
     * {@code java} with the class path and small-container flags (C1 only, 256 MiB heap: two
     * cores are shared with the test JVM and the engine), then {@code mainClass} and {@code args}.
     */
    static List<String> javaCommand(String mainClass, String... args) {
        List<String> cmd = new ArrayList<>(List.of(LocalImages.JDK.resolve("bin/java").toString(),
                "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-Xmx256m", "-Xss512k",
                "--enable-native-access=ALL-UNNAMED", "-Djava.net.preferIPv4Stack=true",
                "-cp", String.join(File.pathSeparator, classPath()), mainClass));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** {@link #javaCommand} as one shell word list ({@code 'a' 'b' ...}) for an {@code sh -c} script. */
    static String shellJava(String mainClass, String... args) {
        StringBuilder sb = new StringBuilder();
        for (String w : javaCommand(mainClass, args)) {
            sb.append('\'').append(w.replace("'", "'\\''")).append("' ");
        }
        return sb.toString().trim();
    }
}
