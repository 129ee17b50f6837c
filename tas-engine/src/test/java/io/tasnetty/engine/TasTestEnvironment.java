package io.tasnetty.engine;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * What a test needs from the machine (root, a command, a device). Locally a missing prerequisite
 * skips the test; in CI (environment variable {@code CI=true}) it fails it, so that a CI machine
 * that lost a prerequisite cannot pass silently.
 */
public final class TasTestEnvironment {
    private TasTestEnvironment() {
    }

    /** Returns if {@code condition} holds; otherwise fails (in CI) or skips the test. */
    public static void require(boolean condition, String what) {
        if (condition) {
            return;
        }
        if (isCi()) {
            fail("prerequisite missing in CI: " + what);
        }
        Assumptions.abort("skipped: " + what);
    }

    /** Whether the environment variable {@code CI} is {@code true}. */
    public static boolean isCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** Whether this JVM runs with effective user id 0. */
    public static boolean isRoot() {
        try {
            // "Uid:\treal\teffective\tsaved\tfs"
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    String[] f = line.substring(4).trim().split("\\s+");
                    return f.length > 1 && f[1].equals("0");
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or /proc not mounted: fall through
        }
        try {
            return new com.sun.security.auth.module.UnixSystem().getUid() == 0;
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    /** Whether an executable called {@code name} is on the {@code PATH}. */
    public static boolean hasCommand(String name) {
        String path = System.getenv("PATH");
        List<String> dirs = path == null || path.isEmpty()
                ? List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
                : List.of(path.split(File.pathSeparator));
        for (String dir : dirs) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return true;
            }
        }
        return false;
    }
}
