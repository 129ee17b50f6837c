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
import java.util.concurrent.locks.LockSupport;
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
        service = startService();
        peer = TasEngine.builder().config(TasConfig.builder().args("--ip-addr=10.0.0.2/24", "--quiet").build())
            .port(wire.attach("peer", 0x02_00_0A_00_00_02L, 1, 1500, 8192)).build();
    }

    /** A service in {@link #dir} on the wire, with {@code extra} options. */
    private TasService startService(String... extra) {
        List<String> args = new ArrayList<>(List.of("--ip-addr=10.0.0.1/24", "--service=" + dir, "--service-app-len=64m",
            "--quiet"));
        args.addAll(List.of(extra));
        TasConfig svc = TasConfig.builder().args(args.toArray(String[]::new)).build();
        return TasService.start(svc, wire.attach("svc", 0x02_00_0A_00_00_01L, 1, 1500, 8192));
    }

    /** Stops the service and starts another in the same directory with {@code extra} options. */
    private void restartService(String... extra) {
        service.close();
        service = startService(extra);
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

    /**
     * A writer that retries only on WRITABLE (as Netty's channels do) while the peer echoes, so
     * freed transmit space often arrives at the application with a receive event rather than its
     * own: every head advance it learns of must wake it if it waits, or it stalls for good once
     * the echo, its only other source of events, dries up.
     */
    @Test
    void shouldWakeAWriterWaitingForSpaceWhateverEventBringsTheFreedSpace() throws Exception {
        try (EchoLoop echo = echoServer(7006)) {
            TasServiceClient app = attach();
            TasContext ctx = app.newContext();
            long total = 24L << 20;
            for (int round = 0; round < 3; round++) {
                TasConnection c = ctx.connect(new InetSocketAddress("10.0.0.2", 7006), null, 8192, 8192);
                SplittableRandom out = new SplittableRandom(round);
                SplittableRandom in = new SplittableRandom(round);
                ByteBuffer chunk = ByteBuffer.allocate(3000);
                chunk.limit(0);
                ByteBuffer r = ByteBuffer.allocate(16 << 10);
                long sent = 0;
                long received = 0;
                boolean waiting = false;
                int[] seen = new int[1];
                while (received < total) {
                    seen[0] = 0;
                    ctx.poll((s, ev) -> seen[0] |= ev, 16);
                    assertThat(c.error()).isEqualTo(TasError.NONE);
                    if (!c.isActive()) {
                        ctx.await(TimeUnit.MILLISECONDS.toNanos(1));
                        continue;
                    }
                    int n;
                    while ((n = c.read(r.clear())) > 0) {
                        for (int i = 0; i < n; i++) {
                            if (r.get(i) != (byte) in.nextInt()) {
                                throw new AssertionError("byte " + (received + i) + " differs");
                            }
                        }
                        received += n;
                    }
                    if (!waiting || (seen[0] & TasEvents.WRITABLE) != 0) {
                        waiting = false;
                        while (sent < total) {
                            if (!chunk.hasRemaining()) {
                                int len = (int) Math.min(chunk.capacity(), total - sent);
                                chunk.clear().limit(len);
                                for (int i = 0; i < len; i++) {
                                    chunk.put(i, (byte) out.nextInt());
                                }
                            }
                            int w = c.write(chunk);
                            sent += w;
                            if (chunk.hasRemaining()) {
                                waiting = true; // the ring is full: only a WRITABLE says when to go on
                                break;
                            }
                        }
                        c.flush();
                    }
                    if (received < total && seen[0] == 0) {
                        // Wait for an event; 20 s of silence (await may return early: count it all)
                        // while space is free means the writer waits for a WRITABLE nobody sends.
                        long quietSince = System.nanoTime();
                        while (!ctx.hasEvents() && System.nanoTime() - quietSince < TimeUnit.SECONDS.toNanos(20)) {
                            ctx.await(TimeUnit.SECONDS.toNanos(1));
                        }
                        if (!ctx.hasEvents() && waiting && c.writableBytes() > 0) {
                            throw new AssertionError("round " + round + ": a WRITABLE was lost after " + sent
                                + " bytes: the ring has " + c.writableBytes() + " bytes free and no event came for 20 s");
                        }
                    }
                }
                assertThat(received).isEqualTo(total);
                c.close();
            }
        }
    }

    @Test
    void shouldRefuseAndCountAnApplicationsAttemptToResetOrUnbindSocketsItDoesNotHold() throws Exception {
        TasServiceClient app = attach();
        TasContext ctx = app.newContext();
        TasListener l = ctx.listen(new InetSocketAddress("0.0.0.0", 7060), 16);
        try (EchoLoop loop = new EchoLoop(ctx, l)) {
            TasContext pctx = peer.newContext();
            TasConnection c = pctx.connect(new InetSocketAddress("10.0.0.1", 7060));
            while (loop.accepted.isEmpty()) {
                pctx.poll((s, ev) -> { }, 16);
                pctx.await(TimeUnit.MILLISECONDS.toNanos(1));
            }
            // Socket ids 0 and 1 are the victim's listener and connection in its own session.
            try (TasServiceIntruder intruder = TasServiceIntruder.attach(dir)) {
                int sent = intruder.tryToResetAndUnbindOthers(64);
                assertThat(intruder.awaitRefused(sent, 30_000)).isEqualTo(sent);
            }
            assertThat(appLine(service, "app 1 ")).contains(" sockets=2 ").contains(" refused_foreign=0 ");
            assertThat(c.error()).isEqualTo(TasError.NONE);
            assertThat(loop.accepted.getFirst().error()).isEqualTo(TasError.NONE);
            c.close();
            pctx.close();
            // The listener still takes connections and echoes.
            assertThat(echoThroughPeer(7060, 1 << 20, 3)).isEqualTo(1 << 20);
        }
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
        try (EchoLoop echo = echoServer(7002)) {
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
        try (EchoLoop echo = echoServer(7004)) {
            Attached a = attachAndConnect(7004);
            TasContext ctx = a.ctx();
            TasConnection c = a.connection();
            service.close();
            int[] seen = new int[1];
            while ((seen[0] & TasEvents.CLOSED) == 0) {
                ctx.poll((s, ev) -> seen[0] |= ev, 16);
                ctx.await(TimeUnit.MILLISECONDS.toNanos(1));
            }
            assertThat(c.error()).isEqualTo(TasError.SERVICE_GONE);
            assertThat(a.app().isAlive()).isFalse();
            assertThatThrownBy(() -> ctx.connect(new InetSocketAddress("10.0.0.2", 7004)))
                .isInstanceOf(TasException.class);
        }
    }

    /** An echo server on the peer engine at 10.0.0.2:{@code port}, on a thread of its own. */
    private EchoLoop echoServer(int port) {
        TasContext server = peer.newContext();
        return new EchoLoop(server, server.listen(new InetSocketAddress("10.0.0.2", port), 16));
    }

    /** An attached application, a context of it, and its connection to the echo server. */
    private record Attached(TasServiceClient app, TasContext ctx, TasConnection connection) {
    }

    /** Attaches and connects to the echo server on {@code port}, waiting until established. */
    private Attached attachAndConnect(int port) {
        TasServiceClient app = attach();
        TasContext ctx = app.newContext();
        return new Attached(app, ctx, connectAndWait(ctx, port, 0, 0));
    }

    /** Connects through {@code ctx} and waits until established (or fails the test with the error). */
    private static TasConnection connectAndWait(TasContext ctx, int port, int rxLen, int txLen) {
        TasConnection c = ctx.connect(new InetSocketAddress("10.0.0.2", port), null, rxLen, txLen);
        while (!c.isActive()) {
            assertThat(c.error()).isEqualTo(TasError.NONE);
            ctx.poll((s, ev) -> { }, 16);
            ctx.await(TimeUnit.MILLISECONDS.toNanos(1));
        }
        return c;
    }

    /** As {@link #roundTrip}, but blocking without a timeout: only the service's wake-up ends a wait. */
    private static void roundTripBlocking(TasContext ctx, TasConnection c, String text) {
        byte[] msg = text.getBytes();
        assertThat(c.write(ByteBuffer.wrap(msg))).isEqualTo(msg.length);
        c.flush();
        ByteBuffer got = ByteBuffer.allocate(msg.length);
        while (true) {
            ctx.poll((s, ev) -> { }, 16);
            assertThat(c.error()).isEqualTo(TasError.NONE);
            assertThat(c.read(got)).isNotNegative();
            if (!got.hasRemaining()) {
                break;
            }
            ctx.await(Long.MAX_VALUE);
        }
        assertThat(new String(got.array())).isEqualTo(text);
    }

    /** Sends a message over {@code c} and reads it back from an echo server. */
    private static void roundTrip(TasContext ctx, TasConnection c, String text) {
        byte[] msg = text.getBytes();
        assertThat(c.write(ByteBuffer.wrap(msg))).isEqualTo(msg.length);
        c.flush();
        ByteBuffer got = ByteBuffer.allocate(msg.length);
        readFully(ctx, c, got);
        assertThat(new String(got.array())).isEqualTo(text);
    }

    /** Polls {@code ctx} and reads from {@code c} until {@code got} is full; the connection must stay healthy. */
    private static void readFully(TasContext ctx, TasConnection c, ByteBuffer got) {
        while (got.hasRemaining()) {
            ctx.poll((s, ev) -> { }, 16);
            assertThat(c.error()).isEqualTo(TasError.NONE);
            assertThat(c.read(got)).isNotNegative();
            ctx.await(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    /**
     * Round trips with pauses of varied length between them put the context's thread to sleep at
     * every point of its cycle (about to block, blocked on its futex word) when the echo comes;
     * each needs the service's wake-up, and the connection's events come through the context's
     * own queue, not the session thread. A wake-up lost on the way leaves the round trip waiting
     * (await's 1 ms timeout would hide it, so the test counts blocks that the service ended):
     * the timeout (on a thread of its own, since the waiting loop does not look at interrupts)
     * then fails the test.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void shouldWakeASleepingApplicationForEveryEventWithoutLosingAWakeUp() throws Exception {
        try (EchoLoop echo = echoServer(7070)) {
            Attached a = attachAndConnect(7070);
            SplittableRandom random = new SplittableRandom(7070);
            for (int i = 0; i < 2000; i++) {
                roundTripBlocking(a.ctx(), a.connection(), "ping " + i);
                LockSupport.parkNanos(random.nextLong(400_000));
            }
            assertThat(a.app().contextSleeps()).as("the context's thread slept between round trips").isGreaterThan(200);
            a.connection().close();
        }
    }

    /**
     * Once routed, a connection's events come through its context's own queue, which its owner
     * drains: none through the session thread. A context that stops draining does not stall the
     * service: its queue fills, the rest goes through the session thread's queue, and every byte
     * still arrives, in order.
     */
    @Test
    void shouldDeliverThroughTheContextsOwnQueueAndOverflowToTheSessionsWhenItIsFull() throws Exception {
        try (EchoLoop echo = echoServer(7080)) {
            Attached a = attachAndConnect(7080);
            TasServiceClient app = a.app();
            TasConnection c = a.connection();
            int k = TasServiceClient.queueOf(a.ctx());
            assertThat(k).isPositive();
            roundTrip(a.ctx(), c, "warm");
            long viaSession = app.drained(0);
            long viaContext = app.drained(k);
            for (int i = 0; i < 200; i++) {
                roundTrip(a.ctx(), c, "ping " + i);
            }
            assertThat(app.drained(k) - viaContext).as("entries the context drained itself").isGreaterThanOrEqualTo(200);
            assertThat(app.drained(0) - viaSession).as("entries through the session thread").isZero();

            // Stop draining; one-byte messages, each echoed on its own, until the queue overflowed.
            ByteBuffer one = ByteBuffer.allocate(1);
            int sent = 0;
            while (app.appCounter(TasServiceAppCounter.CONTEXT_QUEUE_FULL) == 0 && sent < 60_000) {
                one.clear().put(0, (byte) sent);
                if (c.write(one) == 1) {
                    c.flush();
                    sent++;
                }
                LockSupport.parkNanos(20_000);
            }
            assertThat(app.appCounter(TasServiceAppCounter.CONTEXT_QUEUE_FULL)).as("events past the full queue").isPositive();
            // The counter is published when the entry is queued, before the session thread drains it.
            while (app.drained(0) == viaSession) {
                LockSupport.parkNanos(1_000_000);
            }
            ByteBuffer got = ByteBuffer.allocate(sent);
            readFully(a.ctx(), c, got);
            for (int i = 0; i < sent; i++) {
                assertThat(got.get(i)).as("byte " + i).isEqualTo((byte) i);
            }
            roundTrip(a.ctx(), c, "after the overflow");
            c.close();
        }
    }

    /**
     * A loop blocked where the service cannot wake it (a selector that also waits for kernel
     * sockets) says so in its flag; the service then rings the session thread, which runs the
     * loop's own wake-up.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void shouldWakeALoopBlockedInASelectorThroughTheSessionThread() throws Exception {
        try (EchoLoop echo = echoServer(7082)) {
            Attached a = attachAndConnect(7082);
            TasContext ctx = a.ctx();
            TasConnection c = a.connection();
            roundTrip(ctx, c, "routed");
            java.util.concurrent.CountDownLatch woken = new java.util.concurrent.CountDownLatch(1);
            while (!ctx.enterExternalWait(woken::countDown)) {
                ctx.exitExternalWait(); // events came meanwhile: take them, then wait
                ctx.poll((s, ev) -> { }, 16);
            }
            try {
                assertThat(c.write(ByteBuffer.wrap("x".getBytes()))).isEqualTo(1);
                c.flush();
                woken.await(); // only the session thread's wake-up ends it (else the timeout fails the test)
            } finally {
                ctx.exitExternalWait();
            }
            while (a.app().appCounter(TasServiceAppCounter.CONTEXT_BELLS) == 0) {
                LockSupport.parkNanos(1_000_000);
            }
            ByteBuffer got = ByteBuffer.allocate(1);
            readFully(ctx, c, got);
            assertThat(got.get(0)).isEqualTo((byte) 'x');
            c.close();
        }
    }

    /**
     * A socket id names one socket only: after the slot is reused, a command that names the old
     * socket's id (a late one, or a forged one) is refused and counted, and the new socket is
     * left alone.
     */
    @Test
    void shouldRefuseACommandNamingAClosedSocketWhoseSlotWasReused() throws Exception {
        try (EchoLoop echo = echoServer(7084)) {
            Attached a = attachAndConnect(7084);
            TasServiceClient app = a.app();
            int oldId = a.connection().flow().serviceId;
            a.connection().abort();
            while (app.appCounter(TasServiceAppCounter.SOCKETS) != 0) {
                a.ctx().poll((s, ev) -> { }, 16);
                a.ctx().await(TimeUnit.MILLISECONDS.toNanos(1));
            }
            TasConnection b = connectAndWait(a.ctx(), 7084, 0, 0);
            int newId = b.flow().serviceId;
            assertThat(newId & TasServiceLayout.ID_INDEX_MASK).as("the same slot").isEqualTo(oldId & TasServiceLayout.ID_INDEX_MASK);
            assertThat(newId).isNotEqualTo(oldId);
            long refused = app.appCounter(TasServiceAppCounter.REFUSED_FOREIGN);
            app.rawCommand(TasServiceLayout.C_FLOW, oldId, io.tasnetty.engine.flow.TasFlow.CMD_ABORT, 0, 0);
            while (app.appCounter(TasServiceAppCounter.REFUSED_FOREIGN) == refused) {
                LockSupport.parkNanos(1_000_000);
            }
            roundTrip(a.ctx(), b, "still open");
            assertThat(b.error()).isEqualTo(TasError.NONE);
            b.close();
        }
    }

    /**
     * Forty loops (more than the 31 queues of region version 4) each get a queue of their own,
     * made ready when their connection is routed to it: every round trip's events come through
     * the loop's own queue, none through the session thread.
     */
    @Test
    void shouldGiveEachOfFortyLoopsItsOwnQueue() throws Exception {
        try (EchoLoop echo = echoServer(7087)) {
            TasServiceClient app = attach();
            List<TasContext> ctxs = new ArrayList<>();
            List<TasConnection> conns = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                TasContext ctx = app.newContext();
                ctxs.add(ctx);
                conns.add(connectAndWait(ctx, 7087, 0, 0));
                roundTrip(ctx, conns.get(i), "warm " + i);
            }
            long viaSession = app.drained(0);
            for (int i = 0; i < 40; i++) {
                int k = TasServiceClient.queueOf(ctxs.get(i));
                assertThat(k).as("loop %d's queue", i).isEqualTo(i + 1);
                long before = app.drained(k);
                for (int r = 0; r < 5; r++) {
                    roundTrip(ctxs.get(i), conns.get(i), "ping " + i + "/" + r);
                }
                assertThat(app.drained(k) - before).as("entries loop %d drained itself", i).isGreaterThanOrEqualTo(5);
            }
            assertThat(app.drained(0) - viaSession).as("entries through the session thread").isZero();
            assertThat(app.appCounter(TasServiceAppCounter.CONTEXT_QUEUE_FULL)).isZero();
            for (int i = 0; i < 40; i++) {
                conns.get(i).close();
                ctxs.get(i).close();
            }
        }
    }

    /**
     * A closed context's id (its queue) goes to the next context made, so an application that
     * makes and closes loops all its life (a test suite's groups) never runs past the last
     * queue; the next owner drains the queue from where the last one left it.
     */
    @Test
    void shouldGiveAClosedLoopsQueueToTheNextLoopMade() throws Exception {
        try (EchoLoop echo = echoServer(7088)) {
            TasServiceClient app = attach();
            TasContext keep = app.newContext();
            for (int i = 0; i < TasServiceLayout.CONTEXTS + 10; i++) {
                TasContext ctx = app.newContext();
                assertThat(ctx.id()).as("round %d", i).isEqualTo(keep.id() + 1);
                if (i % 50 == 0) {
                    TasConnection c = connectAndWait(ctx, 7088, 0, 0);
                    long before = app.drained(ctx.id());
                    roundTrip(ctx, c, "round " + i);
                    assertThat(app.drained(ctx.id())).as("round %d through its own queue", i).isGreaterThan(before);
                    c.close();
                }
                ctx.close();
            }
            keep.close();
            assertThat(app.newContext().id()).isEqualTo(1);
        }
    }

    /**
     * The service's loopback between two of its applications: a listener on every address of one
     * application is found by the other's probe on 127/8 (a port nobody listens on is not), and a
     * connection to 127.0.0.1 reaches it through the service and carries every byte both ways.
     */
    @Test
    void shouldConnectTwoApplicationsThrough127AndAnswerProbesForListenersOnly() throws Exception {
        TasServiceClient serverApp = attach();
        TasServiceClient clientApp = attach();
        TasContext sctx = serverApp.newContext();
        TasListener l = sctx.listen(new InetSocketAddress("0.0.0.0", 7093), 16);
        try (EchoLoop echo = new EchoLoop(sctx, l)) {
            int lo = (127 << 24) | 1;
            assertThat(clientApp.listensAt(lo, 7093)).as("127.0.0.1:7093, a listener on every address").isTrue();
            assertThat(clientApp.listensAt(lo + 1, 7093)).as("127.0.0.2:7093").isTrue();
            assertThat(clientApp.listensAt(lo, 7094)).as("127.0.0.1:7094, nobody").isFalse();
            TasContext cctx = clientApp.newContext();
            TasConnection c = cctx.connect(new InetSocketAddress("127.0.0.1", 7093), null, 0, 0);
            while (!c.isActive()) {
                assertThat(c.error()).isEqualTo(TasError.NONE);
                cctx.poll((s, ev) -> { }, 16);
                cctx.await(TimeUnit.MILLISECONDS.toNanos(1));
            }
            byte[] data = new byte[256 << 10];
            new java.util.Random(3).nextBytes(data);
            ByteBuffer out = ByteBuffer.wrap(data);
            ByteBuffer got = ByteBuffer.allocate(data.length);
            while (got.hasRemaining()) {
                if (out.hasRemaining() && c.write(out) > 0) {
                    c.flush();
                }
                cctx.poll((s, ev) -> { }, 16);
                assertThat(c.error()).isEqualTo(TasError.NONE);
                assertThat(c.read(got)).isNotNegative();
                cctx.await(TimeUnit.MILLISECONDS.toNanos(1));
            }
            assertThat(got.array()).isEqualTo(data);
            assertThat(echo.accepted).hasSize(1);
            assertThat(echo.accepted.getFirst().remoteAddress().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
            c.close();
            cctx.close();
        }
    }

    /**
     * The service's thread for an application sleeps on its futex word when the application is
     * quiet, and each command wakes it: requests 3 ms apart find it asleep nearly every time, and
     * none waits out the sleep's 100 ms bound (which is what a lost wake-up would cost).
     */
    @Test
    void shouldWakeTheServicesSleepingThreadForEveryRequestWithoutWaitingOutItsTimeout() throws Exception {
        try (EchoLoop echo = echoServer(7095)) {
            Attached a = attachAndConnect(7095);
            TasServiceClient app = a.app();
            roundTrip(a.ctx(), a.connection(), "warm");
            long sleeps = app.appCounter(TasServiceAppCounter.PROXY_SLEEPS);
            long timedOut = app.appCounter(TasServiceAppCounter.PROXY_SLEEPS_TIMED_OUT);
            for (int i = 0; i < 100; i++) {
                LockSupport.parkNanos(3_000_000);
                roundTrip(a.ctx(), a.connection(), "ping " + i);
            }
            assertThat(app.appCounter(TasServiceAppCounter.PROXY_SLEEPS) - sleeps).as("sleeps of the service's thread")
                .isGreaterThanOrEqualTo(50);
            assertThat(app.appCounter(TasServiceAppCounter.PROXY_SLEEPS_TIMED_OUT) - timedOut)
                .as("sleeps nothing woke within 100 ms").isZero();
            a.connection().close();
        }
    }

    /**
     * A loop blocked on its futex word with nothing open (so no failing connection posts to it)
     * returns when the service stops: the session rings every word on its way out, so no loop
     * stays blocked on a region that may be unmapped next.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void shouldReleaseALoopBlockedOnItsWordWhenTheServiceStops() throws Exception {
        Attached a;
        try (EchoLoop echo = echoServer(7086)) {
            a = attachAndConnect(7086);
            roundTrip(a.ctx(), a.connection(), "routed");
            a.connection().abort();
        }
        java.util.concurrent.CountDownLatch released = new java.util.concurrent.CountDownLatch(1);
        long sleepsBefore = a.app().contextSleeps();
        Thread loop = Thread.ofPlatform().daemon().name("blocked-loop").start(() -> {
            while (a.app().isAlive()) {
                a.ctx().poll((s, ev) -> { }, 16);
                a.ctx().await(Long.MAX_VALUE);
            }
            released.countDown();
        });
        while (a.app().contextSleeps() == sleepsBefore) {
            LockSupport.parkNanos(1_000_000);
        }
        LockSupport.parkNanos(50_000_000); // let the abort's last events settle: the loop blocks again
        service.close();
        released.await(); // a loop left blocked makes the test time out
        loop.join();
        service = startService(); // for stop()
    }

    @Test
    void shouldReattachOnTheNextConnectOnceARestartedServiceIsBack() throws Exception {
        try (EchoLoop echo = echoServer(7010)) {
            TasEngine app = TasEngine.attach(dir);
            toClose.add(app);
            TasContext ctx = app.newContext();
            TasConnection before = connectAndWait(ctx, 7010, 0, 0);
            roundTrip(ctx, before, "before the restart");
            assertThat(app.serviceAttaches()).isEqualTo(1);

            service.close();
            int[] seen = new int[1];
            while ((seen[0] & TasEvents.CLOSED) == 0) {
                ctx.poll((s, ev) -> seen[0] |= ev, 16);
                ctx.await(TimeUnit.MILLISECONDS.toNanos(1));
            }
            assertThat(before.error()).isEqualTo(TasError.SERVICE_GONE);
            // While no service runs, a connect fails at once with the reason, and the context stays usable.
            assertThatThrownBy(() -> ctx.connect(new InetSocketAddress("10.0.0.2", 7010)))
                .isInstanceOf(TasException.class).hasMessageContaining("is gone and has not come back")
                .hasMessageContaining("no TAS service at");
            assertThat(app.isServiceAlive()).isFalse();
            assertThat(app.isRunning()).as("still usable: it reattaches on the next connect").isTrue();

            service = startService();
            TasConnection after = connectAndWait(ctx, 7010, 0, 0);
            roundTrip(ctx, after, "after the restart, on the same context");
            assertThat(app.serviceAttaches()).isEqualTo(2);
            assertThat(app.isServiceAlive()).isTrue();
            // A command of the old connection cannot reach the new session (it kept its own).
            before.abort();
            roundTrip(ctx, after, "still there");
            // The new session holds the new connection only.
            assertThat(stat(service, "applications")).isEqualTo("1");
            TasListener l = ctx.listen(new InetSocketAddress("0.0.0.0", 7011), 4);
            assertThat(l.port()).isEqualTo(7011);
            after.close();
            l.close();
        }
    }

    @Test
    void shouldRefuseAndCountSocketsPastTheApplicationsLimitForThatApplicationOnly() throws Exception {
        restartService("--service-app-max-conns=2");
        try (EchoLoop echo = echoServer(7020)) {
            TasServiceClient app = attach();
            TasContext ctx = app.newContext();
            TasListener own = ctx.listen(new InetSocketAddress("0.0.0.0", 7021), 16);
            TasConnection c = connectAndWait(ctx, 7020, 0, 0);
            assertThatThrownBy(() -> ctx.connect(new InetSocketAddress("10.0.0.2", 7020)))
                .isInstanceOf(TasException.class).hasMessageContaining("service-app-max-conns=2")
                .extracting(x -> ((TasException) x).error()).isEqualTo(TasError.NO_RESOURCES);
            assertThatThrownBy(() -> ctx.listen(new InetSocketAddress("0.0.0.0", 7022), 16))
                .isInstanceOf(TasException.class).hasMessageContaining("service-app-max-conns=2");
            // A connection accepted for it past the limit: reset, and counted for it.
            TasContext pctx = peer.newContext();
            TasConnection in = pctx.connect(new InetSocketAddress("10.0.0.1", 7021));
            while (in.error() == TasError.NONE) {
                pctx.poll((s, ev) -> { }, 16);
                pctx.await(TimeUnit.MILLISECONDS.toNanos(1));
            }
            assertThat(in.error()).isEqualTo(TasError.RESET);
            in.close();
            // Another application is not held to the first one's count.
            TasServiceClient other = attach();
            TasContext octx = other.newContext();
            TasConnection oc = connectAndWait(octx, 7020, 0, 0);
            roundTrip(octx, oc, "the other application is unaffected");
            oc.close();

            String line = appLine(service, "user=");
            assertThat(line).contains(" refused_socket_limit=3 ").contains(" sockets=2 ").contains(" sockets_limit=2 ");
            // The application sees its own figures in its region (copied there each cycle).
            while (app.appCounter(TasServiceAppCounter.REFUSED_SOCKET_LIMIT) != 3) {
                Thread.sleep(5);
            }
            assertThat(app.appCounter(TasServiceAppCounter.SOCKETS_LIMIT)).isEqualTo(2);
            // Freeing one makes room again.
            c.close();
            own.close();
            TasConnection again = null;
            for (int i = 0; again == null; i++) {
                try {
                    again = connectAndWait(ctx, 7020, 0, 0);
                } catch (TasException e) {
                    assertThat(i).as("room again once the engine let go of the closed ones").isLessThan(2000);
                    Thread.sleep(5);
                }
            }
            roundTrip(ctx, again, "room again");
            again.close();
            pctx.close();
        }
    }

    @Test
    void shouldRefuseAndCountAConnectionWhoseRingsDoNotFitTheApplicationsRegion() throws Exception {
        try (EchoLoop echo = echoServer(7030)) {
            TasServiceClient app = attach();
            TasContext ctx = app.newContext();
            // service-app-len=64m: one connection with 32 MiB rings takes all of it.
            TasConnection big = connectAndWait(ctx, 7030, 32 << 20, 32 << 20);
            assertThatThrownBy(() -> ctx.connect(new InetSocketAddress("10.0.0.2", 7030), null, 32 << 20, 32 << 20))
                .isInstanceOf(TasException.class).hasMessageContaining("no ring memory left for this application")
                .hasMessageContaining("service-app-len");
            assertThat(appLine(service, "user=")).contains(" refused_ring_memory=1 ");
            roundTrip(ctx, big, "the first one works");
            big.close();
            // Its rings come back and are reused by the next connection of that size.
            TasConnection next = null;
            for (int i = 0; next == null; i++) {
                try {
                    next = connectAndWait(ctx, 7030, 32 << 20, 32 << 20);
                } catch (TasException e) {
                    assertThat(i).as("the rings of the closed connection come back").isLessThan(2000);
                    Thread.sleep(5);
                }
            }
            roundTrip(ctx, next, "reused");
            assertThat(appLine(service, "user=")).contains(" ring_bytes_reserved=67108864 ");
            next.close();
        }
    }

    @Test
    void shouldShowAnotherUsersApplicationsToNobodyButRootAndTheService() throws Exception {
        TasServiceClient app = attach();
        TasContext ctx = app.newContext();
        ctx.listen(new InetSocketAddress("0.0.0.0", 7040), 16);
        java.nio.file.attribute.UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
        String me = System.getProperty("user.name");
        assertThat(service.stats(users.lookupPrincipalByName(me))).contains("app 1 user=" + me);
        String stranger = me.equals("nobody") ? "daemon" : "nobody";
        String seen = service.stats(users.lookupPrincipalByName(stranger));
        assertThat(seen).contains("applications 1\n").doesNotContain("app 1 ").doesNotContain("conn ");
    }

    @Test
    void shouldPrintTheServicesCountersAsATableWithRates() throws Exception {
        try (EchoLoop echo = echoServer(7050)) {
            TasServiceClient app = attach();
            TasContext ctx = app.newContext();
            TasConnection c = connectAndWait(ctx, 7050, 0, 0);
            roundTrip(ctx, c, "counted");
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            int status = TasStat.run(dir, 0.05, 2, false, new java.io.PrintStream(out, true));
            String table = out.toString();
            assertThat(status).isZero();
            assertThat(table).contains("TAS service at " + dir).contains("engine: 1 applications (1 attached, 0 reclaimed)")
                .contains("SOCKETS/LIMIT").contains("1/65536").contains("PER SECOND").contains("tcp_");
            // The row of the application: its id, user and pid.
            assertThat(table).containsPattern("(?m)^\\s+1 \\S+\\s+" + ProcessHandle.current().pid() + " ");
            c.close();
        }
        // No service: a clear message and status 1.
        Path none = Files.createTempDirectory(dir, "none");
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        assertThat(TasStat.run(none, 0, 1, false, new java.io.PrintStream(out, true))).isEqualTo(1);
        assertThat(out.toString()).contains("no TAS service answers at " + none.resolve("control"));
    }

    /** The service's {@code app} line that contains {@code part}. */
    private static String appLine(TasService s, String part) {
        for (String line : s.stats().split("\n")) {
            if (line.startsWith("app ") && line.contains(part)) {
                return line + " ";
            }
        }
        throw new AssertionError("no app line with " + part + " in " + s.stats());
    }

    @Test
    void shouldSayClearlyThatNoServiceRuns() throws IOException {
        Path empty = Files.createTempDirectory(dir, "none");
        assertThatThrownBy(() -> TasServiceClient.attach(empty))
            .isInstanceOf(TasException.class).hasMessageContaining("no TAS service at");
    }
}
