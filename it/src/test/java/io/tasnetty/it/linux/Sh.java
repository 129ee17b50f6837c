package io.tasnetty.it.linux;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs commands (iproute2, socat, python3, sha256sum) for the Linux-interop tests. */
final class Sh {
    private Sh() {
    }

    /** Runs {@code cmd}; fails with its output unless it exits 0. */
    static String run(String... cmd) {
        return run(false, 30, cmd);
    }

    /** Runs {@code cmd}, ignoring its exit code. */
    static String runQuietly(String... cmd) {
        return run(true, 30, cmd);
    }

    static String run(boolean ignoreFailure, int timeoutSeconds, String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes(); // ends when the process (and its children) close it
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out after " + timeoutSeconds + " s: " + String.join(" ", cmd));
            }
            String s = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0 && !ignoreFailure) {
                throw new IllegalStateException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + s);
            }
            return s;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + String.join(" ", cmd) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Runs {@code cmd} inside network namespace {@code ns}. */
    static String inNs(String ns, String... cmd) {
        return run(nsCommand(ns, cmd));
    }

    static String[] nsCommand(String ns, String... cmd) {
        List<String> l = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        l.addAll(List.of(cmd));
        return l.toArray(String[]::new);
    }

    /** A background process; its output goes to {@code log}. {@code ip netns exec} execs the command, so the pid is the tool's. */
    static Background start(Path log, String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            p.getOutputStream().close();
            return new Background(p, log, String.join(" ", cmd));
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + String.join(" ", cmd) + ": " + e.getMessage(), e);
        }
    }

    /** A process started by a test; {@link #close} kills it (and its children) if it still runs. */
    record Background(Process process, Path log, String command) implements AutoCloseable {
        /** Waits for a normal exit; returns the exit code, or fails with the log after the timeout. */
        int await(long timeout, TimeUnit unit) {
            try {
                if (!process.waitFor(timeout, unit)) {
                    throw new IllegalStateException("still running after " + timeout + " " + unit + ": " + command
                            + "\n" + output());
                }
                return process.exitValue();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        /** Waits for exit code 0 and returns the output. */
        String awaitSuccess(long timeout, TimeUnit unit) {
            int rc = await(timeout, unit);
            if (rc != 0) {
                throw new IllegalStateException(command + " exited " + rc + ":\n" + output());
            }
            return output();
        }

        String output() {
            try {
                return Files.readString(log, StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(no log: " + e.getMessage() + ")";
            }
        }

        long pid() {
            return process.pid();
        }

        @Override
        public void close() {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            try {
                process.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Whether {@code name} is an executable on the PATH. */
    static boolean has(String name) {
        String path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                return true;
            }
        }
        return false;
    }
}
