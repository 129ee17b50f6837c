package io.tasnetty.engine.service;

import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasException;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.wire.Ipv4;

import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * An application's lasting attachment to the service in one directory: what an attached
 * {@code TasEngine} and its contexts hold, across restarts of the service.
 *
 * <p>Semantics of a restart: when the service stops or crashes, the current session
 * ({@link TasServiceClient}) fails every connection and listener with
 * {@link TasError#SERVICE_GONE}; nothing reconnects in the background. The next listen or connect
 * on any context of this attachment (for Netty: the next bind or connect on the same
 * {@code TasEventLoopGroup}) attaches anew if a service runs in the directory again, and fails at
 * once with the "no TAS service" error if not, so the application decides when to retry. Sockets
 * of the old session stay closed; their rings are unmapped once the application closed them all.
 * The service must come back with the same address ({@code ip-addr}): the transport chose paths
 * with the old one, so another address is refused with a message that says so.
 *
 * <p>Every socket keeps the session it was made on ({@link #forNewSocket}), so a command of a
 * connection from before a restart never reaches the new session, whose ids mean other sockets.
 */
public final class TasServiceAttachment extends TasServiceAccess implements AutoCloseable {
    private final Path dir;
    private final TasConfig config;
    private final TasContextIds contextIds = new TasContextIds();
    private volatile TasServiceClient current;
    private volatile boolean closed;
    private volatile long attaches;
    /** Per-application counters of sessions that ended, so that the totals stay monotonic. */
    private final long[] carried = new long[TasServiceAppCounter.values().length];

    private TasServiceAttachment(Path dir, TasServiceClient first) {
        this.dir = dir;
        this.config = first.config();
        this.current = first;
        this.attaches = 1;
    }

    /**
     * Attaches to the service in {@code dir} now (so that a missing or incompatible service is
     * reported at once).
     *
     * @throws TasException when no service runs there or it is incompatible
     */
    public static TasServiceAttachment attach(Path dir) {
        return new TasServiceAttachment(dir, TasServiceClient.attach(dir));
    }

    /** The configuration of the service as first attached (its address, ring sizes, limits). */
    @Override
    public TasConfig config() {
        return config;
    }

    public Path directory() {
        return dir;
    }

    /** Whether the current session is alive (false between a service's death and the next reattach). */
    public boolean isServiceAlive() {
        TasServiceClient c = current;
        return c != null && c.isAlive();
    }

    /** Sessions opened so far: 1 after the first attach, one more per reattach. */
    public long attaches() {
        return attaches;
    }

    /** A context in the service (one per event loop); it outlives restarts of the service. */
    public TasContext newContext() {
        if (closed) {
            throw new TasException("the attachment to the TAS service at " + dir + " is closed");
        }
        return new TasContext(this, contextIds.take());
    }

    /**
     * Whether a connection to {@code ip:port} on 127/8 reaches a listener of the service (see
     * {@link TasServiceClient#listensAt}); false when no service runs now (the kernel's loopback
     * then decides).
     */
    public boolean listensAt(int ip, int port) {
        try {
            return session().listensAt(ip, port);
        } catch (TasException gone) {
            return false;
        }
    }

    /** Its id (its event queue in the region) goes to the next context made. */
    @Override
    public void contextClosed(TasContext ctx) {
        contextIds.giveBack(ctx.id());
    }

    /**
     * One of this application's counters in the service ({@link TasServiceAppCounter}), summed
     * over every session of this attachment.
     */
    public long counter(TasServiceAppCounter c) {
        TasServiceClient s = current;
        synchronized (carried) {
            return carried[c.ordinal()] + (s == null ? 0 : s.appCounter(c));
        }
    }

    /**
     * The live session, attaching anew when the last one is gone.
     *
     * @throws TasException (SERVICE_GONE) when no service runs in the directory now
     */
    TasServiceClient session() {
        TasServiceClient c = current;
        if (c != null && c.isAlive()) {
            return c;
        }
        return reattach();
    }

    private synchronized TasServiceClient reattach() {
        if (closed) {
            throw new TasException("the attachment to the TAS service at " + dir + " is closed");
        }
        TasServiceClient old = current;
        if (old != null && old.isAlive()) {
            return old; // another thread reattached meanwhile
        }
        if (old != null) {
            old.awaitGone();
        }
        TasServiceClient fresh;
        try {
            fresh = TasServiceClient.attach(dir);
        } catch (TasException e) {
            throw new TasException("the TAS service at " + dir + " is gone and has not come back: " + e.getMessage(),
                TasError.SERVICE_GONE);
        }
        TasConfig now = fresh.config();
        if (now.ipAddr() != config.ipAddr() || now.ipPrefixLength() != config.ipPrefixLength()) {
            fresh.close();
            throw new TasException("the TAS service at " + dir + " came back with ip-addr "
                + Ipv4.toString(now.ipAddr()) + "/" + now.ipPrefixLength() + ", not "
                + Ipv4.toString(config.ipAddr()) + "/" + config.ipPrefixLength()
                + " as when this application attached: restart the application", TasError.SERVICE_GONE);
        }
        if (old != null) {
            synchronized (carried) {
                for (TasServiceAppCounter k : TasServiceAppCounter.values()) {
                    if (k.monotonic()) {
                        carried[k.ordinal()] += old.appCounter(k);
                    }
                }
                current = fresh;
            }
            old.unmapIfUnused();
        } else {
            current = fresh;
        }
        attaches++;
        return fresh;
    }

    // ------------------------------------------------------------------ EngineAccess

    @Override
    public TasContext.EngineAccess forNewSocket() {
        return session();
    }

    @Override
    public void command(TasFlow flow, int commands) {
        // Sockets hold their own session (forNewSocket); nothing is made on this object itself.
        TasServiceClient c = current;
        if (c != null) {
            c.command(flow, commands);
        }
    }

    @Override
    public TasFlow newFlow(int rxBufLen, int txBufLen) {
        return session().newFlow(rxBufLen, txBufLen);
    }

    @Override
    public void connect(TasConnection connection, InetSocketAddress remote, InetSocketAddress local) {
        session().connect(connection, remote, local);
    }

    @Override
    public int bind(TasContext ctx, int ip, int port, int backlog, int rxBufLen, int txBufLen,
                    TasContext.ListenerFactory f) {
        return session().bind(ctx, ip, port, backlog, rxBufLen, txBufLen, f);
    }

    @Override
    public void unbind(TasListener listener) {
        // Only the session that made it knows it; one that is gone has nothing to unbind.
        TasServiceClient c = current;
        if (c != null) {
            c.unbind(listener);
        }
    }

    @Override
    public int deliver(TasContext ctx) {
        TasServiceClient c = current;
        return c == null ? 0 : c.deliver(ctx);
    }

    @Override
    public int pollInline(TasContext ctx) {
        return deliver(ctx);
    }

    @Override
    public Runnable contextWaker(TasContext ctx) {
        TasServiceClient c = current;
        return c == null ? null : c.contextWaker(ctx);
    }

    @Override
    public void blockContext(TasContext ctx, Runnable waker, long timeoutNanos) {
        TasServiceClient.blockContext(waker, timeoutNanos); // in the session that made the waker
    }

    @Override
    public boolean waitElsewhere(TasContext ctx, boolean entering) {
        TasServiceClient c = current;
        return c == null || c.waitElsewhere(ctx, entering);
    }

    /** Usable until closed: a dead session is replaced on the next listen or connect. */
    @Override
    public boolean isRunning() {
        return !closed;
    }

    /** Detaches for good: the service resets what this application still holds. */
    @Override
    public synchronized void close() {
        closed = true;
        TasServiceClient c = current;
        if (c != null) {
            c.close();
        }
    }

    @Override
    public String toString() {
        return "TasServiceAttachment[" + dir + ", " + attaches + " session(s)]";
    }
}
