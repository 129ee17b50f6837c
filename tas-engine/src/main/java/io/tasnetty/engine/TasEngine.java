package io.tasnetty.engine;

import io.tasnetty.engine.cc.TasCcAlgorithm;
import io.tasnetty.engine.cc.TasConstRate;
import io.tasnetty.engine.cc.TasCubic;
import io.tasnetty.engine.cc.TasDctcpRate;
import io.tasnetty.engine.cc.TasDctcpWindow;
import io.tasnetty.engine.cc.TasTimely;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.config.TasConfigException;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasException;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.fast.TasFastPath;
import io.tasnetty.engine.flow.TasByteRing;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TasTcbSlab;
import io.tasnetty.engine.flow.TasRingAllocator;
import io.tasnetty.engine.idle.TasSpinPolicy;
import io.tasnetty.engine.port.PacketBuffer;
import io.tasnetty.engine.port.TasPort;
import io.tasnetty.engine.port.TasRss;
import io.tasnetty.engine.service.TasServiceAppCounter;
import io.tasnetty.engine.service.TasServiceAttachment;
import io.tasnetty.engine.slow.TasKernelPath;
import io.tasnetty.engine.slow.TasSlowPath;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TAS engine: a user-space TCP/IP service on one port. {@link #start(TasConfig)} opens the port
 * the configuration names and runs one thread per fast-path core plus one slow-path thread;
 * applications talk to it through {@link TasContext}s.
 *
 * <p>For tests, {@link Builder#manual(TasClock)} builds an engine with no threads: the test calls
 * {@link #poll(long)} to run every agent's duty cycle at a time it chooses.
 */
public final class TasEngine implements AutoCloseable {
    /** Pure spinning before an idle fast path starts yielding (then blocks, see runFastPath). */
    private static final long SPIN_NANOS = 5_000;
    /** A yield that takes this long let another thread run: the CPU is contended. */
    private static final long YIELD_CONTENDED_NANOS = 20_000;
    /** An idle fast-path thread sleeps at most this long after work (doubling up to MAX_SLEEP_NANOS). */
    private static final long MIN_SLEEP_CAP_NANOS = 1_000_000;
    /** The longest an idle fast-path thread sleeps between timers: about ten wake-ups a second. */
    private static final long MAX_SLEEP_NANOS = 100_000_000;
    /** Fast-path thread: polling pays while work comes this soon on average (see TasSpinPolicy). */
    private static final long FP_SPIN_WORTH_NANOS = 20_000;
    /**
     * Poll-only port (no rx interrupts, e.g. net_memif): the shortest nap between polls once a
     * thread has polled for its window; naps then grow with the time without frames (an eighth of
     * it) up to {@link #POLL_ONLY_MAX_NAP_NANOS}.
     */
    static final long POLL_ONLY_MIN_NAP_NANOS = 50_000;
    /**
     * Poll-only port: the longest nap between bursts of traffic, reached after 40 ms without
     * frames; a frame after a silence shorter than {@link #POLL_ONLY_LONG_SILENCE_NANOS} waits at
     * most this long.
     */
    static final long POLL_ONLY_MAX_NAP_NANOS = 5_000_000;
    /** Poll-only port: no frame for this long, and the port is idle rather than between requests. */
    static final long POLL_ONLY_LONG_SILENCE_NANOS = 1_000_000_000;
    /**
     * Poll-only port, idle: the longest nap, 50 wake-ups a second. A wake-up costs what the
     * machine charges for a timer and two context switches whatever the thread then does: on
     * these virtual machines 77-108 us (a bare parkNanos loop), so 5 ms naps cost an idle engine
     * 1.5% of a core and these 0.7-0.8% (two engines over memif, 8 idle connections, 10 s). The first
     * frame after a silence of a second or more waits up to this long; an application thread that
     * sends then wakes its own engine's napping thread (TasFastPath#driveInline), so a reply waits
     * no nap at its end.
     */
    static final long POLL_ONLY_IDLE_NAP_NANOS = 20_000_000;
    private final TasConfig config;
    private final TasEngineParams params;
    private final TasPort port;
    private final TasClock clock;
    private final boolean threaded;
    private final TasFastPath[] fastPaths;
    private final TasSlowPath slowPath;
    private final TasRingAllocator rings;
    /** Ring size of a connection looped inside the engine where the application set none ({@code tcp-loopback-buf-len}). */
    private final int loopbackBufLen;
    /** Off-heap per-flow records (TCBs). */
    private final TasTcbSlab tcbs = new TasTcbSlab();
    /** kni-name: the kernel exception path, or null. */
    private final TasKernelPath kernelPath;
    private final List<TasCounters> counterSets = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicInteger contextIds = new AtomicInteger();
    private final AtomicInteger liveContexts = new AtomicInteger();
    private final Access access = new Access();
    private final Internals internals = new Internals();
    private volatile boolean running = true;
    /** Application threads run the fast path's duty cycle for the work they hand it (not fp-no-inline). */
    private final boolean inline;
    /** Attached to a service ({@code tas.service}): no port, no agents here; null when embedded. */
    private final TasServiceAttachment attached;

    /** An engine that is a handle on a running service: contexts live there, nothing runs here. */
    private TasEngine(TasServiceAttachment client) {
        this.attached = client;
        this.config = client.config();
        this.port = null;
        this.clock = TasClock.SYSTEM;
        this.threaded = true;
        this.inline = false;
        this.params = params(config, config.mtu(), 0, 1);
        this.rings = null;
        this.loopbackBufLen = config.tcpLoopbackBufLen();
        this.fastPaths = new TasFastPath[0];
        this.slowPath = null;
        this.kernelPath = null;
    }

    private TasEngine(TasConfig config, TasPort port, TasClock clock, boolean threaded) {
        this.attached = null;
        this.config = config;
        this.port = port;
        this.clock = clock;
        this.threaded = threaded;
        this.inline = threaded && !config.fpNoInline();
        this.params = params(config, port);
        this.rings = new TasRingAllocator(config.shmLen());
        this.loopbackBufLen = config.tcpLoopbackBufLen();
        TasCcAlgorithm cc = congestionControl(config);
        long now = clock.nanoTime();
        this.fastPaths = new TasFastPath[params.queues()];
        for (int q = 0; q < fastPaths.length; q++) {
            TasCounters c = new TasCounters("fp" + q);
            counterSets.add(c);
            fastPaths[q] = new TasFastPath(q, port, params, c, cc, internals, now);
        }
        TasCounters sc = new TasCounters("slow");
        counterSets.add(sc);
        long seed = config.seed();
        long k0;
        long k1;
        if (seed == 0) {
            SecureRandom r = new SecureRandom();
            k0 = r.nextLong();
            k1 = r.nextLong();
        } else {
            SplittableRandom r = new SplittableRandom(seed);
            k0 = r.nextLong();
            k1 = r.nextLong();
        }
        this.slowPath = new TasSlowPath(params, port, sc, internals, config.ipRoutes(), k0, k1);
        String kni = config.kniName();
        if (kni != null && !kni.isEmpty()) {
            TasCounters kc = new TasCounters("kni");
            counterSets.add(kc);
            this.kernelPath = TasKernelPath.open(kni, params.mac(), port, b -> fastPaths[0].transmitForeign(b), kc);
        } else {
            this.kernelPath = null;
        }
    }

    /**
     * Starts an engine on the port {@code config} names, with its threads running; with the
     * {@code service} option set, attaches to the service running there instead ({@link #attach}).
     */
    public static TasEngine start(TasConfig config) {
        if (!config.service().isEmpty()) {
            return attach(Path.of(config.service()));
        }
        return builder().config(config).build();
    }

    /**
     * Attaches to the service whose directory is {@code dir} (service mode): contexts of the
     * returned engine live in that service, which owns the port; this process needs no privileges.
     * If the service stops and comes back, the next listen or connect attaches anew (see
     * {@link TasServiceAttachment}): the engine and its contexts stay usable.
     *
     * @throws TasException when no service runs there or it is incompatible
     */
    public static TasEngine attach(Path dir) {
        return new TasEngine(TasServiceAttachment.attach(dir));
    }

    /** Whether this engine is attached to a service rather than running here. */
    public boolean isAttached() {
        return attached != null;
    }

    /** Attached: whether the service is there now (false between its death and the next reattach). */
    public boolean isServiceAlive() {
        return attached != null && attached.isServiceAlive();
    }

    /** Attached: sessions with the service so far (1, plus one per reattach after a restart); 0 embedded. */
    public long serviceAttaches() {
        return attached == null ? 0 : attached.attaches();
    }

    /** Attached: this application's counter in the service, over all its sessions; 0 embedded. */
    public long serviceCounter(TasServiceAppCounter c) {
        return attached == null ? 0 : attached.counter(c);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds engines; the port defaults to what the configuration's {@code port} option names. */
    public static final class Builder {
        private TasConfig config;
        private TasPort port;
        private TasClock clock = TasClock.SYSTEM;
        private boolean threaded = true;

        public Builder config(TasConfig config) {
            this.config = config;
            return this;
        }

        /** Use this port instead of opening the one the configuration names. */
        public Builder port(TasPort port) {
            this.port = port;
            return this;
        }

        /** No threads: the caller drives the engine with {@link TasEngine#poll(long)} on {@code clock}. */
        public Builder manual(TasClock clock) {
            this.clock = clock;
            this.threaded = false;
            return this;
        }

        public TasEngine build() {
            TasConfig c = config != null ? config : TasConfig.fromSystemProperties();
            TasPort p = port != null ? port : TasPorts.open(c);
            try {
                TasEngine e = new TasEngine(c, p, clock, threaded);
                try {
                    p.start();
                } catch (RuntimeException | Error ex) {
                    if (e.kernelPath != null) {
                        e.kernelPath.close();
                    }
                    throw ex;
                }
                if (threaded) {
                    e.startThreads();
                }
                return e;
            } catch (RuntimeException | Error ex) {
                if (port == null) {
                    p.close();
                }
                throw ex;
            }
        }
    }

    static TasEngineParams params(TasConfig c, TasPort port) {
        return params(c, port.mtu(), port.macAddress(), port.queueCount());
    }

    private static TasEngineParams params(TasConfig c, int portMtu, long mac, int portQueues) {
        int mtu = Math.min(c.mtu(), portMtu);
        int mss = c.tcpMss() > 0 ? c.tcpMss() : mtu - 40;
        // More cores than queues would leave cores idle: use what the port has.
        int queues = Math.min(c.fpCoresMax(), portQueues);
        long us = 1000L;
        return new TasEngineParams(c.ipAddr(), c.ipPrefixLength(), mac, mtu, mss, queues,
            c.tcpHandshakeTimeoutMicros() * us, c.tcpRtoMinMicros() * us, c.tcpRtoMaxMicros() * us,
            c.tcpHandshakeRetries(), 15,
            c.tcpTimeWaitMicros() * us, c.tcpKeepaliveIdleMicros() * us, c.tcpKeepaliveIntervalMicros() * us,
            c.tcpKeepaliveProbes(), c.tcpTimestamps(), c.tcpWindowScale(), c.tcpSack(), c.tcpEcn(),
            c.tcpRxbufLen(), c.tcpTxbufLen(), c.tcpRxbufMax(), c.tcpTxbufMax(), c.tcpMaxFlows(), c.tcpListenBacklogMax(),
            c.fpPollIntervalTasMicros() * us, c.fpNoInts(), c.fpNoXsumOffload(),
            c.arpTimeoutMicros() * us, c.arpTimeoutMaxMicros() * us, c.arpRetries(), c.seed());
    }

    private static TasCcAlgorithm congestionControl(TasConfig c) {
        long mbps = 1_000_000L / 8; // bytes per second in one Mbit/s
        return switch (c.cc()) {
            case CUBIC -> new TasCubic();
            case DCTCP_RATE -> new TasDctcpRate(c.ccDctcpInitMbps() * mbps, c.ccDctcpStepMbps() * mbps,
                c.ccDctcpMinMbps() * mbps, Math.max(1, c.tcpLinkBwMbps()) * mbps, c.ccDctcpWeight(),
                c.ccControlIntervalRtts(), c.tcpRttInitMicros() * 1_000, c.ccDctcpMinpkts());
            case DCTCP_WIN -> new TasDctcpWindow(c.ccDctcpWeight());
            case CONST_RATE -> new TasConstRate(c.ccConstRateMbps() * mbps);
            case TIMELY -> new TasTimely(c.ccDctcpInitMbps() * mbps, c.ccTimelyStepMbps() * mbps,
                c.ccDctcpMinMbps() * mbps, Math.max(1, c.tcpLinkBwMbps()) * mbps,
                c.ccTimelyTlowMicros() * 1_000, c.ccTimelyThighMicros() * 1_000, c.ccTimelyAlpha(),
                c.ccTimelyBeta(), c.ccControlIntervalRtts(), c.tcpRttInitMicros() * 1_000);
        };
    }

    // ------------------------------------------------------------------ threads

    private void startThreads() {
        for (TasFastPath fp : fastPaths) {
            Thread t = Thread.ofPlatform().daemon().name("tas-fp-" + fp.queue()).unstarted(() -> runFastPath(fp));
            threads.add(t);
        }
        Thread s = Thread.ofPlatform().daemon().name("tas-slow").unstarted(this::runSlowPath);
        threads.add(s);
        threads.forEach(Thread::start);
        if (kernelPath != null) {
            kernelPath.start();
        }
    }

    /**
     * Fast-path duty cycle: poll while there is work; when there is none, poll on only as long as
     * {@link TasSpinPolicy} finds it pays (at most {@code fp-poll-interval-tas}), then block until a
     * frame, a command, a timer, or work an application thread left (unless {@code fp-no-ints}).
     * With application threads driving the duty cycle themselves (run to completion), the gaps
     * this thread sees are long and it blocks at once.
     */
    private void runFastPath(TasFastPath fp) {
        if (!port.capabilities().rxInterrupts() && !params.noInts()) {
            runPollOnlyFastPath(fp);
            return;
        }
        TasSpinPolicy spin = new TasSpinPolicy(params.pollIntervalNanos(), FP_SPIN_WORTH_NANOS, 16);
        long idleSince = -1;
        long spinBudget = 0;
        boolean wokenUp = false;
        // The longest this thread sleeps without a timer: short after work, doubling while idle.
        // An rx interrupt should wake it sooner, but edge-triggered interrupts (DPDK's tap PMD,
        // for one) can miss a frame another thread left behind; then the frame waits this long.
        long sleepCap = MIN_SLEEP_CAP_NANOS;
        fp.bindAgentThread();
        while (running) {
            long now = clock.nanoTime();
            int work = fp.driveOnce(now);
            if (work > 0) {
                if (idleSince >= 0) {
                    spin.workArrived(now - idleSince, wokenUp);
                    idleSince = -1;
                    wokenUp = false;
                }
                sleepCap = MIN_SLEEP_CAP_NANOS;
                continue;
            }
            if (idleSince < 0) {
                idleSince = now;
                spinBudget = spin.spinBudget(now);
            }
            long idle = now - idleSince;
            if (params.noInts() || idle < spinBudget) {
                // Spin briefly for latency, then yield so that on a machine with few cores the
                // application threads this engine serves still get to run.
                if (idle < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                    // Late: another thread ran meanwhile (it may need this core; see TasSpinPolicy).
                    if (spin.afterYield(now, clock.nanoTime(), YIELD_CONTENDED_NANOS)) {
                        spinBudget = 0; // a whole slice went elsewhere: block from now on
                    }
                }
                continue;
            }
            fp.idle(now, sleepCap);
            sleepCap = Math.min(MAX_SLEEP_NANOS, sleepCap * 2);
            wokenUp = true;
        }
    }

    /**
     * Fast-path duty cycle on a port that cannot wake a sleeping thread (no rx interrupts, no
     * socket to sleep on: net_memif, say). There blocking is not the alternative to polling:
     * napping is, and a nap delays the next frame by up to its length on every hop. Two engines
     * exchanging requests then see each other's naps as long gaps, and TasSpinPolicy's averages
     * settle on napping for ever (TAS to TAS over memif, one connection: 5,000 requests/s at 150
     * us p50 and 110 CPU-us per request, where this loop does 30,000-50,000 at 13-20 us for 36-58).
     * So, as NAPI's busy polling: poll while frames keep coming within {@code fp-poll-interval-tas}
     * of the last work (whoever drove the fast path); once none came for that long, nap, longer
     * the longer none comes (an eighth of the silence, {@value #POLL_ONLY_MIN_NAP_NANOS} ns up to
     * {@value #POLL_ONLY_MAX_NAP_NANOS} ns, and up to {@value #POLL_ONLY_IDLE_NAP_NANOS} ns once
     * the silence lasts a second), so an idle engine costs under 1% of a core. The polling
     * yields, so application threads on a machine without a spare core still run.
     */
    private void runPollOnlyFastPath(TasFastPath fp) {
        long window = params.pollIntervalNanos();
        long lastWork = clock.nanoTime();
        fp.bindAgentThread();
        fp.napsWithoutInterrupts();
        while (running) {
            long now = clock.nanoTime();
            int work = fp.driveOnce(now);
            if (work > 0 || fp.drivenSince(lastWork)) {
                lastWork = now;
                continue;
            }
            long idle = now - lastWork;
            if (idle < window) {
                if (idle < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
                continue;
            }
            long cap = idle < POLL_ONLY_LONG_SILENCE_NANOS ? POLL_ONLY_MAX_NAP_NANOS : POLL_ONLY_IDLE_NAP_NANOS;
            fp.idle(now, Math.clamp(idle >> 3, POLL_ONLY_MIN_NAP_NANOS, cap));
        }
    }

    private void runSlowPath() {
        while (running) {
            long now = clock.nanoTime();
            if (slowPath.doWork(now) == 0) {
                slowPath.idle(now, TimeUnit.MILLISECONDS.toNanos(100));
            }
        }
    }

    // ------------------------------------------------------------------ manual mode

    /**
     * Runs every agent's duty cycle at time {@code now} until none has work left (bounded).
     * Only for engines built with {@link Builder#manual}.
     */
    public int poll(long now) {
        if (threaded) {
            throw new IllegalStateException("poll() is for manual engines; this one runs its own threads");
        }
        int total = 0;
        for (int round = 0; round < 1000; round++) {
            int work = slowPath.doWork(now);
            if (kernelPath != null) {
                work += kernelPath.poll();
            }
            for (TasFastPath fp : fastPaths) {
                work += fp.doWork(now);
            }
            total += work;
            if (work == 0) {
                break;
            }
        }
        return total;
    }

    /** Manual engines: polls at the clock's current time. */
    public int poll() {
        return poll(clock.nanoTime());
    }

    // ------------------------------------------------------------------ public API

    /** A new application context (one per application thread). */
    public TasContext newContext() {
        if (!running) {
            throw new TasException("engine is stopped");
        }
        if (attached != null) {
            return attached.newContext();
        }
        liveContexts.incrementAndGet();
        return new TasContext(access, contextIds.incrementAndGet());
    }

    /**
     * A context whose connections (opened or accepted) get their rings from {@code rings}: the
     * service gives each attached application one over memory it shares with that application.
     */
    public TasContext newContext(TasRingAllocator rings) {
        if (!running) {
            throw new TasException("engine is stopped");
        }
        liveContexts.incrementAndGet();
        return new TasContext(new Access(rings), contextIds.incrementAndGet(), rings);
    }

    /** The fast path of {@code queue} (tests). */
    TasFastPath fastPathOf(int queue) {
        return fastPaths[queue];
    }

    public TasConfig config() {
        return config;
    }

    public TasEngineParams params() {
        return params;
    }

    public TasPort port() {
        return port;
    }

    public TasClock clock() {
        return clock;
    }

    public boolean isRunning() {
        return running && (attached == null || attached.isRunning());
    }

    /** The engine's IPv4 address. */
    public int ipAddress() {
        return params.ip();
    }

    /** Every agent's counters (fast paths, then the slow path). */
    public List<TasCounters> counterSets() {
        return List.copyOf(counterSets);
    }

    /** One counter summed over all agents, readable while the engine runs. */
    public long counter(TasCounter c) {
        return TasCounters.sum(counterSets, c);
    }

    /** Every counter summed over all agents. */
    public Map<TasCounter, Long> counters() {
        return TasCounters.snapshot(counterSets);
    }

    /** Live flows (installed or being set up), as the slow path knows them. */
    public int flowCount() {
        if (attached != null) {
            return 0; // the service counts them
        }
        return slowPath.flowCount();
    }

    /** Per-flow records (off-heap TCBs) held by flows the engine has not reclaimed yet (0 once all are). */
    public int flowRecordsInUse() {
        return tcbs.inUse();
    }

    /** Ring memory held by live connections (0 once all are reclaimed); the service's own only, when attached. */
    public long ringBytesInUse() {
        return rings == null ? 0 : rings.bytesInUse();
    }

    /** The ring memory limit across all connections ({@code shm-len}; per application when attached). */
    public long ringBytesLimit() {
        return rings == null ? config.serviceAppLen() : rings.limitBytes();
    }

    /** Most connections the engine holds at once ({@code tcp-max-flows}). */
    public int flowLimit() {
        return params.maxFlows();
    }

    /**
     * Whether a connection to {@code ip:port} is this engine's to make (any thread), or only the
     * kernel's: the engine serves its own address, its loopback (127/8) where one of its listeners
     * takes the port (elsewhere on 127/8 the kernel's own services live), and every destination
     * its subnet or an {@code ip-route} covers. Everything else (the host's other addresses, the
     * rest of the world) has no way out through this engine. Attached to a service, a 127/8
     * destination is asked of the service (blocking for its answer: call it when connecting).
     */
    public boolean serves(int ip, int port) {
        if (ip == params.ip()) {
            return true;
        }
        if (attached != null) {
            // 127/8: the service's in-engine loopback if one of its applications listens there
            // (it is asked), else the kernel's; the subnet and routes are the service's, as its
            // configuration says.
            int pl = params.prefixLength();
            if ((ip >>> 24) == 127) {
                return attached.listensAt(ip, port);
            }
            if (pl == 0 || ((ip ^ params.ip()) >>> (32 - pl)) == 0) {
                return true;
            }
            return config.ipRoutes().stream().anyMatch(r -> r.matches(ip));
        }
        if ((ip >>> 24) == 127) {
            return slowPath.listenerAt(ip, port) != null;
        }
        return slowPath.routes(ip);
    }

    /** Whether {@code ip} is one of this engine's addresses: its own, or loopback (127/8). */
    public boolean isLocalAddress(int ip) {
        return isLocal(ip);
    }

    /** The kernel interface of kni-name, or null without one. */
    public String kernelInterfaceName() {
        return kernelPath == null ? null : kernelPath.interfaceName();
    }

    /** Listening sockets. */
    public int listenerCount() {
        if (attached != null) {
            return 0; // the service counts them
        }
        return slowPath.listenerCount();
    }

    /** Contexts not yet closed. */
    public int contextCount() {
        return liveContexts.get();
    }

    /** Stops the threads, closes the port and frees all memory. Connections end without FIN. */
    @Override
    public void close() {
        if (!running) {
            return;
        }
        running = false;
        if (attached != null) {
            attached.close();
            return;
        }
        for (TasFastPath fp : fastPaths) {
            port.wakeup(fp.queue());
        }
        for (Thread t : threads) {
            java.util.concurrent.locks.LockSupport.unpark(t);
        }
        for (Thread t : threads) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (kernelPath != null) {
            kernelPath.close(); // after the agents: nothing hands it frames any more
        }
        for (TasFastPath fp : fastPaths) {
            fp.close();
        }
        port.close();
        rings.close();
    }

    @Override
    public String toString() {
        return "TasEngine[" + io.tasnetty.engine.wire.Ipv4.toString(params.ip()) + " on "
            + (attached != null ? "service " + attached.directory() : port.name()) + "]";
    }

    // ------------------------------------------------------------------ internals

    private boolean isLocal(int ip) {
        return ip == params.ip() || (ip >>> 24) == 127;
    }

    /**
     * A flow with rings from {@code source} (null: the engine's allocator), of the given sizes (0:
     * the configured default, {@code tcp-loopback-buf-len} for a connection looped inside the engine).
     */
    private TasFlow newFlow(int rxBufLen, int txBufLen, boolean loopback, TasRingAllocator source) {
        TasRingAllocator from = source != null ? source : rings;
        int rxLen = TasByteRing.roundUp(rxBufLen > 0 ? rxBufLen : loopback ? loopbackBufLen : params.rxBufLen());
        int txLen = TasByteRing.roundUp(txBufLen > 0 ? txBufLen : loopback ? loopbackBufLen : params.txBufLen());
        MemorySegment rx = from.allocate(rxLen);
        MemorySegment tx = rx == null ? null : from.allocate(txLen);
        if (tx == null) {
            if (rx != null) {
                from.release(rx);
            }
            throw new TasException(noRingMemory(from, rxLen + txLen), TasError.NO_RESOURCES);
        }
        TasFlow f = tcbs.allocate();
        f.rx = new TasByteRing(rx);
        f.tx = new TasByteRing(tx);
        f.ringSource = source;
        f.rxMax = rxBufLen > 0 || loopback || source != null ? 0 : ringMax(rxLen, params.rxBufMax());
        f.txMax = txBufLen > 0 || loopback || source != null ? 0 : ringMax(txLen, params.txBufMax());
        f.mss(params.mss());
        return f;
    }

    /**
     * What autotuning may grow a ring that starts at {@code initial} to ({@code configuredMax}:
     * tcp-rxbuf-max or tcp-txbuf-max), 0 when it keeps its size. Only for the engine's own rings:
     * an attached application maps its rings at addresses it was told once.
     */
    private static int ringMax(int initial, int configuredMax) {
        int max = TasByteRing.roundUp(configuredMax);
        return max > initial ? max : 0;
    }

    /**
     * A passive open from the network: a record and no rings yet (their sizes are planned, as
     * {@link #newFlow} would choose them); {@link #grantRings} gives it rings when its handshake
     * completes. A SYN therefore costs the record only, so half-open connections (a SYN flood
     * among them) cannot take the ring memory established ones need.
     */
    private TasFlow newHalfOpenFlow(TasListener l) {
        TasFlow f = tcbs.allocate();
        f.rxPlanned = TasByteRing.roundUp(l.rxBufLen() > 0 ? l.rxBufLen() : params.rxBufLen());
        f.txPlanned = TasByteRing.roundUp(l.txBufLen() > 0 ? l.txBufLen() : params.txBufLen());
        f.ringSource = l.ringAllocator();
        f.rxMax = l.rxBufLen() > 0 || f.ringSource != null ? 0 : ringMax(f.rxPlanned, params.rxBufMax());
        f.txMax = l.txBufLen() > 0 || f.ringSource != null ? 0 : ringMax(f.txPlanned, params.txBufMax());
        f.mss(params.mss());
        return f;
    }

    /** Slow path: allocates the planned rings of half-open {@code f} into its granted fields; false when out of memory. */
    private boolean grantRings(TasFlow f) {
        TasRingAllocator from = f.ringSource != null ? f.ringSource : rings;
        MemorySegment rx = from.allocate(f.rxPlanned);
        MemorySegment tx = rx == null ? null : from.allocate(f.txPlanned);
        if (tx == null) {
            if (rx != null) {
                from.release(rx);
            }
            return false;
        }
        f.grantedTx = new TasByteRing(tx);
        f.grantedRx = new TasByteRing(rx); // volatile, last: publishes both (see TasFlow.grantedRx)
        return true;
    }

    /** Slow path, reclaiming {@code f}: granted rings its core never adopted go back. */
    private void releaseUnadoptedGrant(TasFlow f) {
        if (f.grantedRx == null || f.grantAdopted) {
            return;
        }
        TasRingAllocator to = f.ringSource != null ? f.ringSource : rings;
        to.release(f.grantedRx.memory());
        to.release(f.grantedTx.memory());
        f.grantedRx = null;
        f.grantedTx = null;
    }

    private static String noRingMemory(TasRingAllocator rings, int wanted) {
        return "no ring memory left for a connection: " + rings.bytesInUse() + " of shm-len=" + rings.limitBytes()
            + " bytes in use, this one needs " + wanted + " (raise shm-len, or lower tcp-rxbuf-len/tcp-txbuf-len)";
    }

    private synchronized void freeRings(TasFlow f) {
        // Called by whichever side (engine or application) let go of the rings last.
        TasByteRing rx = f.rx;
        TasByteRing tx = f.tx;
        f.rx = null;
        f.tx = null;
        TasRingAllocator to = f.ringSource != null ? f.ringSource : rings;
        if (rx != null) {
            to.release(rx.memory());
        }
        if (tx != null) {
            to.release(tx.memory());
        }
        MemorySegment left = f.takeTxRetired(); // the ring moved and the fast path never let go of the old memory
        if (left != null) {
            to.release(left);
        }
    }

    private static int ipOf(InetSocketAddress a) {
        byte[] b = a.getAddress().getAddress();
        return ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
    }

    /** Bridges contexts to the agents: every call becomes a command on the owning agent. */
    private final class Access implements TasContext.EngineAccess {
        /** Ring memory of connections this access opens; null = the engine's. */
        private final TasRingAllocator source;

        Access() {
            this(null);
        }

        Access(TasRingAllocator source) {
            this.source = source;
        }

        @Override
        public void command(TasFlow flow, int commands) {
            int q = flow.queue;
            if (q >= 0) {
                if (inline) {
                    fastPaths[q].commandInline(flow, commands, clock.nanoTime());
                } else {
                    fastPaths[q].command(flow, commands);
                }
                return;
            }
            // Not placed yet: record the bits; installation applies them. If the slow path placed
            // the flow meanwhile, it may have taken its commands already: queue it to be sure
            // (a spurious extra entry is harmless).
            boolean first = flow.postCommand(commands);
            q = flow.queue;
            if (q >= 0 && first) {
                fastPaths[q].enqueueCommand(flow);
            }
        }

        @Override
        public TasFlow newFlow(int rxBufLen, int txBufLen) {
            return TasEngine.this.newFlow(rxBufLen, txBufLen, false, source);
        }

        @Override
        public TasFlow newFlow(int rxBufLen, int txBufLen, InetSocketAddress remote) {
            return TasEngine.this.newFlow(rxBufLen, txBufLen,
                remote.getAddress() != null && remote.getAddress().getAddress().length == 4 && isLocal(ipOf(remote)),
                source);
        }

        @Override
        public void connect(TasConnection c, InetSocketAddress remote, InetSocketAddress local) {
            int rip = ipOf(remote);
            int rport = remote.getPort();
            int lip = local == null || local.getAddress() == null || local.getAddress().isAnyLocalAddress()
                ? 0 : ipOf(local);
            int lport = local == null ? 0 : local.getPort();
            if (rport <= 0 || rport > 65535) {
                throw new TasException("remote port out of range: " + remote);
            }
            slowPath.control(() -> slowPath.connect(c, rip, rport, lip, lport, clock.nanoTime()));
        }

        @Override
        public int bind(TasContext ctx, int ip, int port, int backlog, int rxBufLen, int txBufLen,
                        TasContext.ListenerFactory f) {
            if (ip != 0 && !isLocal(ip)) {
                throw new TasException("cannot bind " + io.tasnetty.engine.wire.Ipv4.toString(ip)
                    + ": not an address of this engine (ip-addr " + io.tasnetty.engine.wire.Ipv4.toString(params.ip())
                    + " or 127.0.0.0/8)");
            }
            if (port < 0 || port > 65535) {
                throw new TasException("port out of range: " + port);
            }
            TasListener l = slowPath.bind(ip, port, p -> f.create(p));
            Objects.requireNonNull(l);
            return l.port();
        }

        @Override
        public void unbind(TasListener listener) {
            slowPath.unbind(listener);
        }

        @Override
        public boolean isRunning() {
            return running;
        }

        @Override
        public int maxBacklog() {
            return params.backlogMax();
        }

        @Override
        public void released(TasFlow flow) {
            if (flow.dropAppRingHold()) {
                freeRings(flow);
            }
        }

        @Override
        public void discard(TasFlow flow) {
            flow.dropEngineRingHold();
            flow.dropAppRingHold();
            freeRings(flow);
            tcbs.free(flow);
        }

        @Override
        public void contextClosed(TasContext ctx) {
            liveContexts.decrementAndGet();
        }

        @Override
        public int pollInline() {
            if (!inline) {
                return 0;
            }
            long now = clock.nanoTime();
            int work = 0;
            for (TasFastPath fp : fastPaths) {
                work += fp.pollInline(now);
            }
            return work;
        }
    }

    private final class Internals implements TasFastPath.Engine, TasSlowPath.Engine {
        /** Flows in TIME_WAIT, across cores; at most tcp-max-flows. */
        private final AtomicInteger timeWait = new AtomicInteger();

        @Override
        public boolean enterTimeWait() {
            int n;
            do {
                n = timeWait.get();
                if (n >= params.maxFlows()) {
                    return false;
                }
            } while (!timeWait.compareAndSet(n, n + 1));
            return true;
        }

        @Override
        public void leftTimeWait() {
            timeWait.decrementAndGet();
        }

        @Override
        public int timeWaitFlows() {
            return timeWait.get();
        }

        @Override
        public boolean exception(PacketBuffer buf) {
            return slowPath.exception(buf);
        }

        @Override
        public void flowDead(TasFlow f) {
            slowPath.flowDead(f);
        }

        @Override
        public TasFastPath loopbackTarget(int srcIp, int srcPort, int dstIp, int dstPort) {
            return fastPaths[TasRss.queueFor(srcIp, srcPort, dstIp, dstPort, fastPaths.length)];
        }

        @Override
        public boolean isLocal(int ip) {
            return TasEngine.this.isLocal(ip);
        }

        @Override
        public void engineDoneWithRings(TasFlow f) {
            if (f.dropEngineRingHold()) {
                freeRings(f);
            }
        }

        @Override
        public void releaseRingsLater(TasFlow f) {
            slowPath.releaseRings(f);
        }

        @Override
        public void flowReclaimed(TasFlow f) {
            tcbs.free(f);
        }

        @Override
        public void forgetUnaccepted(TasFlow f) {
            if (f.dropAppRingHold()) {
                freeRings(f);
            }
        }

        @Override
        public TasFastPath fastPath(int queue) {
            return fastPaths[queue];
        }

        @Override
        public int queues() {
            return fastPaths.length;
        }

        @Override
        public TasFlow newFlow(int rxBufLen, int txBufLen, boolean loopback) {
            return TasEngine.this.newFlow(rxBufLen, txBufLen, loopback, null);
        }

        @Override
        public TasFlow newFlow(TasListener l, boolean loopback) {
            return TasEngine.this.newFlow(l.rxBufLen(), l.txBufLen(), loopback, l.ringAllocator());
        }

        @Override
        public boolean cookiesOut(long now) {
            return slowPath.cookiesOut(now);
        }

        @Override
        public void wantLargerRxRing(TasFlow f, int size) {
            slowPath.growRxRing(f, size);
        }

        @Override
        public void wantLargerTxRing(TasFlow f, int size) {
            slowPath.growTxRing(f, size);
        }

        @Override
        public void ringMemoryLeft(TasFlow f, MemorySegment old) {
            slowPath.control(() -> (f.ringSource != null ? f.ringSource : rings).release(old));
        }

        @Override
        public MemorySegment allocateRing(TasFlow f, int size) {
            return (f.ringSource != null ? f.ringSource : rings).allocate(size);
        }

        @Override
        public void releaseRing(TasFlow f, MemorySegment seg) {
            (f.ringSource != null ? f.ringSource : rings).release(seg);
        }

        @Override
        public TasFlow newHalfOpenFlow(TasListener l) {
            return TasEngine.this.newHalfOpenFlow(l);
        }

        @Override
        public boolean grantRings(TasFlow f) {
            return TasEngine.this.grantRings(f);
        }

        @Override
        public void releaseUnadoptedGrant(TasFlow f) {
            TasEngine.this.releaseUnadoptedGrant(f);
        }

        @Override
        public TasContext.EngineAccess access() {
            return access;
        }

        @Override
        public boolean hasKernelPath() {
            String kni = config.kniName();
            return kni != null && !kni.isEmpty();
        }

        @Override
        public TasKernelPath kernelPath() {
            return kernelPath;
        }

    }
}
