package io.tasnetty.transport;

import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.ThreadAwareExecutor;
import io.tasnetty.engine.TasEngine;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;

/**
 * Event loops on a TAS engine: each loop runs a {@link TasIoHandler} that owns one engine context.
 * The drop-in for {@code NioEventLoopGroup}: the same constructors, used with
 * {@link TasServerSocketChannel} and {@link TasSocketChannel}.
 *
 * <p>Without an engine argument the loops share the process-wide default engine, started from
 * {@code -Dtas.*} system properties when the first loop needs it and stopped when the last loop
 * using it shuts down. With an engine argument the caller owns the engine and stops it after the
 * group.
 */
public class TasEventLoopGroup extends MultiThreadIoEventLoopGroup {
    private final RecordingFactory factory;

    /** Default number of threads (twice the cores, or {@code io.netty.eventLoopThreads}), default engine. */
    public TasEventLoopGroup() {
        this(0);
    }

    /** {@code nThreads} loops on the default engine (0 = default number). */
    public TasEventLoopGroup(int nThreads) {
        this(nThreads, (ThreadFactory) null);
    }

    public TasEventLoopGroup(ThreadFactory threadFactory) {
        this(0, threadFactory);
    }

    public TasEventLoopGroup(int nThreads, ThreadFactory threadFactory) {
        this(nThreads, threadFactory, new RecordingFactory(null));
    }

    public TasEventLoopGroup(int nThreads, Executor executor) {
        this(nThreads, executor, new RecordingFactory(null));
    }

    /** {@code nThreads} loops on {@code engine}, which the caller stops after this group. */
    public TasEventLoopGroup(int nThreads, TasEngine engine) {
        this(nThreads, (ThreadFactory) null, engine);
    }

    public TasEventLoopGroup(int nThreads, ThreadFactory threadFactory, TasEngine engine) {
        this(nThreads, threadFactory, new RecordingFactory(requireEngine(engine)));
    }

    public TasEventLoopGroup(int nThreads, Executor executor, TasEngine engine) {
        this(nThreads, executor, new RecordingFactory(requireEngine(engine)));
    }

    private TasEventLoopGroup(int nThreads, ThreadFactory threadFactory, RecordingFactory factory) {
        super(nThreads, threadFactory, factory);
        this.factory = factory;
    }

    private TasEventLoopGroup(int nThreads, Executor executor, RecordingFactory factory) {
        super(nThreads, executor, factory);
        this.factory = factory;
    }

    private static TasEngine requireEngine(TasEngine engine) {
        if (engine == null) {
            throw new NullPointerException("engine");
        }
        return engine;
    }

    /** The engine the loops of this group use. */
    public TasEngine engine() {
        List<TasIoHandler> h = factory.handlers;
        return h.isEmpty() ? factory.engine : h.get(0).engine();
    }

    /** The handlers of this group's loops, one per loop (for metrics and diagnostics). */
    public List<TasIoHandler> ioHandlers() {
        return Collections.unmodifiableList(new ArrayList<>(factory.handlers));
    }

    /** Creates the handlers (default or explicit engine) and remembers them for {@link #ioHandlers()}. */
    private static final class RecordingFactory implements IoHandlerFactory {
        final TasEngine engine;
        final IoHandlerFactory delegate;
        final List<TasIoHandler> handlers = new CopyOnWriteArrayList<>();

        RecordingFactory(TasEngine engine) {
            this.engine = engine;
            this.delegate = engine == null ? TasIoHandler.newFactory() : TasIoHandler.newFactory(engine);
        }

        @Override
        public IoHandler newHandler(ThreadAwareExecutor ioExecutor) {
            TasIoHandler h = (TasIoHandler) delegate.newHandler(ioExecutor);
            handlers.add(h);
            return h;
        }
    }
}
