package io.tasnetty.it.linux;

import io.tasnetty.engine.TasTestEnvironment;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;

/**
 * The host side of the virtio profile: native-shim's {@code tas-fwd}, a second DPDK process (its
 * own {@code --file-prefix}, {@code --no-shconf}) with {@code net_vhost} in client mode on a
 * unix socket and {@code net_tap} on interface {@code tap}, forwarding frames between them. It
 * stands in for QEMU + the host's switch: the engine's {@code net_virtio_user} is exactly the
 * driver a guest runs. The forwarder naps when idle, so it costs little CPU.
 */
final class VhostForwarder implements AutoCloseable {
    final Path socket;
    private final Files256 dir;
    private final Sh.Background process;

    private final String tag;

    private VhostForwarder(Files256 dir, Path socket, Sh.Background process, String tag) {
        this.dir = dir;
        this.socket = socket;
        this.process = process;
        this.tag = tag;
    }

    private static String prefix(String tag) {
        return "tasfwd" + tag + PeerNet.PID;
    }

    /** Starts the forwarder and waits until both its ports run (the tap interface exists). */
    static VhostForwarder start(String tag, String tap) {
        Files256 dir = new Files256();
        Sh.Background p = null;
        try {
            Path exe = extract(dir.dir);
            Path socket = dir.path("vhost.sock");
            p = Sh.start(dir.path("tas-fwd.log"), exe.toString(), "--no-huge", "-m", "128", "--no-pci",
                    "--no-shconf", "--file-prefix=" + prefix(tag), "--no-telemetry", "--lcores=0@(0,1)",
                    "--log-level=lib.eal:warning",
                    "--vdev=net_vhost0,iface=" + socket + ",client=1,queues=1",
                    "--vdev=net_tap0,iface=" + tap);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!p.output().contains("tas-fwd: ready")) {
                if (!p.process().isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("tas-fwd did not start:\n" + p.output());
                }
                Thread.sleep(20);
            }
            return new VhostForwarder(dir, socket, p, tag);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (RuntimeException | Error e) {
            if (p != null) {
                p.close();
            }
            dir.close();
            throw e;
        }
    }

    /** native-shim's tas-fwd from the classpath (built where DPDK was installed). */
    private static Path extract(Path dir) {
        try (InputStream in = VhostForwarder.class.getResourceAsStream("/native/linux-x86_64/tas-fwd")) {
            TasTestEnvironment.require(in != null, "native-shim's tas-fwd (built when DPDK is installed)");
            Path exe = dir.resolve("tas-fwd");
            Files.copy(in, exe, StandardCopyOption.REPLACE_EXISTING);
            if (!exe.toFile().setExecutable(true)) {
                throw new IllegalStateException("cannot make " + exe + " executable");
            }
            return exe;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The forwarder's log (counters are printed at exit). */
    String log() {
        return process.output();
    }

    /** Stops it with SIGTERM (it prints its counters), or kills it after 5 s. */
    @Override
    public void close() {
        try {
            process.process().destroy();
            if (!process.process().waitFor(5, TimeUnit.SECONDS)) {
                process.close();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.close();
        } finally {
            String log = process.output();
            int i = log.lastIndexOf("tas-fwd: 0->1");
            if (i >= 0) {
                System.out.println(log.substring(i).trim());
            }
            dir.close();
            // --no-shconf leaves only the (empty) runtime directory.
            Sh.runQuietly("rmdir", "/var/run/dpdk/" + prefix(tag));
        }
    }
}
