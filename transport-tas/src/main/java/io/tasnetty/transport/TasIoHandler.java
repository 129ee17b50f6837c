package io.tasnetty.transport;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoRegistration;
import io.netty.channel.nio.NioIoHandle;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import io.netty.util.concurrent.ThreadAwareExecutor;
import io.netty.util.internal.StringUtil;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasEventHandler;
import io.tasnetty.engine.context.TasSocket;
import io.tasnetty.engine.idle.TasSpinPolicy;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Netty 4.2 {@link IoHandler} of one TAS event loop: it owns one engine {@link TasContext}, drains
 * its events and hands each to the {@link TasIoHandle} (channel) of the socket.
 *
 * <p>It also selects the kernel's sockets ({@link KernelSelector}): the kernel path of TAS
 * channels (connections the engine cannot serve, the kernel side of loopback and wildcard
 * listeners, UDP) and any {@link NioIoHandle}, so Netty's own NIO channels register on TAS loops
 * too. The selector is looked at only while kernel sockets are registered (and then, while engine
 * events keep the loop busy, only every few runs), so engine-only loops pay nothing for it.
 *
 * <p>{@link #run} polls the context; when nothing is ready and Netty allows blocking, it keeps
 * polling only as long as a {@link TasSpinPolicy} finds that polling pays (events coming in short
 * gaps, at most {@code fp-poll-interval-app}), then blocks until the engine posts an event, a task
 * arrives ({@link #wakeup()}), a kernel socket is ready, or the next scheduled task is due. There
 * is one blocking point: without kernel sockets the loop parks in {@link TasContext#await}; with
 * them it blocks in the selector, and the engine wakes it through the selector
 * ({@link TasContext#enterExternalWait}). An idle loop therefore costs no CPU, and a loop under
 * light load blocks between events as an NIO loop does.
 *
 * <p>Without an explicit engine the handler holds a reference on the process-wide default engine
 * (started from {@code -Dtas.*}) and gives it back in {@link #destroy()}; the engine stops when the
 * last handler lets go.
 */
public final class TasIoHandler implements IoHandler {
    private static final InternalLogger logger = InternalLoggerFactory.getInstance(TasIoHandler.class);
    /** Sockets whose events one {@link #run} hands out at most, so tasks are not starved. */
    private static final int MAX_SOCKETS_PER_RUN = 1024;
    /** Polling is worth it while events come this soon on average: about what blocking and waking cost. */
    static final long SPIN_WORTH_NANOS = Long.getLong("tas.debug.spin-worth-ns", 20_000);
    /** A probe after every this many wake-ups (see TasSpinPolicy). */
    static final int PROBE_EVERY = Integer.getInteger("tas.debug.spin-probe", 16);
    /** A yield that takes this long let another thread run: the CPU is contended. */
    private static final long YIELD_CONTENDED_NANOS = Long.getLong("tas.debug.yield-contended-ns", 20_000);
    /** Busy-wait this long into an idle period, then yield. */
    private static final long PURE_SPIN_NANOS = 5_000;
    /** While engine events keep the loop busy, the kernel's selector is polled once in this many runs. */
    private static final int KERNEL_POLL_EVERY = 8;

    private final ThreadAwareExecutor executor;
    private final TasEngine engine;
    private final boolean defaultEngine;
    private final TasContext context;
    /** How long to poll for events before blocking (fp-poll-interval-app is its maximum). */
    private final TasSpinPolicy spin;
    /** When the loop ran out of events (0: it has some), and how long it polls from then. */
    private long idleSince;
    private long spinBudget;
    private boolean wokenUp;
    private final TasIoEvent event = new TasIoEvent();
    private final Set<TasIoRegistration> registrations = new HashSet<>();
    private final TasEventHandler dispatcher = this::dispatch;
    private final TasLoopStats stats = new TasLoopStats();
    private boolean destroyed;
    /** Kernel sockets (and NIO channels) of this loop: readiness from the kernel's selector. */
    private final KernelSelector kernel = new KernelSelector();
    private int runsSinceKernelPoll;
    private final Runnable kernelWake = kernel::wakeup;

    private TasIoHandler(ThreadAwareExecutor executor, TasEngine engine) {
        this.executor = Objects.requireNonNull(executor, "executor");
        this.defaultEngine = engine == null;
        this.engine = defaultEngine ? TasDefaultEngine.acquire() : engine;
        try {
            this.context = this.engine.newContext();
        } catch (RuntimeException e) {
            if (defaultEngine) {
                TasDefaultEngine.release(this.engine);
            }
            throw e;
        }
        this.spin = new TasSpinPolicy(TimeUnit.MICROSECONDS.toNanos(this.engine.config().fpPollIntervalAppMicros()),
            SPIN_WORTH_NANOS, PROBE_EVERY);
    }

    /** Handlers on the process-wide default engine (started from {@code -Dtas.*} on first use). */
    public static IoHandlerFactory newFactory() {
        return executor -> new TasIoHandler(executor, null);
    }

    /** Handlers on {@code engine}, which the caller starts and stops (it outlives the handlers). */
    public static IoHandlerFactory newFactory(TasEngine engine) {
        Objects.requireNonNull(engine, "engine");
        return executor -> new TasIoHandler(executor, engine);
    }

    /** The engine this loop's context belongs to. */
    public TasEngine engine() {
        return engine;
    }

    /** The engine context this loop owns. */
    public TasContext context() {
        return context;
    }

    /** Figures of this loop (events, channels, bytes), readable from any thread. */
    public TasLoopStats stats() {
        return stats;
    }

    /** Tasks waiting in this loop's task queue (its scheduling backlog), or -1 if the loop cannot say. */
    public int pendingTasks() {
        return executor instanceof SingleThreadEventExecutor e ? e.pendingTasks() : -1;
    }

    boolean inLoop() {
        return executor.isExecutorThread(Thread.currentThread());
    }

    void executeOnLoop(Runnable task) {
        executor.execute(task);
    }

    @Override
    public int run(IoHandlerContext ctx) {
        boolean timed = ctx.shouldReportActiveIoTime();
        long start = timed ? System.nanoTime() : 0;
        int handled = context.poll(dispatcher, MAX_SOCKETS_PER_RUN);
        if (kernel.isActive() && (handled == 0 || ++runsSinceKernelPoll >= KERNEL_POLL_EVERY)) {
            runsSinceKernelPoll = 0;
            handled += kernel.selectNow();
        }
        boolean canBlock = ctx.canBlock();
        if (handled > 0 || !canBlock) {
            endIdle(); // events, or tasks for Netty to run
        } else {
            long now = System.nanoTime();
            if (idleSince == 0) {
                idleSince = now;
                context.beginIdle(now);
                spinBudget = spin.spinBudget(now);
            }
            long idle = now - idleSince;
            if (idle < spinBudget) {
                // Polling pays here (TasSpinPolicy): poll the port too if no fast-path thread does
                // (frames then reach us without a hand-off), return, Netty runs its tasks and calls
                // again. After a few microseconds yield rather than spin: another thread may need
                // this core.
                if (context.pollEngine() == 0) {
                    if (idle < PURE_SPIN_NANOS) {
                        Thread.onSpinWait();
                    } else {
                        Thread.yield();
                        // Late: another thread ran meanwhile (it may need this core; see TasSpinPolicy).
                        if (spin.afterYield(now, System.nanoTime(), YIELD_CONTENDED_NANOS)) {
                            spinBudget = 0; // a whole slice went elsewhere: block from now on
                        }
                    }
                }
            } else {
                long delay = ctx.delayNanos(now);
                if (delay > 0) {
                    stats.add(TasLoopStats.BLOCKS, 1);
                    block(delay);
                    wokenUp = true;
                }
                if (timed) {
                    start = System.nanoTime(); // blocking is not I/O work
                }
                handled += context.poll(dispatcher, MAX_SOCKETS_PER_RUN);
                if (handled > 0) {
                    endIdle();
                }
            }
        }
        if (timed) {
            ctx.reportActiveIoTime(handled == 0 ? 0 : System.nanoTime() - start);
        }
        return handled;
    }

    /** Blocks until an engine event, a task, kernel readiness or {@code delay} nanoseconds. */
    private void block(long delay) {
        if (kernel.registrations() > 0 && delay >= KernelSelector.MIN_BLOCK_NANOS) {
            // One blocking point for both: the selector, which the engine's events wake.
            // (For less than its millisecond the loop parks: kernel sockets wait that long.)
            if (context.enterExternalWait(kernelWake)) {
                try {
                    kernel.select(delay);
                } finally {
                    context.exitExternalWait();
                }
            } else {
                context.exitExternalWait();
            }
        } else {
            context.await(delay);
        }
    }

    /** Work arrived: tell the spin policy how long the loop was without. */
    private void endIdle() {
        if (idleSince != 0) {
            idleSince = 0;
            spin.workArrived(context.endIdle(), wokenUp);
            wokenUp = false;
        }
    }

    private void dispatch(TasSocket socket, int events) {
        stats.add(TasLoopStats.EVENTS, 1);
        // Only sockets registered here: a connection accepted on another loop may still report here
        // until its channel registers and moves it (its channel re-checks its state then).
        if (socket.attachment() instanceof TasIoRegistration r && r.handler() == this && r.isValid()) {
            event.events(events);
            try {
                r.deliver(event);
            } catch (Throwable t) {
                logger.warn("Unexpected exception while handling events of {}", r, t);
            }
        }
    }

    @Override
    public void wakeup() {
        if (!inLoop()) {
            context.wakeup();
        }
    }

    @Override
    public IoRegistration register(IoHandle handle) throws Exception {
        if (destroyed) {
            throw new IllegalStateException("TasIoHandler is destroyed");
        }
        if (handle instanceof NioIoHandle nio) {
            return registerKernel(nio);
        }
        TasIoRegistration r = new TasIoRegistration(this, cast(handle));
        registrations.add(r);
        stats.add(TasLoopStats.CHANNELS, 1);
        r.handle().registered();
        return r;
    }

    /**
     * Registers a kernel socket (a TAS channel's kernel path, or any NIO channel) with this loop's
     * selector. Loop thread. Its interest starts empty; {@link IoRegistration#submit} sets it.
     */
    IoRegistration registerKernel(NioIoHandle handle) throws Exception {
        return kernel.register(handle);
    }

    /** Loop thread: closes now the kernel sockets whose registrations were cancelled. */
    void flushKernelCloses() {
        kernel.flushCancelled();
    }

    /** Kernel sockets registered now. */
    int kernelRegistrations() {
        return kernel.registrations();
    }

    void unregister(TasIoRegistration r) {
        if (registrations.remove(r)) {
            stats.add(TasLoopStats.CHANNELS, -1);
            r.handle().unregistered();
        }
    }

    private static TasIoHandle cast(IoHandle handle) {
        if (handle instanceof TasIoHandle h) {
            return h;
        }
        throw new IllegalArgumentException("IoHandle of type " + StringUtil.simpleClassName(handle) + " not supported");
    }

    @Override
    public boolean isCompatible(Class<? extends IoHandle> handleType) {
        return TasIoHandle.class.isAssignableFrom(handleType) || NioIoHandle.class.isAssignableFrom(handleType);
    }

    /** Closes every channel still registered (the loop is shutting down). */
    @Override
    public void prepareToDestroy() {
        List<TasIoRegistration> all = new ArrayList<>(registrations);
        for (TasIoRegistration r : all) {
            try {
                r.handle().close();
            } catch (Exception e) {
                logger.warn("Failed to close {}", r, e);
            }
        }
        kernel.closeAll();
    }

    /** Closes the context (and so every socket it still owns) and lets go of the engine. */
    @Override
    public void destroy() {
        if (destroyed) {
            return;
        }
        destroyed = true;
        try {
            // Netty may stop a loop without prepareToDestroy (a zero quiet period racing the
            // shutdown): destroy() also closes the kernel sockets still registered.
            kernel.destroy();
            context.close();
            // Deliver what the close produced so no socket lingers in the ready queue.
            context.poll((s, ev) -> { }, Integer.MAX_VALUE);
        } finally {
            if (defaultEngine) {
                TasDefaultEngine.release(engine);
            }
        }
    }

    @Override
    public String toString() {
        return "TasIoHandler[" + context + " of " + engine + "]";
    }
}
