package io.tasnetty.it.containers;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** Runs host commands (iproute2, ldd) for the container tests. */
final class Cmd {
    private Cmd() {
    }

    /** Runs {@code cmd}; fails with its output unless it exits 0. */
    static String run(String... cmd) {
        return run(false, cmd);
    }

    /** Runs {@code cmd}, ignoring its exit code. */
    static String runQuietly(String... cmd) {
        return run(true, cmd);
    }

    private static String run(boolean ignoreFailure, String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + String.join(" ", cmd));
            }
            String s = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0 && !ignoreFailure) {
                throw new IllegalStateException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + s);
            }
            return s;
        } catch (IOException e) {
            if (ignoreFailure) {
                return "";
            }
            throw new IllegalStateException("cannot run " + String.join(" ", cmd) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
