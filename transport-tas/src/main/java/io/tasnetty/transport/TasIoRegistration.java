package io.tasnetty.transport;

import io.netty.channel.IoEvent;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.context.TasContext;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A {@link TasIoHandle} registered with one {@link TasIoHandler}. It is also the registration's
 * {@linkplain #attachment() attachment} and what a channel attaches to its engine socket, so the
 * handler finds the handle of an event without a lookup and ignores events of sockets whose
 * registration is not (or no longer) its own.
 */
public final class TasIoRegistration implements IoRegistration {
    private final TasIoHandler handler;
    private final TasIoHandle handle;
    private final AtomicBoolean cancelled = new AtomicBoolean();

    TasIoRegistration(TasIoHandler handler, TasIoHandle handle) {
        this.handler = handler;
        this.handle = handle;
    }

    /** The engine context of the event loop this registration belongs to. */
    public TasContext context() {
        return handler.context();
    }

    /** The engine of that context. */
    public TasEngine engine() {
        return handler.engine();
    }

    /** The handler (one per event loop). */
    public TasIoHandler handler() {
        return handler;
    }

    TasIoHandle handle() {
        return handle;
    }

    /** This registration itself: it carries the context and the handler. */
    @SuppressWarnings("unchecked")
    @Override
    public <T> T attachment() {
        return (T) this;
    }

    /**
     * Not used: the engine reports every event of a socket to the context that owns it, so there is
     * no interest set to change. Channels decide what to do with an event themselves.
     */
    @Override
    public long submit(IoOps ops) {
        throw new UnsupportedOperationException("TAS registrations take no IoOps");
    }

    @Override
    public boolean isValid() {
        return !cancelled.get();
    }

    /** Any thread; the handle learns it ({@code unregistered()}) on the event loop. */
    @Override
    public boolean cancel() {
        if (!cancelled.compareAndSet(false, true)) {
            return false;
        }
        if (handler.inLoop()) {
            handler.unregister(this);
        } else {
            handler.executeOnLoop(() -> handler.unregister(this));
        }
        return true;
    }

    void deliver(IoEvent event) {
        handle.handle(this, event);
    }

    @Override
    public String toString() {
        return "TasIoRegistration[" + handle + " on " + handler.context() + (isValid() ? "" : ", cancelled") + "]";
    }
}
