package io.tasnetty.samples.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.tasnetty.samples.Transport;
import io.tasnetty.samples.Warmup;
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * An RPC echo benchmark in the manner of TAS's {@code micro_rpc}, on plain Netty, for any
 * {@link Transport}: an echo server and a closed-loop client in one JVM (for every transport, so
 * the comparison is fair; on TAS's embedded default the connections go through the engine's
 * loopback, on the kernel transports through the kernel's).
 *
 * <ul>
 *   <li>{@code rpc} mode: {@code connections} connections each keep {@code depth} requests of
 *       {@code size} bytes outstanding; the server echoes every byte; each full echo completes one
 *       request, whose latency (send to complete echo) goes into an HdrHistogram, and the client
 *       sends the next one at once.</li>
 *   <li>{@code bulk} mode: the client streams {@code size}-byte writes on its connections as fast as
 *       writability allows; the server counts and drops them (Gbit/s, CPU-seconds per GiB).</li>
 *   <li>{@code open} mode: an open loop, as a service under a given load sees it. One application
 *       thread, outside the event loops, issues {@code rate} requests/s on a fixed schedule, round-robin
 *       over the connections, with {@code channel.writeAndFlush}, whether or not earlier ones were
 *       answered. Latency runs from each request's <em>intended</em> send time, so a sender held up
 *       (by a slow response, a busy CPU or a late wake-up) counts against the transport instead of
 *       hiding the queue it causes (coordinated omission).</li>
 *   <li>{@code blocking} mode: one application thread per connection sends a request and waits
 *       until its whole echo is back, then sends the next, as blocking RPC stubs do; latency is
 *       what that thread sees, wake-up included.</li>
 * </ul>
 * Only the measured interval (after {@code warmup}) counts. CPU time is the process's (user +
 * system, so the kernel's TCP work done in this process's context counts for the kernel
 * transports) and, per thread, the server's and client's event loops, the TAS engine's threads and
 * the application threads of the open and blocking modes.
 *
 * <p>Prints a human summary and one {@code RESULT k=v ...} line (see {@link BenchResult}) on stdout,
 * progress on stderr. {@link BenchRunner} runs this in a fresh JVM per transport and scenario.
 */
@Command(name = "rpc-bench", mixinStandardHelpOptions = true, sortOptions = false,
    description = "RPC echo benchmark (like TAS's micro_rpc): server and client (closed loop, open loop or "
        + "blocking callers) in one JVM.")
public final class RpcBench implements Callable<Integer> {
    /**
     * One run's parameters. {@code rate} is the open loop's requests/s (all connections together),
     * unused by the other modes; in blocking mode {@code connections} is also the number of callers.
     */
    public record Config(Transport transport, String mode, int size, int connections, int depth, long warmupMillis,
                         long durationMillis, int serverThreads, int clientThreads, String host, boolean progress,
                         double rate) {
        public Config {
            if (!List.of("rpc", "bulk", "open", "blocking").contains(mode)) {
                throw new IllegalArgumentException("mode: expected rpc, bulk, open or blocking, not " + mode);
            }
            if (size < 1 || connections < 1 || depth < 1 || durationMillis < 1 || warmupMillis < 0
                || serverThreads < 1 || clientThreads < 1) {
                throw new IllegalArgumentException("size, connections, depth, duration and threads must be positive");
            }
            if (mode.equals("open") && !(rate > 0)) {
                throw new IllegalArgumentException("open mode needs a rate (requests/s) above 0");
            }
        }

        /** A closed-loop (rpc) or bulk run. */
        public Config(Transport transport, String mode, int size, int connections, int depth, long warmupMillis,
            long durationMillis, int serverThreads, int clientThreads, String host, boolean progress) {
            this(transport, mode, size, connections, depth, warmupMillis, durationMillis, serverThreads,
                clientThreads, host, progress, 0);
        }

        public String label() {
            return switch (mode) {
                case "rpc" -> String.format(Locale.ROOT, "%s rpc %dB x%d conn depth %d", transport, size, connections,
                    depth);
                case "open" -> String.format(Locale.ROOT, "%s open loop %,.0f req/s %dB x%d conn", transport, rate, size,
                    connections);
                case "blocking" -> String.format(Locale.ROOT, "%s blocking %dB x%d callers", transport, size,
                    connections);
                default -> String.format(Locale.ROOT, "%s bulk %dB writes x%d conn", transport, size, connections);
            };
        }
    }

    @Option(names = "--transport", converter = Transport.Converter.class, defaultValue = "tas",
        description = "tas, nio, epoll or io_uring (default: ${DEFAULT-VALUE})")
    Transport transport;

    @Option(names = "--mode", defaultValue = "rpc", description = "rpc (closed loop), bulk, open (open loop at "
        + "--rate) or blocking (one send-and-wait caller thread per connection) (default: ${DEFAULT-VALUE})")
    String mode;

    @Option(names = "--rate", defaultValue = "0", description = "open mode: requests/s, all connections together")
    double rate;

    @Option(names = "--size", defaultValue = "64", description = "message (rpc) or write (bulk) size in bytes (default: ${DEFAULT-VALUE})")
    int size;

