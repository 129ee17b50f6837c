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
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

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
 * </ul>
 * Only the measured interval (after {@code warmup}) counts. CPU time is the process's (user +
 * system, so the kernel's TCP work done in this process's context counts for the kernel
 * transports) and, per thread, the server's and client's event loops and the TAS engine's threads.
 *
 * <p>Prints a human summary and one {@code RESULT k=v ...} line (see {@link BenchResult}) on stdout,
 * progress on stderr. {@link BenchRunner} runs this in a fresh JVM per transport and scenario.
 */
@Command(name = "rpc-bench", mixinStandardHelpOptions = true, sortOptions = false,
    description = "RPC echo benchmark (like TAS's micro_rpc): server and closed-loop client in one JVM.")
public final class RpcBench implements Callable<Integer> {
    /** One run's parameters. */
    public record Config(Transport transport, String mode, int size, int connections, int depth, long warmupMillis,
                         long durationMillis, int serverThreads, int clientThreads, String host, boolean progress) {
        public Config {
            if (!mode.equals("rpc") && !mode.equals("bulk")) {
                throw new IllegalArgumentException("mode: expected rpc or bulk, not " + mode);
            }
            if (size < 1 || connections < 1 || depth < 1 || durationMillis < 1 || warmupMillis < 0
                || serverThreads < 1 || clientThreads < 1) {
                throw new IllegalArgumentException("size, connections, depth, duration and threads must be positive");
            }
        }

        public String label() {
            return mode.equals("rpc")
                ? String.format(Locale.ROOT, "%s rpc %dB x%d conn depth %d", transport, size, connections, depth)
                : String.format(Locale.ROOT, "%s bulk %dB writes x%d conn", transport, size, connections);
        }
    }

    @Option(names = "--transport", converter = Transport.Converter.class, defaultValue = "tas",
        description = "tas, nio, epoll or io_uring (default: ${DEFAULT-VALUE})")
    Transport transport;

    @Option(names = "--mode", defaultValue = "rpc", description = "rpc or bulk (default: ${DEFAULT-VALUE})")
    String mode;

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

    public static void main(String[] args) {
        System.exit(new CommandLine(new RpcBench()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Config c = new Config(transport, mode, size, connections, depth, Math.round(warmup * 1000),
            Math.round(duration * 1000), serverThreads, clientThreads, host, !quiet);
        BenchResult r;
        switch (role) {
            case "both" -> r = run(c, System.err);
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
        final AtomicLong serverBytes = new AtomicLong();
        final AtomicLong clientBytes = new AtomicLong();
        final Map<EventLoop, LoopStats> loops = new ConcurrentHashMap<>();

        LoopStats stats(EventLoop loop) {
            return loops.computeIfAbsent(loop, l -> new LoopStats());
        }
    }

    /** Per client event loop: only that loop's thread writes it. */
    private static final class LoopStats {
        final Histogram latency = new Histogram(10, MAX_LATENCY, 3);
        long completed; // measured completions (read racily for progress only)
        long total;     // all completions
    }

    /** Runs one benchmark (server and client in this JVM) and returns what it measured; progress goes to {@code log}. */
    public static BenchResult run(Config c, PrintStream log) throws Exception {
        c.transport().ensureAvailable();
        State st = new State();
        try (ServerSide server = ServerSide.start(c, st, new InetSocketAddress(c.host(), 0))) {
            return runClient(c, st, new InetSocketAddress(c.host(), server.port()), log, null,
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
        AtomicLong counted = phases == null ? st.serverBytes : st.clientBytes;
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
                        ch.pipeline().addLast(bulk ? new StreamHandler(st, payload)
                            : new RpcClientHandler(st, payload, c.size(), c.depth()));
                    }
                });
            for (int i = 0; i < c.connections(); i++) {
                clients.add(b.connect(addr).sync().channel());
            }
            for (Channel ch : clients) {
                Starter s = (Starter) ch.pipeline().last();
                ch.eventLoop().execute(s::start);
            }

            String label = c.label();
            tick(log, c, label, "warm-up", c.warmupMillis(), st, counted, bulk);
            List<GarbageCollectorMXBean> gcs = ManagementFactory.getGarbageCollectorMXBeans();
            long gc0 = gcCount(gcs);
            if (phases != null) {
                phases.accept("MEASURE");
            }
            io.tasnetty.engine.TasEngine engine = clientLoops instanceof io.tasnetty.transport.TasEventLoopGroup g
                ? g.engine() : null;
            Map<io.tasnetty.engine.stats.TasCounter, Long> e0 = engine == null ? null : engine.counters();
            CpuSampler.Snapshot s0 = CpuSampler.snapshot();
            long bytes0 = counted.get();
            st.phase = MEASURE;
            tick(log, c, label, "measure", c.durationMillis(), st, counted, bulk);
            st.phase = STOP;
            CpuSampler.Snapshot s1 = CpuSampler.snapshot();
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

            // Collect on each loop (its thread owns the figures).
            Histogram all = new Histogram(10, MAX_LATENCY, 3);
            long requests = 0;
            for (Map.Entry<EventLoop, LoopStats> e : st.loops.entrySet()) {
                LoopStats ls = e.getValue();
                // On the loop's own thread: after STOP nothing records any more, and the task hands
                // the figures over with a happens-before edge.
                Object[] got = e.getKey().submit(() -> new Object[] {ls.completed, ls.latency.copy()})
                    .get(10, TimeUnit.SECONDS);
                requests += (Long) got[0];
                all.add((Histogram) got[1]);
            }
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
                cpu.get("engine"), cpu.get("otherJava"), gc1 - gc0, note + machineNote + engineNote,
                busy.length == 0 ? Double.NaN : java.util.Arrays.stream(busy).sum());
        } finally {
            st.phase = STOP;
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
                if (l.equals("MEASURE")) {
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
        for (var e : b.entrySet()) {
            long d = e.getValue() - a.getOrDefault(e.getKey(), 0L);
            switch (e.getKey().name()) {
                case "TX_PACKETS" -> tx = d;
                case "TCP_RETRANSMITTED_SEGMENTS" -> rexmit = d;
                case "TCP_RETRANSMIT_TIMEOUTS" -> rto = d;
                case "TCP_DUPLICATE_ACKS" -> dupAcks = d;
                default -> {
                    if (e.getKey().name().startsWith("DROP_")) {
                        drops += d;
                    }
                }
            }
        }
        return String.format(Locale.ROOT, "%,d packets, %d retransmitted (%d timeouts), %d dropped, %d duplicate ACKs",
            tx, rexmit, rto, drops, dupAcks);
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
                if (phase == MEASURE) {
                    stats.latency.recordValue(Math.min(Math.max(lat, 0), MAX_LATENCY));
                    stats.completed++;
                }
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
}
