package io.tasnetty.transport;

import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.nio.NioIoEvent;
import io.netty.channel.nio.NioIoHandle;
import io.netty.channel.nio.NioIoOps;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The kernel's sockets of one TAS event loop: a JDK {@link Selector} with Netty's NIO registration
 * contract ({@link NioIoHandle}, {@link NioIoOps}, the {@link SelectionKey} as attachment), so the
 * kernel path of TAS channels and Netty's own NIO channels register on TAS loops alike.
 *
 * <p>Loop thread only, except {@link #wakeup()}, {@link #registrations()} and cancelling a
 * registration. The selector opens
 * with the first registration, so a loop that never meets a kernel socket holds no descriptor.
 */
final class KernelSelector {
    private static final InternalLogger logger = InternalLoggerFactory.getInstance(KernelSelector.class);

    /** The selector counts in milliseconds: shorter waits are not worth a select. */
    static final long MIN_BLOCK_NANOS = 1_000_000;

    private Selector selector;
    /** Live registrations; the loop looks at the selector only while there are some. */
    private final AtomicInteger registrations = new AtomicInteger();
    /**
     * A registration was cancelled: select once more. The JDK closes a registered socket only when
     * its key leaves the selector, at the next select; without one the peer would never see the close.
     */
    private volatile boolean flushPending;
    private final Consumer<SelectionKey> dispatch = this::dispatch;
    private int handled;
    /** Inside {@link #dispatch}: a select of ours is running its action. */
    private boolean dispatching;
    private boolean flushAfterDispatch;

    /** Registrations now (any thread). */
    int registrations() {
        return registrations.get();
    }

    /** True if {@link #selectNow()} has something to do: registered sockets, or a cancelled key to flush. */
    boolean isActive() {
        return registrations.get() > 0 || flushPending;
    }

    IoRegistration register(NioIoHandle handle) throws IOException {
        if (selector == null) {
            selector = Selector.open();
        }
        Registration r = new Registration(handle);
        r.key = handle.selectableChannel().register(selector, 0, r);
        registrations.incrementAndGet();
        handle.registered();
        return r;
    }

    /** Handles what is ready now; returns how many sockets had readiness. */
    int selectNow() {
        flushPending = false;
        if (selector == null) {
            return 0;
        }
        handled = 0;
        dispatching = true;
        try {
            selector.selectNow(dispatch);
        } catch (IOException e) {
            throw new UncheckedIOException("selecting kernel sockets failed", e);
        } finally {
            afterDispatch();
        }
        return handled;
    }

    private void afterDispatch() {
        dispatching = false;
        if (flushAfterDispatch) {
            flushAfterDispatch = false;
            flushCancelled();
        }
    }

    /**
     * Blocks up to {@code timeoutNanos} (rounded down to whole milliseconds, the selector's unit) or
     * until {@link #wakeup()}, then handles what is ready.
     */
    int select(long timeoutNanos) {
        flushPending = false;
        if (selector == null) {
            return 0;
        }
        handled = 0;
        long millis = Math.max(1, timeoutNanos / 1_000_000); // never 0: that would mean "forever"
        dispatching = true;
        try {
            selector.select(dispatch, millis);
        } catch (IOException e) {
            throw new UncheckedIOException("selecting kernel sockets failed", e);
        } finally {
            afterDispatch();
        }
        return handled;
    }

    /**
     * Loop thread: lets the JDK really close the sockets whose keys were cancelled (it defers the
     * close of a registered socket to the next select), so a closed listener stops accepting and
     * a closed connection sends its FIN or RST now, as after close(2). Readiness it sees now is
     * not lost: the selector reports it again (level-triggered).
     */
    void flushCancelled() {
        if (selector == null) {
            return;
        }
        if (dispatching) {
            flushAfterDispatch = true; // a select cannot nest in another's action: right after it
            return;
        }
        try {
            selector.selectNow();
            selector.selectedKeys().clear();
        } catch (IOException e) {
            throw new UncheckedIOException("selecting kernel sockets failed", e);
        }
    }

    /** Any thread: makes a blocked (or the next) {@link #select} return at once. */
    void wakeup() {
        Selector s = selector;
        if (s != null) {
            s.wakeup();
        }
    }

    private void dispatch(SelectionKey key) {
        Registration r = (Registration) key.attachment();
        handled++;
        if (!key.isValid()) {
            closeQuietly(r.handle);
            return;
        }
        try {
            r.handle.handle(r, r.event(key.readyOps()));
        } catch (Throwable t) {
            logger.warn("Unexpected exception while handling {}", r.handle, t);
        }
    }

    /** The loop is shutting down: closes every socket still registered. */
    void closeAll() {
        if (selector == null) {
            return;
        }
        List<Registration> all = new ArrayList<>();
        for (SelectionKey k : selector.keys()) {
            all.add((Registration) k.attachment());
        }
        for (Registration r : all) {
            r.cancel();
            closeQuietly(r.handle);
        }
        selectNow(); // let the JDK really close them
    }

    /** Closes the selector, and any socket still in it (without channel events: the loop has stopped). */
    void destroy() {
        if (selector != null) {
            try {
                for (SelectionKey k : selector.keys()) {
                    try {
                        k.channel().close();
                    } catch (IOException e) {
                        logger.debug("Failed to close {}", k.channel(), e);
                    }
                }
                selector.close();
            } catch (IOException e) {
                logger.warn("Failed to close the kernel selector", e);
            }
        }
    }

    private static void closeQuietly(NioIoHandle h) {
        try {
            h.close();
        } catch (Exception e) {
            logger.debug("Exception while closing {}", h, e);
        }
    }

    /** One socket's registration: its key is the attachment NIO channels expect. */
    private final class Registration implements IoRegistration, NioIoEvent {
        final NioIoHandle handle;
        SelectionKey key;
        private final AtomicBoolean cancelled = new AtomicBoolean();
        private int readyOps;

        Registration(NioIoHandle handle) {
            this.handle = handle;
        }

        /** This registration doubles as the (reused) event: valid only during handle(). */
        NioIoEvent event(int ready) {
            readyOps = ready;
            return this;
        }

        @Override
        public NioIoOps ops() {
            return NioIoOps.valueOf(readyOps);
        }

        @SuppressWarnings("unchecked")
        @Override
        public <T> T attachment() {
            return (T) key;
        }

        @Override
        public long submit(IoOps ops) {
            if (!isValid()) {
                return -1;
            }
            int v = ((NioIoOps) ops).value();
            key.interestOps(v);
            return v;
        }

        @Override
        public boolean isValid() {
            return !cancelled.get() && key.isValid();
        }

        @Override
        public boolean cancel() {
            if (!cancelled.compareAndSet(false, true)) {
                return false;
            }
            key.cancel();
            registrations.decrementAndGet();
            flushPending = true;
            handle.unregistered();
            return true;
        }

        @Override
        public String toString() {
            return "KernelRegistration[" + handle + (cancelled.get() ? ", cancelled" : "") + "]";
        }
    }
}