    @Option(names = "--connections", defaultValue = "1", description = "connections (default: ${DEFAULT-VALUE})")
    int connections;

    @Option(names = "--depth", defaultValue = "1", description = "requests in flight per connection: pipelining depth (default: ${DEFAULT-VALUE})")
    int depth;

    @Option(names = "--warmup", defaultValue = "2", description = "warm-up seconds, not measured (default: ${DEFAULT-VALUE})")
    double warmup;

    @Option(names = "--duration", defaultValue = "5", description = "measured seconds (default: ${DEFAULT-VALUE})")
    double duration;

    @Option(names = "--server-threads", defaultValue = "1", description = "server event loops (default: ${DEFAULT-VALUE})")
    int serverThreads;

    @Option(names = "--client-threads", defaultValue = "1", description = "client event loops (default: ${DEFAULT-VALUE})")
    int clientThreads;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address the server binds and the client connects to (default: ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--quiet", description = "no progress lines on stderr")
    boolean quiet;

    @Option(names = "--role", defaultValue = "both",
        description = "both (server and client here), server or client (two processes) (default: ${DEFAULT-VALUE})")
    String role;

    @Option(names = "--port", defaultValue = "7007", description = "server port for --role=server|client (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--phases", description = "--role=both: print PHASE MEASURE and PHASE STOP on stdout as the measured "
        + "interval starts and ends (so a runner can measure another process, e.g. a TAS service, over the same interval)")
    boolean phases;

    public static void main(String[] args) {
        System.exit(new CommandLine(new RpcBench()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Config c = new Config(transport, mode, size, connections, depth, Math.round(warmup * 1000),
            Math.round(duration * 1000), serverThreads, clientThreads, host, !quiet, rate);
        BenchResult r;
        switch (role) {
            case "both" -> r = run(c, System.err, !phases ? null : phase -> {
                System.out.println("PHASE " + phase);
                System.out.flush();
            });
            case "server" -> {
                serve(c, new InetSocketAddress(host, port));
                return 0;
            }
            case "client" -> {
                c.transport().ensureAvailable();
                r = runClient(c, new State(), new InetSocketAddress(host, port), System.err, phase -> {
                    System.out.println("PHASE " + phase);
                    System.out.flush();
                }, "server and client in two processes, client to " + host + ":" + port);
            }
            default -> throw new CommandLine.ParameterException(new CommandLine(this),
                "--role: expected both, server or client, not " + role);
        }
        System.out.println(summary(r));
        System.out.println(r.toLine());
        System.out.flush();
        return 0;
    }

    /** One human line about {@code r}. */
    public static String summary(BenchResult r) {
        if (r.mode().equals("open") || r.mode().equals("blocking")) {
            return String.format(Locale.ROOT,
                "%s %s %dB x%d %s: %,.0f req/s%s, p50 %.1f us, p99 %.1f us, p99.9 %.1f us; CPU %.2f cores, "
                    + "%.2f CPU-s per M req (cores: server %.2f, client %.2f, engine %.2f, app %.2f, other %.2f)%s",
                r.transport(), r.mode().equals("open") ? "open loop" : "blocking", r.size(), r.connections(),
                r.mode().equals("open") ? "conn" : "callers", r.requestsPerSecond(),
                r.mode().equals("open") ? String.format(Locale.ROOT, " (of %,.0f offered)", r.offered()) : "",
                r.p50() / 1e3, r.p99() / 1e3, r.p999() / 1e3, r.cores(), r.cpuSecondsPerMillionRequests(),
                r.coresOf(r.cpuServer()), r.coresOf(r.cpuClient()), r.coresOf(r.cpuEngine()), r.coresOf(r.cpuApp()),
                r.coresOf(r.cpuRest()), r.mode().equals("open")
                    ? String.format(Locale.ROOT, "; sender late p99 %.1f us", r.senderLagP99() / 1e3) : "");
        }
        if (r.mode().equals("rpc")) {
            return String.format(Locale.ROOT,
                "%s rpc %dB x%d conn depth %d: %,.0f req/s, p50 %.1f us, p99 %.1f us, p99.9 %.1f us; "
                    + "CPU %.2f cores, %.2f CPU-s per M req (server %.2f, client %.2f, engine %.2f, other %.2f)",
                r.transport(), r.size(), r.connections(), r.depth(), r.requestsPerSecond(), r.p50() / 1e3,
                r.p99() / 1e3, r.p999() / 1e3, r.cores(), r.cpuSecondsPerMillionRequests(), r.perMillion(r.cpuServer()),
                r.perMillion(r.cpuClient()), r.perMillion(r.cpuEngine()),
                r.perMillion(r.cpuProcess() - r.cpuServer() - r.cpuClient() - r.cpuEngine()));
        }
        return String.format(Locale.ROOT,
            "%s bulk %dB writes x%d conn: %.2f Gbit/s; CPU %.2f cores, %.2f CPU-s per GiB (server %.2f, client %.2f, "
                + "engine %.2f, other %.2f)",
            r.transport(), r.size(), r.connections(), r.gbitPerSecond(), r.cores(), r.cpuSecondsPerGib(),
            r.perGib(r.cpuServer()), r.perGib(r.cpuClient()), r.perGib(r.cpuEngine()),
            r.perGib(r.cpuProcess() - r.cpuServer() - r.cpuClient() - r.cpuEngine()));
    }

    // ---------------------------------------------------------------------------------------------

    private static final int WARMUP = 0;
    private static final int MEASURE = 1;
    private static final int STOP = 2;
    private static final long MAX_LATENCY = TimeUnit.SECONDS.toNanos(60);
    /** {@code -Dbench.threads=true}: print each thread's CPU of the measured interval. */
    private static final boolean THREAD_REPORT = Boolean.getBoolean("bench.threads");

    /** Shared by every handler of a run. */
    static final class State {
        volatile int phase = WARMUP;
        /** The server runs in this JVM (bulk counts what it received; else what the client sent). */
        boolean serverHere;
        final AtomicLong serverBytes = new AtomicLong();
        final AtomicLong clientBytes = new AtomicLong();
        final Map<EventLoop, LoopStats> loops = new ConcurrentHashMap<>();
        /** Blocking mode: one per caller thread, which alone writes it. */
        final List<LoopStats> callers = new CopyOnWriteArrayList<>();

        LoopStats stats(EventLoop loop) {
            return loops.computeIfAbsent(loop, l -> new LoopStats());
        }
    }

    /** Per client event loop (or per blocking caller): only that thread writes it. */
    private static final class LoopStats {
        /**
         * Per phase (WARMUP, MEASURE, STOP), indexed by it: recording into the phase's own
         * histogram, rather than testing "measuring?", keeps the JIT from compiling the recording
         * out during the warm-up and then deoptimizing every transport's handler (an unstable_if
         * trap and a recompile) just as the measured interval starts.
         */
        private final Histogram[] latencyByPhase = phaseHistograms();
        private final long[] completedByPhase = new long[STOP + 1];
        final Histogram latency = latencyByPhase[MEASURE];
        long total;     // all completions

        void record(int phase, long latencyNanos) {
            latencyByPhase[phase].recordValue(Math.min(Math.max(latencyNanos, 0), MAX_LATENCY));
            completedByPhase[phase]++;
        }

        /** Measured completions (read racily for progress only). */
        long completed() {
            return completedByPhase[MEASURE];
        }
    }

    private static Histogram[] phaseHistograms() {
        Histogram[] h = new Histogram[STOP + 1];
        for (int i = 0; i < h.length; i++) {
            h[i] = new Histogram(10, MAX_LATENCY, 3);
        }
        return h;
    }

    /** Runs one benchmark (server and client in this JVM) and returns what it measured; progress goes to {@code log}. */
    public static BenchResult run(Config c, PrintStream log) throws Exception {
        return run(c, log, null);
    }

    /** As {@link #run(Config, PrintStream)}, telling {@code phases} (if not null) when the measured interval starts and ends. */
    static BenchResult run(Config c, PrintStream log, java.util.function.Consumer<String> phases) throws Exception {
        c.transport().ensureAvailable();
        State st = new State();
        st.serverHere = true;
        try (ServerSide server = ServerSide.start(c, st, new InetSocketAddress(c.host(), 0))) {
            return runClient(c, st, new InetSocketAddress(c.host(), server.port()), log, phases,
                "server and client in one JVM, " + c.host());
        }
    }

    /** The echo (rpc) or sink (bulk) server: its own boss and worker groups. */
    static final class ServerSide implements AutoCloseable {
        private final EventLoopGroup boss;
        private final EventLoopGroup loops;
        private final Channel channel;

        private ServerSide(EventLoopGroup boss, EventLoopGroup loops, Channel channel) {
            this.boss = boss;
            this.loops = loops;
            this.channel = channel;
        }

        static ServerSide start(Config c, State st, InetSocketAddress bind) throws InterruptedException {
            boolean bulk = c.mode().equals("bulk");
            EventLoopGroup boss = c.transport().newGroup(1, CpuSampler.SERVER_PREFIX + "-boss");
            EventLoopGroup loops = c.transport().newGroup(c.serverThreads(), CpuSampler.SERVER_PREFIX);
            try {
                Channel ch = new ServerBootstrap()
                    .group(boss, loops)
                    .channel(c.transport().serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, marks(bulk))
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(bulk ? new SinkHandler(st) : new EchoHandler());
                        }
                    })
                    .bind(bind).sync().channel();
                return new ServerSide(boss, loops, ch);
            } catch (InterruptedException | RuntimeException e) {
                loops.shutdownGracefully(0, 2, TimeUnit.SECONDS);
                boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
                throw e;
            }
        }

        int port() {
            return ((InetSocketAddress) channel.localAddress()).getPort();
        }

        @Override
        public void close() {
            channel.close().syncUninterruptibly();
            loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static WriteBufferWaterMark marks(boolean bulk) {
        return bulk ? new WriteBufferWaterMark(512 << 10, 1 << 20) : WriteBufferWaterMark.DEFAULT;
    }

    /**
     * The client: connects, warms up, measures, and returns the figures. CPU covers this whole
     * process (with the server too when it runs here). {@code phases}, if not null, hears
     * "MEASURE" and "STOP" when they begin (for a server in another process). In bulk mode the
     * byte count is the server's when it runs here ({@code st}), else what this client wrote.
     */
    static BenchResult runClient(Config c, State st, InetSocketAddress addr, PrintStream log,
        java.util.function.Consumer<String> phases, String note) throws Exception {
        boolean bulk = c.mode().equals("bulk");
        ByteBuf payload = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(c.size()).writeBytes(pattern(c.size())).asReadOnly());
        EventLoopGroup clientLoops = c.transport().newGroup(c.clientThreads(), CpuSampler.CLIENT_PREFIX);
        List<Channel> clients = new ArrayList<>();
        AppThreads app = new AppThreads();
        AtomicLong counted = st.serverHere ? st.serverBytes : st.clientBytes;
        try {
            Bootstrap b = new Bootstrap()
                .group(clientLoops)
                .channel(c.transport().clientChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, marks(bulk))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(switch (c.mode()) {
                            case "bulk" -> new StreamHandler(st, payload);
                            case "open" -> new OpenLoopHandler(st, c.size());
                            case "blocking" -> new CallerHandler(c.size());
                            default -> new RpcClientHandler(st, payload, c.size(), c.depth());
                        });
                    }
                });
            for (int i = 0; i < c.connections(); i++) {
                clients.add(b.connect(addr).sync().channel());
            }
            switch (c.mode()) {
                case "open" -> app.startSender(st, clients, payload, c.rate());
                case "blocking" -> app.startCallers(st, clients, payload);
                default -> {
                    for (Channel ch : clients) {
                        Starter s = (Starter) ch.pipeline().last();
                        ch.eventLoop().execute(s::start);
                    }
                }
            }

