package io.tasnetty.engine.context;

import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TasRingAllocator;
import org.jctools.queues.MpscGrowableArrayQueue;

import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * One application thread's handle on the engine (TAS's "context"): it opens listeners and
 * connections, and receives their events. A Netty event loop owns exactly one.
 *
 * <p>Events are drained by {@link #poll} on the owning thread; {@link #await} blocks until there
 * are events, {@link #wakeup} is called, or the timeout passes. The engine enqueues into a
 * multi-producer queue and unparks the thread only when it sleeps.
 */
public final class TasContext implements AutoCloseable {
    private static final int AWAKE = 0;
    /** In {@link #await}: woken by unparking the thread. */
    private static final int PARKED = 1;
    /** Blocked in a call of the application's (e.g. a selector's select): woken by {@link #externalWake}. */
    private static final int EXTERNAL = 2;

    /** What a context needs from its engine (implemented by the engine; not for applications). */
    public interface EngineAccess {
        /**
         * The access a new socket keeps for its lifetime: this one, or (service mode) the session
         * live now, so that a socket from before a restart of the service never reaches a later
         * session. Called once per connect, never on the data path.
         */
        default EngineAccess forNewSocket() {
            return this;
        }

        /** Posts application commands to the flow's fast path. */
        void command(TasFlow flow, int commands);

        /** Creates a flow with rings of the given sizes (0 = configured default), or throws. */
        TasFlow newFlow(int rxBufLen, int txBufLen);

        /** As {@link #newFlow(int, int)} for a connection to {@code remote} (whose default size may differ). */
        default TasFlow newFlow(int rxBufLen, int txBufLen, InetSocketAddress remote) {
            return newFlow(rxBufLen, txBufLen);
        }

        /** Starts an active open (asynchronous: CONNECTED or CONNECT_FAILED follows). */
        void connect(TasConnection connection, InetSocketAddress remote, InetSocketAddress local);

        /** Binds a listener; returns the port (an ephemeral one for port 0). */
        int bind(TasContext ctx, int ip, int port, int backlog, int rxBufLen, int txBufLen, ListenerFactory f);

        /** Unbinds a listener and resets the connections it queued. */
        void unbind(TasListener listener);

        /** The application let go of the connection (close/abort): its rings may be freed. */
        void released(TasFlow flow);

        /** Frees a flow from {@link #newFlow} that never reached the engine (its connect was refused). */
        void discard(TasFlow flow);

        /** The largest listen backlog the engine allows ({@code tcp-backlog-max}). */
        int maxBacklog();

        /** Whether the engine still runs. */
        boolean isRunning();

        /** Called when a context closes. */
        void contextClosed(TasContext ctx);

        /**
         * Runs the fast paths' duty cycles on the calling thread where no other thread drives them
         * (run to completion: a polling application thread receives frames itself); returns the
         * work done. 0 without doing anything when application threads do not drive (fp-no-inline).
         */
        default int pollInline() {
            return 0;
        }

        /** As {@link #pollInline()}, for the owner of {@code ctx} (service mode: drains that context's event queue). */
        default int pollInline(TasContext ctx) {
            return pollInline();
        }

        /**
         * Service mode: applies the events that wait for {@code ctx} in memory shared with the
         * service and posts them to its sockets (owner's thread, at each poll); returns how many.
         */
        default int deliver(TasContext ctx) {
            return 0;
        }

        /**
         * Service mode: how the owner of {@code ctx} is woken while it blocks in
         * {@link #blockContext} (the engine's events cannot unpark a thread of another process);
         * null: it parks, and the engine unparks it.
         */
        default Runnable contextWaker(TasContext ctx) {
            return null;
        }

        /** Blocks the owner of {@code ctx} until {@code waker} runs or {@code timeoutNanos} passes. */
        default void blockContext(TasContext ctx, Runnable waker, long timeoutNanos) {
        }

        /**
         * The owner of {@code ctx} is about to block ({@code entering}) in a call of the
         * application's, or returned from it. Returns false if events are pending (do not block).
         */
        default boolean waitElsewhere(TasContext ctx, boolean entering) {
            return true;
        }

        /** A connection's events go to {@code target} from now on (service mode: tell the service). */
        default void moved(TasConnection c, TasContext target) {
        }
    }

    /** Creates the listener object once the engine has chosen the port. */
    @FunctionalInterface
    public interface ListenerFactory {
        TasListener create(int port);
    }

    private final EngineAccess engine;
    private final int id;
    private final TasRingAllocator rings;
    /**
     * Sockets with pending events. Each socket is queued at most once at a time (see
     * {@link TasSocket#post}), so the queue never holds more entries than sockets; it grows by
     * doubling when a context serves more of them and never allocates in steady state (an
     * unbounded linked queue would allocate a chunk every few hundred events).
     */
    private final MpscGrowableArrayQueue<TasSocket> ready = new MpscGrowableArrayQueue<>(256, 1 << 24);
    private final Set<TasSocket> sockets = ConcurrentHashMap.newKeySet();
    private volatile Thread waiter;
    /** How the owning thread sleeps right now: {@link #AWAKE}, {@link #PARKED} or {@link #EXTERNAL}. */
    private volatile int sleeping;
    /** Wakes the owner out of an {@link #enterExternalWait external wait}; set by the owner before it sleeps. */
    private volatile Runnable externalWake;
    private volatile boolean wakeupPending;
    /** When the owner ran out of events ({@link #beginIdle}); 0 while it has some. */
    private volatile long idleSince;
    /** When the first event (or wake-up) arrived after {@link #idleSince}; 0 = none yet. */
    private volatile long firstArrival;
    private volatile boolean closed;

    public TasContext(EngineAccess engine, int id) {
        this(engine, id, null);
    }

    /**
     * A context whose listeners' connections get their rings from {@code rings} (service mode:
     * the attached application's shared region); null = the engine's allocator.
     */
    public TasContext(EngineAccess engine, int id, TasRingAllocator rings) {
        this.engine = engine;
        this.id = id;
        this.rings = rings;
    }

    /** Where this context's connections' rings come from; null = the engine's allocator. */
    public TasRingAllocator ringAllocator() {
        return rings;
    }

    public int id() {
        return id;
    }

    /**
     * Listens on {@code local} (address 0.0.0.0 = every engine address; port 0 = an ephemeral
     * port). Returns at once; SYNs are answered from now on.
     *
     * @throws TasException if the port is taken or the engine stopped
     */
    public TasListener listen(InetSocketAddress local, int backlog) {
        return listen(local, backlog, 0, 0);
    }

    /** As {@link #listen(InetSocketAddress, int)}, with ring sizes for accepted connections (0 = default). */
    public TasListener listen(InetSocketAddress local, int backlog, int rxBufLen, int txBufLen) {
        checkOpen();
        int ip = ipOf(local);
        int b = Math.clamp(backlog, 1, engine.maxBacklog());
        TasListener[] made = new TasListener[1];
        engine.bind(this, ip, local.getPort(), b, rxBufLen, txBufLen, port -> {
            made[0] = new TasListener(this, ip, port, b, rxBufLen, txBufLen);
            return made[0];
        });
        sockets.add(made[0]);
        return made[0];
    }

    /** Opens a connection to {@code remote}; {@link TasEvents#CONNECTED} or {@link TasEvents#CONNECT_FAILED} follows. */
    public TasConnection connect(InetSocketAddress remote) {
        return connect(remote, null, 0, 0);
    }

    /**
     * Opens a connection from {@code local} (null = engine address, ephemeral port) with the given
     * ring sizes (0 = configured default).
     */
    public TasConnection connect(InetSocketAddress remote, InetSocketAddress local, int rxBufLen, int txBufLen) {
        checkOpen();
        if (remote.isUnresolved() || remote.getAddress().getAddress().length != 4) {
            throw new TasException("only IPv4 addresses are supported: " + remote);
        }
        EngineAccess e = engine.forNewSocket();
        TasFlow flow = e.newFlow(rxBufLen, txBufLen, remote);
        TasConnection c = new TasConnection(this, e, flow);
        try {
            e.connect(c, remote, local);
        } catch (RuntimeException x) {
            e.discard(flow); // refused before the engine saw it: nothing else will free it
            throw x;
        }
        sockets.add(c);
        return c;
    }

    /** Takes one established connection from {@code listener}'s queue, or null; its events come here. */
    public TasConnection accept(TasListener listener) {
        return accept(listener, this);
    }

    /** Takes one established connection and delivers its events to {@code target} from now on. */
    public TasConnection accept(TasListener listener, TasContext target) {
        TasConnection c = listener.pollAccept();
        if (c == null) {
            return null;
        }
        listener.unreserve();
        c.moveTo(target);
        return c;
    }

    /**
     * Delivers up to {@code max} sockets' events to {@code handler}; returns how many sockets had
     * events. Call from the owning thread.
     */
    public int poll(TasEventHandler handler, int max) {
        engine.deliver(this);
        int n = 0;
        while (n < max) {
            TasSocket s = ready.relaxedPoll();
            if (s == null) {
                break;
            }
            if (s.owner != this) {
                // Moved to another context after the event was queued here: pass it on.
                int ev = s.takeEvents();
                if (ev != 0) {
                    s.post(ev);
                }
                continue;
            }
            int ev = s.takeEvents();
            if (ev == 0) {
                continue;
            }
            if ((ev & TasEvents.CLOSED) != 0 || (ev & (TasEvents.CONNECT_FAILED)) != 0) {
                sockets.remove(s);
            }
            handler.onEvents(s, ev);
            n++;
        }
        return n;
    }

    /**
     * Owner, while it polls for events: lets the engine's fast paths run on this thread if nobody
     * else drives them, so frames from the port reach this context without a thread hand-off.
     * Returns the work done (events it produced show up in {@link #poll}).
     */
    public int pollEngine() {
        return engine.pollInline(this);
    }

    /** True if events wait (a hint: another thread may add some right after). */
    public boolean hasEvents() {
        return !ready.isEmpty();
    }

    /**
     * Blocks until events arrive, {@link #wakeup()} is called, or {@code timeoutNanos} passes
     * ({@code <= 0}: return at once; {@code Long.MAX_VALUE}: no timeout).
     */
    public void await(long timeoutNanos) {
        if (timeoutNanos <= 0) {
            return;
        }
        Runnable w = engine.contextWaker(this);
        if (w != null) {
            // Service mode: the service's events wake us on a word in shared memory, so producers
            // here (wakeup, the session thread's posts) wake us there too. Its events are
            // delivered here before and after, so that hasEvents() tells the truth on return.
            engine.deliver(this);
            externalWake = w;
            sleeping = EXTERNAL;
            try {
                if (ready.isEmpty() && !wakeupPending && !closed) {
                    engine.blockContext(this, w, timeoutNanos);
                }
            } finally {
                sleeping = AWAKE;
                wakeupPending = false;
            }
            engine.deliver(this);
            return;
        }
        waiter = Thread.currentThread();
        sleeping = PARKED;
        // Dekker pairing with enqueue(): our volatile store of `sleeping` comes before reading the
        // queue, and the producer's offer comes before its read of `sleeping`.
        try {
            if (!ready.isEmpty() || wakeupPending || closed) {
                return;
            }
            if (timeoutNanos == Long.MAX_VALUE) {
                LockSupport.park(this);
            } else {
                LockSupport.parkNanos(this, timeoutNanos);
            }
        } finally {
            sleeping = AWAKE;
            wakeupPending = false;
        }
    }

    /**
     * The owner is about to block somewhere else (a selector that also waits for kernel sockets,
     * say): from now until {@link #exitExternalWait()}, events and {@link #wakeup()} run {@code wake}
     * (once or more; it must make that blocking call return, and must not block itself) instead of
     * unparking the thread. Returns false, and the owner must not block, when events or a wake-up
     * are already pending; call {@link #exitExternalWait()} in either case.
     */
    public boolean enterExternalWait(Runnable wake) {
        externalWake = wake; // published by the volatile store of `sleeping` below
        sleeping = EXTERNAL;
        // Same Dekker pairing as await(): store `sleeping`, then look at the queue.
        return engine.waitElsewhere(this, true) && ready.isEmpty() && !wakeupPending && !closed;
    }

    /** The owner returned from the blocking call it announced with {@link #enterExternalWait}. */
    public void exitExternalWait() {
        sleeping = AWAKE;
        wakeupPending = false;
        engine.waitElsewhere(this, false);
    }

    /** Wakes the thread blocked in {@link #await}, or makes its next await return at once. */
    public void wakeup() {
        stampArrival();
        wakeupPending = true;
        wakeSleeper();
    }

    void enqueue(TasSocket s) {
        stampArrival();
        ready.offer(s);
        wakeSleeper();
    }

    /** Producer: the owner is idle and this is the first arrival since: note when (for its spin policy). */
    private void stampArrival() {
        if (idleSince != 0 && firstArrival == 0) {
            firstArrival = System.nanoTime(); // a racing second producer may overwrite: equally early
        }
    }

    /**
     * Owner: it found nothing to do at {@code now}. Until {@link #endIdle}, producers note when
     * the first event or wake-up arrives, so the owner learns how long the gap really was, without
     * its own wake-up latency.
     */
    public void beginIdle(long now) {
        firstArrival = 0;
        idleSince = now == 0 ? 1 : now;
    }

    /**
     * Owner: it found work again. Returns the nanoseconds from {@link #beginIdle} to the first
     * arrival, or -1 if nothing arrived through this context (a timer, a kernel socket) or it was
     * not idle.
     */
    public long endIdle() {
        long since = idleSince;
        if (since == 0) {
            return -1;
        }
        idleSince = 0;
        long first = firstArrival;
        return first == 0 ? -1 : Math.max(0, first - since);
    }

    /** After the producer's store (an event or wakeupPending): wakes the owner the way it sleeps. */
    private void wakeSleeper() {
        int how = sleeping;
        if (how == PARKED) {
            Thread t = waiter;
            if (t != null) {
                LockSupport.unpark(t);
            }
        } else if (how == EXTERNAL) {
            externalWake.run();
        }
    }

    void adopt(TasSocket s) {
        sockets.add(s);
    }

    void forget(TasSocket s) {
        sockets.remove(s);
    }

    void closeListener(TasListener l) {
        if (l.open) {
            l.open = false;
            sockets.remove(l);
            engine.unbind(l);
        }
    }

    /** Sockets (listeners and connections) this context currently owns. */
    public int socketCount() {
        return sockets.size();
    }

    private void checkOpen() {
        if (closed) {
            throw new TasException("context is closed");
        }
        if (!engine.isRunning()) {
            throw new TasException("engine is stopped");
        }
    }

    private static int ipOf(InetSocketAddress a) {
        if (a.getAddress() == null) {
            return 0;
        }
        byte[] b = a.getAddress().getAddress();
        if (b.length != 4) {
            // An IPv6 wildcard means "every address" to applications; anything else we cannot serve.
            if (a.getAddress().isAnyLocalAddress()) {
                return 0;
            }
            throw new TasException("only IPv4 addresses are supported: " + a);
        }
        return ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
    }

    /** Closes every listener and connection of this context (connections with RST if unread data), then the context. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (TasSocket s : sockets.toArray(new TasSocket[0])) {
            s.close();
        }
        sockets.clear();
        engine.contextClosed(this);
        wakeup();
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return "TasContext[" + id + "]";
    }
}
