package io.tasnetty.transport;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.service.TasServiceAppCounter;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;

import java.util.List;
import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * Micrometer meters for a TAS engine and, given a {@link TasEventLoopGroup}, its event loops.
 * Micrometer is an optional dependency of the transport: this class is only loaded when used.
 *
 * <p>Engine, one meter per {@link TasCounter} and agent ({@code tas.<counter>}, e.g.
 * {@code tas.tcp.retransmitted.segments}, {@code tas.drop.rx.ring.full}, tag {@code agent} =
 * {@code fp0}, {@code fp1}, ..., {@code slow}), plus gauges {@code tas.flows},
 * {@code tas.ring.bytes.in.use}, {@code tas.listeners}, {@code tas.contexts}.
 *
 * <p>Per loop (tag {@code loop} = index in the group): {@code tas.loop.channels} (connections and
 * listeners registered), {@code tas.loop.events}, {@code tas.loop.bytes.read},
 * {@code tas.loop.bytes.written}, {@code tas.loop.ring.full} (writes that found the transmit ring
 * full), {@code tas.loop.blocks} (times the loop blocked for lack of work),
 * {@code tas.loop.connections} (connections opened or accepted, tag {@code path} = {@code engine}
 * or {@code kernel}: which path each took) and {@code tas.loop.pending.tasks} (its task-queue depth).
 *
 * <p>Attached to a service ({@code tas.service}), this application's figures in the service, one
 * meter per {@link TasServiceAppCounter} ({@code tas.service.<name>}, e.g.
 * {@code tas.service.sockets}, {@code tas.service.ring.bytes}, {@code tas.service.refused.socket.limit}),
 * read from the region the service shares with this application and summed over reattaches, plus
 * {@code tas.service.attaches} (sessions so far) and {@code tas.service.alive} (1 while the service
 * is there). The engine meters above then stay empty: the service's engine counters are read
 * with {@code TasStat} on the service's host.
 *
 * <p>Every meter reads the engine's single-writer counters or the loops' figures when the registry
 * asks; nothing is counted twice and the data path pays nothing for it.
 */
public final class TasMeterBinder implements MeterBinder {
    private final TasEngine engine;
    private final List<TasIoHandler> loops;
    private final Tags tags;

    /** Meters of {@code engine} only. */
    public TasMeterBinder(TasEngine engine, Iterable<Tag> tags) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.loops = List.of();
        this.tags = Tags.of(tags);
    }

    /** Meters of {@code group}'s engine and of each of its loops. */
    public TasMeterBinder(TasEventLoopGroup group, Iterable<Tag> tags) {
        this.engine = Objects.requireNonNull(group, "group").engine();
        this.loops = group.ioHandlers();
        this.tags = Tags.of(tags);
    }

    public TasMeterBinder(TasEventLoopGroup group) {
        this(group, Tags.empty());
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (TasCounters set : engine.counterSets()) {
            Tags agentTags = tags.and("agent", set.owner());
            for (TasCounter c : TasCounter.values()) {
                FunctionCounter.builder("tas." + c.metricName(), set, s -> s.get(c))
                    .description(c.description())
                    .tags(agentTags)
                    .register(registry);
            }
        }
        gauge(registry, "tas.flows", "connections the engine holds (including TIME_WAIT)", engine, TasEngine::flowCount, tags);
        gauge(registry, "tas.ring.bytes.in.use", "ring memory held by connections, bytes", engine,
            TasEngine::ringBytesInUse, tags);
        gauge(registry, "tas.ring.bytes.limit", "ring memory limit (shm-len), bytes", engine,
            TasEngine::ringBytesLimit, tags);
        gauge(registry, "tas.flows.limit", "most connections the engine holds (tcp-max-flows)", engine,
            TasEngine::flowLimit, tags);
        gauge(registry, "tas.listeners", "listening ports", engine, TasEngine::listenerCount, tags);
        gauge(registry, "tas.contexts", "engine contexts (one per event loop)", engine, TasEngine::contextCount, tags);
        if (engine.isAttached()) {
            for (TasServiceAppCounter c : TasServiceAppCounter.values()) {
                String name = "tas.service." + c.metricName();
                if (c.monotonic()) {
                    counter(registry, name, c.description(), engine, e -> e.serviceCounter(c), tags);
                } else {
                    gauge(registry, name, c.description(), engine, e -> e.serviceCounter(c), tags);
                }
            }
            counter(registry, "tas.service.attaches", "sessions with the service (one more per reattach after a restart)",
                engine, TasEngine::serviceAttaches, tags);
            gauge(registry, "tas.service.alive", "1 while the service this application attached to is there", engine,
                e -> e.isServiceAlive() ? 1 : 0, tags);
        }
        for (int i = 0; i < loops.size(); i++) {
            TasIoHandler h = loops.get(i);
            TasLoopStats s = h.stats();
            Tags loopTags = tags.and("loop", Integer.toString(i));
            gauge(registry, "tas.loop.channels", "channels registered on the loop", s, TasLoopStats::channels, loopTags);
            gauge(registry, "tas.loop.pending.tasks", "tasks waiting in the loop's queue", h,
                TasIoHandler::pendingTasks, loopTags);
            counter(registry, "tas.loop.events", "socket event sets the loop handled", s, TasLoopStats::events, loopTags);
            counter(registry, "tas.loop.bytes.read", "bytes read from receive rings", s, TasLoopStats::bytesRead,
                loopTags);
            counter(registry, "tas.loop.bytes.written", "bytes written into transmit rings", s,
                TasLoopStats::bytesWritten, loopTags);
            counter(registry, "tas.loop.ring.full", "writes that found the transmit ring full", s,
                TasLoopStats::ringFull, loopTags);
            counter(registry, "tas.loop.blocks", "times the loop blocked waiting for events", s, TasLoopStats::blocks,
                loopTags);
            counter(registry, "tas.loop.connections", "connections opened or accepted through the engine", s,
                TasLoopStats::engineConnections, loopTags.and("path", "engine"));
            counter(registry, "tas.loop.connections", "connections opened or accepted through kernel sockets", s,
                TasLoopStats::kernelConnections, loopTags.and("path", "kernel"));
        }
    }

    private static <T> void gauge(MeterRegistry r, String name, String description, T obj, ToDoubleFunction<T> f,
                                  Tags tags) {
        Gauge.builder(name, obj, f).description(description).tags(tags).register(r);
    }

    private static <T> void counter(MeterRegistry r, String name, String description, T obj, ToDoubleFunction<T> f,
                                    Tags tags) {
        FunctionCounter.builder(name, obj, f).description(description).tags(tags).register(r);
    }
}
