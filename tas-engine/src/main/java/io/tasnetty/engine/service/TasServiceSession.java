package io.tasnetty.engine.service;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasException;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.context.TasSocket;
import io.tasnetty.engine.flow.TasByteRing;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TasRingAllocator;
import io.tasnetty.engine.idle.TasSpinPolicy;
import io.tasnetty.engine.port.LinuxNative;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static io.tasnetty.engine.service.TasServiceLayout.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The service's side of one attached application: its region (queues and rings), one engine
 * context that holds all its listeners and connections, and one thread (the proxy) that turns
 * the application's commands into calls on that context and the context's events into entries
 * of the application's event queue. The payload never passes through here: the fast path fills
 * and drains the rings in the shared region directly; the proxy only relays ring positions.
 *
 * <p>The proxy sleeps on its flag word in the region with {@code futex(2)}, as the application's
 * loops sleep on theirs: the application wakes it after queueing commands while it slept, engine
 * events wake it through its context. (It used to block in a selector on the control socket, to
 * which the application wrote a doorbell byte: a socket write, an epoll wake-up and a read cost
 * about 10 us of CPU more per wake-up than a futex here, 30 against 20 us per round trip of two
 * wake-ups.) The control socket's end means the application is gone (exit, crash or kill -9); the
 * proxy looks for it every {@link #SOCKET_LOOK_NANOS} and after every timed-out sleep, then
 * resets its connections, waits until the engine has given back every ring, unmaps the region and
 * deletes its file.
 */
final class TasServiceSession {
    private static final int BATCH = 256;
    /**
     * The proxy sleeps at most this long without a wake-up: a lost one costs no more, and an idle
     * application's death (the control socket's end, which wakes nothing) is noticed this soon.
     */
    private static final long MAX_SLEEP_NANOS = 100_000_000;
    /** How often, at most, the proxy reads the control socket for its end (a syscall each time). */
    private static final long SOCKET_LOOK_NANOS = 10_000_000;
    /**
     * Polling pays while commands or events come this soon on average (see TasSpinPolicy): the
     * event loops' figure. When events went through the application's session thread, a relay
     * thread's gap spanned a round trip through two other threads and 100 us was best (32,600 /
     * 148,700 req/s at 1 / 8 connections, against 12,200 / 78,700 with 20 us). With each loop
     * draining its own queue the chain is shorter: interleaved runs (4 rounds, 2 cores,
     * tas.debug.svc-spin-worth-ns) gave the open loop at 13,800 req/s 1.09-1.10 cores with 20 us
     * against 1.32-1.39 with 100 us, the same at 69,200 req/s (1.68-1.72 either way), 40.6-42.0
     * against 40.5-45.0 CPU-us per request at 1 connection and 5.5-6.3 against 5.5-6.0 at 8.
     */
    static final long SPIN_WORTH_NANOS = Long.getLong("tas.debug.svc-spin-worth-ns", 20_000);
    /** A probe after every this many wake-ups (see TasSpinPolicy). */
    static final int PROBE_EVERY = Integer.getInteger("tas.debug.svc-spin-probe", 16);
    /** A yield that takes this long let another thread run: the CPU is contended. */
    static final long YIELD_CONTENDED_NANOS = 20_000;
    /** Idle this long, spin on the queues; after it, yield between looks. */
    static final long PURE_SPIN_NANOS = 5_000;

    /** One socket id of the application: the id is what both processes call it. */
    private static final class Slot {
        final int id;
        final TasSocket socket;
        /** The event queue its events go to (0 until the application routes it to a context's). */
        int queue;
        /** E_FLOW entries queued so far (their sequence numbers, wrapping at 16 bits). */
        int seq;
        boolean appReleased;
        boolean engineDone;
        /** The transmit ring's head as the application last heard it (its idea of the free space). */
        long txHeadSent;
        /** In {@link #watched}: the application's view of its transmit ring is over half full. */
        boolean watched;

        Slot(int id, TasSocket socket) {
            this.id = id;
            this.socket = socket;
        }
    }

    final int id;
    final String user;
    final long pid;
    private final TasService service;
    private final SocketChannel channel;
    final Path file;
    private final Arena arena;
    private final MemorySegment region;
    final TasRingAllocator rings;
    /** Event queues: [0] the session thread's, [k] context k's (TasServiceLayout.CONTEXTS). */
    private final TasShmQueue[] eventQueues = new TasShmQueue[CONTEXTS];
    /** Context queues made ready (their sequence words written) at the first route to them. */
    private final boolean[] queueReady = new boolean[CONTEXTS];
    /** The queue index of the entry {@link #claimEvent} handed out last (the proxy writes one at a time). */
    private int claimedQueue;
    /** Queues that got events since the last {@link #ringApp} (indexes, no duplicates). */
    private final boolean[] unrung = new boolean[CONTEXTS];
    private final int[] unrungList = new int[CONTEXTS];
    private int unrungCount;
    private final TasShmQueue commands;
    private final TasContext ctx;
    private Slot[] slots = new Slot[64];
    /** Connections whose application may wait for transmit space (see {@link #reportFreedSpace}). */
    private Slot[] watched = new Slot[64];
    private int watchedCount;
    /** Most listeners plus connections this application may hold (service-app-max-conns). */
    private final int maxSockets;
    // Per-application counters (TasServiceAppCounter): written by the proxy only, read by TAS-STATS
    // as they are, and copied into the region header each cycle for the application's metrics.
    /** Freed space reported by {@link #reportFreedSpace} rather than by a WRITABLE event (diagnostics). */
    private long spaceReports;
    private long commandsTaken;
    private long eventsQueued;
    private long connectionsMade;
    private long refusedSocketLimit;
    private long refusedForeign;
    private long eventQueueFull;
    /** Events that went to queue 0 because their context's queue was full (diagnostics). */
    private long contextQueueFull;
    private long proxySleeps;
    private long proxySleepsTimedOut;
    /** Session doorbells rung for a context's loop blocked in a selector (diagnostics). */
    private long contextBellsRung;
    private int[] freeIds = new int[64];
    private int freeCount;
    private int nextId;
    private volatile int socketCount;
    private volatile boolean appGone;
    private volatile boolean reclaiming;
    /** The byte that wakes the application's session thread (the only doorbell left on the control socket). */
    private final ByteBuffer bell = ByteBuffer.allocateDirect(1);
    /** Reads from the control socket, which brings nothing after the handshake but its end. */
    private final ByteBuffer controlIn = ByteBuffer.allocateDirect(64);
    /** The proxy's futex timeout ({@link #MAX_SLEEP_NANOS}), a timespec made once. */
    private final MemorySegment sleepTimeout = Arena.ofAuto().allocate(16, 8);
    private final io.tasnetty.engine.context.TasEventHandler handler = this::onEvents;
    private Thread proxy;

    TasServiceSession(TasService service, int id, String user, long pid, SocketChannel channel, Path file,
                      Arena arena, MemorySegment region, long ringsBytes) {
        this.service = service;
        this.id = id;
        this.user = user;
        this.pid = pid;
        this.channel = channel;
        this.file = file;
        this.arena = arena;
        this.region = region;
        this.rings = TasRingAllocator.inRegion(region.asSlice(RINGS_OFFSET, ringsBytes), ringsBytes);
        for (int k = 0; k < CONTEXTS; k++) {
            eventQueues[k] = new TasShmQueue(region.asSlice(eventQueueOffset(k), queueBytes(eventEntries(k))), eventEntries(k));
        }
        queueReady[0] = true; // initHeader wrote it
        this.commands = new TasShmQueue(region.asSlice(COMMAND_QUEUE_OFFSET, queueBytes(COMMAND_ENTRIES)), COMMAND_ENTRIES);
        this.ctx = service.engine().newContext(rings);
        this.maxSockets = service.config().serviceAppMaxConns();
        publishCounters();
    }

    void start() {
        proxy = Thread.ofPlatform().daemon().name("tas-svc-app" + id).start(this::run);
    }

    int socketCount() {
        return socketCount;
    }

    long spaceReports() {
        return spaceReports;
    }

    /** One of this application's counters, the service's own copy (any thread; racy but never torn on 64-bit). */
    long counter(TasServiceAppCounter c) {
        return switch (c) {
            case SOCKETS -> socketCount;
            case SOCKETS_LIMIT -> maxSockets;
            case RING_BYTES -> rings.bytesInUse();
            case RING_BYTES_RESERVED -> rings.bytesReserved();
            case RING_BYTES_LIMIT -> rings.limitBytes();
            case CONNECTIONS -> connectionsMade;
            case COMMANDS -> commandsTaken;
            case EVENTS -> eventsQueued;
            case REFUSED_SOCKET_LIMIT -> refusedSocketLimit;
            case REFUSED_RING_MEMORY -> rings.failures();
            case REFUSED_FOREIGN -> refusedForeign;
            case SPACE_REPORTS -> spaceReports;
            case EVENT_QUEUE_FULL -> eventQueueFull;
            case CONTEXT_QUEUE_FULL -> contextQueueFull;
            case CONTEXT_BELLS -> contextBellsRung;
            case PROXY_SLEEPS -> proxySleeps;
            case PROXY_SLEEPS_TIMED_OUT -> proxySleepsTimedOut;
        };
    }

    /** Copies the counters into the region header, where the application's metrics read them. */
    private void publishCounters() {
        for (TasServiceAppCounter c : COUNTERS) {
            appCounter(region, c, counter(c));
        }
    }

    private static final TasServiceAppCounter[] COUNTERS = TasServiceAppCounter.values();

    boolean isReclaiming() {
        return reclaiming;
    }

    /** One line per connection (diagnostics: ring positions as the service and the application see them). */
    void describeConnections(StringBuilder sb) {
        Slot[] ss = slots;
        for (Slot s : ss) {
            if (s != null && s.socket instanceof TasConnection c) {
                TasFlow f = c.flow();
                TasByteRing tx = f.tx;
                TasByteRing rx = f.rx;
                sb.append("conn ").append(id).append('/').append(s.id).append(" state=").append(f.publishedState())
                  .append(" error=").append(f.error)
                  .append(tx == null ? "" : " tx=" + tx.head() + ".." + tx.tail())
                  .append(" tx_head_sent=").append(s.txHeadSent)
                  .append(rx == null ? "" : " rx=" + rx.head() + ".." + rx.tail())
                  .append(" want_writable=").append(f.wantWritable)
                  .append(" released=").append(s.appReleased).append('\n');
            }
        }
    }

    /**
     * Reads what the control socket holds (non-blocking; nothing is sent on it once attached):
     * end of stream or an error means the application is gone (exit, crash or kill -9).
     */
    private void lookAtControlSocket() {
        try {
            while (true) {
                int n = channel.read(controlIn.clear());
                if (n < 0) {
                    appGone = true;
                    return;
                }
                if (n < controlIn.capacity()) {
                    return;
                }
            }
        } catch (IOException e) {
            appGone = true; // reset by a dying peer: the same as end of stream
        }
    }

    /** Engine events (any thread) while the proxy sleeps: wakes it if it sleeps on its word. */
    private void wakeProxy() {
        try {
            TasServiceLayout.ringSleeper(region, SERVICE_SLEEPING_OFFSET);
        } catch (IllegalStateException unmapped) {
            // a late event of a session reclaimed meanwhile: nobody to wake
        }
    }

    /** The service stops: detaches the application and waits (briefly) until the proxy left the engine alone. */
    void stop() {
        appGone = true;
        wakeProxy();
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        try {
            proxy.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The proxy's duty cycle: commands, engine events, freed space; when there are none, poll on
     * while {@link TasSpinPolicy} finds it pays (commands and events coming in short gaps, at high
     * request rates), so that neither side pays a wake-up per request; then sleep on the flag
     * word until the application or an engine event wakes it. The flag tells the application
     * which: {@code POLLING} needs no wake-up, {@code SLEEPING} does.
     */
    private void run() {
        try {
            channel.configureBlocking(false);
        } catch (IOException e) {
            service.log("application " + this + ": cannot watch its control socket, detaching it: " + e);
            reclaim();
            return;
        }
        Runnable wake = this::wakeProxy;
        long flagAddress = region.address() + SERVICE_SLEEPING_OFFSET;
        sleepTimeout.set(JAVA_LONG, 0, MAX_SLEEP_NANOS / 1_000_000_000L);
        sleepTimeout.set(JAVA_LONG, 8, MAX_SLEEP_NANOS % 1_000_000_000L);
        long lastLook = System.nanoTime();
        int busyRuns = 0;
        TasSpinPolicy spin = new TasSpinPolicy(TimeUnit.MICROSECONDS.toNanos(service.config().fpPollIntervalTasMicros()),
            SPIN_WORTH_NANOS, PROBE_EVERY);
        long idleSince = 0;
        long spinBudget = 0;
        boolean wokenUp = false;
        try {
            while (!appGone) {
                int work = drainCommands();
                work += ctx.poll(handler, BATCH);
                work += reportFreedSpace();
                ringApp();
                if (work > 0) {
                    publishCounters();
                    if ((++busyRuns & 1023) == 0) {
                        lookAtControlSocket(); // busy for long: an application gone meanwhile must still be noticed
                    }
                    if (idleSince != 0) {
                        // The gap to whichever came first: a command (the application stamped it)
                        // or an engine event (the context did).
                        long viaApp = TasServiceLayout.endIdle(region, SERVICE_SLEEPING_OFFSET, idleSince);
                        long viaEngine = ctx.endIdle();
                        long gap = viaApp < 0 ? viaEngine : viaEngine < 0 ? viaApp : Math.min(viaApp, viaEngine);
                        spin.workArrived(gap, wokenUp);
                        idleSince = 0;
                        wokenUp = false;
                    }
                    continue;
                }
                long now = System.nanoTime();
                if (idleSince == 0) {
                    idleSince = now;
                    ctx.beginIdle(now);
                    TasServiceLayout.beginIdle(region, SERVICE_SLEEPING_OFFSET);
                    spinBudget = spin.spinBudget(now);
                }
                long idle = now - idleSince;
                if (idle < spinBudget) {
                    if (idle < PURE_SPIN_NANOS) {
                        Thread.onSpinWait();
                    } else {
                        // Yield rather than spin: on a machine without a spare core the event
                        // loops this proxy serves need it. Late: another thread ran meanwhile.
                        Thread.yield();
                        if (spin.afterYield(now, System.nanoTime(), YIELD_CONTENDED_NANOS)) {
                            spinBudget = 0; // a whole slice went elsewhere: block from now on
                        }
                    }
                    continue;
                }
                publishCounters();
                setSleeping(region, SERVICE_SLEEPING_OFFSET, SLEEPING);
                // Dekker pairing with the application's enqueue: our volatile store of the flag,
                // then the look at its queue; it publishes a command, then reads the flag.
                if (commands.isEmpty() && !appGone && ctx.enterExternalWait(wake)) {
                    // Returns at once if the word is no longer SLEEPING (a wake-up came meanwhile).
                    long slept = System.nanoTime();
                    LinuxNative.futexWait(flagAddress, SLEEPING, sleepTimeout.address());
                    proxySleeps++;
                    if (System.nanoTime() - slept >= MAX_SLEEP_NANOS) {
                        proxySleepsTimedOut++;
                    }
                    wokenUp = true;
                }
                ctx.exitExternalWait();
                long looked = System.nanoTime();
                if (looked - lastLook >= SOCKET_LOOK_NANOS) {
                    lastLook = looked;
                    lookAtControlSocket();
                }
                // Still idle until work shows: producers go on stamping, but need ring no more.
                setSleeping(region, SERVICE_SLEEPING_OFFSET, POLLING);
            }
        } catch (RuntimeException | Error e) {
            service.log("application " + this + ": proxy failed, detaching it: " + e);
        }
        reclaim();
    }

    // ------------------------------------------------------------------ commands

    private int drainCommands() {
        MemorySegment q = commands.memory();
        int n = 0;
        while (n < BATCH) {
            long e = commands.peek();
            if (e < 0) {
                break;
            }
            int type = q.get(JAVA_INT, e + TYPE);
            int sid = q.get(JAVA_INT, e + ID);
            switch (type) {
                case C_FLOW -> flowCommand(sid, i(q, e, 0), i(q, e, 1) != 0, l(q, e, 0), l(q, e, 1));
                case C_OPTIONS -> options(sid, i(q, e, 0) != 0, i(q, e, 1), i(q, e, 2), l(q, e, 0), l(q, e, 1));
                case C_LISTEN -> listen(sid, i(q, e, 0), i(q, e, 1), i(q, e, 2), i(q, e, 3), i(q, e, 4));
                case C_CONNECT -> connect(sid, i(q, e, 0), i(q, e, 1), i(q, e, 2), i(q, e, 3), i(q, e, 4), i(q, e, 5));
                case C_UNLISTEN -> unlisten(sid);
                case C_ROUTE -> route(sid, i(q, e, 0));
                case C_PROBE -> probe(sid, i(q, e, 0), i(q, e, 1));
                default -> {
                    // an entry of a newer protocol or garbage: the application only hurts itself
                }
            }
            commands.advance();
            n++;
        }
        commandsTaken += n;
        return n;
    }

    /** The slot an id names, if it is this application's and still current (not a reused slot's old id). */
    private Slot slot(int sid) {
        int index = sid & ID_INDEX_MASK;
        Slot s = sid >= 0 && index < slots.length ? slots[index] : null;
        return s != null && s.id == sid ? s : null;
    }

    /** The application's loop that serves the connection drains its events from now on. */
    private void route(int sid, int queue) {
        Slot s = slot(sid);
        if (s == null || s.appReleased || !(s.socket instanceof TasConnection) || queue < 0 || queue >= CONTEXTS) {
            refusedForeign++;
            return;
        }
        if (!queueReady[queue]) {
            // First use: written by the proxy, the queue's only producer, before its first entry.
            // Its consumer has read zeros until now, which mean empty (TasServiceLayout).
            TasShmQueue.init(eventQueues[queue].memory(), eventEntries(queue));
            queueReady[queue] = true;
        }
        s.queue = queue;
    }

    private void flowCommand(int sid, int bits, boolean wantWritable, long txTail, long rxHead) {
        Slot s = slot(sid);
        if (s == null || s.appReleased || !(s.socket instanceof TasConnection c)) {
            // Not a connection of this application (ids name only its own sockets: another
            // application's cannot even be named): dropped and counted.
            refusedForeign++;
            return;
        }
        TasFlow f = c.flow();
        // The application's ring positions, checked: it may only hand the engine bytes inside its
        // own ring, and only free what the engine produced.
        TasByteRing tx = f.tx;
        if (tx != null && txTail > tx.tailPlain() && txTail - tx.head() <= tx.capacity()) {
            tx.publishTail(txTail);
        }
        TasByteRing rx = f.rx;
        if (rx != null && rxHead > rx.headPlain() && rxHead <= rx.tail()) {
            rx.publishHead(rxHead);
        }
        // The application learns the head only from events: once its view of the ring is more
        // than half full (or it asked), have the fast path report freed space, so it never waits
        // on a full ring that is not full (its zero-byte write sends no command of its own).
        if (tx != null && (wantWritable || txTail - s.txHeadSent > tx.capacity() >> 1)) {
            f.wantWritable = true;
            // Re-check after announcing interest, as TasConnection does: space may be free already.
            if (tx.head() != s.txHeadSent) {
                c.post(TasEvents.WRITABLE);
            }
            if (!s.watched) {
                s.watched = true;
                if (watchedCount == watched.length) {
                    watched = Arrays.copyOf(watched, watchedCount * 2);
                }
                watched[watchedCount++] = s;
            }
        }
        int relay = bits & (TasFlow.CMD_TX | TasFlow.CMD_RX_CONSUMED);
        if (relay != 0) {
            c.relay(relay);
        }
        if ((bits & TasFlow.CMD_SHUTDOWN) != 0) {
            c.shutdownOutput();
        }
        if ((bits & TasFlow.CMD_ABORT) != 0) {
            c.abort();
            released(s);
        } else if ((bits & TasFlow.CMD_CLOSE) != 0) {
            c.close();
            released(s);
        }
    }

    /**
     * Each duty cycle: tells applications that wait for transmit space about space the engine
     * freed since they last heard, whether or not a WRITABLE event said so (the fast path posts
     * one only while the flag is up, and the flag is shared by every reason to want one).
     */
    private int reportFreedSpace() {
        int work = 0;
        for (int i = 0; i < watchedCount; ) {
            Slot s = watched[i];
            TasConnection c = (TasConnection) s.socket;
            TasByteRing tx = c.flow().tx;
            boolean done = s.appReleased || tx == null;
            if (!done && tx.head() != s.txHeadSent) {
                flowEvent(s, c, TasEvents.WRITABLE);
                spaceReports++;
                work++;
                done = true;
            }
            if (done) {
                s.watched = false;
                watched[i] = watched[--watchedCount];
                watched[watchedCount] = null;
            } else {
                i++;
            }
        }
        return work;
    }

    private void options(int sid, boolean keepalive, int probes, int tos, long idle, long interval) {
        Slot s = slot(sid);
        if (s == null || s.appReleased || !(s.socket instanceof TasConnection c)) {
            refusedForeign++;
            return;
        }
        TasFlow f = c.flow();
        f.keepaliveIdleNanos = Math.max(0, idle);
        f.keepaliveIntervalNanos = Math.max(0, interval);
        f.keepaliveCount = Math.max(0, probes);
        f.tos = tos & 0xFC;
        f.keepalive = keepalive;
        c.relay(TasFlow.CMD_KEEPALIVE);
    }

    private void listen(int req, int ip, int port, int backlog, int rxLen, int txLen) {
        if (socketCount >= maxSockets) {
            refusedSocketLimit++;
            reply(req, R_LIMIT_SOCKETS, -1, maxSockets, null);
            return;
        }
        TasListener l;
        try {
            l = ctx.listen(new InetSocketAddress(inet(ip), port), backlog, rxLen, txLen);
        } catch (TasException e) {
            reply(req, status(e), -1, 0, null);
            return;
        }
        Slot s = newSlot(l);
        reply(req, R_OK, s.id, l.port(), null);
    }

    private void connect(int req, int rip, int rport, int lip, int lport, int rxLen, int txLen) {
        if (socketCount >= maxSockets) {
            refusedSocketLimit++;
            reply(req, R_LIMIT_SOCKETS, -1, maxSockets, null);
            return;
        }
        InetSocketAddress local = lip == 0 && lport == 0 ? null : new InetSocketAddress(inet(lip), lport);
        TasConnection c;
        long ringFailures = rings.failures();
        try {
            c = ctx.connect(new InetSocketAddress(inet(rip), rport), local, rxLen, txLen);
        } catch (TasException e) {
            // The rings come from this application's region: out of it is its own limit.
            reply(req, rings.failures() != ringFailures ? R_LIMIT_RINGS : status(e), -1, 0, null);
            return;
        }
        connectionsMade++;
        Slot s = newSlot(c);
        reply(req, R_OK, s.id, 0, c.flow());
    }

    /**
     * Whether a connection to {@code ip:port} on 127/8 would reach a listener of this service
     * (of any application: as on a host's loopback, which ports listen is no secret).
     */
    private void probe(int req, int ip, int port) {
        boolean served = (ip >>> 24) == 127 && port > 0 && port <= 65535 && service.engine().serves(ip, port);
        reply(req, served ? R_OK : R_REFUSED, -1, 0, null);
    }

    private void unlisten(int sid) {
        Slot s = slot(sid);
        if (s != null && !s.appReleased && s.socket instanceof TasListener l) {
            l.close();
            s.engineDone = true;
            released(s);
        } else {
            refusedForeign++;
        }
    }

    private static int status(TasException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("in use")) {
            return R_IN_USE;
        }
        if (m.contains("not an address")) {
            return R_NOT_LOCAL;
        }
        return e.error() == TasError.NO_RESOURCES ? R_NO_RESOURCES : R_REFUSED;
    }

    private static InetAddress inet(int ip) {
        try {
            return InetAddress.getByAddress(new byte[]{(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip});
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ events

    private void onEvents(TasSocket socket, int ev) {
        if (!(socket.attachment() instanceof Slot s)) {
            return; // the application let go of it; nobody to tell
        }
        if (socket instanceof TasListener l) {
            if ((ev & TasEvents.ACCEPTABLE) != 0) {
                acceptAll(l, s);
            }
            return;
        }
        TasConnection c = (TasConnection) socket;
        if ((ev & (TasEvents.CONNECTED | TasEvents.CONNECT_FAILED)) != 0) {
            address(s, c);
        }
        flowEvent(s, c, ev);
        if ((ev & (TasEvents.CLOSED | TasEvents.CONNECT_FAILED)) != 0) {
            s.engineDone = true;
            maybeFree(s);
        }
    }

    private void acceptAll(TasListener l, Slot ls) {
        TasConnection c;
        while ((c = ctx.accept(l)) != null) {
            if (socketCount >= maxSockets) {
                c.abort(); // over this application's limit: the peer sees a reset
                refusedSocketLimit++;
                continue;
            }
            connectionsMade++;
            Slot s = newSlot(c);
            TasFlow f = c.flow();
            long e = claimEvent(0);
            if (e < 0) {
                return;
            }
            MemorySegment q = eventQueues[claimedQueue].begin(e, E_ACCEPTED, s.id);
            i(q, e, 0, ls.id);
            i(q, e, 1, f.rx.capacity());
            i(q, e, 2, f.tx.capacity());
            l(q, e, 0, ringOffset(f.rx));
            l(q, e, 1, ringOffset(f.tx));
            publishEvent(e);
            address(s, c);
            flowEvent(s, c, 0);
        }
    }

    private long ringOffset(TasByteRing ring) {
        return TasRingAllocator.offsetIn(region, ring.memory());
    }

    private void address(Slot s, TasConnection c) {
        TasFlow f = c.flow();
        long e = claimEvent(s.queue);
        if (e < 0) {
            return;
        }
        MemorySegment q = eventQueues[claimedQueue].begin(e, E_ADDRESS, s.id);
        i(q, e, 0, f.localIp);
        i(q, e, 1, f.localPort);
        i(q, e, 2, f.remoteIp);
        i(q, e, 3, f.remotePort);
        publishEvent(e);
    }

    private void flowEvent(Slot s, TasConnection c, int ev) {
        TasFlow f = c.flow();
        // inputClosed before the tail: the fast path publishes the tail first, so a true flag
        // comes with a tail that covers every byte before the FIN.
        boolean inputClosed = f.inputClosed;
        TasByteRing rx = f.rx;
        TasByteRing tx = f.tx;
        long rxTail = rx == null ? -1 : rx.tail();
        long txHead = tx == null ? -1 : tx.head();
        TasFlow.Negotiated n = f.negotiated();
        int flags = (inputClosed ? F_INPUT_CLOSED : 0);
        int sndWscale = 0;
        if (n != null) {
            flags |= (n.timestamps() ? F_TIMESTAMPS : 0) | (n.sack() ? F_SACK : 0) | (n.ecn() ? F_ECN : 0);
            sndWscale = n.sndWscale();
        }
        long e = claimEvent(s.queue);
        if (e < 0) {
            return;
        }
        MemorySegment q = eventQueues[claimedQueue].begin(e, E_FLOW, s.id);
        i(q, e, 0, ev);
        i(q, e, 1, f.publishedState());
        i(q, e, 2, f.error);
        i(q, e, 3, flags);
        i(q, e, 4, f.appMss());
        i(q, e, 5, (f.appRcvWscale() & 0xFF) | (sndWscale & 0xFF) << 8 | ++s.seq << 16);
        l(q, e, 0, rxTail);
        l(q, e, 1, txHead);
        l(q, e, 2, f.rcvAdvEdgePos);
        publishEvent(e);
        if (txHead >= 0) {
            s.txHeadSent = txHead;
        }
    }

    private void reply(int req, int status, int sid, int port, TasFlow f) {
        long e = claimEvent(0);
        if (e < 0) {
            return;
        }
        MemorySegment q = eventQueues[claimedQueue].begin(e, E_REPLY, req);
        i(q, e, 0, status);
        i(q, e, 1, sid);
        i(q, e, 2, port);
        if (f != null) {
            i(q, e, 3, f.rx.capacity());
            i(q, e, 4, f.tx.capacity());
            l(q, e, 0, ringOffset(f.rx));
            l(q, e, 1, ringOffset(f.tx));
        }
        publishEvent(e);
    }

    /**
     * A free event slot in queue {@code queue} ({@link #claimedQueue} says which queue it is in). A
     * context's full queue falls back to queue 0: a loop that stopped draining (busy in a
     * handler) must not stall the service, and the application applies one socket's entries in
     * any order. A full queue 0 is waited for (back-pressure: the session thread drains
     * independently of anything the service does); -1 once the application is gone.
     */
    private long claimEvent(int queue) {
        if (queue != 0) {
            TasShmQueue cq = eventQueues[queue];
            long e = cq.claimSingle();
            if (e >= 0) {
                claimedQueue = queue;
                return e;
            }
            contextQueueFull++;
        }
        TasShmQueue events = eventQueues[0];
        claimedQueue = 0;
        long backoff = 20_000;
        while (true) {
            long e = events.claimSingle();
            if (e >= 0) {
                return e;
            }
            lookAtControlSocket(); // a full queue of an application that is gone: notice it here
            if (appGone) {
                return -1;
            }
            markUnrung(0);
            eventQueueFull++;
            ringApp();
            LockSupport.parkNanos(this, backoff);
            backoff = Math.min(backoff * 2, 1_000_000); // an application that stopped draining costs little
        }
    }

    private void publishEvent(long e) {
        eventQueues[claimedQueue].publishSingle(e);
        eventsQueued++;
        markUnrung(claimedQueue);
    }

    private void markUnrung(int queue) {
        if (!unrung[queue]) {
            unrung[queue] = true;
            unrungList[unrungCount++] = queue;
        }
    }

    /**
     * After a batch: wakes whoever drains the queues that got events, if it sleeps and nobody rang
     * yet: the session thread by a doorbell byte on the control socket, a context's loop on its
     * futex word (or, for a loop blocked in a selector, through the session thread).
     */
    private void ringApp() {
        boolean ringSession = false;
        for (int i = 0; i < unrungCount; i++) {
            int k = unrungList[i];
            unrung[k] = false;
            if (k == 0) {
                ringSession |= takeDoorbell(region, APP_SLEEPING_OFFSET);
            } else if (takeContextBell(region, k) == BELL_SESSION) {
                // The session thread must look whatever its own flag says: it may be polling its
                // queue, and then reads the bell count; asleep, it needs the byte.
                ringSession = true;
                contextBellsRung++;
            }
        }
        unrungCount = 0;
        if (ringSession) {
            try {
                channel.write(bell.clear());
            } catch (IOException e) {
                appGone = true; // its end of the socket is gone: the reader sees it too
            }
        }
    }

    // ------------------------------------------------------------------ ids

    private Slot newSlot(TasSocket socket) {
        int sid;
        if (freeCount > 0) {
            sid = freeIds[--freeCount]; // the slot's next id: its index with the reuse count above
        } else {
            sid = nextId++;
            if (sid >= slots.length) {
                slots = Arrays.copyOf(slots, slots.length * 2);
            }
        }
        Slot s = new Slot(sid, socket);
        slots[sid & ID_INDEX_MASK] = s;
        socket.attach(s);
        socketCount++;
        return s;
    }

    private void released(Slot s) {
        s.appReleased = true;
        maybeFree(s);
    }

    /**
     * An id is reused only once both sides are done with it: the application sends nothing more
     * for it after its close, and the engine posts nothing after CLOSED.
     */
    private void maybeFree(Slot s) {
        int index = s.id & ID_INDEX_MASK;
        if (s.appReleased && s.engineDone && slots[index] == s) {
            slots[index] = null;
            s.socket.attach(null);
            if (freeCount == freeIds.length) {
                freeIds = Arrays.copyOf(freeIds, freeIds.length * 2);
            }
            // The next id of this slot: one more reuse above the index (positive, wrapping).
            freeIds[freeCount++] = (s.id + ID_INDEX_MASK + 1) & Integer.MAX_VALUE;
            socketCount--;
        }
    }

    // ------------------------------------------------------------------ detach

    /**
     * The application is gone: reset what it held, wait until the engine has returned every ring
     * to this region, then unmap the region and delete its file. The engine reclaims aborted
     * flows in bounded time; if rings stayed out for a minute the mapping is kept (never unmap
     * memory the fast path might still touch) and the service says so.
     */
    private void reclaim() {
        reclaiming = true;
        if (service.isRunning()) {
            for (Slot s : slots) {
                if (s == null) {
                    continue;
                }
                if (s.socket instanceof TasConnection c) {
                    c.abort();
                } else {
                    s.socket.close();
                }
            }
            ctx.close();
        } // else the engine stops with the service: nothing to hand back

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (rings.bytesInUse() > 0 && service.isRunning() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(5));
        }
        long left = rings.bytesInUse();
        Arrays.fill(slots, null);
        socketCount = 0;
        try {
            channel.close();
        } catch (IOException ignored) {
            // gone already
        }
        if (left == 0) {
            arena.close();
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                service.log("application " + this + ": cannot delete " + file + ": " + e);
            }
        } else if (service.isRunning()) {
            service.log("application " + this + ": " + left + " bytes of rings still held after 60 s; keeping its region");
        }
        service.detached(this, left == 0);
    }

    @Override
    public String toString() {
        return id + " (user " + user + ", pid " + pid + ")";
    }
}
