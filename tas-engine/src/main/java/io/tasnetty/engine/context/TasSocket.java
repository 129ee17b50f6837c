package io.tasnetty.engine.context;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;

/**
 * A listener or a connection as the application sees it. Events for it are delivered to its
 * owning {@link TasContext}; the engine posts them without locks: event bits are OR-ed into
 * {@code pending}, and only the post that finds it empty enqueues the socket, so each socket sits
 * in at most one ready queue at a time and a burst of packets costs one wake-up.
 */
public abstract sealed class TasSocket permits TasListener, TasConnection {
    private static final VarHandle PENDING;

    static {
        try {
            PENDING = MethodHandles.lookup().findVarHandle(TasSocket.class, "pending", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    volatile TasContext owner;
    @SuppressWarnings("unused")
    private volatile int pending;
    private Object attachment;

    TasSocket(TasContext owner) {
        this.owner = owner;
    }

    /** Engine side, any thread: adds event bits and wakes the owning context if needed. */
    public final void post(int events) {
        // Always the atomic OR: it is also the full fence that orders the caller's ring publication
        // before the consumer's takeEvents(). A plain "already pending?" shortcut could read a
        // stale value and lose the wake-up for data published just before it.
        int old = (int) PENDING.getAndBitwiseOr(this, events);
        if (old == 0) {
            TasContext ctx = owner;
            if (ctx != null) {
                ctx.enqueue(this);
            }
        }
    }

    /** Context side: takes all pending event bits. */
    final int takeEvents() {
        return (int) PENDING.getAndSet(this, 0);
    }

    /** The context that receives this socket's events. */
    public TasContext context() {
        return owner;
    }

    /** An object of the application's (a Netty channel, say). */
    public Object attachment() {
        return attachment;
    }

    public void attach(Object attachment) {
        this.attachment = attachment;
    }

    public abstract InetSocketAddress localAddress();

    public abstract boolean isOpen();

    public abstract void close();
}
