package io.tasnetty.it.linux;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** One test's namespace, port, engine, context loop and scratch directory. */
final class EngineFixture implements AutoCloseable {
    final LinuxLink link;
    final TasEngine engine;
    final ContextLoop loop;
    final Files256 scratch = new Files256();

    EngineFixture(LinuxLink link, TasConfig config) {
        this(link, config, p -> p);
    }

    /** As above, the engine on {@code wrap} applied to the link's port (e.g. a pcap recorder). */
    EngineFixture(LinuxLink link, TasConfig config, java.util.function.UnaryOperator<io.tasnetty.engine.port.TasPort> wrap) {
        this.link = link;
        TasEngine e = null;
        try {
            e = TasEngine.builder().config(config).port(wrap.apply(link.takePort())).build();
            this.engine = e;
            this.loop = new ContextLoop(e, "tas-it-app");
        } catch (RuntimeException | Error ex) {
            if (e != null) {
                e.close();
            }
            link.close();
            scratch.close();
            throw ex;
        }
    }

    /** Runs peer.py with {@code args} in the Linux peer's namespace. */
    Sh.Background python(String... args) {
        return pythonIn(link.net.ns, args);
    }

    /** Runs peer.py with {@code args} in namespace {@code ns}. */
    Sh.Background pythonIn(String ns, String... args) {
        return peerPy(scratch, ns, args);
    }

    /** Runs peer.py (copied into {@code scratch} once) with {@code args} in namespace {@code ns}. */
    static Sh.Background peerPy(Files256 scratch, String ns, String... args) {
        Path script = scratch.path("peer.py");
        if (!Files.exists(script)) {
            try (InputStream s = EngineFixture.class.getResourceAsStream("peer.py")) {
                Files.copy(s, script);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        List<String> cmd = new ArrayList<>(List.of("python3", script.toString()));
        cmd.addAll(List.of(args));
        return Sh.start(scratch.path("python-" + args[0] + "-" + System.nanoTime() + ".log"),
                Sh.nsCommand(ns, cmd.toArray(String[]::new)));
    }

    TasConnection connect(InetSocketAddress remote, Handlers.Ping p) {
        return loop.call(() -> {
            TasConnection c = loop.ctx.connect(remote);
            c.attach(p);
            p.conn = c;
            return c;
        });
    }

    void awaitListening(int port) throws InterruptedException {
        awaitListening(link.net.ns, "-ltnH", port);
    }

    /** Waits until {@code ss SSFLAGS} in {@code ns} lists a socket on local port {@code port} (e.g. -ltnH, -lunH). */
    void awaitListening(String ns, String ssFlags, int port) throws InterruptedException {
        await(() -> Sh.runQuietly("ip", "netns", "exec", ns, "ss", ssFlags, "sport", "=", ":" + port)
                .contains(":" + port), 10, "a Linux socket on port " + port + " in " + ns);
    }

    /** Polls {@code cond} every 20 ms (no spinning) until it holds or {@code seconds} pass. */
    void await(BooleanSupplier cond, int seconds, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + seconds + " s waiting for " + what
                        + "\nengine: flows=" + engine.flowCount() + " rings=" + engine.ringBytesInUse()
                        + " counters=" + nonZeroCounters());
            }
            if (loop.failure() != null) {
                throw new AssertionError("the context loop failed", loop.failure());
            }
            Thread.sleep(20);
        }
    }

    /** Every flow and every ring byte is given back. */
    void awaitReclaimed() throws InterruptedException {
        await(() -> engine.flowCount() == 0 && engine.ringBytesInUse() == 0 && engine.flowRecordsInUse() == 0, 15, "flows and rings to be reclaimed");
    }

    String nonZeroCounters() {
        return io.tasnetty.engine.TasEnginePair.nonZero(engine);
    }

    void report(String what, long t0) {
        System.out.printf("[%s] %s: %d ms; %s%n", link.describe(), what, (System.nanoTime() - t0) / 1_000_000,
                nonZeroCounters());
    }

    @Override
    public void close() {
        try {
            loop.close();
            engine.close();
        } finally {
            link.close();
            scratch.close();
        }
    }
}
