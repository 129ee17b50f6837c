package io.tasnetty.it.containers;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Image;
import io.tasnetty.engine.TasTestEnvironment;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.images.builder.ImageFromDockerfile;

/**
 * The one image the container tests use, built here {@code FROM scratch} because no registry is
 * reachable: busybox (shell, wget, sha256sum, ip, brctl), curl, redis-server and nginx from this
 * machine's Debian packages with the libraries {@code ldd} lists, and the libraries the host's
 * JDK 25 needs (the JDK itself and the jars are bind-mounted where a container runs Java).
 *
 * <p>The tag is a hash of everything that goes in (Dockerfile, file names and contents): a run
 * builds only when no image has that tag yet, so the build (about 10 s) happens once per change of
 * the inputs; older tags of the same repository are removed when a new one is built.
 */
final class LocalImages {
    static final String REPOSITORY = "tasnetty-it/peers";
    static final Path JDK = Path.of(System.getProperty("java.home"));

    private static final List<String> BINARIES = List.of("/usr/bin/curl", "/usr/bin/redis-server", "/usr/sbin/nginx");
    private static final List<String> JDK_LIBS = List.of("bin/java", "lib/libjli.so", "lib/server/libjvm.so",
            "lib/libjava.so", "lib/libnet.so", "lib/libnio.so", "lib/libzip.so", "lib/libjimage.so",
            "lib/libextnet.so", "lib/libmanagement.so", "lib/libmanagement_ext.so", "lib/libverify.so");

    static final String NGINX_CONF = """
            user root;
            worker_processes 1;
            error_log stderr warn;
            pid /run/nginx.pid;
            events { worker_connections 512; }
            http {
                access_log off;
                sendfile on;
                default_type application/octet-stream;
                server {
                    listen 80;
                    root /srv;
                }
            }
            """;

    private static final String DOCKERFILE = """
            FROM scratch
            COPY rootfs/ /
            ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
            RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /tmp /run /srv /var/lib/nginx /var/log/nginx && chmod 1777 /tmp"]
            """;

    private static String image;

    private LocalImages() {
    }

    /** The image's name ({@code tasnetty-it/peers:HASH}), built now if it is not there yet. */
    static synchronized String peers() {
        if (image != null) {
            return image;
        }
        TasTestEnvironment.require(Files.isExecutable(Path.of("/bin/busybox")), "/bin/busybox (.ci/run installs busybox-static)");
        for (String b : BINARIES) {
            TasTestEnvironment.require(Files.isExecutable(Path.of(b)),
                    b + " (.ci/run installs curl, redis-server and nginx-light)");
        }
        Map<String, Path> files = new TreeMap<>(); // path in the image -> file on this machine
        files.put("/bin/busybox", Path.of("/bin/busybox"));
        List<String> needsLibs = new ArrayList<>(BINARIES);
        for (String b : BINARIES) {
            files.put(b, Path.of(b));
        }
        for (String l : JDK_LIBS) {
            Path p = JDK.resolve(l);
            if (Files.exists(p)) {
                needsLibs.add(p.toString());
            }
        }
        for (String b : needsLibs) {
            for (String lib : sharedLibraries(b)) {
                if (!lib.startsWith(JDK.toString())) { // the JDK's own come with the bind mount
                    files.put(lib, Path.of(lib));
                }
            }
        }
        Map<String, String> texts = new TreeMap<>();
        texts.put("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        texts.put("/etc/group", "root:x:0:\nnogroup:x:65534:\n");
        texts.put("/etc/nginx/nginx.conf", NGINX_CONF);

        String tag = REPOSITORY + ":" + hash(files, texts);
        DockerClient docker = DockerClientFactory.instance().client();
        try {
            docker.inspectImageCmd(tag).exec();
            image = tag;
            return tag;
        } catch (NotFoundException missing) {
            // build it below
        }
        long t0 = System.nanoTime();
        Path ctx = stage(files, texts);
        try {
            new ImageFromDockerfile(tag, false).withDockerfile(ctx.resolve("Dockerfile")).get();
        } finally {
            deleteTree(ctx);
        }
        System.out.printf("[containers] built %s in %d ms%n", tag, (System.nanoTime() - t0) / 1_000_000);
        for (Image i : docker.listImagesCmd().withImageNameFilter(REPOSITORY).exec()) {
            boolean current = i.getRepoTags() != null && List.of(i.getRepoTags()).contains(tag);
            if (!current) {
                try {
                    docker.removeImageCmd(i.getId()).withForce(false).exec();
                } catch (RuntimeException inUse) {
                    // still used by a container: leave it
                }
            }
        }
        image = tag;
        return tag;
    }

    /** The libraries {@code ldd} lists for {@code binary} (absolute paths, the loader included). */
    static List<String> sharedLibraries(String binary) {
        List<String> libs = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)(?:=>\\s*|^\\s*)(/\\S+)\\s+\\(0x").matcher(Cmd.run("ldd", binary));
        while (m.find()) {
            libs.add(m.group(1));
        }
        if (libs.isEmpty()) {
            throw new IllegalStateException("ldd lists no libraries for " + binary);
        }
        return libs;
    }

    private static String hash(Map<String, Path> files, Map<String, String> texts) {
        try {
            MessageDigest all = MessageDigest.getInstance("SHA-256");
            all.update(DOCKERFILE.getBytes(StandardCharsets.UTF_8));
            for (var e : files.entrySet()) {
                all.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                MessageDigest one = MessageDigest.getInstance("SHA-256");
                try (InputStream in = Files.newInputStream(e.getValue())) {
                    byte[] buf = new byte[1 << 16];
                    for (int n; (n = in.read(buf)) > 0; ) {
                        one.update(buf, 0, n);
                    }
                }
                all.update(one.digest());
            }
            for (var e : texts.entrySet()) {
                all.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                all.update(e.getValue().getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(all.digest()).substring(0, 16);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The build context: Dockerfile and rootfs/ with real copies (symbolic links followed). */
    private static Path stage(Map<String, Path> files, Map<String, String> texts) {
        try {
            Path ctx = Files.createTempDirectory("tasnetty-image");
            Files.writeString(ctx.resolve("Dockerfile"), DOCKERFILE);
            Path root = ctx.resolve("rootfs");
            for (var e : files.entrySet()) {
                Path dst = root.resolve(e.getKey().substring(1));
                Files.createDirectories(dst.getParent());
                Files.copy(e.getValue(), dst, StandardCopyOption.REPLACE_EXISTING);
                Files.setPosixFilePermissions(dst, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            for (var e : texts.entrySet()) {
                Path dst = root.resolve(e.getKey().substring(1));
                Files.createDirectories(dst.getParent());
                Files.writeString(dst, e.getValue());
            }
            return ctx;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path p) {
        try (var s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }
}
