package io.tasnetty.engine.service;

import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasException;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.flow.TasByteRing;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.idle.TasSpinPolicy;
import io.tasnetty.engine.port.LinuxNative;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import static io.tasnetty.engine.service.TasServiceLayout.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * An application's attachment to a running {@link TasService} ({@code -Dtas.service=DIR}): its
 * contexts are ordinary {@link TasContext}s whose engine is this object. Connections keep a
 * local {@link TasFlow} whose rings lie in the region the service shares with this application
 * only, so {@link TasConnection}'s reads and writes copy straight between the application's
 * buffers and the memory the service's fast path fills and drains: one copy each way, as
 * embedded. What crosses between the processes besides the payload is queue entries: commands
 * (with this side's ring positions) from any event loop, and events (with the service's positions
 * and the flow's state). A connection's events go to the queue of the context (event loop) that
 * serves it, once this side has routed it there ({@link TasServiceLayout#C_ROUTE}); that loop
 * applies them to its flows itself ({@link #deliver}), so no thread lies between the service and
 * the loop. Replies, accepted connections and sockets not yet routed go through queue 0, which
 * one session thread here drains, posting the events to the owning contexts as the engine would.
 *
 * <p>Wake-ups: each side polls its queue for a while when it runs out of work (as long as its
 * {@link TasSpinPolicy} finds that pays), then sets a flag in the region and blocks; the other
 * side, after queueing, wakes it if the flag says it sleeps (nothing while it polls). The
 * service wakes the session thread here with a doorbell byte on the control socket, and a
 * context's loop with a futex wake on that loop's flag word ({@link #blockContext}); this side
 * wakes the service's proxy with a futex wake on the proxy's flag word. End of stream
 * on the control socket means the service is gone: every connection then fails with
 * {@link TasError#SERVICE_GONE}.
 */
public final class TasServiceClient extends TasServiceAccess implements AutoCloseable {
    private static final long REPLY_TIMEOUT_SECONDS = 30;

    private final Path dir;
    private final SocketChannel channel;
    private final TasConfig config;
    private final Arena arena;
    private final MemorySegment region;
    private final MemorySegment rings;
    private final TasShmQueue events;
    /** Context k's event queue (k = 1..CONTEXTS-1), drained by its owner only. */
    private final TasShmQueue[] contextQueues = new TasShmQueue[CONTEXTS];
    /** Context k, once it was routed a connection or blocked: the session thread wakes it for a selector-blocked loop. */
    private final TasContext[] contexts = new TasContext[CONTEXTS];
    /** Wakes context k's loop out of its futex wait (one object per context, made once). */
    private final ContextWaker[] wakers = new ContextWaker[CONTEXTS];
    /** Per context: a struct timespec for its futex wait's timeout (made once: a block allocates nothing). */
    private final MemorySegment[] timespecs = new MemorySegment[CONTEXTS];
    private final TasShmQueue commands;
    private final TasContextIds contextIds = new TasContextIds();
    private final AtomicInteger requestIds = new AtomicInteger();
    private final Map<Integer, Pending> pending = new ConcurrentHashMap<>();
    private final Map<TasListener, Integer> listenerIds = new ConcurrentHashMap<>();
    /** Ring sizes asked for by the TasContext.connect in progress on this thread (newFlow, then connect). */
    private final ThreadLocal<int[]> connectSizes = ThreadLocal.withInitial(() -> new int[2]);
    private final Thread sessionThread;
    private volatile boolean alive = true;
    private volatile String goneReason;
    /** Times the session thread blocked for the service's doorbell (diagnostics, tests). */
    private volatile long sleeps;
    /** Times a context's loop blocked on its futex word (diagnostics, tests; racy sum over loops). */
    private volatile long contextSleeps;
    /** Entries drained per queue (diagnostics, tests): [0] by the session thread, [k] by context k's owner, each its own writer. */
    private final long[] drained = new long[CONTEXTS];

    /**
     * What each service id stands for, at the id's slot index (a TasConnection, an Accepted or a
     * Listening): written by the session thread only (replies and accepts come through queue 0),
     * read by every loop that drains a context's queue (acquire, and the id compared in full).
     */
    private volatile Object[] byId = new Object[64];
    private static final VarHandle BY_ID = MethodHandles.arrayElementVarHandle(Object[].class);
    private static final VarHandle SNAPSHOT;

    static {
        try {
            SNAPSHOT = MethodHandles.lookup().findVarHandle(TasFlow.class, "serviceSnapshot", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** A listener of this session, under its service id. */
    private record Listening(int sid, TasListener listener) {
    }

    /** Wakes one context's loop blocked on its futex word in this session's region. */
    private final class ContextWaker implements Runnable {
        final int k;

        ContextWaker(int k) {
            this.k = k;
        }

        TasServiceClient session() {
            return TasServiceClient.this;
        }

        @Override
        public void run() {
            try {
                wakeContext(region, k);
            } catch (IllegalStateException unmapped) {
                // A dead session whose region is unmapped: nobody can be blocked on it (serviceGone
                // rang every word, and a dead session blocks nobody), so there is nobody to wake.
            }
        }
    }

    /** A connection accepted by the service, announced before its first state. */
    private static final class Accepted {
        final TasConnection connection;
        final TasListener listener;

        Accepted(TasConnection connection, TasListener listener) {
            this.connection = connection;
            this.listener = listener;
        }
    }

    /** A request waiting for its E_REPLY. */
    private static final class Pending {
        final CompletableFuture<Integer> done = new CompletableFuture<>();
        final TasConnection connection;
        final TasContext.ListenerFactory listenerFactory;
        final int port;
        /** A question (C_PROBE): completes with the reply's status, whatever it is. */
        final boolean probe;
        TasListener listener;

        Pending(TasConnection connection, TasContext.ListenerFactory f, int port) {
            this(connection, f, port, false);
        }

        Pending(TasConnection connection, TasContext.ListenerFactory f, int port, boolean probe) {
            this.connection = connection;
            this.listenerFactory = f;
            this.port = port;
            this.probe = probe;
        }
    }

    private TasServiceClient(Path dir, SocketChannel channel, TasConfig config, Arena arena, MemorySegment region) {
        this.dir = dir;
        this.channel = channel;
        this.config = config;
        this.arena = arena;
        this.region = region;
        long ringsBytes = region.get(JAVA_LONG, RINGS_BYTES_OFFSET);
        this.rings = region.asSlice(RINGS_OFFSET, ringsBytes);
        this.events = new TasShmQueue(region.asSlice(EVENT_QUEUE_OFFSET, queueBytes(EVENT_ENTRIES)), EVENT_ENTRIES);
        for (int k = 1; k < CONTEXTS; k++) {
            contextQueues[k] = new TasShmQueue(region.asSlice(eventQueueOffset(k), queueBytes(eventEntries(k))), eventEntries(k));
            wakers[k] = new ContextWaker(k);
        }
        MemorySegment ts = arena.allocate(16L * CONTEXTS, 8);
        for (int k = 1; k < CONTEXTS; k++) {
            timespecs[k] = ts.asSlice(16L * k, 16);
        }
        this.commands = new TasShmQueue(region.asSlice(COMMAND_QUEUE_OFFSET, queueBytes(COMMAND_ENTRIES)), COMMAND_ENTRIES);
        this.sessionThread = Thread.ofPlatform().daemon().name("tas-attached").unstarted(this::run);
    }

    /**
     * Attaches to the service listening in {@code dir}.
     *
     * @throws TasException when no service runs there, it speaks another protocol version, or
     *                      this user may not use it
     */
    public static TasServiceClient attach(Path dir) {
        Path control = dir.resolve(TasService.CONTROL);
        SocketChannel ch;
        try {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(control));
        } catch (IOException e) {
            throw new TasException("no TAS service at " + control + " (tas.service=" + dir + "): " + e.getMessage()
                + "; start one with: java --enable-native-access=ALL-UNNAMED -jar tas-engine.jar --service=" + dir);
        }
        try {
            TasService.write(ch, "TAS-ATTACH " + VERSION + " pid=" + ProcessHandle.current().pid() + "\n");
            String ok = TasService.readLine(ch);
            if (!ok.startsWith("OK ")) {
                throw new TasException("the TAS service at " + control + " refused to attach this application: "
                    + (ok.startsWith("ERR ") ? ok.substring(4) : ok));
            }
            Path file = null;
            long size = -1;
            for (String w : ok.split(" ")) {
                if (w.startsWith("region=")) {
                    file = Path.of(w.substring(7));
                } else if (w.startsWith("size=")) {
                    size = Long.parseLong(w.substring(5));
                }
            }
            List<String> args = new ArrayList<>();
            for (String line = TasService.readLine(ch); !line.equals("END"); line = TasService.readLine(ch)) {
                if (line.startsWith("ARG ")) {
                    args.add(line.substring(4));
                }
            }
            if (file == null || size <= 0) {
                throw new TasException("the TAS service at " + control + " answered an incompatible handshake: " + ok);
            }
            // The service's settings win; the application's -Dtas.* fill in the rest.
            TasConfig config = TasConfig.builder().systemProperties(System.getProperties())
                .args(args.toArray(String[]::new)).build();
            Arena arena = Arena.ofShared();
            MemorySegment region;
            try (FileChannel fc = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                region = fc.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            } catch (AccessDeniedException e) {
                arena.close();
                throw new TasException("cannot map the service's region " + file + ": permission denied");
            }
            try {
                checkHeader(region);
            } catch (IllegalStateException e) {
                arena.close();
                throw new TasException("the TAS service at " + control + " is incompatible: " + e.getMessage());
            }
            TasServiceClient c = new TasServiceClient(dir, ch, config, arena, region);
            c.sessionThread.start();
            return c;
        } catch (IOException e) {
            closeQuietly(ch);
            throw new TasException("attaching to the TAS service at " + control + " failed: " + e.getMessage());
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // reporting the first failure
        }
    }

    @Override
    public TasConfig config() {
        return config;
    }

    public Path directory() {
        return dir;
    }

    public boolean isAlive() {
        return alive;
    }

    /** This application's counter as the service last copied it into the region header. */
    public long appCounter(TasServiceAppCounter c) {
        return TasServiceLayout.appCounter(region, c);
    }

    /** Times the session thread blocked for the service's doorbell. */
    long sleeps() {
        return sleeps;
    }

    /** Entries of event queue {@code k} drained so far (0: the session thread's; read racily). */
    long drained(int k) {
        return drained[k];
    }

    /** Times a context's loop blocked on its futex word until the service (or a wake-up) woke it. */
    long contextSleeps() {
        return contextSleeps;
    }

    /** Waits (briefly) until the session thread has failed every socket of a dead session. */
    void awaitGone() {
        try {
            sessionThread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A dead session whose sockets the application closed all: unmaps its region (the service
     * deleted the file or a new one will; the memory goes with the last mapping). Kept mapped
     * while a channel could still look at a ring.
     */
    void unmapIfUnused() {
        if (alive || sessionThread.isAlive()) {
            return;
        }
        for (Object o : byId) {
            TasConnection c = connectionOf(o);
            if (c != null && c.isOpen()) {
                return;
            }
        }
        arena.close();
    }

    /** A context of this application in the service (one per event loop). */
    public TasContext newContext() {
        if (!alive) {
            throw new TasException(goneMessage(), TasError.SERVICE_GONE);
        }
        return new TasContext(this, contextIds.take());
    }

    /** Its id (its event queue) goes to the next context made; entries left in the queue name closed sockets. */
    @Override
    public void contextClosed(TasContext ctx) {
        contextIds.giveBack(ctx.id());
    }

    private String goneMessage() {
        return "the TAS service at " + dir + " is gone" + (goneReason == null ? "" : " (" + goneReason + ")");
    }

    // ------------------------------------------------------------------ EngineAccess (application threads)

    @Override
    public void command(TasFlow flow, int bits) {
        int sid = flow.serviceId;
        if (sid < 0 || !alive) {
            return;
        }
        long e = claimCommand();
        if (e < 0) {
            return;
        }
        TasByteRing tx = flow.tx;
        TasByteRing rx = flow.rx;
        MemorySegment q = commands.begin(e, C_FLOW, sid);
        i(q, e, 0, bits);
        i(q, e, 1, flow.wantWritable ? 1 : 0);
        l(q, e, 0, tx == null ? 0 : tx.tailPlain());
        l(q, e, 1, rx == null ? 0 : rx.headPlain());
        if ((bits & TasFlow.CMD_KEEPALIVE) != 0) {
            // The positions and other bits go first; the options entry then applies keepalive.
            long o = e;
            i(q, o, 0, bits & ~TasFlow.CMD_KEEPALIVE);
            commands.publish(o);
            e = claimCommand();
            if (e < 0) {
                return;
            }
            commands.begin(e, C_OPTIONS, sid);
            i(q, e, 0, flow.keepalive ? 1 : 0);
            i(q, e, 1, flow.keepaliveCount);
            i(q, e, 2, flow.tos);
            l(q, e, 0, flow.keepaliveIdleNanos);
            l(q, e, 1, flow.keepaliveIntervalNanos);
        }
        commands.publish(e);
        ringService();
    }

    /**
     * Queues one command of the raw protocol, as a misbehaving application could write into its
     * own command queue: isolation tests name sockets this application does not hold with it.
     */
    void rawCommand(int type, int id, int i0, long l0, long l1) {
        long e = claimCommand();
        if (e < 0) {
            return;
        }
        MemorySegment q = commands.begin(e, type, id);
        i(q, e, 0, i0);
        i(q, e, 1, 0);
        l(q, e, 0, l0);
        l(q, e, 1, l1);
        commands.publish(e);
        ringService();
    }

    /** A command slot; while the queue is full the service is woken and we wait (back-pressure). */
    private long claimCommand() {
        while (true) {
            long e = commands.claim();
            if (e >= 0) {
                return e;
            }
            if (!alive) {
                return -1;
            }
            ringService();
            Thread.onSpinWait();
            LockSupport.parkNanos(10_000);
        }
    }

    private void ringService() {
        if (takeDoorbell(region, SERVICE_SLEEPING_OFFSET)) {
            // The proxy sleeps on its flag word (futex(2) on the shared file, any user).
            LinuxNative.futexWake(region.address() + SERVICE_SLEEPING_OFFSET, 1);
        }
    }

    @Override
    public TasFlow newFlow(int rxBufLen, int txBufLen) {
        int[] sizes = connectSizes.get();
        sizes[0] = rxBufLen;
        sizes[1] = txBufLen;
        return new TasFlow(); // its rings arrive with the service's answer to the connect
    }

    @Override
    public void connect(TasConnection c, InetSocketAddress remote, InetSocketAddress local) {
        int rport = remote.getPort();
        if (rport <= 0 || rport > 65535) {
            throw new TasException("remote port out of range: " + remote);
        }
        int lip = local == null || local.getAddress() == null || local.getAddress().isAnyLocalAddress()
            ? 0 : ipOf(local);
        int lport = local == null ? 0 : local.getPort();
        int[] sizes = connectSizes.get();
        Pending p = new Pending(c, null, 0);
        request(p, C_CONNECT, ipOf(remote), rport, lip, lport, sizes[0], sizes[1]);
        // Its first events (the handshake's) may already be in queue 0; the rest go to its loop.
        route(c, c.context());
    }

    @Override
    public int bind(TasContext ctx, int ip, int port, int backlog, int rxBufLen, int txBufLen,
                    TasContext.ListenerFactory f) {
        if (port < 0 || port > 65535) {
            throw new TasException("port out of range: " + port);
        }
        Pending p = new Pending(null, f, port);
        int sid = request(p, C_LISTEN, ip, port, backlog, rxBufLen, txBufLen, 0);
        listenerIds.put(p.listener, sid);
        return p.listener.port();
    }

    /**
     * Whether a connection to {@code ip:port} on 127/8 reaches a listener of the service (this
     * application's or another's), so that it can go through the service's in-engine loopback
     * rather than the kernel's. Asks the service and waits for its answer (a connect, not a data
     * path); a listener that goes away meanwhile refuses the connection, as on any loopback.
     */
    public boolean listensAt(int ip, int port) {
        return request(new Pending(null, null, port, true), C_PROBE, ip, port, 0, 0, 0, 0) == R_OK;
    }

    /** Sends a request and waits for the session thread to apply its answer; returns the socket id. */
    private int request(Pending p, int type, int a, int b, int c, int d, int e5, int f6) {
        if (!alive) {
            throw new TasException(goneMessage(), TasError.SERVICE_GONE);
        }
        int req = requestIds.incrementAndGet();
        pending.put(req, p);
        long e = claimCommand();
        if (e < 0) {
            pending.remove(req);
            throw new TasException(goneMessage(), TasError.SERVICE_GONE);
        }
        MemorySegment q = commands.begin(e, type, req);
        i(q, e, 0, a);
        i(q, e, 1, b);
        i(q, e, 2, c);
        i(q, e, 3, d);
        i(q, e, 4, e5);
        i(q, e, 5, f6);
        commands.publish(e);
        ringService();
        try {
            return p.done.get(REPLY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException x) {
            throw x.getCause() instanceof TasException t ? t : new TasException(String.valueOf(x.getCause()));
        } catch (TimeoutException x) {
            throw new TasException("the TAS service at " + dir + " did not answer within " + REPLY_TIMEOUT_SECONDS + " s");
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
            throw new TasException("interrupted while waiting for the TAS service");
        } finally {
            pending.remove(req);
        }
    }

    @Override
    public void unbind(TasListener listener) {
        Integer sid = listenerIds.remove(listener);
        if (sid == null || !alive) {
            return;
        }
        long e = claimCommand();
        if (e < 0) {
            return;
        }
        MemorySegment q = commands.begin(e, C_UNLISTEN, sid);
        commands.publish(e);
        ringService();
    }

    @Override
    public boolean isRunning() {
        return alive;
    }

    // ------------------------------------------------------------------ per-context queues (event loops)

    /** Context {@code ctx}'s event queue, or 0 (the session thread's) when its id has none. */
    static int queueOf(TasContext ctx) {
        int k = ctx == null ? 0 : ctx.id();
        return k > 0 && k < CONTEXTS ? k : 0;
    }

    /** Routes the connection's events to {@code target}'s queue (a connect, or a loop that took an accepted one over). */
    private void route(TasConnection c, TasContext target) {
        TasFlow f = c.flow();
        int sid = f.serviceId;
        int k = queueOf(target);
        if (sid < 0 || !alive || f.serviceQueue == k) {
            return;
        }
        f.serviceQueue = k;
        long e = claimCommand();
        if (e < 0) {
            return;
        }
        MemorySegment q = commands.begin(e, C_ROUTE, sid);
        i(q, e, 0, k);
        commands.publish(e);
        ringService();
    }

    @Override
    public void moved(TasConnection c, TasContext target) {
        route(c, target);
    }

    /** The owner of {@code ctx}: applies and posts the events its queue holds; returns how many. */
    @Override
    public int deliver(TasContext ctx) {
        int k = queueOf(ctx);
        if (k == 0 || !alive || ctx.isClosed()) {
            return 0; // closed: its id, and so this queue, may be another loop's by now
        }
        int n = drainEvents(contextQueues[k], false);
        drained[k] += n;
        return n;
    }

    @Override
    public int pollInline(TasContext ctx) {
        return deliver(ctx);
    }

    /** A context with its own queue blocks on its futex word, which the service (and {@code run()} of this) wakes. */
    @Override
    public Runnable contextWaker(TasContext ctx) {
        int k = queueOf(ctx);
        if (k == 0 || !alive) {
            return null;
        }
        contexts[k] = ctx;
        return wakers[k];
    }

    /** Blocks the owner of the context {@code waker} wakes, in the session that made the waker. */
    static void blockContext(Runnable waker, long timeoutNanos) {
        if (waker instanceof ContextWaker w) {
            try {
                w.session().block(w.k, timeoutNanos);
            } catch (IllegalStateException unmapped) {
                // That session died and its region was unmapped since the waker was made: the
                // caller returns, and its next wait goes to the next session.
            }
        }
    }

    @Override
    public void blockContext(TasContext ctx, Runnable waker, long timeoutNanos) {
        blockContext(waker, timeoutNanos);
    }

    /**
     * Context {@code k}'s owner, already announced as sleeping to its own producers: flags the
     * service, looks at the queue once more (Dekker pairing with takeContextBell), and waits on
     * the flag word until a wake-up, {@code timeoutNanos} or a signal.
     */
    private void block(int k, long timeoutNanos) {
        setContextFlag(region, k, SLEEPING);
        if (alive && contextQueues[k].isEmpty()) {
            contextSleeps++;
            long ts = 0;
            if (timeoutNanos != Long.MAX_VALUE) {
                MemorySegment t = timespecs[k];
                t.set(JAVA_LONG, 0, timeoutNanos / 1_000_000_000L);
                t.set(JAVA_LONG, 8, timeoutNanos % 1_000_000_000L);
                ts = t.address();
            }
            LinuxNative.futexWait(region.address() + contextFlagOffset(k), SLEEPING, ts);
        }
        setContextFlag(region, k, AWAKE);
    }

    /**
     * The owner of {@code ctx} blocks (entering) in a call the service cannot end (a selector):
     * the service then rings the session thread, which wakes it. Returns false, and the owner must
     * not block, when its queue holds events already.
     */
    @Override
    public boolean waitElsewhere(TasContext ctx, boolean entering) {
        int k = queueOf(ctx);
        if (k == 0) {
            return true;
        }
        if (!entering) {
            setContextFlag(region, k, AWAKE);
            return true;
        }
        contexts[k] = ctx; // published by the volatile store of the flag
        setContextFlag(region, k, ELSEWHERE);
        return contextQueues[k].isEmpty();
    }

    /** Session thread: the service rang for loops blocked in a selector; wakes each one it rang. */
    private void wakeRungContexts() {
        for (int k = 1; k < CONTEXTS; k++) {
            TasContext ctx = contexts[k];
            if (ctx != null && contextFlag(region, k) == RUNG) {
                ctx.wakeup();
            }
        }
    }

    private static int ipOf(InetSocketAddress a) {
        byte[] b = a.getAddress().getAddress();
        if (b.length != 4) {
            throw new TasException("only IPv4 addresses are supported: " + a);
        }
        return ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
    }

    // ------------------------------------------------------------------ the session thread

    /**
     * The session thread: drains events; when there are none, polls on while
     * {@link TasSpinPolicy} finds it pays (events coming in short gaps), so that the service
     * writes no doorbell and this thread takes no wake-up per event at high rates; then blocks
     * on the control socket until the service's doorbell.
     */
    private void run() {
        ByteBuffer in = ByteBuffer.allocate(64);
        TasSpinPolicy spin = new TasSpinPolicy(TimeUnit.MICROSECONDS.toNanos(config.fpPollIntervalAppMicros()),
            TasServiceSession.SPIN_WORTH_NANOS, TasServiceSession.PROBE_EVERY);
        long idleSince = 0;
        long spinBudget = 0;
        boolean wokenUp = false;
        long bells = 0;
        try {
            while (alive) {
                long b = contextBells(region);
                if (b != bells) {
                    bells = b;
                    wakeRungContexts();
                }
                int n = drainEvents(events, true);
                drained[0] += n;
                if (n > 0) {
                    if (idleSince != 0) {
                        spin.workArrived(endIdle(region, APP_SLEEPING_OFFSET, idleSince), wokenUp);
                        idleSince = 0;
                        wokenUp = false;
                    }
                    continue;
                }
                long now = System.nanoTime();
                if (idleSince == 0) {
                    idleSince = now;
                    beginIdle(region, APP_SLEEPING_OFFSET);
                    spinBudget = spin.spinBudget(now);
                }
                long idle = now - idleSince;
                if (idle < spinBudget) {
                    if (idle < TasServiceSession.PURE_SPIN_NANOS) {
                        Thread.onSpinWait();
                    } else {
                        // Yield rather than spin: the event loops we feed may need this core.
                        Thread.yield();
                        if (spin.afterYield(now, System.nanoTime(), TasServiceSession.YIELD_CONTENDED_NANOS)) {
                            spinBudget = 0; // a whole slice went elsewhere: block from now on
                        }
                    }
                    continue;
                }
                setSleeping(region, APP_SLEEPING_OFFSET, SLEEPING);
                // Dekker pairing with the service: our volatile flag store, then the look at the queue.
                if (events.isEmpty() && contextBells(region) == bells) {
                    sleeps++;
                    if (channel.read(in.clear()) < 0) {
                        goneReason = "it closed the control socket";
                        break;
                    }
                    wokenUp = true;
                }
                // Still idle until an event shows: the service goes on stamping, but need ring no more.
                setSleeping(region, APP_SLEEPING_OFFSET, POLLING);
            }
        } catch (IOException e) {
            if (alive) {
                goneReason = e.toString();
            }
        } catch (RuntimeException | Error e) {
            goneReason = "session failed: " + e;
        }
        serviceGone();
    }

    /**
     * Applies up to 1024 entries of one event queue: queue 0 on the session thread
     * ({@code session}), a context's queue on its owner. Replies and accepts only ever come
     * through queue 0, so only the session thread writes {@link #byId}.
     */
    private int drainEvents(TasShmQueue events, boolean session) {
        MemorySegment q = events.memory();
        int n = 0;
        while (n < 1024) {
            long e = events.peek();
            if (e < 0) {
                break;
            }
            int type = q.get(JAVA_INT, e + TYPE);
            int sid = q.get(JAVA_INT, e + ID);
            switch (type) {
                case E_FLOW -> flowEvent(q, e, sid, session);
                case E_ACCEPTED -> {
                    if (session) {
                        accepted(q, e, sid);
                    }
                }
                case E_ADDRESS -> address(q, e, sid);
                case E_REPLY -> {
                    if (session) {
                        reply(q, e, sid);
                    }
                }
                default -> {
                    // an entry this version does not know: skip it
                }
            }
            events.advance();
            n++;
        }
        return n;
    }

    /** What the id names now, or null (unknown, or an older socket of the same slot). */
    private Object entry(int sid) {
        Object[] t = byId;
        int index = sid & ID_INDEX_MASK;
        Object o = sid >= 0 && index < t.length ? BY_ID.getAcquire(t, index) : null;
        int id = o instanceof Listening l ? l.sid() : o == null ? -1 : connectionOf(o).flow().serviceId;
        return id == sid ? o : null;
    }

    private static TasConnection connectionOf(Object o) {
        return o instanceof Accepted a ? a.connection : o instanceof TasConnection x ? x : null;
    }

    /** Session thread only. */
    private void register(int sid, Object o) {
        int index = sid & ID_INDEX_MASK;
        Object[] t = byId;
        if (index >= t.length) {
            t = Arrays.copyOf(t, Math.max(index + 1, t.length * 2));
            byId = t; // volatile: readers see the copy and everything in it
        }
        BY_ID.setRelease(t, index, o);
    }

    private TasByteRing ring(long offset, int bytes) {
        if (offset < 0 || bytes <= 0 || offset + bytes > rings.byteSize() + RINGS_OFFSET) {
            throw new IllegalStateException("the service named a ring outside the region: " + offset + "+" + bytes);
        }
        return new TasByteRing(region.asSlice(offset, bytes));
    }

    private void reply(MemorySegment q, long e, int req) {
        Pending p = pending.get(req);
        if (p == null) {
            return; // its caller gave up waiting
        }
        int status = i(q, e, 0);
        int sid = i(q, e, 1);
        if (p.probe) {
            p.done.complete(status);
            return;
        }
        if (status != R_OK) {
            p.done.completeExceptionally(failure(status, i(q, e, 2), p));
            return;
        }
        if (p.connection != null) {
            TasFlow f = p.connection.flow();
            f.rx = ring(l(q, e, 0), i(q, e, 3));
            f.tx = ring(l(q, e, 1), i(q, e, 4));
            f.serviceId = sid;
            register(sid, p.connection);
        } else {
            p.listener = p.listenerFactory.create(i(q, e, 2));
            register(sid, new Listening(sid, p.listener));
        }
        p.done.complete(sid);
    }

    private static TasException failure(int status, int i2, Pending p) {
        return switch (status) {
            // Worded as the embedded engine words them, which the transport maps to BindException.
            case R_IN_USE -> new TasException("address already in use: port " + p.port + " is held by this or another application of the service");
            case R_NOT_LOCAL -> new TasException("cannot bind: not an address of this engine");
            case R_LIMIT_SOCKETS -> new TasException("this application holds as many listeners and connections as the service"
                + " allows it (service-app-max-conns=" + i2 + "): close some, or have the service raise it",
                TasError.NO_RESOURCES);
            case R_LIMIT_RINGS -> new TasException("no ring memory left for this application in the service"
                + " (service-app-len): close connections, or have the service raise it", TasError.NO_RESOURCES);
            case R_NO_RESOURCES -> new TasException("no resources in the service for this connection (flow table or ring memory)",
                TasError.NO_RESOURCES);
            default -> new TasException("the service refused the request");
        };
    }

    private void accepted(MemorySegment q, long e, int sid) {
        if (!(entry(i(q, e, 0)) instanceof Listening listening)) {
            return;
        }
        TasListener l = listening.listener();
        TasFlow f = new TasFlow();
        f.rx = ring(l(q, e, 0), i(q, e, 1));
        f.tx = ring(l(q, e, 1), i(q, e, 2));
        f.serviceId = sid;
        register(sid, new Accepted(TasConnection.forPassiveOpen(this, f), l));
    }

    private void address(MemorySegment q, long e, int sid) {
        TasConnection c = connectionOf(entry(sid));
        if (c != null) {
            TasFlow f = c.flow();
            f.localIp = i(q, e, 0);
            f.localPort = i(q, e, 1);
            f.remoteIp = i(q, e, 2);
            f.remotePort = i(q, e, 3);
        }
    }

    /**
     * One E_FLOW entry, on the session thread or a context's owner. Two threads may apply entries
     * of one connection at once (for a moment after it was routed: its older entries in queue 0,
     * newer ones in its loop's queue), so positions only move forward and the rest is applied as
     * one snapshot ordered by its sequence number ({@link #applySnapshot}); every entry's event
     * bits are posted, whichever thread applies it.
     */
    private void flowEvent(MemorySegment q, long e, int sid, boolean session) {
        Object o = entry(sid);
        TasConnection c;
        TasListener acceptVia = null;
        if (o instanceof Accepted a) {
            c = a.connection;
            if (session) {
                acceptVia = a.listener;
                BY_ID.setRelease(byId, sid & ID_INDEX_MASK, c);
            }
        } else if (o instanceof TasConnection x) {
            c = x;
        } else {
            return;
        }
        TasFlow f = c.flow();
        int ev = i(q, e, 0);
        int flags = i(q, e, 3);
        int i5 = i(q, e, 5);
        long rxTail = l(q, e, 0);
        long txHead = l(q, e, 1);
        TasByteRing rx = f.rx;
        TasByteRing tx = f.tx;
        // This thread is the local rings' stand-in for the fast path: producer of rx, consumer of tx.
        if (rx != null) {
            rx.advanceTailTo(rxTail);
        }
        boolean spaceFreed = tx != null && tx.advanceHeadTo(txHead);
        f.rcvAdvEdgePos = l(q, e, 2); // a stale value costs one window update more or fewer
        if ((flags & F_INPUT_CLOSED) != 0) {
            f.inputClosed = true; // volatile, after the tail: a reader that sees it sees every byte
        }
        applySnapshot(f, snapshot(i5 >>> 16, i(q, e, 1), i(q, e, 2), flags, i(q, e, 4), i5 & 0xFFFF));
        if (spaceFreed || (ev & TasEvents.WRITABLE) != 0) {
            // Dekker pairing with TasConnection.wantWritable: our head store, then its flag. Any
            // head advance counts, whichever event brought it (an echo's READABLE often does): a
            // writer that waits would otherwise hear of the space only from a later WRITABLE, and
            // the service believes it told it already, so none may come.
            VarHandle.fullFence();
            if (f.wantWritable) {
                f.wantWritable = false;
                ev |= TasEvents.WRITABLE;
            } else {
                ev &= ~TasEvents.WRITABLE; // nobody waits for it; the head moved all the same
            }
        }
        if (acceptVia != null) {
            if (!acceptVia.isOpen()) {
                c.abort(); // its listener closed while the service accepted it: nobody will
                return;
            }
            acceptVia.enqueueEstablished(c);
        }
        if (ev != 0) {
            c.post(ev);
        }
    }

    /** The non-positional state of an E_FLOW entry in one word: sequence, state, error, flags, mss, window scales. */
    static long snapshot(int seq, int state, int error, int flags, int mss, int scales) {
        return (long) (seq & 0xFFFF) << 48 | (long) (state & 0xF) << 44 | (long) (error & 0xFF) << 36
            | (long) (flags & 0xF) << 32 | (long) (mss & 0xFFFF) << 16 | (scales & 0xFFFF);
    }

    /** Whether snapshot {@code a} is newer than {@code b} (16-bit sequence numbers, wrapping). */
    static boolean newer(long a, long b) {
        int d = (int) ((a >>> 48) - (b >>> 48)) & 0xFFFF;
        return d != 0 && d < 0x8000;
    }

    /**
     * Applies {@code w} unless a newer snapshot was applied already. The fields are written one
     * by one, so after writing, the winner looks again: if a newer snapshot won meanwhile (and
     * its writes may have been overwritten by ours), it writes that one too, until the word stands
     * still. No lock: each thread's last writes are of the newest word it saw after its own.
     */
    static void applySnapshot(TasFlow f, long w) {
        long cur;
        do {
            cur = (long) SNAPSHOT.getVolatile(f);
            if (cur != 0 && !newer(w, cur)) {
                return;
            }
        } while (!SNAPSHOT.compareAndSet(f, cur, w));
        while (true) {
            writeSnapshot(f, w);
            long now = (long) SNAPSHOT.getVolatile(f);
            if (now == w) {
                return;
            }
            w = now;
        }
    }

    private static void writeSnapshot(TasFlow f, long w) {
        int scales = (int) w & 0xFFFF;
        int flags = (int) (w >>> 32) & 0xF;
        f.mss((int) (w >>> 16) & 0xFFFF);
        f.rcvWscale(scales & 0xFF);
        f.sndWscale((scales >>> 8) & 0xFF);
        f.tsOn((flags & F_TIMESTAMPS) != 0);
        f.sackOn((flags & F_SACK) != 0);
        f.ecnOn((flags & F_ECN) != 0);
        f.error = (int) (w >>> 36) & 0xFF;
        f.state((int) (w >>> 44) & 0xF); // last: publishes the rest
    }

    /** The service is gone: every connection fails with SERVICE_GONE, every waiting request too. */
    private void serviceGone() {
        alive = false;
        // Every loop blocked on its word returns (its next wait parks, or blocks on the next
        // session), and one about to block finds RUNG and does not: so a region unmapped later
        // has nobody waiting on it.
        for (int k = 1; k < CONTEXTS; k++) {
            wakeContext(region, k);
        }
        for (Pending p : pending.values()) {
            p.done.completeExceptionally(new TasException(goneMessage(), TasError.SERVICE_GONE));
        }
        for (Object o : byId) {
            TasConnection c = connectionOf(o);
            if (c != null && c.isOpen()) {
                c.flow().error = TasError.SERVICE_GONE.ordinal();
                c.post(TasEvents.RESET | TasEvents.CLOSED);
            } else if (o instanceof Listening l) {
                l.listener().post(TasEvents.CLOSED);
            }
        }
        closeQuietly(channel);
    }

    /**
     * Detaches: the service resets what this application still holds. The region stays mapped
     * until the JVM exits, since channels may still look at their rings.
     */
    @Override
    public void close() {
        if (alive) {
            alive = false;
            goneReason = "the application detached";
            closeQuietly(channel);
        }
    }
}
