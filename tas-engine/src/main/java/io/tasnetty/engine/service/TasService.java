package io.tasnetty.engine.service;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.config.TasConfigException;
import io.tasnetty.engine.port.TasPort;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * The engine as an OS service (TAS's model): this process owns the port, and applications attach
 * through {@code DIR/control}, a Unix domain socket. Per attached application the service
 * creates {@code DIR/app-N.shm} (mode 0600, owned by the user the socket's SO_PEERCRED names),
 * sized {@code service-app-len} plus the queues, and serves that application's commands on a
 * thread of its own ({@link TasServiceSession}).
 *
 * <p>Permission model: whoever may open {@code DIR} may attach (make it group-accessible for the
 * applications' group, as docker's socket); each application can open only its own region
 * file. The control socket carries the handshake, the doorbell bytes that wake an application's
 * session thread and, by its end of stream, an application's death; never payload. (Its proxy
 * and its event loops sleep on futex words in the region instead.)
 *
 * <p>Control protocol (lines of text, then single bytes): the application sends
 * {@code TAS-ATTACH <version> pid=<pid>}, the service answers {@code OK <version> region=<file>
 * size=<bytes>}, one {@code ARG --name=value} line per engine option and {@code END}, or
 * {@code ERR <why>} and closes. {@code TAS-STATS} gets the counters as {@code name value} lines
 * ({@link #stats(UserPrincipal)}; {@link TasStat} prints them as a table). Limits per application:
 * {@code service-app-max-conns} sockets and {@code service-app-len} of ring memory.
 */
public final class TasService implements AutoCloseable {
    public static final String CONTROL = "control";

    private final TasConfig config;
    private final Path dir;
    private final TasEngine engine;
    private final ServerSocketChannel server;
    private final List<TasServiceSession> sessions = new CopyOnWriteArrayList<>();
    private final AtomicInteger sessionIds = new AtomicInteger();
    private final AtomicLong attachedTotal = new AtomicLong();
    private final AtomicLong reclaimedTotal = new AtomicLong();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final long startedNanos = System.nanoTime();
    private volatile boolean running = true;

    private TasService(TasConfig config, Path dir, TasEngine engine, ServerSocketChannel server) {
        this.config = config;
        this.dir = dir;
        this.engine = engine;
        this.server = server;
    }

    /** Starts the engine {@code config} describes and listens on {@code service}'s control socket. */
    public static TasService start(TasConfig config) {
        return start(config, null);
    }

    /** As {@link #start(TasConfig)} on {@code port} (null: the one the configuration names). */
    public static TasService start(TasConfig config, TasPort port) {
        if (config.service().isEmpty()) {
            throw new TasConfigException("service", "option service: the service needs a directory (--service=DIR)");
        }
        Path dir = Path.of(config.service()).toAbsolutePath();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the service directory " + dir, e);
        }
        Path control = dir.resolve(CONTROL);
        ServerSocketChannel server;
        try {
            // A socket file left by a service that died cannot be bound over; a live service's
            // would answer: refuse to take its place.
            if (Files.exists(control)) {
                try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(control))) {
                    throw new IllegalStateException("a service already listens on " + control);
                } catch (IOException stale) {
                    Files.delete(control);
                }
            }
            // Region files of a service that died: their applications saw it go (and unmap them
            // once they have closed their channels); nobody attaches to them again.
            try (java.util.stream.Stream<Path> old = Files.list(dir)) {
                for (Path p : (Iterable<Path>) old::iterator) {
                    String n = p.getFileName().toString();
                    if (n.startsWith("app-") && n.endsWith(".shm")) {
                        Files.deleteIfExists(p);
                    }
                }
            }
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(control));
            // Reachable by whoever may enter DIR: the directory's permissions are the policy.
            Files.setPosixFilePermissions(control, PosixFilePermissions.fromString("rw-rw-rw-"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + control, e);
        }
        TasEngine engine;
        try {
            engine = TasEngine.builder().config(config).port(port).build();
        } catch (RuntimeException | Error e) {
            try {
                server.close();
                Files.deleteIfExists(control);
            } catch (IOException ignored) {
                // reporting the engine's failure
            }
            throw e;
        }
        TasService s = new TasService(config, dir, engine, server);
        try {
            String fs = Files.getFileStore(dir).type();
            if (!fs.equals("tmpfs")) {
                s.log("warning: " + dir + " is on " + fs + ", not tmpfs: the shared rings would be written back to disk");
            }
        } catch (IOException ignored) {
            // only a hint
        }
        Thread.ofPlatform().daemon().name("tas-svc-accept").start(s::acceptLoop);
        return s;
    }

    public TasEngine engine() {
        return engine;
    }

    /** The service's configuration (its limits per application among them). */
    public TasConfig config() {
        return config;
    }

    public Path controlSocket() {
        return dir.resolve(CONTROL);
    }

    boolean isRunning() {
        return running;
    }

    void log(String line) {
        if (!config.quiet() || line.startsWith("warning")) {
            System.err.println("tas service: " + line);
        }
    }

    private void acceptLoop() {
        while (running) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException e) {
                if (running) {
                    log("control socket failed: " + e);
                }
                return;
            }
            // One thread per handshake: a client that connects and says nothing holds up nobody else.
            Thread.ofVirtual().name("tas-svc-attach").start(() -> {
                try {
                    handshake(ch);
                } catch (IOException | RuntimeException e) {
                    log("attach failed: " + e);
                    try {
                        ch.close();
                    } catch (IOException ignored) {
                        // dropping it
                    }
                }
            });
        }
    }

    private void handshake(SocketChannel ch) throws IOException {
        UnixDomainPrincipal peer = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
        String hello = readLine(ch);
        if (hello.equals("TAS-STATS")) {
            write(ch, stats(peer.user()));
            ch.close();
            return;
        }
        String[] w = hello.split(" ");
        if (w.length < 2 || !w[0].equals("TAS-ATTACH")) {
            write(ch, "ERR not a TAS attach request\n");
            ch.close();
            return;
        }
        if (!w[1].equals(String.valueOf(TasServiceLayout.VERSION))) {
            write(ch, "ERR the service speaks version " + TasServiceLayout.VERSION + ", the application " + w[1] + "\n");
            ch.close();
            return;
        }
        long pid = -1;
        for (String x : w) {
            if (x.startsWith("pid=")) {
                pid = Long.parseLong(x.substring(4));
            }
        }
        int id = sessionIds.incrementAndGet();
        long ringsBytes = TasServiceLayout.align(config.serviceAppLen(), 64L << 20);
        long size = TasServiceLayout.regionBytes(ringsBytes);
        Path file = dir.resolve("app-" + id + ".shm");
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        UserPrincipal owner = peer.user();
        if (!owner.equals(Files.getOwner(file))) {
            Files.setOwner(file, owner); // only that user (and root) may map it
        }
        Arena arena = Arena.ofShared();
        MemorySegment region;
        try (FileChannel fc = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            fc.write(ByteBuffer.wrap(new byte[1]), size - 1); // sparse: pages come as they are touched
            region = fc.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            Files.deleteIfExists(file);
            throw e;
        }
        TasServiceLayout.initHeader(region, ringsBytes);
        TasServiceSession s = new TasServiceSession(this, id, owner.getName(), pid, ch, file, arena, region, ringsBytes);
        StringBuilder ok = new StringBuilder("OK " + TasServiceLayout.VERSION + " region=" + file + " size=" + size + "\n");
        // Only what differs from the defaults: the application's own -Dtas.* settings (transport
        // options such as no-kernel-path) stay in force where the service has no say.
        java.util.Set<String> defaults = new java.util.HashSet<>(TasConfig.defaults().toArgs());
        for (String a : config.toArgs()) {
            if (!defaults.contains(a)) {
                ok.append("ARG ").append(a).append('\n');
            }
        }
        ok.append("END\n");
        sessions.add(s);
        attachedTotal.incrementAndGet();
        write(ch, ok.toString());
        s.start();
        log("application " + s + " attached: " + file);
    }

    /** A session's proxy finished detaching it. */
    void detached(TasServiceSession s, boolean reclaimed) {
        sessions.remove(s);
        if (reclaimed) {
            reclaimedTotal.incrementAndGet();
        }
        log("application " + s + " detached" + (reclaimed ? ": connections reset, rings and region reclaimed" : ""));
    }

    /** The counters as {@code name value} lines, every application's included (see {@link #stats(UserPrincipal)}). */
    public String stats() {
        return stats(null);
    }

    /**
     * The counters as {@code name value} lines: engine-wide figures, one {@code app} line per
     * application ({@code name=value} for each {@link TasServiceAppCounter}), one {@code conn}
     * line per connection, and the engine's non-zero counters ({@code counter name value}).
     * A {@code viewer} other than root or the service's own user sees the {@code app} and
     * {@code conn} lines of its own applications only: one application cannot see another's
     * connections. Null: everything (the service itself).
     */
    public String stats(UserPrincipal viewer) {
        boolean all = viewer == null || viewer.getName().equals("root")
            || viewer.getName().equals(System.getProperty("user.name"));
        StringBuilder sb = new StringBuilder();
        long appRings = 0;
        for (TasServiceSession s : sessions) {
            appRings += s.rings.bytesInUse();
        }
        sb.append("version ").append(TasServiceLayout.VERSION).append('\n');
        sb.append("uptime_ms ").append((System.nanoTime() - startedNanos) / 1_000_000).append('\n');
        sb.append("applications ").append(sessions.size()).append('\n');
        sb.append("applications_attached_total ").append(attachedTotal.get()).append('\n');
        sb.append("applications_reclaimed_total ").append(reclaimedTotal.get()).append('\n');
        sb.append("flows ").append(engine.flowCount()).append('\n');
        sb.append("flow_records ").append(engine.flowRecordsInUse()).append('\n');
        sb.append("listeners ").append(engine.listenerCount()).append('\n');
        sb.append("app_ring_bytes ").append(appRings).append('\n');
        for (TasServiceSession s : sessions) {
            if (!all && !s.user.equals(viewer.getName())) {
                continue;
            }
            sb.append("app ").append(s.id).append(" user=").append(s.user).append(" pid=").append(s.pid);
            for (TasServiceAppCounter c : TasServiceAppCounter.values()) {
                sb.append(' ').append(c.statName()).append('=').append(s.counter(c));
            }
            sb.append(s.isReclaiming() ? " reclaiming" : "").append('\n');
        }
        for (TasServiceSession s : sessions) {
            if (all || s.user.equals(viewer.getName())) {
                s.describeConnections(sb);
            }
        }
        engine.counters().forEach((c, v) -> {
            if (v != 0) {
                sb.append("counter ").append(c.name().toLowerCase(java.util.Locale.ROOT)).append(' ').append(v).append('\n');
            }
        });
        return sb.toString();
    }

    static String readLine(SocketChannel ch) throws IOException {
        ByteBuffer one = ByteBuffer.allocate(1);
        StringBuilder sb = new StringBuilder();
        while (true) {
            one.clear();
            if (ch.read(one) < 0) {
                throw new IOException("control socket closed during the handshake");
            }
            char c = (char) one.get(0);
            if (c == '\n') {
                return sb.toString();
            }
            if (sb.length() > 4096) {
                throw new IOException("handshake line too long");
            }
            sb.append(c);
        }
    }

    static void write(SocketChannel ch, String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** Blocks until {@link #close()}. */
    public void awaitTermination() throws InterruptedException {
        stopped.await();
    }

    @Override
    public void close() {
        if (!running) {
            return;
        }
        running = false;
        try {
            server.close();
            Files.deleteIfExists(controlSocket());
        } catch (IOException ignored) {
            // stopping anyway
        }
        for (TasServiceSession s : sessions) {
            s.stop();
        }
        engine.close();
        stopped.countDown();
    }

    /**
     * {@code java --enable-native-access=ALL-UNNAMED -jar tas-engine.jar --service=DIR [options]}:
     * runs the engine as a service until it is stopped (SIGTERM, Ctrl-C).
     */
    public static void main(String[] args) throws InterruptedException {
        if (TasConfig.isHelp(args)) {
            System.out.println("usage: java --enable-native-access=ALL-UNNAMED -jar tas-engine.jar --service=DIR [engine options]\n");
            System.out.println(TasConfig.help());
            return;
        }
        TasConfig config;
        try {
            config = TasConfig.fromArgs(args);
        } catch (TasConfigException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        if (config.service().isEmpty()) {
            System.err.println("tas service: give the service directory: --service=DIR (see --help)");
            System.exit(2);
            return;
        }
        TasService s = start(config);
        Runtime.getRuntime().addShutdownHook(new Thread(s::close, "tas-svc-stop"));
        TasEngine e = s.engine();
        System.out.println("tas service: listening on " + s.controlSocket() + " (engine "
            + io.tasnetty.engine.wire.Ipv4.toString(e.ipAddress()) + " on " + e.port().name() + ")");
        System.out.flush();
        s.awaitTermination();
    }
}