            String label = c.label();
            // Collect the start-up garbage halfway through the warm-up, in this process and in a
            // server process: otherwise the first young collection lands wherever each
            // transport's start-up allocations put it (TAS's engine start allocates more than an
            // epoll loop: its first 11-32 ms pause fell inside every open-loop run's measured
            // interval, epoll's after it), and an open loop then spends the measured interval
            // catching up. The second half lets the backlog of the pause drain.
            tick(log, c, label, "warm-up", c.warmupMillis() / 2, st, counted, bulk);
            if (phases != null) {
                phases.accept("GC");
            }
            System.gc();
            tick(log, c, label, "warm-up", c.warmupMillis() - c.warmupMillis() / 2, st, counted, bulk);
            long jitWaitMillis = settleJit(log, c, label, st, counted, bulk);
            List<GarbageCollectorMXBean> gcs = ManagementFactory.getGarbageCollectorMXBeans();
            long gc0 = gcCount(gcs);
            if (phases != null) {
                phases.accept("MEASURE");
            }
            io.tasnetty.engine.TasEngine engine = clientLoops instanceof io.tasnetty.transport.TasEventLoopGroup g
                ? g.engine() : null;
            Map<io.tasnetty.engine.stats.TasCounter, Long> e0 = engine == null ? null : engine.counters();
            CpuSampler.Snapshot s0 = CpuSampler.snapshot();
            long jitMeasure0 = Warmup.compileMillis();
            long bytes0 = counted.get();
            st.phase = MEASURE;
            tick(log, c, label, "measure", c.durationMillis(), st, counted, bulk);
            st.phase = STOP;
            CpuSampler.Snapshot s1 = CpuSampler.snapshot();
            String jitNote = String.format(Locale.ROOT, "; JIT: waited %.1f s for it after the warm-up, %d ms compiling while measured",
                jitWaitMillis / 1000.0, Warmup.compileMillis() - jitMeasure0);
            long bytes1 = counted.get();
            long gc1 = gcCount(gcs);
            String engineNote = engine == null ? "" : "; engine: " + engineDelta(e0, engine.counters());
            double[] busy = CpuSampler.machineBusy(s0, s1);
            StringBuilder machine = new StringBuilder();
            for (double cpuBusy : busy) {
                machine.append(machine.isEmpty() ? "" : "/").append(String.format(Locale.ROOT, "%.0f%%", cpuBusy * 100));
            }
            String machineNote = busy.length == 0 ? "" : "; machine CPUs busy " + machine;
            if (phases != null) {
                phases.accept("STOP");
            }

