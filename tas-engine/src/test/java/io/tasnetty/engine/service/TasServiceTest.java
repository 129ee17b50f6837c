package io.tasnetty.engine.service;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasException;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.context.TasSocket;
import io.tasnetty.engine.port.TasWire;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Service mode in one JVM: a service engine on the in-JVM wire, applications attached to it
 * through its control socket and shared region, and an embedded peer engine on the same wire.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TasServiceTest {
    private TasWire wire;
    private Path dir;
    private TasService service;
    private TasEngine peer;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        wire = new TasWire();
        Path shm = Path.of("/dev/shm");
        dir = Files.createTempDirectory(Files.isDirectory(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir")), "tas-svc-test");
        TasConfig svc = TasConfig.builder().args("--ip-addr=10.0.0.1/24", "--service=" + dir, "--service-app-len=64m",
            "--quiet").build();
        service = TasService.start(svc, wire.attach("svc", 0x02_00_0A_00_00_01L, 1, 1500, 8192));
        peer = TasEngine.builder().config(TasConfig.builder().args("--ip-addr=10.0.0.2/24", "--quiet").build())
            .port(wire.attach("peer", 0x02_00_0A_00_00_02L, 1, 1500, 8192)).build();
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : toClose.reversed()) {
            c.close();
        }
        peer.close();
        service.close();
        wire.close();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private TasServiceClient attach() {
        TasServiceClient c = TasServiceClient.attach(dir);
        toClose.add(c);
        return c;
    }

    /** Runs a context's event loop on its own thread: accepts and echoes every byte back. */
    private static final class EchoLoop implements AutoCloseable {
        final TasContext ctx;
        final TasListener listener;
        final AtomicBoolean stop = new AtomicBoolean();
        final Thread thread;
        final List<TasConnection> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();

        EchoLoop(TasContext ctx, TasListener listener) {
            this.ctx = ctx;
            this.listener = listener;
            this.thread = Thread.ofPlatform().daemon().name("echo").start(this::run);
        }

        private void run() {
            ByteBuffer buf = ByteBuffer.allocateDirect(64 << 10);
            List<TasConnection> conns = new ArrayList<>();
            while (!stop.get()) {
                ctx.poll((TasSocket s, int ev) -> {
                    if (s == listener) {
                        TasConnection c;
                        while ((c = ctx.accept(listener)) != null) {
                            conns.add(c);
                            accepted.add(c);
                        }
                    }
                }, 64);
                for (TasConnection c : conns) {
                    if (!c.isOpen()) {
                        continue;
                    }
                    // Echo what fits: read only as much as the transmit ring takes.
                    int room = Math.min(c.writableBytes(), buf.capacity());
                    if (room > 0) {
                        buf.clear().limit(room);
                        int n = c.read(buf);
                        if (n > 0) {
                            buf.flip();
                            c.write(buf);
                            c.flush();
                        } else if (n < 0) {
                            c.close();
                        }
                    }
                }
                ctx.await(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join();
        }
    }

    /** The peer: connects, sends {@code bytes} of seeded data, reads the echo and compares byte for byte. */
    private long echoThroughPeer(int port, long bytes, long seed) {
        TasContext ctx = peer.newContext();
        TasConnection c = ctx.connect(new InetSocketAddress("10.0.0.1", port));
        SplittableRandom out = new SplittableRandom(seed);
        SplittableRandom in = new SplittableRandom(seed);
        ByteBuffer w = ByteBuffer.allocate(32 << 10);
        ByteBuffer r = ByteBuffer.allocate(32 << 10);
        w.limit(0);
        long sent = 0;
        long received = 0;
        while (received < bytes) {
            if (c.error() != TasError.NONE) {
                throw new AssertionError("peer connection failed: " + c.error());
            }
            if (c.isActive()) {
                if (!w.hasRemaining() && sent < bytes) {
                    w.clear();
                    int n = (int) Math.min(w.capacity(), bytes - sent);
                    for (int i = 0; i < n; i++) {
                        w.put((byte) out.nextInt());
                    }
                    w.flip();
                    sent += n;
                }
                if (w.hasRemaining()) {
                    c.write(w);
                    c.flush();
                }
                r.clear();
                int n = c.read(r);
                for (int i = 0; i < n; i++) {
                    byte want = (byte) in.nextInt();
                    if (r.get(i) != want) {
                        throw new AssertionError("byte " + (received + i) + " differs");
                    }
                }
                if (n < 0) {
                    throw new AssertionError("echo ended after " + received + " bytes");
                }
                received += n;
            }
            ctx.poll((s, ev) -> { }, 16);
            ctx.await(TimeUnit.MICROSECONDS.toNanos(200));
        }
        c.close();
        ctx.close();
        return received;
    }

    private static String stat(TasService s, String name) {
        for (String line : s.stats().split("\n")) {
            if (line.startsWith(name + " ")) {
                return line.substring(name.length() + 1);
            }
        }
        throw new AssertionError("no " + name + " in " + s.stats());
    }

    @Test
    void shouldEchoEveryByteThroughAnAttachedApplicationsListener() throws Exception {
        TasServiceClient app = attach();
        TasContext ctx = app.newContext();
        TasListener l = ctx.listen(new InetSocketAddress("0.0.0.0", 7000), 16);
        try (EchoLoop loop = new EchoLoop(ctx, l)) {
            assertThat(echoThroughPeer(7000, 8L << 20, 1)).isEqualTo(8L << 20);
            assertThat(loop.accepted).hasSize(1);
            assertThat(loop.accepted.getFirst().remoteAddress().getAddress().getHostAddress()).isEqualTo("10.0.0.2");
        }
    }

    @Test
    void shouldKeepSendingThroughASmallTransmitRingWakingOnlyOnEvents() throws Exception {
        long total = 16L << 20;
        TasContext server = peer.newContext();
        TasListener pl = server.listen(new InetSocketAddress("10.0.0.2", 7005), 16);
        long[] got = new long[1];
        Thread sink = Thread.ofPlatform().daemon().start(() -> {
            ByteBuffer b = ByteBuffer.allocate(64 << 10);
            List<TasConnection> cs = new ArrayList<>();
            while (got[0] < total) {
                server.poll((s, ev) -> {
                    TasConnection a;
                    while (s == pl && (a = server.accept(pl)) != null) {
                        cs.add(a);
                    }
                }, 16);
                for (TasConnection a : cs) {
                    int n;
                    while ((n = a.read(b.clear())) > 0) {
                        got[0] += n;
                    }
                }
                server.await(TimeUnit.MILLISECONDS.toNanos(1));
            }
        });
        TasServiceClient app = attach();
        TasContext ctx = app.newContext();
        // An 8 KiB transmit ring: it is full all the time, and only events say when it is not.
        TasConnection c = ctx.connect(new InetSocketAddress("10.0.0.2", 7005), null, 0, 8192);
        int[] seen = new int[1];
        ByteBuffer chunk = ByteBuffer.allocate(3000);
        long sent = 0;
        while (sent < total) {
            seen[0] = 0;
            ctx.poll((s, ev) -> seen[0] |= ev, 16);
            assertThat(c.error()).isEqualTo(TasError.NONE);
            if (!c.isActive()) {
                ctx.await(TimeUnit.MILLISECONDS.toNanos(1));
                continue;
            }
            chunk.clear().limit((int) Math.min(chunk.capacity(), total - sent));
            int n = c.write(chunk);
            sent += n;
            c.flush();
            if (chunk.hasRemaining()) {
                ctx.await(Long.MAX_VALUE); // no timeout: only a WRITABLE (or the test's timeout) ends it
                if (Thread.currentThread().isInterrupted()) {
                    throw new AssertionError("no WRITABLE after " + sent + " bytes: the ring stays full");
                }
            }
        }
        sink.join();
        assertThat(got[0]).isEqualTo(total);
        c.close();
    }

    @Test
    void shouldRefuseABindOnAPortAnotherApplicationHolds() {
        TasServiceClient first = attach();
        TasServiceClient second = attach();
        first.newContext().listen(new InetSocketAddress("0.0.0.0", 7001), 16);
        TasContext other = second.newContext();
        assertThatThrownBy(() -> other.listen(new InetSocketAddress("0.0.0.0", 7001), 16))
            .isInstanceOf(TasException.class).hasMessageContaining("in use");
    }

    @Test
    void shouldConnectOutFromAnAttachedApplication() throws Exception {
        TasContext server = peer.newContext();
        TasListener pl = server.listen(new InetSocketAddress("10.0.0.2", 7002), 16);
        try (EchoLoop echo = new EchoLoop(server, pl)) {
            TasServiceClient app = attach();
            TasContext ctx = app.newContext();
            TasConnection c = ctx.connect(new InetSocketAddress("10.0.0.2", 7002));
            byte[] msg = "hello through the service".getBytes();
            ByteBuffer got = ByteBuffer.allocate(msg.length);
            boolean sent = false;
            while (got.hasRemaining()) {
                ctx.poll((s, ev) -> { }, 16);
                assertThat(c.error()).isEqualTo(TasError.NONE);
                if (c.isActive() && !sent) {
                    assertThat(c.write(ByteBuffer.wrap(msg))).isEqualTo(msg.length);
                    c.flush();
                    sent = true;
                }
                if (sent) {
                    assertThat(c.read(got)).isNotNegative();
                }
                ctx.await(TimeUnit.MILLISECONDS.toNanos(1));
            }
            assertThat(new String(got.array())).isEqualTo("hello through the service");
            assertThat(c.localAddress().getAddress().getHostAddress()).isEqualTo("10.0.0.1");
            c.close();
        }
    }

    @Test
    void shouldResetConnectionsAndReclaimRingsWhenTheApplicationVanishes() throws Exception {
        TasServiceClient app = TasServiceClient.attach(dir);
        TasContext ctx = app.newContext();
        TasListener l = ctx.listen(new InetSocketAddress("0.0.0.0", 7003), 16);
        EchoLoop loop = new EchoLoop(ctx, l);
        TasContext pctx = peer.newContext();
        TasConnection c = pctx.connect(new InetSocketAddress("10.0.0.1", 7003));
        while (loop.accepted.isEmpty()) {
            pctx.poll((s, ev) -> { }, 16);
            pctx.await(TimeUnit.MILLISECONDS.toNanos(1));
        }
        assertThat(Long.parseLong(stat(service, "app_ring_bytes"))).isPositive();
        // What kill -9 does to the control socket: it closes without a word.
        app.close();
        loop.close();
        while (c.error() == TasError.NONE) {
            pctx.poll((s, ev) -> { }, 16);
            pctx.await(TimeUnit.MILLISECONDS.toNanos(1));
        }
        assertThat(c.error()).isEqualTo(TasError.RESET);
        while (!stat(service, "applications").equals("0")) {
            Thread.sleep(5);
        }
        assertThat(stat(service, "app_ring_bytes")).isEqualTo("0");
        assertThat(stat(service, "applications_reclaimed_total")).isEqualTo("1");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("control");
        }
        c.close();
        pctx.close();
    }

    @Test
    void shouldFailAttachedConnectionsWithAClearErrorWhenTheServiceStops() throws Exception {
        TasContext server = peer.newContext();
        TasListener pl = server.listen(new InetSocketAddress("10.0.0.2", 7004), 16);
        try (EchoLoop echo = new EchoLoop(server, pl)) {
            TasServiceClient app = attach();
            TasContext ctx = app.newContext();
            TasConnection c = ctx.connect(new InetSocketAddress("10.0.0.2", 7004));
            while (!c.isActive()) {
                ctx.poll((s, ev) -> { }, 16);
                ctx.await(TimeUnit.MILLISECONDS.toNanos(1));
            }
            service.close();
            int[] seen = new int[1];
            while ((seen[0] & TasEvents.CLOSED) == 0) {
                ctx.poll((s, ev) -> seen[0] |= ev, 16);
                ctx.await(TimeUnit.MILLISECONDS.toNanos(1));
            }
            assertThat(c.error()).isEqualTo(TasError.SERVICE_GONE);
            assertThat(app.isAlive()).isFalse();
            assertThatThrownBy(() -> ctx.connect(new InetSocketAddress("10.0.0.2", 7004)))
                .isInstanceOf(TasException.class);
        }
    }

    @Test
    void shouldSayClearlyThatNoServiceRuns() throws IOException {
        Path empty = Files.createTempDirectory(dir, "none");
        assertThatThrownBy(() -> TasServiceClient.attach(empty))
            .isInstanceOf(TasException.class).hasMessageContaining("no TAS service at");
    }
}
