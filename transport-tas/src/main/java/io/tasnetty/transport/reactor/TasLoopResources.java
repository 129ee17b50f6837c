package io.tasnetty.transport.reactor;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.netty.util.concurrent.Future;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.transport.TasDatagramChannel;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasIoHandle;
import io.tasnetty.transport.TasServerSocketChannel;
import io.tasnetty.transport.TasSocketChannel;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.NonBlocking;
import reactor.netty.resources.LoopResources;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Reactor Netty on TAS: event loops and channels for {@code runOn}.
 * <pre>{@code
 * LoopResources tas = new TasLoopResources();
 * DisposableServer server = HttpServer.create().runOn(tas).host("127.0.0.1").port(8080).handle(...).bindNow();
 * HttpClient client = HttpClient.create().runOn(tas);
 * ...
 * tas.disposeLater().block();
 * }</pre>
 *
 * <p>One {@link TasEventLoopGroup} serves servers (accepting and serving, as Reactor's own default
 * does when no separate select count is given) and clients; clients see it through
 * {@link LoopResources#colocate}, so a connection opened from a loop's thread (a proxy, a client
 * call inside a handler) stays on that loop and its engine context. The loops start on first use.
 *
 * <p>Reactor asks for channels by kind ({@link #onChannel}): sockets and server sockets are
 * {@link TasSocketChannel} and {@link TasServerSocketChannel} (engine or kernel path per
 * connection), and the datagram channel its DNS resolver needs is {@link TasDatagramChannel} (UDP
 * through the kernel, on the same loops). Unix domain sockets are refused. The {@code useNative}
 * argument Reactor passes (epoll or io_uring if available) is ignored: these resources are TAS.
 *
 * <p>The loop threads are daemons, like the loops of Reactor's global resources, and are
 * {@link NonBlocking}: a blocking {@code block()} on them fails fast as it does on Reactor's own.
 *
 * <p>Create one and share it, as with Reactor's own {@code LoopResources}: Reactor keeps a DNS
 * resolver per {@code LoopResources} instance for the life of the process.
 */
public final class TasLoopResources implements LoopResources {
    /** What Reactor asks for, and what runs it on TAS loops. */
    private static final Map<Class<? extends Channel>, Kind> KINDS = Map.of(
        SocketChannel.class, new Kind(TasSocketChannel.class, TasSocketChannel::new),
        ServerSocketChannel.class, new Kind(TasServerSocketChannel.class, TasServerSocketChannel::new),
        DatagramChannel.class, new Kind(TasDatagramChannel.class, TasDatagramChannel::new));

    private record Kind(Class<? extends Channel> type, Supplier<? extends Channel> factory) {
    }

    private static final AtomicInteger INSTANCES = new AtomicInteger();

    /** Null for the process-wide default engine. */
    private final TasEngine engine;
    private final int workerCount;
    private final String threadPrefix = "reactor-tas-" + INSTANCES.incrementAndGet() + "-";
    private final AtomicReference<TasEventLoopGroup> loops = new AtomicReference<>();
    private final AtomicReference<EventLoopGroup> clientLoops = new AtomicReference<>();
    private final AtomicBoolean disposed = new AtomicBoolean();

    /**
     * Loops on the process-wide default engine (started from {@code -Dtas.*} with the first loop),
     * as many as Reactor's default ({@link LoopResources#DEFAULT_IO_WORKER_COUNT}: the cores, at
     * least 4, or {@code -Dreactor.netty.ioWorkerCount}).
     */
    public TasLoopResources() {
        this(DEFAULT_IO_WORKER_COUNT, null);
    }

    /** {@code workerCount} loops on the process-wide default engine. */
    public TasLoopResources(int workerCount) {
        this(workerCount, null);
    }

    /** Loops on {@code engine}, which the caller starts and stops (after {@link #disposeLater()}). */
    public TasLoopResources(TasEngine engine) {
        this(DEFAULT_IO_WORKER_COUNT, Objects.requireNonNull(engine, "engine"));
    }

    /** {@code workerCount} loops on {@code engine}, which the caller stops after disposing these. */
    public TasLoopResources(TasEngine engine, int workerCount) {
        this(workerCount, Objects.requireNonNull(engine, "engine"));
    }

    /** {@code engine} null: the process-wide default engine. */
    private TasLoopResources(int workerCount, TasEngine engine) {
        if (workerCount < 1) {
            throw new IllegalArgumentException("workerCount must be at least 1, was " + workerCount);
        }
        this.engine = engine;
        this.workerCount = workerCount;
    }

    /**
     * The TAS loops behind these resources (started now if they were not yet), e.g. for
     * {@code TasMeterBinder} or the loops' figures.
     *
     * @throws IllegalStateException once disposed
     */
    public TasEventLoopGroup eventLoopGroup() {
        if (disposed.get()) {
            throw new IllegalStateException(this + " is disposed");
        }
        TasEventLoopGroup g = loops.get();
        if (g != null) {
            return g;
        }
        TasEventLoopGroup created = engine == null
            ? new TasEventLoopGroup(workerCount, threadFactory())
            : new TasEventLoopGroup(workerCount, threadFactory(), engine);
        if (!loops.compareAndSet(null, created)) {
            created.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS); // another caller won the race
            return loops.get();
        }
        // disposeLater() sets the flag, then reads the group: one of the two sides sees the other.
        if (disposed.get()) {
            created.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new IllegalStateException(this + " is disposed");
        }
        return created;
    }

    @Override
    public EventLoopGroup onServer(boolean useNative) {
        return eventLoopGroup();
    }

    @Override
    public EventLoopGroup onServerSelect(boolean useNative) {
        return eventLoopGroup();
    }

    @Override
    public EventLoopGroup onClient(boolean useNative) {
        EventLoopGroup c = clientLoops.get();
        if (c == null) {
            // Reactor's pool looks for its colocated group type to pick the caller's loop.
            clientLoops.compareAndSet(null, LoopResources.colocate(eventLoopGroup()));
            c = clientLoops.get();
        }
        return c;
    }

    @Override
    public <CHANNEL extends Channel> CHANNEL onChannel(Class<CHANNEL> channelType, EventLoopGroup group) {
        if (!isTas(group)) {
            return LoopResources.super.onChannel(channelType, group);
        }
        return channelType.cast(kind(channelType).factory().get());
    }

    @Override
    public <CHANNEL extends Channel> Class<? extends CHANNEL> onChannelClass(Class<CHANNEL> channelType,
                                                                             EventLoopGroup group) {
        if (!isTas(group)) {
            return LoopResources.super.onChannelClass(channelType, group);
        }
        return kind(channelType).type().asSubclass(channelType);
    }

    /**
     * True for the groups these resources hand out (the colocated client view is not an
     * {@link IoEventLoopGroup}) and for any group of TAS loops. Another group someone passes in
     * keeps Reactor's own choice of channels, so it is never given a channel it cannot register.
     */
    private boolean isTas(EventLoopGroup group) {
        if (group == loops.get() || group == clientLoops.get()) {
            return true;
        }
        return group instanceof IoEventLoopGroup io && io.isCompatible(TasIoHandle.class);
    }

    private static Kind kind(Class<? extends Channel> channelType) {
        Kind k = KINDS.get(channelType);
        if (k == null) {
            throw new IllegalArgumentException("TasLoopResources has no channel for " + channelType.getSimpleName()
                + " (TAS serves TCP sockets and server sockets, and UDP for resolvers; not Unix domain sockets)");
        }
        return k;
    }

    @Override
    public boolean daemon() {
        return true;
    }

    @Override
    public boolean isDisposed() {
        return disposed.get();
    }

    /**
     * Shuts the loops down (gracefully: {@code quietPeriod} without new tasks, at most
     * {@code timeout}); the Mono completes when they have terminated. Later calls complete with
     * the same termination. With the default engine, the last loop to go stops the engine.
     */
    @Override
    public Mono<Void> disposeLater(Duration quietPeriod, Duration timeout) {
        return Mono.defer(() -> {
            boolean first = disposed.compareAndSet(false, true);
            TasEventLoopGroup g = loops.get();
            if (g == null) {
                return Mono.empty();
            }
            Future<?> done = first
                ? g.shutdownGracefully(quietPeriod.toMillis(), timeout.toMillis(), TimeUnit.MILLISECONDS)
                : g.terminationFuture();
            return Mono.create(sink -> done.addListener(f -> {
                if (f.isSuccess()) {
                    sink.success();
                } else {
                    sink.error(f.cause());
                }
            }));
        });
    }

    private ThreadFactory threadFactory() {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new LoopThread(r);
            t.setName(threadPrefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** A loop thread Reactor recognises as non-blocking (FastThreadLocalThread for Netty's thread-locals). */
    private static final class LoopThread extends FastThreadLocalThread implements NonBlocking {
        LoopThread(Runnable r) {
            super(r);
        }
    }

    @Override
    public String toString() {
        return "TasLoopResources[" + (engine == null ? "default engine" : engine) + ", " + workerCount + " loops"
            + (disposed.get() ? ", disposed" : "") + "]";
    }
}