            // Collect on each loop (its thread owns the figures), and from the app threads once they ended.
            app.stop();
            Histogram all = new Histogram(10, MAX_LATENCY, 3);
            long requests = 0;
            for (Map.Entry<EventLoop, LoopStats> e : st.loops.entrySet()) {
                LoopStats ls = e.getValue();
                // On the loop's own thread: after STOP nothing records any more, and the task hands
                // the figures over with a happens-before edge.
                Object[] got = e.getKey().submit(() -> new Object[] {ls.completed(), ls.latency.copy()})
                    .get(10, TimeUnit.SECONDS);
                requests += (Long) got[0];
                all.add((Histogram) got[1]);
            }
            for (LoopStats ls : st.callers) {
                requests += ls.completed();
                all.add(ls.latency);
            }
            Histogram lag = app.senderLateness();
            Map<String, Long> cpu = CpuSampler.delta(s0, s1);
            double secs = (s1.wallNanos() - s0.wallNanos()) / 1e9;
            if (THREAD_REPORT && log != null) {
                log.printf(Locale.ROOT, "  CPU per thread over the measured %.1f s (process: %.3f s):%n", secs,
                    cpu.get("process") / 1e9);
                for (String line : CpuSampler.perThread(s0, s1)) {
                    log.println("    " + line);
                }
            }
            long bytes = bulk ? bytes1 - bytes0 : requests * c.size();
            boolean anyLatency = all.getTotalCount() > 0;
            return new BenchResult(c.transport().id(), c.mode(), c.size(), c.connections(), c.depth(), secs,
                bulk ? 0 : requests, bytes,
                anyLatency ? all.getValueAtPercentile(50) : 0, anyLatency ? all.getValueAtPercentile(99) : 0,
                anyLatency ? all.getValueAtPercentile(99.9) : 0, anyLatency ? all.getMaxValue() : 0,
                anyLatency ? all.getMean() : 0, cpu.get("process"), cpu.get("server"), cpu.get("client"),
                cpu.get("engine"), cpu.get("otherJava"), gc1 - gc0, note + machineNote + jitNote + engineNote,
                busy.length == 0 ? Double.NaN : java.util.Arrays.stream(busy).sum(), c.mode().equals("open") ? c.rate() : 0,
                cpu.get("app"), lag == null || lag.getTotalCount() == 0 ? 0 : lag.getValueAtPercentile(99));
        } finally {
            st.phase = STOP;
            app.stop();
            for (Channel ch : clients) {
                ch.close();
            }
            clientLoops.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /**
     * Server role (for two processes): serve on {@code bind}, print {@code READY port}; then on
     * stdin {@code MEASURE} and {@code STOP} bracket the measured interval, after which one
     * {@code SERVER cpuProcess=.. cpuServer=.. cpuEngine=.. cpuOtherJava=.. bytes=..} line is printed;
     * end of stdin ends the server.
     */
    static void serve(Config c, InetSocketAddress bind) throws Exception {
        c.transport().ensureAvailable();
        State st = new State();
        try (ServerSide server = ServerSide.start(c, st, bind);
             var in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in,
                 java.nio.charset.StandardCharsets.UTF_8))) {
            System.out.println("READY " + server.port());
            System.out.flush();
            CpuSampler.Snapshot s0 = null;
            long bytes0 = 0;
            for (String l; (l = in.readLine()) != null; ) {
                if (l.equals("GC")) {
                    System.gc(); // as the client does halfway through the warm-up (see runClient)
                } else if (l.equals("MEASURE")) {
                    s0 = CpuSampler.snapshot();
                    bytes0 = st.serverBytes.get();
                } else if (l.equals("STOP") && s0 != null) {
                    CpuSampler.Snapshot s1 = CpuSampler.snapshot();
                    Map<String, Long> cpu = CpuSampler.delta(s0, s1);
                    System.out.printf(Locale.ROOT, "SERVER cpuProcess=%d cpuServer=%d cpuEngine=%d cpuOtherJava=%d "
                            + "bytes=%d%n", cpu.get("process"), cpu.get("server"), cpu.get("engine"),
                        cpu.get("otherJava"), st.serverBytes.get() - bytes0);
                    System.out.flush();
                } else if (l.equals("EXIT")) {
                    break;
                }
            }
        }
    }

    /** Quiet seconds in a row after which the JIT counts as done. */
    static final int JIT_QUIET_SECONDS = 3;
    /** The longest a run waits for the JIT after its warm-up. */
    static final long JIT_SETTLE_MAX_MILLIS = 30_000;

    /**
     * After the warm-up, goes on (unmeasured) in one-second steps until the JIT compiled less than
     * {@value io.tasnetty.samples.Warmup#QUIET_PERCENT}% of the time in {@value #JIT_QUIET_SECONDS} steps in a row, at most
     * {@value #JIT_SETTLE_MAX_MILLIS} ms; returns how long it waited. A user-space stack is Java the JIT
     * compiles as it runs (the kernel's stack is compiled already), and a low-rate run's warm-up is
     * few requests: at 1,160 requests/s, 8 connections, TAS's process spent 0.29-0.46 s per 5 s
     * measured outside its loops and engine threads (epoll 0.06-0.09), the JIT's compiler threads;
     * with one quiet second as the rule the JIT still compiled 118-264 ms of the 5 s (epoll 41-179),
     * in bursts, and the runs with more of it had the higher p99 (at 11,600/s: 52, 201, 264 ms against
     * p99 0.4, 1.2, 3.0 ms). That is a cold start on two cores, not the load the row names; every
     * transport waits by the same rule, and each run's details show what was still compiled.
     */
    private static long settleJit(PrintStream log, Config c, String label, State st, AtomicLong bytes, boolean bulk)
        throws InterruptedException {
        long start = System.nanoTime();
        int quiet = 0;
        while (quiet < JIT_QUIET_SECONDS
            && System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(JIT_SETTLE_MAX_MILLIS)) {
            long j = Warmup.compileMillis();
            long t = System.nanoTime();
            tick(log, c, label, "JIT settling", 1000, st, bytes, bulk);
            long compiled = Warmup.compileMillis() - j;
            quiet = compiled * 1_000_000L * 100 < Warmup.QUIET_PERCENT * (System.nanoTime() - t) ? quiet + 1 : 0;
        }
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        if (log != null && c.progress()) {
            log.printf(Locale.ROOT, "  %s: waited %.1f s for the JIT after the warm-up%n", label, waited / 1000.0);
        }
        return waited;
    }

    private static void tick(PrintStream log, Config c, String label, String phase, long millis, State st,
        AtomicLong bytes, boolean bulk) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        long lastCount = count(st, bytes, bulk);
        long lastT = System.nanoTime();
        int sec = 0;
        while (true) {
            long left = end - System.nanoTime();
            if (left <= 0) {
                break;
            }
            Thread.sleep(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 1, 1000));
            sec++;
            if (c.progress() && log != null) {
                long now = System.nanoTime();
                long n = count(st, bytes, bulk);
                double rate = (n - lastCount) / ((now - lastT) / 1e9);
                log.printf(Locale.ROOT, "  %s: %s %d/%d s: %s%n", label, phase, Math.min(sec, (millis + 999) / 1000),
                    (millis + 999) / 1000,
                    bulk ? String.format(Locale.ROOT, "%.2f Gbit/s", rate * 8 / 1e9)
                        : String.format(Locale.ROOT, "%,.0f req/s", rate));
                log.flush();
                lastCount = n;
                lastT = now;
            }
        }
    }

    /** What the engine did in the measured interval: packets, retransmissions, drops. */
    private static String engineDelta(Map<io.tasnetty.engine.stats.TasCounter, Long> a,
        Map<io.tasnetty.engine.stats.TasCounter, Long> b) {
        long tx = 0;
        long rexmit = 0;
        long rto = 0;
        long drops = 0;
        long dupAcks = 0;
        StringBuilder why = new StringBuilder();
        for (var e : b.entrySet()) {
            long d = e.getValue() - a.getOrDefault(e.getKey(), 0L);
            switch (e.getKey().name()) {
                case "TX_PACKETS" -> tx = d;
                case "TCP_RETRANSMITTED_SEGMENTS" -> rexmit = d;
                case "TCP_RETRANSMIT_TIMEOUTS" -> rto = d;
                case "TCP_DUPLICATE_ACKS" -> dupAcks = d;
                default -> {
                    if (e.getKey().name().startsWith("DROP_")) {
                        if (d > 0) {
                            why.append(why.isEmpty() ? " (" : ", ")
                                .append(e.getKey().name().toLowerCase(Locale.ROOT).replace('_', '-')).append(' ').append(d);
                        }
                        drops += d;
                    }
                }
            }
        }
        return String.format(Locale.ROOT, "%,d packets, %d retransmitted (%d timeouts), %d dropped%s, %d duplicate ACKs",
            tx, rexmit, rto, drops, why.isEmpty() ? "" : why.append(')'), dupAcks);
    }

    /** Racy progress count: bytes (bulk) or completions. */
    private static long count(State st, AtomicLong bytes, boolean bulk) {
        if (bulk) {
            return bytes.get();
        }
        long n = 0;
        for (LoopStats ls : st.loops.values()) {
            n += ls.total;
        }
        for (LoopStats ls : st.callers) {
            n += ls.total;
        }
        return n;
    }

    private static long gcCount(List<GarbageCollectorMXBean> gcs) {
        long n = 0;
        for (GarbageCollectorMXBean g : gcs) {
            n += Math.max(0, g.getCollectionCount());
        }
        return n;
    }

    private static byte[] pattern(int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) ('a' + i % 26);
        }
        return b;
    }

    /** Client handlers start sending when every connection is up. */
    private interface Starter {
        void start();
    }

    /** Server, rpc mode: echo every byte; flush once per read burst. */
    private static final class EchoHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg, ctx.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Server, bulk mode: count and drop. */
    private static final class SinkHandler extends ChannelInboundHandlerAdapter {
        private final State st;

        SinkHandler(State st) {
            this.st = st;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            st.serverBytes.addAndGet(b.readableBytes());
            b.release();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Client, rpc mode: closed loop with {@code depth} requests in flight. */
    private static final class RpcClientHandler extends ChannelInboundHandlerAdapter implements Starter {
        private final State st;
        private final ByteBuf payload;
        private final int size;
        private final long[] sentAt;
        private ChannelHandlerContext ctx;
        private LoopStats stats;
        private long issued;
        private long done;
        private long pending;

        RpcClientHandler(State st, ByteBuf payload, int size, int depth) {
            this.st = st;
            this.payload = payload;
            this.size = size;
            this.sentAt = new long[depth];
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void start() {
            stats = st.stats(ctx.channel().eventLoop());
            for (int i = 0; i < sentAt.length; i++) {
                send();
            }
            ctx.flush();
        }

        private void send() {
            sentAt[(int) (issued++ % sentAt.length)] = System.nanoTime();
            ctx.write(payload.duplicate(), ctx.voidPromise());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            pending += b.readableBytes();
            b.release();
            if (pending < size) {
                return;
            }
            long now = System.nanoTime();
            int phase = st.phase;
            while (pending >= size) {
                pending -= size;
                long lat = now - sentAt[(int) (done++ % sentAt.length)];
                stats.total++;
                stats.record(phase, lat);
                if (phase != STOP) {
                    send();
                }
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Client, bulk mode: write while writable. */
    private static final class StreamHandler extends ChannelInboundHandlerAdapter implements Starter {
        private final State st;
        private final ByteBuf payload;
        private ChannelHandlerContext ctx;
        private boolean filling;

        StreamHandler(State st, ByteBuf payload) {
            this.st = st;
            this.payload = payload;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void start() {
            fill();
        }

        private void fill() {
            if (filling) {
                return;
            }
            filling = true;
            try {
                Channel ch = ctx.channel();
                for (int round = 0; round < 16; round++) {
                    if (st.phase == STOP || !ch.isActive()) {
                        return;
                    }
                    long batch = 0;
                    while (ch.isWritable()) {
                        ctx.write(payload.duplicate(), ctx.voidPromise());
                        batch += payload.readableBytes();
                    }
                    st.clientBytes.addAndGet(batch);
                    ctx.flush();
                    if (!ch.isWritable()) {
                        return; // channelWritabilityChanged resumes
                    }
                }
                ctx.executor().execute(this::fill); // let the loop run other work, then go on
            } finally {
                filling = false;
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                fill();
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ((ByteBuf) msg).release();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    // ---- open loop and blocking callers: the application's threads, outside the event loops -------

    /**
     * The app threads of a run: the open-loop sender or the blocking callers (none in rpc and bulk
     * mode). They stop sending at {@code STOP} but stay alive until {@link #stop}: the CPU time of a
     * thread that has ended can no longer be read, and the measured interval's last snapshot comes
     * after {@code STOP}.
     */
    private static final class AppThreads {
        private final List<Thread> threads = new ArrayList<>();
        private final java.util.concurrent.CountDownLatch released = new java.util.concurrent.CountDownLatch(1);
        private OpenLoopSender sender;

        void startSender(State st, List<Channel> channels, ByteBuf payload, double rate) {
            sender = new OpenLoopSender(st, channels, payload, rate);
            start(CpuSampler.APP_PREFIX + "-sender", sender);
        }

        void startCallers(State st, List<Channel> channels, ByteBuf payload) {
            for (int i = 0; i < channels.size(); i++) {
                BlockingCaller caller = new BlockingCaller(st, channels.get(i), payload);
                st.callers.add(caller.stats);
                start(CpuSampler.APP_PREFIX + "-caller-" + i, caller);
            }
        }

        private void start(String name, Runnable body) {
            threads.add(Thread.ofPlatform().daemon().name(name).start(() -> {
                try {
                    body.run();
                } finally {
                    try {
                        released.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }));
        }

        /**
         * Ends the threads once {@code STOP} is set: wakes the parked ones, lets them end and waits
         * for them, which also hands their figures over to this thread.
         */
        void stop() throws InterruptedException {
            released.countDown();
            for (Thread t : threads) {
                LockSupport.unpark(t);
            }
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(10));
            }
            threads.clear();
        }

        /** How late the open-loop sender was, null in the other modes. */
        Histogram senderLateness() {
            return sender == null ? null : sender.lateness;
        }
    }

    /**
     * The intended send times of one connection's requests in flight, oldest first: the open-loop
     * sender adds one per request, the connection's event loop takes one per complete echo (echoes
     * of fixed-size requests come back in order). One producer, one consumer, preallocated: nothing
     * is allocated per request.
     */
    private static final class SendTimes {
        /** Requests in flight on one connection before the sender waits (about 0.25 s at 128k req/s). */
        private static final int CAPACITY = 1 << 15;
        private final long[] ring = new long[CAPACITY];
        private volatile long head; // written by the sender only: the writes before it publish the slot
        private volatile long tail; // written by the event loop only: frees a slot for the sender

        boolean offer(long nanos) {
            long h = head;
            if (h - tail == CAPACITY) {
                return false;
            }
            ring[(int) (h & (CAPACITY - 1))] = nanos;
            head = h + 1;
            return true;
        }

        /** The oldest intended send time, or -1 when none is in flight (an echo nobody sent). */
        long poll() {
            long t = tail;
            if (t == head) {
                return -1;
            }
            long v = ring[(int) (t & (CAPACITY - 1))];
            tail = t + 1;
            return v;
        }
    }

    /**
     * The open loop's sender: one thread that sleeps until the next request is due, then sends
     * every request that is due, round-robin over the connections. It never spins: on a 2-core
     * machine a spinning sender would take a core from the transport it measures.
     */
    private static final class OpenLoopSender implements Runnable {
        /** How long to wait when a connection already has {@link SendTimes#CAPACITY} requests unanswered. */
        private static final long FULL_WAIT_NANOS = TimeUnit.MICROSECONDS.toNanos(100);
        private final State st;
        private final Channel[] channels;
        private final SendTimes[] times;
        private final ByteBuf payload;
        private final double intervalNanos;
        /** Issue time minus intended time, per phase (see LoopStats); this thread's until it ends. */
        private final Histogram[] latenessByPhase = phaseHistograms();
        final Histogram lateness = latenessByPhase[MEASURE];

        OpenLoopSender(State st, List<Channel> channels, ByteBuf payload, double rate) {
            this.st = st;
            this.channels = channels.toArray(Channel[]::new);
            this.times = channels.stream().map(ch -> ((OpenLoopHandler) ch.pipeline().last()).times)
                .toArray(SendTimes[]::new);
            this.payload = payload;
            this.intervalNanos = 1e9 / rate;
        }

        @Override
        public void run() {
            tightenTimerSlack();
            long start = System.nanoTime();
            for (long k = 0; st.phase != STOP; ) {
                // From the start and k, not from the previous send, so late wake-ups do not add up into a lower rate.
                long intended = start + (long) (k * intervalNanos);
                long now = System.nanoTime();
                if (intended > now) {
                    LockSupport.parkNanos(intended - now);
                    continue;
                }
                int c = (int) (k % channels.length);
                if (!times[c].offer(intended)) {
                    LockSupport.parkNanos(FULL_WAIT_NANOS); // the request stays due: its latency keeps counting
                    continue;
                }
                latenessByPhase[st.phase].recordValue(Math.min(now - intended, MAX_LATENCY)); // see LoopStats
                channels[c].writeAndFlush(payload.duplicate(), channels[c].voidPromise());
                k++;
            }
        }
    }

    /** Client, open mode: takes each complete echo's intended send time and records the latency. */
    private static final class OpenLoopHandler extends ChannelInboundHandlerAdapter {
        final SendTimes times = new SendTimes();
        private final State st;
        private final int size;
        private LoopStats stats;
        private long pending;

        OpenLoopHandler(State st, int size) {
            this.st = st;
            this.size = size;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            stats = st.stats(ctx.channel().eventLoop());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            pending += b.readableBytes();
            b.release();
            if (pending < size) {
                return;
            }
            long now = System.nanoTime();
            int phase = st.phase;
            while (pending >= size) {
                pending -= size;
                long intended = times.poll();
                stats.total++;
                if (intended >= 0) {
                    stats.record(phase, now - intended);
                }
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /**
     * A blocking caller, as a blocking RPC stub's thread: send one request, park until its whole
     * echo is back, repeat. Latency is what this thread sees, its own wake-up included.
     */
    private static final class BlockingCaller implements Runnable {
        final LoopStats stats = new LoopStats();
        private final State st;
        private final Channel channel;
        private final CallerHandler echoes;
        private final ByteBuf payload;

        BlockingCaller(State st, Channel channel, ByteBuf payload) {
            this.st = st;
            this.channel = channel;
            this.echoes = (CallerHandler) channel.pipeline().last();
            this.payload = payload;
        }

        @Override
        public void run() {
            echoes.caller = Thread.currentThread();
            for (long sent = 1; st.phase != STOP && channel.isActive(); sent++) {
                long t0 = System.nanoTime();
                channel.writeAndFlush(payload.duplicate(), channel.voidPromise());
                while (echoes.echoed < sent) {
                    if (st.phase == STOP || !channel.isActive()) {
                        return;
                    }
                    LockSupport.park(echoes); // the handler unparks on the echo; stop() and channelInactive too
                }
                long latency = System.nanoTime() - t0;
                stats.total++;
                stats.record(st.phase, latency);
            }
        }
    }

    /** Client, blocking mode: counts complete echoes and wakes the caller waiting for them. */
    private static final class CallerHandler extends ChannelInboundHandlerAdapter {
        private final int size;
        private long pending;
        /** Complete echoes so far; written by the event loop only, read by the caller. */
        volatile long echoed;
        volatile Thread caller;

        CallerHandler(int size) {
            this.size = size;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            pending += b.readableBytes();
            b.release();
            if (pending < size) {
                return;
            }
            long n = echoed;
            while (pending >= size) {
                pending -= size;
                n++;
            }
            echoed = n;
            LockSupport.unpark(caller);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            LockSupport.unpark(caller);
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static final int PR_SET_TIMERSLACK = 29;

    /**
     * Asks Linux to end this thread's timed waits within 1 µs of their deadline (prctl
     * PR_SET_TIMERSLACK) instead of the default 50 µs, so the open-loop sender wakes when a
     * request is due rather than adding up to 50 µs to every latency it measures. Best effort:
     * where it fails the sender's lateness figure shows the difference.
     */
    private static void tightenTimerSlack() {
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle prctl = linker.downcallHandle(linker.defaultLookup().find("prctl").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
            int ignored = (int) prctl.invokeExact(PR_SET_TIMERSLACK, 1_000L);
        } catch (Throwable e) {
            // not Linux, or no native access: keep the default slack
        }
    }
}
