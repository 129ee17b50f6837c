package io.tasnetty.it.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/** A scratch directory in RAM (/dev/shm when there is one) with a random file and its SHA-256 (by sha256sum). */
final class Files256 implements AutoCloseable {
    final Path dir;

    Files256() {
        try {
            Path shm = Path.of("/dev/shm");
            dir = Files.isDirectory(shm) ? Files.createTempDirectory(shm, "tasit") : Files.createTempDirectory("tasit");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Creates {@code name} with {@code bytes} random bytes (from /dev/urandom). */
    Path random(String name, long bytes) {
        Path p = dir.resolve(name);
        Sh.run(false, 120, "sh", "-c", "head -c " + bytes + " /dev/urandom > '" + p + "'");
        return p;
    }

    Path path(String name) {
        return dir.resolve(name);
    }

    static String sha256(Path p) {
        return Sh.run(false, 120, "sha256sum", p.toString()).split("\\s+")[0];
    }

    static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }
}
