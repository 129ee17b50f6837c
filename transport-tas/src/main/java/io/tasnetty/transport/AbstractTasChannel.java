package io.tasnetty.transport;

import io.netty.channel.AbstractChannel;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.util.concurrent.Future;

/**
 * What TAS stream and server channels share: registration with a {@link TasIoHandler} (which gives
 * the channel its loop's engine context), open/active state, and a read loop that can be resumed
 * later. The engine posts events whether or not the channel wants to read; a channel that does not
 * want to read simply leaves received bytes (or pending connections) in the engine, and checks for
 * them again when reading is requested ({@link #doBeginRead()}).
 */
public abstract class AbstractTasChannel extends AbstractChannel {
    private IoRegistration ioRegistration;
    /** The handler-side registration: carries the loop's context; attached to the engine socket. */
    TasIoRegistration registration;
    volatile boolean open = true;
    volatile boolean active;

    AbstractTasChannel(Channel parent) {
        super(parent);
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public boolean isActive() {
        return open && active;
    }

    @Override
    protected boolean isCompatible(EventLoop loop) {
        return loop instanceof IoEventLoop l && l.isCompatible(AbstractTasUnsafe.class);
    }

    @Override
    protected void doRegister(ChannelPromise promise) {
        IoEventLoop loop = (IoEventLoop) eventLoop();
        Future<IoRegistration> f = loop.register((AbstractTasUnsafe) unsafe());
        f.addListener(future -> {
            if (future.isSuccess()) {
                ioRegistration = f.getNow();
                registration = ioRegistration.attachment();
                try {
                    registered(registration);
                } catch (Throwable t) {
                    promise.setFailure(t);
                    return;
                }
                promise.setSuccess();
            } else {
                promise.setFailure(future.cause());
            }
        });
    }

    /** Loop thread: the channel now belongs to {@code r}'s loop (first or a later registration). */
    abstract void registered(TasIoRegistration r) throws Exception;

    @Override
    protected void doDeregister() {
        IoRegistration r = ioRegistration;
        if (r != null) {
            ioRegistration = null;
            r.cancel();
        }
    }

    /** The loop's context; only valid while registered. */
    final TasIoRegistration registrationOrThrow() {
        TasIoRegistration r = registration;
        if (r == null || !r.isValid()) {
            throw new IllegalStateException("channel not registered: " + this);
        }
        return r;
    }

    @Override
    protected void doBeginRead() {
        AbstractTasUnsafe u = (AbstractTasUnsafe) unsafe();
        u.readPending = true;
        u.readInterest(true); // kernel sockets: tell the selector; the engine reports everything anyway
        // The engine reported earlier events whether or not we wanted them: look again.
        if (u.hasInputWaiting()) {
            u.scheduleRead();
        }
    }

    /** Engine events of this channel's socket, on its loop. */
    abstract class AbstractTasUnsafe extends AbstractUnsafe implements TasIoHandle {
        /** Channel.read() was called (or autoRead is on) and no message was read since. */
        boolean readPending;
        private boolean readScheduled;
        private final Runnable readTask = () -> {
            readScheduled = false;
            if (isOpen() && (readPending || config().isAutoRead())) {
                readReady();
            }
        };

        @Override
        public final void handle(IoRegistration r, IoEvent event) {
            onEvents(((TasIoEvent) event).events());
        }

        /** {@link io.tasnetty.engine.context.TasEvents} bits for this channel's socket. */
        abstract void onEvents(int events);

        /** Reads (or accepts) what waits, within the RecvByteBufAllocator's limits. */
        abstract void readReady();

        /** Something waits in the engine that a read would consume or report. */
        abstract boolean hasInputWaiting();

        /** Whether the kernel's selector should report input readiness (no-op on the engine path). */
        void readInterest(boolean on) {
        }

        /** Resumes reading from a task: bytes left in the engine post no new event. */
        final void scheduleRead() {
            if (!readScheduled) {
                readScheduled = true;
                eventLoop().execute(readTask);
            }
        }

        final void clearReadPending() {
            readPending = false;
            readInterest(false);
        }

        /** After a read loop: continue later if reading is still wanted and input still waits. */
        final void maybeContinueReading() {
            boolean wanted = readPending || config().isAutoRead();
            if (!wanted) {
                readInterest(false); // as NIO: no read asked for, so stop listening for input
            } else if (isOpen() && hasInputWaiting()) {
                scheduleRead();
            }
        }

        @Override
        public final void close() {
            close(voidPromise());
        }
    }
}
