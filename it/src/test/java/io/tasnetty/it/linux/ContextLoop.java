package io.tasnetty.it.linux;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.context.TasSocket;
import java.net.InetSocketAddress;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One engine context driven by its own thread, the way a Netty event loop drives it: run queued
 * tasks, deliver events to each socket's {@link Handler} (its attachment), and block in
 * {@link TasContext#await} when there is nothing to do (no spinning: these machines have two
 * cores). Everything that touches a socket runs on this thread, through {@link #call}.
 */
final class ContextLoop implements AutoCloseable {
    /** Reacts to a socket's events; attached to the socket. */
    interface Handler {
        void onEvents(TasSocket s, int events);
    }

    final TasContext ctx;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private volatile boolean running = true;
    private volatile Throwable failure;

    ContextLoop(TasEngine engine, String name) {
        this.ctx = engine.newContext();
        this.thread = Thread.ofPlatform().daemon().name(name).start(this::run);
    }

    private void run() {
        while (running) {
            Runnable r;
            boolean busy = false;
            while ((r = tasks.poll()) != null) {
                busy = true;
                try {
                    r.run();
                } catch (Throwable t) {
                    fail(t);
                }
            }
            try {
                busy |= ctx.poll((s, ev) -> {
                    if (s.attachment() instanceof Handler h) {
                        h.onEvents(s, ev);
                    }
                }, 256) > 0;
            } catch (Throwable t) {
                fail(t);
            }
            if (!busy && tasks.isEmpty()) {
                ctx.await(TimeUnit.MILLISECONDS.toNanos(50));
            }
        }
        ctx.close();
    }

    private void fail(Throwable t) {
        if (failure == null) {
            failure = t;
        }
        t.printStackTrace();
    }

    /** The first exception a handler or task threw on the loop, or null. */
    Throwable failure() {
        return failure;
    }

    void execute(Runnable r) {
        tasks.add(r);
        ctx.wakeup();
    }

    /** Runs {@code c} on the loop thread and waits for its result. */
    <T> T call(Callable<T> c) {
        CompletableFuture<T> f = new CompletableFuture<>();
        execute(() -> {
            try {
                f.complete(c.call());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Listens on {@code port}; every accepted connection gets a handler from {@code perConnection}. */
    TasListener listen(int port, int backlog, Supplier<Handler> perConnection) {
        return call(() -> {
            TasListener l = ctx.listen(new InetSocketAddress("0.0.0.0", port), backlog);
            l.attach((Handler) (s, ev) -> {
                TasConnection c;
                while ((c = ctx.accept(l)) != null) {
                    Handler h = perConnection.get();
                    c.attach(h);
                    // Data may have arrived before accept: let the handler look at once.
                    h.onEvents(c, io.tasnetty.engine.context.TasEvents.CONNECTED);
                }
            });
            return l;
        });
    }

    /** Connects to {@code remote} with handler {@code h}. */
    TasConnection connect(InetSocketAddress remote, Handler h) {
        return call(() -> {
            TasConnection c = ctx.connect(remote);
            c.attach(h);
            return c;
        });
    }

    @Override
    public void close() {
        running = false;
        ctx.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
