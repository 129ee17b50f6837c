package io.tasnetty.samples.bench;

import io.tasnetty.samples.Transport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * Runs the RPC echo benchmark ({@link RpcBench}) on every transport over a matrix of scenarios,
 * each run in a fresh JVM (so JIT, GC and CPU accounting of one run do not leak into the next),
 * prints progress and a Markdown table, and writes the table, an SVG chart and the raw results
 * to a directory.
 *
 * <p>Default matrix, on TAS, NIO, epoll and io_uring (whichever are available here):
 * <ul>
 *   <li>64-byte RPCs in a closed loop (saturated) at 1, 8 and 64 connections, pipelining depth 1;</li>
 *   <li>a bulk transfer on one connection;</li>
 *   <li>an open loop on 8 connections at 1%, 10%, 50% and 90% of epoll's saturated closed-loop rate
 *       at 8 connections, as measured earlier in the same run, so every transport gets the same
 *       absolute rate;</li>
 *   <li>blocking callers: 1 and 8 threads, each sending on its own connection and waiting for the echo.</li>
 * </ul>
 */
@Command(name = "bench-runner", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Side-by-side RPC echo benchmark: TAS vs NIO, epoll and io_uring, one fresh JVM per run.")
public final class BenchRunner implements Callable<Integer> {
    @Option(names = "--transports", split = ",", defaultValue = "tas,nio,epoll,io_uring",
        description = "transports to run (default: ${DEFAULT-VALUE})")
    List<String> transports;

    @Option(names = "--connections", split = ",", defaultValue = "1,8,64",
        description = "connection counts of the closed-loop RPC scenarios (default: ${DEFAULT-VALUE})")
    List<Integer> connections;

    @Option(names = "--size", defaultValue = "64", description = "RPC message size in bytes (default: ${DEFAULT-VALUE})")
    int size;

    @Option(names = "--depth", defaultValue = "1", description = "pipelining depth per connection (default: ${DEFAULT-VALUE})")
    int depth;

    @Option(names = "--bulk-size", defaultValue = "65536", description = "bulk write size in bytes (default: ${DEFAULT-VALUE})")
    int bulkSize;

    @Option(names = "--bulk-connections", defaultValue = "1", description = "bulk connections (default: ${DEFAULT-VALUE})")
    int bulkConnections;

    @Option(names = "--skip-bulk", description = "no bulk scenario")
    boolean skipBulk;

    @Option(names = "--skip-rpc", description = "no closed-loop RPC scenarios")
    boolean skipRpc;

    @Option(names = "--warmup", defaultValue = "5", description = "warm-up seconds per run (default: ${DEFAULT-VALUE})")
    double warmup;

    @Option(names = "--duration", defaultValue = "5", description = "measured seconds per run (default: ${DEFAULT-VALUE})")
    double duration;

    @Option(names = "--skip-open", description = "no open-loop scenarios")
    boolean skipOpen;

    @Option(names = "--skip-blocking", description = "no blocking-caller scenarios")
    boolean skipBlocking;

    @Option(names = "--open-loads", split = ",", defaultValue = "1,10,50,90", description = "open-loop rates, in "
        + "percent of epoll's (without epoll: NIO's) saturated closed-loop requests/s at --open-connections, "
        + "measured earlier in this run (default: ${DEFAULT-VALUE})")
    List<Double> openLoads;

    @Option(names = "--open-rates", split = ",", description = "open-loop rates in requests/s, e.g. 2000,20000 "
        + "(instead of --open-loads)")
    List<Long> openRates;

    @Option(names = "--open-connections", defaultValue = "8",
        description = "connections of the open-loop scenarios (default: ${DEFAULT-VALUE})")
    int openConnections;

    @Option(names = "--blocking-callers", split = ",", defaultValue = "1,8",
        description = "caller threads of the blocking scenarios, one connection each (default: ${DEFAULT-VALUE})")
    List<Integer> blockingCallers;

    @Option(names = "--open-warmup", defaultValue = "5",
        description = "warm-up seconds of each open-loop and blocking-caller run (default: ${DEFAULT-VALUE})")
    double openWarmup;

    @Option(names = "--open-duration", defaultValue = "5",
        description = "measured seconds of each open-loop and blocking-caller run (default: ${DEFAULT-VALUE})")
    double openDuration;

    @Option(names = "--quick", description = "1 s warm-up, 2 s measured for every run (a smoke run, not for the record)")
    boolean quick;

    @Option(names = "--out", defaultValue = "target/bench", description = "directory for the report (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--name", defaultValue = "rpc-bench", description = "base name of the report files (default: ${DEFAULT-VALUE})")
    String name;

    @Option(names = "--jvm-arg", description = "extra argument for the worker JVMs (repeatable), e.g. -Dtas.fp-no-ints=true")
    List<String> jvmArgs = new ArrayList<>();

    @Option(names = "--heap", defaultValue = "1g", description = "worker heap, -Xms and -Xmx (default: ${DEFAULT-VALUE})")
    String heap;

    @Option(names = "--quiet", description = "one line per run instead of per-second progress")
    boolean quiet;

    @Option(names = "--repeat", defaultValue = "1",
        description = "runs per cell, interleaved; the report shows the median and the range (default: ${DEFAULT-VALUE})")
    int repeat;

    @Option(names = "--open-repeat", defaultValue = "0", description = "runs per open-loop cell, interleaved (default: "
        + "as --repeat). On shared machines an open loop's p99 at low rates is bimodal for every transport (in about a "
        + "third of the runs the sender wakes late), so its median needs more runs than a saturated loop's")
    int openRepeat;

    @Option(names = "--rerun-disturbed", defaultValue = "1", description = "run a cell again (at most this many "
        + "times per round) when more than " + BenchResult.DISTURBED_CORES + " cores were busy outside it on the machine "
        + "(default: ${DEFAULT-VALUE})")
    int rerunDisturbed;

    @Option(names = "--background-load", defaultValue = "0", description = "run this many busy-looping processes at "
        + "nice 19 beside every run, as a batch job on the same machine would (default: ${DEFAULT-VALUE}); runs are "
        + "then not repeated for being disturbed")
    int backgroundLoad;

    @Option(names = "--variant", description = "an extra row: LABEL:JVMARG,JVMARG... where LABEL is a transport, "
        + "'+' and a name, e.g. tas+1m:-Dtas.tcp-link-bw=100,-Dtas.tcp-rxbuf-len=1m,-Dtas.tcp-txbuf-len=1m (repeatable)")
    List<String> variants = new ArrayList<>();

    private final java.util.Map<String, List<String>> variantArgs = new java.util.HashMap<>();

    @Option(names = "--memif", description = "also try TAS<->TAS across two processes over DPDK net_memif (root + DPDK)")
    boolean memif;

    @Option(names = "--attached", description = "also run TAS attached to a TAS service (service mode, row "
        + ATTACHED + "): a service process owns the engine (in-JVM wire port), the worker attaches with -Dtas.service "
        + "and its server and client talk over the engine's own address; CPU is the sum of both processes")
    boolean attached;

    @Option(names = "--report-from", description = "render the report again from a results file this runner wrote "
        + "(NAME.results.txt), running nothing")
    Path reportFrom;

    private String[] originalArgs = new String[0];
    /** Progress: cells planned and started, and when the first started. */
    private int total;
    private int done;
    private long t0;

    public static void main(String[] args) {
        BenchRunner r = new BenchRunner();
        r.originalArgs = args.clone();
        CommandLine cl = new CommandLine(r);
        cl.setOverwrittenOptionsAllowed(true);
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (reportFrom != null) {
            BenchReport r = BenchReport.fromRaw(reportFrom);
            r.write(out, name);
            System.out.print(r.tables());
            System.out.print(r.targets());
            System.out.printf("Wrote %s and %s%n", out.resolve(name + ".md").toAbsolutePath(),
                out.resolve(name + ".svg").toAbsolutePath());
            return 0;
        }
        if (quick) {
            warmup = 1;
            duration = 2;
            openWarmup = 1;
            openDuration = 2;
        }
        List<String> ts = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (String s : transports) {
            Transport t = Transport.parse(s);
            Throwable why = t.unavailabilityCause();
            if (why != null) {
                notes.add(t.id() + ": not available here (" + why + ")");
                System.out.printf("Skipping %s: not available here (%s)%n", t.id(), why);
            } else {
                ts.add(t.id());
            }
        }
        if (ts.isEmpty()) {
            System.err.println("error: none of the transports " + transports + " is available here");
            return 2;
        }
        for (String v : variants) {
            int colon = v.indexOf(':');
            String label = colon < 0 ? v : v.substring(0, colon);
            int plus = label.indexOf('+');
            if (plus <= 0 || plus == label.length() - 1) {
                System.err.println("error: --variant " + v + ": expected LABEL:JVMARG,... with LABEL like tas+name");
                return 2;
            }
            Transport base = Transport.parse(label.substring(0, plus));
            if (!ts.contains(base.id())) {
                notes.add(label + ": skipped, " + base.id() + " is not in the run");
                continue;
            }
            List<String> args = colon < 0 ? List.of() : List.of(v.substring(colon + 1).split(","));
            variantArgs.put(label, args);
            int at = ts.indexOf(base.id()) + 1;
            while (at < ts.size() && ts.get(at).startsWith(base.id() + "+")) {
                at++;
            }
            ts.add(at, label);
            notes.add(label + ": " + base.id() + " with " + String.join(" ", args));
        }
        List<BenchReport.Scenario> closed = new ArrayList<>();
        if (!skipRpc) {
            for (int c : connections) {
                closed.add(new BenchReport.Scenario("rpc", size, c, depth));
            }
        }
        if (!skipBulk) {
            closed.add(new BenchReport.Scenario("bulk", bulkSize, bulkConnections, 1));
        }
        int openPoints = skipOpen ? 0 : openRates != null ? openRates.size() : openLoads.size();
        int blockingPoints = skipBlocking ? 0 : blockingCallers.size();
        if (memif) {
            String why = memifUnavailable();
            if (why == null) {
                ts.add(ts.indexOf("tas") + 1, MEMIF);
                notes.add(MEMIF + ": TAS<->TAS in two processes (server and client JVMs), each engine on a DPDK "
                    + "net_memif port (" + "--no-huge, copy mode), linked by a memif socket; CPU is the sum of both "
                    + "processes");
            } else {
                notes.add("TAS<->TAS across two processes over DPDK net_memif: skipped: " + why);
                System.out.println("Skipping TAS<->TAS over DPDK net_memif: " + why);
            }
        } else {
            notes.add("TAS<->TAS across two processes over DPDK net_memif: not run (optional; pass --memif to try it: "
                + "it needs root and DPDK)");
        }

        if (attached) {
            ts.add(ts.contains("tas") ? ts.indexOf("tas") + 1 : 0, ATTACHED);
            notes.add(ATTACHED + ": TAS in service mode: a service process (TasService, in-JVM wire port, default "
                + "options) owns the engine; the worker JVM attaches with -Dtas.service=DIR, its echo server binds "
                + ATTACHED_IP + " (the engine's own address, looped inside the service's engine) and its client "
                + "connects there; CPU is the worker's plus the whole service process's (its engine and proxy "
                + "threads counted as engine)");
        }
        ZonedDateTime date = ZonedDateTime.now();
        int rounds = Math.max(1, repeat);
        int openRounds = openRounds();
        total = ts.size() * ((closed.size() + blockingPoints) * rounds + openPoints * openRounds);
        double seconds = ts.size() * (rounds * closed.size() * (warmup + duration + 2.5)
            + (rounds * blockingPoints + openRounds * openPoints) * (openWarmup + openDuration + 2.5));
        System.out.printf(Locale.ROOT, "RPC echo benchmark: %d runs (%s x %d scenarios), one fresh JVM each, "
                + "%.0f s warm-up + %.0f s measured (open loop and blocking callers: %.0f s + %.0f s): about %.1f "
                + "minutes.%n", total, ts, closed.size() + openPoints + blockingPoints, warmup, duration, openWarmup,
            openDuration, seconds / 60);
        java.util.Map<String, List<BenchReport.Run>> cells = new java.util.LinkedHashMap<>();
        List<BenchReport.Scenario> loads = null;
        List<Process> hogs = startBackgroundLoad(notes);
        t0 = System.nanoTime();
        try {
            for (int rep = 1; rep <= Math.max(rounds, openRounds); rep++) {
                for (BenchReport.Scenario s : rep <= rounds ? closed : List.<BenchReport.Scenario>of()) {
                    for (String t : ts) {
                        runCell(s, t, rep, cells);
                    }
                }
                if (loads == null) {
                    // After the first round's closed loop: the open loop's rates come from it.
                    loads = loadScenarios(cells, notes);
                    total = ts.size() * (closed.size() * rounds
                        + loads.stream().mapToInt(this::roundsOf).sum());
                }
                for (BenchReport.Scenario s : loads) {
                    for (String t : rep <= roundsOf(s) ? ts : List.<String>of()) {
                        runCell(s, t, rep, cells);
                    }
                }
            }
        } finally {
            hogs.forEach(Process::destroyForcibly);
        }
        List<BenchReport.Run> runs = new ArrayList<>();
        for (List<BenchReport.Run> attempts : cells.values()) {
            runs.add(BenchReport.Run.merge(attempts));
        }
        String method = method(loads != null && !loads.isEmpty());
        BenchReport report = new BenchReport(ts, runs, command(), method, notes, date);
        report.write(out, name);
        System.out.println();
        System.out.print(report.tables());
        System.out.print(report.targets());
        System.out.println();
        for (String n : notes) {
            System.out.println("Note: " + n);
        }
        System.out.printf("Wrote %s, %s and %s%n", out.resolve(name + ".md").toAbsolutePath(),
            out.resolve(name + ".svg").toAbsolutePath(), out.resolve(name + ".results.txt").toAbsolutePath());
        return runs.stream().anyMatch(r -> r.result() != null) ? 0 : 1;
    }

    /**
     * Starts {@code --background-load} busy loops at the lowest priority (nice 19), killed when the
     * runs end or the runner exits; with any, disturbed runs are not repeated (they all are).
     */
    private List<Process> startBackgroundLoad(List<String> notes) throws IOException {
        List<Process> hogs = new ArrayList<>();
        if (backgroundLoad <= 0) {
            return hogs;
        }
        for (int i = 0; i < backgroundLoad; i++) {
            hogs.add(new ProcessBuilder("nice", "-n", "19", "sh", "-c", "while :; do :; done")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start());
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> hogs.forEach(Process::destroyForcibly)));
        rerunDisturbed = 0;
        notes.add(String.format(Locale.ROOT, "background load: %d busy-looping process%s at nice 19 ran beside every "
            + "run (--background-load), as a batch job would; the cores busy outside each run count them", backgroundLoad,
            backgroundLoad == 1 ? "" : "es"));
        return hogs;
    }

    private BenchReport.Run runAny(BenchReport.Scenario s, String t) {
        return t.equals(MEMIF) ? runMemif(s) : t.equals(ATTACHED) ? runAttached(s) : runOne(s, t);
    }

    private int openRounds() {
        return Math.max(1, openRepeat > 0 ? openRepeat : repeat);
    }

    /** How many rounds a scenario's cells run: --open-repeat for the open loop, --repeat for the rest. */
    private int roundsOf(BenchReport.Scenario s) {
        return s.mode().equals("open") ? openRounds() : Math.max(1, repeat);
    }

    /** Runs one cell (a scenario on a transport) once, again if the machine was busy elsewhere, and prints it. */
    private void runCell(BenchReport.Scenario s, String t, int rep, java.util.Map<String, List<BenchReport.Run>> cells) {
        done++;
        System.out.printf(Locale.ROOT, "[%d/%d] %s on %s%s%n", done, total, s.label(), t,
            roundsOf(s) > 1 ? " (round " + rep + " of " + roundsOf(s) + ")" : "");
        System.out.flush();
        List<BenchReport.Run> attempts = cells.computeIfAbsent(s + "|" + t, k -> new ArrayList<>());
        BenchReport.Run run = runAny(s, t);
        for (int again = 0; again < rerunDisturbed && run.result() != null && run.result().disturbed(); again++) {
            System.out.printf(Locale.ROOT, "      the machine was busy elsewhere (%.2f cores besides this "
                + "run): running it again%n", run.result().otherLoadCores());
            attempts.add(run);
            run = runAny(s, t);
        }
        attempts.add(run);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        double eta = elapsed / done * (total - done);
        if (run.result() != null) {
            System.out.printf(Locale.ROOT, "      %s%n", RpcBench.summary(run.result()));
        } else {
            System.out.printf(Locale.ROOT, "      FAILED: %s%n", run.failure());
        }
        System.out.printf(Locale.ROOT, "      (%.0f s elapsed, about %.0f s to go)%n", elapsed, eta);
        System.out.flush();
    }

    /**
     * The open-loop and blocking-caller scenarios. The open loop's rates are --open-rates, or
     * --open-loads percent of a saturated closed-loop rate at --open-connections: epoll's (else
     * NIO's) from this run's closed-loop cells, or from a calibration run when the matrix has none.
     * Without a rate the open loop is skipped, with a note.
     */
    private List<BenchReport.Scenario> loadScenarios(java.util.Map<String, List<BenchReport.Run>> cells,
        List<String> notes) {
        List<BenchReport.Scenario> l = new ArrayList<>();
        if (!skipOpen) {
            List<Long> rates = openRates;
            if (rates == null) {
                BenchReport.Scenario sat = new BenchReport.Scenario("rpc", size, openConnections, depth);
                String from = null;
                BenchResult base = null;
                for (String t : List.of("epoll", "nio")) {
                    base = calibration(cells.get(sat + "|" + t));
                    if (base != null) {
                        from = t + "'s closed loop in this run";
                        break;
                    }
                }
                if (base == null) {
                    String t = Transport.EPOLL.isAvailable() ? "epoll" : "nio";
                    System.out.printf(Locale.ROOT, "Calibrating the open loop: %s on %s%n", sat.label(), t);
                    BenchReport.Run cal = runWorker(sat, t, List.of());
                    base = cal.result();
                    from = t + "'s closed loop in a calibration run (not in the tables)";
                    if (base == null) {
                        notes.add("open loop: skipped, the calibration run on " + t + " failed: " + cal.failure());
                    }
                }
                if (base != null) {
                    rates = new ArrayList<>();
                    for (double pct : openLoads) {
                        rates.add(threeDigits(base.requestsPerSecond() * pct / 100));
                    }
                    notes.add(String.format(Locale.ROOT, "open loop: %s%% of %,.0f req/s, the saturated rate at %d "
                            + "connections of %s: %s req/s for every transport", joined(openLoads), base
                            .requestsPerSecond(), openConnections, from, joined(rates)));
                }
            } else {
                notes.add("open loop: rates given on the command line: " + joined(rates) + " req/s");
            }
            for (long r : rates == null ? List.<Long>of() : rates) {
                l.add(new BenchReport.Scenario("open", size, openConnections, 1, r));
            }
        }
        if (!skipBlocking) {
            for (int n : blockingCallers) {
                l.add(new BenchReport.Scenario("blocking", size, n, 1));
            }
        }
        return l;
    }

    /** The first undisturbed result of a cell's attempts so far, else the first result, else null. */
    private static BenchResult calibration(List<BenchReport.Run> attempts) {
        List<BenchResult> ok = attempts == null ? List.of() : attempts.stream().map(BenchReport.Run::result)
            .filter(java.util.Objects::nonNull).toList();
        return ok.stream().filter(r -> !r.disturbed()).findFirst().orElse(ok.isEmpty() ? null : ok.get(0));
    }

    /** {@code v} rounded to three significant digits, e.g. 131,294.7 to 131,000: rates that read well. */
    static long threeDigits(double v) {
        if (v < 1) {
            return 1;
        }
        double unit = Math.pow(10, Math.max(0, Math.floor(Math.log10(v)) - 2));
        return (long) (Math.round(v / unit) * unit);
    }

    private static String joined(List<? extends Number> l) {
        return String.join(", ", l.stream().map(n -> n.doubleValue() == Math.rint(n.doubleValue())
            ? String.format(Locale.ROOT, "%,d", n.longValue()) : n.toString()).toList());
    }

    private String method(boolean loads) {
        return String.format(Locale.ROOT, "one fresh JVM per row (-Xms%s -Xmx%s), in which an echo server (1 event "
                + "loop) and a closed-loop client (1 event loop) run on the same transport and talk over 127.0.0.1: "
                + "TAS through its engine's loopback (the embedded default engine, its fast-path and slow-path threads "
                + "in the same JVM), NIO/epoll/io_uring through the kernel's loopback. %.0f s warm-up (with a "
                + "System.gc() halfway, in every process, so that no transport's first young collection of its "
                + "start-up garbage falls into the measured interval), then on in 1 s steps until the JIT compiler worked less "
                + "than 2%% of each of 3 steps in a row (at most 30 s; every transport alike: TAS's TCP stack is Java the JIT compiles as it "
                + "runs, the kernel's is compiled already), then %.0f s measured. Latency: send of a request to the last byte of its echo, HdrHistogram. CPU: process "
                + "CPU time (user + system, so kernel TCP work done on the process's behalf counts) from the OS, and "
                + "per-thread CPU time (ThreadMXBean) of the event loops and TAS engine threads; \"rest\" is the "
                + "process CPU not in those threads (JIT compiler, GC, ...). Figures are from shared 2-core machines: "
                + "compare ratios within one run rather than absolute numbers across runs.%s",
            heap, heap, warmup, duration, repeat > 1 || openRounds() > 1 ? String.format(Locale.ROOT, " Every cell "
                + "ran %d times%s, interleaved (round 1 of every cell, then round 2, ...); the tables show each cell's "
                + "median run by throughput.", Math.max(1, repeat), openRounds() == Math.max(1, repeat) ? ""
                : String.format(Locale.ROOT, " (the open loop's %d times: its p99 at low rates is bimodal on shared "
                + "machines, for every transport)", openRounds())) : "") + (loads ? String.format(Locale.ROOT, " Open loop: one application "
                + "thread outside the event loops sends on a fixed schedule (parked between sends, never spinning), "
                + "round-robin over the connections, with writeAndFlush; latency runs from each request's intended "
                + "send time (no coordinated omission). Blocking callers: one application thread per connection "
                + "sends, parks until the whole echo is back, and repeats. Those runs: %.0f s warm-up, then %.0f s "
                + "measured; cores used = process CPU time / wall time of the measured interval.", openWarmup,
                openDuration) : "");
    }

    private String command() {
        StringBuilder sb = new StringBuilder("./mvnw -q -B -DskipTests -Pbench -pl samples -am package");
        if (originalArgs.length > 0) {
            sb.append(" -Dbench.args=\"").append(String.join(" ", originalArgs)).append('"');
        }
        return sb.toString();
    }

    /** The JVM command of a worker, up to and including RpcBench's scenario options. */
    private List<String> workerCommand(BenchReport.Scenario s, String transport, List<String> extraJvm) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-Xms" + heap);
        cmd.add("-Xmx" + heap);
        cmd.add("-Dio.netty.leakDetection.level=disabled");
        cmd.add("-Djava.net.preferIPv4Stack=true");
        // The runner's own -Dtas.* options reach the workers (engine configuration).
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("tas.")).sorted()
            .forEach(k -> cmd.add("-D" + k + "=" + System.getProperty(k)));
        cmd.addAll(jvmArgs);
        cmd.addAll(extraJvm);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(RpcBench.class.getName());
        cmd.add("--transport=" + transport);
        cmd.add("--mode=" + s.mode());
        cmd.add("--size=" + s.size());
        cmd.add("--connections=" + s.connections());
        cmd.add("--depth=" + s.depth());
        if (s.mode().equals("open")) {
            cmd.add("--rate=" + s.rate());
        }
        cmd.add("--warmup=" + warmupOf(s));
        cmd.add("--duration=" + durationOf(s));
        if (quiet) {
            cmd.add("--quiet");
        }
        return cmd;
    }

    private double warmupOf(BenchReport.Scenario s) {
        return s.closedLoopOrBulk() ? warmup : openWarmup;
    }

    private double durationOf(BenchReport.Scenario s) {
        return s.closedLoopOrBulk() ? duration : openDuration;
    }

    private BenchReport.Run runOne(BenchReport.Scenario s, String label) {
        List<String> extra = variantArgs.getOrDefault(label, List.of());
        String transport = label.contains("+") ? label.substring(0, label.indexOf('+')) : label;
        BenchReport.Run r = runWorker(s, transport, extra);
        if (r.result() != null && !transport.equals(label)) {
            return new BenchReport.Run(s, label, r.result().withTransport(label), null);
        }
        return new BenchReport.Run(s, label, r.result(), r.failure());
    }

    private BenchReport.Run runWorker(BenchReport.Scenario s, String transport, List<String> extraJvm) {
        List<String> cmd = workerCommand(s, transport, extraJvm);
        Process p;
        try {
            p = new ProcessBuilder(cmd).start();
            p.getOutputStream().close();
        } catch (IOException e) {
            return new BenchReport.Run(s, transport, null, "could not start a JVM: " + e.getMessage());
        }
        Deque<String> lastErr = new ArrayDeque<>();
        Thread errPump = Thread.ofPlatform().daemon().name("bench-stderr").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(),
                StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    synchronized (lastErr) {
                        lastErr.addLast(l);
                        if (lastErr.size() > 20) {
                            lastErr.removeFirst();
                        }
                    }
                    if (!quiet && !l.startsWith("WARNING: ")) {
                        System.out.println("    " + l.strip());
                        System.out.flush();
                    }
                }
            } catch (IOException ignored) {
                // the process went away
            }
        });
        List<String> outLines = new ArrayList<>();
        Thread outPump = Thread.ofPlatform().daemon().name("bench-stdout").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    synchronized (outLines) {
                        outLines.add(l);
                    }
                }
            } catch (IOException ignored) {
                // the process went away
            }
        });
        long limit = (long) (warmupOf(s) + durationOf(s)) + 90;
        boolean done;
        try {
            done = p.waitFor(limit, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            outPump.join(5000);
            errPump.join(5000);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return new BenchReport.Run(s, transport, null, "interrupted");
        }
        synchronized (outLines) {
            for (String l : outLines) {
                if (l.startsWith("RESULT ")) {
                    return new BenchReport.Run(s, transport, BenchResult.parse(l), null);
                }
            }
        }
        String tail;
        synchronized (lastErr) {
            tail = String.join(" / ", lastErr.stream().filter(l -> !l.startsWith("WARNING: ")).toList());
        }
        return new BenchReport.Run(s, transport, null, (done ? "exit code " + p.exitValue() : "no result within "
            + limit + " s (killed)") + (tail.isEmpty() ? "" : ": " + tail));
    }

    // ---- TAS attached to a TAS service (service mode), two processes ---------------------------------

    static final String ATTACHED = "tas-svc";
    private static final String ATTACHED_IP = "10.78.0.1";

    private List<String> javaCommand() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-Xms" + heap);
        cmd.add("-Xmx" + heap);
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("tas.")).sorted()
            .forEach(k -> cmd.add("-D" + k + "=" + System.getProperty(k)));
        cmd.addAll(jvmArgs);
        return cmd;
    }

    /** CPU time of process {@code pid} so far, in nanoseconds: its threads' on-CPU time (schedstat). */
    static long processCpuNanos(long pid) {
        long sum = 0;
        try (java.util.stream.Stream<Path> tasks = java.nio.file.Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                try {
                    String st = java.nio.file.Files.readString(t.resolve("schedstat")).trim();
                    sum += Long.parseLong(st.substring(0, st.indexOf(' ')));
                } catch (IOException | RuntimeException gone) {
                    // a thread that ended meanwhile
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return sum;
    }

    private BenchReport.Run runAttached(BenchReport.Scenario s) {
        Path dir;
        try {
            Path shm = Path.of("/dev/shm");
            dir = java.nio.file.Files.createTempDirectory(java.nio.file.Files.isDirectory(shm) ? shm
                : Path.of(System.getProperty("java.io.tmpdir")), "tasbench-svc");
        } catch (IOException e) {
            return new BenchReport.Run(s, ATTACHED, null, "cannot create the service directory: " + e);
        }
        List<String> svcCmd = javaCommand();
        svcCmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.tasnetty.engine.service.TasService",
            "--service=" + dir, "--port=wire", "--ip-addr=" + ATTACHED_IP + "/24"));
        List<String> wkCmd = new ArrayList<>(workerCommand(s, "tas", List.of("-Dtas.service=" + dir)));
        wkCmd.addAll(List.of("--host=" + ATTACHED_IP, "--phases"));
        Process svc = null;
        Process wk = null;
        Deque<String> errs = new ArrayDeque<>();
        try {
            svc = new ProcessBuilder(svcCmd).redirectErrorStream(true).start();
            svc.getOutputStream().close();
            java.util.concurrent.BlockingQueue<String> svcLines = lines(svc, "svc-out");
            String ready;
            do {
                ready = svcLines.poll(60, TimeUnit.SECONDS);
            } while (ready != null && !ready.contains("listening on") && !ready.equals("EOF"));
            if (ready == null || !ready.contains("listening on")) {
                return new BenchReport.Run(s, ATTACHED, null, "the service did not start: "
                    + (ready == null ? "no answer in 60 s" : String.join(" / ", svcLines)));
            }
            long svcPid = svc.pid();
            wk = new ProcessBuilder(wkCmd).start();
            wk.getOutputStream().close();
            pump(wk.getErrorStream(), "", errs);
            Process worker = wk;
            long limit = (long) (warmupOf(s) + durationOf(s)) + 90;
            Thread.ofPlatform().daemon().name("svc-watchdog").start(() -> {
                try {
                    if (!worker.waitFor(limit, TimeUnit.SECONDS)) {
                        worker.destroyForcibly(); // its stdout ends, and the read below with it
                    }
                } catch (InterruptedException ignored) {
                    // the runner is going away
                }
            });
            BufferedReader fromWorker = new BufferedReader(new InputStreamReader(wk.getInputStream(),
                StandardCharsets.UTF_8));
            BenchResult w = null;
            long svc0 = -1;
            long svc1 = -1;
            for (String l; (l = fromWorker.readLine()) != null; ) {
                if (l.equals("PHASE MEASURE")) {
                    svc0 = processCpuNanos(svcPid);
                } else if (l.equals("PHASE STOP")) {
                    svc1 = processCpuNanos(svcPid);
                } else if (l.startsWith("RESULT ")) {
                    w = BenchResult.parse(l);
                }
            }
            wk.waitFor(limit, TimeUnit.SECONDS);
            if (w == null || svc0 < 0 || svc1 < 0) {
                return new BenchReport.Run(s, ATTACHED, null, (w == null ? "no result" : "no service CPU") + ": "
                    + tail(errs));
            }
            long sv = svc1 - svc0;
            return new BenchReport.Run(s, ATTACHED, new BenchResult(ATTACHED, w.mode(), w.size(), w.connections(),
                w.depth(), w.seconds(), w.requests(), w.bytes(), w.p50(), w.p99(), w.p999(), w.max(), w.mean(),
                w.cpuProcess() + sv, w.cpuServer(), w.cpuClient(), w.cpuEngine() + sv, w.cpuOtherJava(), w.gcCount(),
                String.format(Locale.ROOT, "service process %.2f cores", sv / 1e9 / w.seconds()) + "; " + w.note(),
                w.machineCores(), w.offered(), w.cpuApp(), w.senderLagP99()), null);
        } catch (IOException | RuntimeException e) {
            return new BenchReport.Run(s, ATTACHED, null, e + ": " + tail(errs));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new BenchReport.Run(s, ATTACHED, null, "interrupted");
        } finally {
            // SIGTERM first: the service's shutdown hook removes its socket.
            stop(wk, true);
            stop(svc, true);
            try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    // ---- TAS<->TAS over DPDK net_memif, two processes ------------------------------------------------

    static final String MEMIF = "tas-memif";
    private static final String MEMIF_SERVER_IP = "10.77.0.1";
    private static final String MEMIF_CLIENT_IP = "10.77.0.2";
    private int memifRuns;

    /** Why the memif scenario cannot run here, or null. */
    private static String memifUnavailable() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "needs root (DPDK's EAL and memif sockets), this is " + System.getProperty("user.name");
        }
        if (!io.tasnetty.engine.port.dpdk.TasDpdk.isAvailable()) {
            return "DPDK is not usable here (" + io.tasnetty.engine.port.dpdk.TasDpdk.unavailabilityCause().getMessage()
                + "); install it with apt-get install dpdk libdpdk-dev pkg-config and rebuild";
        }
        if (!Transport.TAS.isAvailable()) {
            return "the TAS transport is not available";
        }
        return null;
    }

    private List<String> memifJvm(String ip, String role, String socket) {
        long pid = ProcessHandle.current().pid();
        return List.of("-Dtas.port=dpdk", "-Dtas.ip-addr=" + ip + "/24",
            "-Dtas.dpdk-extra=--no-huge -m 512 --no-pci --file-prefix=tasbench-" + role + "-" + pid + "-" + memifRuns
                + " --vdev=net_memif0,role=" + role + ",socket=" + socket);
    }

    private BenchReport.Run runMemif(BenchReport.Scenario s) {
        memifRuns++;
        Path sock = Path.of("/tmp", "tasbench-memif-" + ProcessHandle.current().pid() + "-" + memifRuns + ".sock");
        List<String> srvCmd = new ArrayList<>(workerCommand(s, "tas", memifJvm(MEMIF_SERVER_IP, "server",
            sock.toString())));
        srvCmd.addAll(List.of("--role=server", "--host=0.0.0.0", "--port=7007"));
        List<String> cliCmd = new ArrayList<>(workerCommand(s, "tas", memifJvm(MEMIF_CLIENT_IP, "client",
            sock.toString())));
        cliCmd.addAll(List.of("--role=client", "--host=" + MEMIF_SERVER_IP, "--port=7007"));
        Process srv = null;
        Process cli = null;
        Deque<String> errs = new ArrayDeque<>();
        try {
            srv = new ProcessBuilder(srvCmd).start();
            pump(srv.getErrorStream(), "server: ", errs);
            java.io.Writer toServer = new java.io.OutputStreamWriter(srv.getOutputStream(), StandardCharsets.UTF_8);
            java.util.concurrent.BlockingQueue<String> srvLines = lines(srv, "memif-server-out");
            String ready = srvLines.poll(60, TimeUnit.SECONDS);
            if (ready == null || !ready.startsWith("READY")) {
                return new BenchReport.Run(s, MEMIF, null, "the memif server did not start ("
                    + (ready == null ? "no answer in 60 s" : ready) + "): " + tail(errs));
            }
            cli = new ProcessBuilder(cliCmd).start();
            cli.getOutputStream().close();
            pump(cli.getErrorStream(), "", errs);
            BufferedReader fromClient = new BufferedReader(new InputStreamReader(cli.getInputStream(),
                StandardCharsets.UTF_8));
            BenchResult client = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos((long) (warmupOf(s) + durationOf(s)) + 120);
            for (String l; (l = fromClient.readLine()) != null; ) {
                if (l.startsWith("PHASE ")) {
                    toServer.write(l.substring(6) + "\n");
                    toServer.flush();
                } else if (l.startsWith("RESULT ")) {
                    client = BenchResult.parse(l);
                }
                if (System.nanoTime() > deadline) {
                    break;
                }
            }
            cli.waitFor(30, TimeUnit.SECONDS);
            String serverLine = null;
            for (String l; (l = srvLines.poll(20, TimeUnit.SECONDS)) != null && !l.equals("EOF"); ) {
                if (l.startsWith("SERVER ")) {
                    serverLine = l;
                    break;
                }
            }
            toServer.write("EXIT\n");
            toServer.flush();
            if (client == null || serverLine == null) {
                return new BenchReport.Run(s, MEMIF, null, (client == null ? "no client result" : "no server result")
                    + ": " + tail(errs));
            }
            java.util.Map<String, Long> sv = new java.util.HashMap<>();
            for (String kv : serverLine.substring(7).trim().split(" ")) {
                int eq = kv.indexOf('=');
                sv.put(kv.substring(0, eq), Long.parseLong(kv.substring(eq + 1)));
            }
            BenchResult c = client;
            return new BenchReport.Run(s, MEMIF, new BenchResult(MEMIF, c.mode(), c.size(), c.connections(), c.depth(),
                c.seconds(), c.requests(), c.mode().equals("bulk") ? sv.get("bytes") : c.bytes(), c.p50(), c.p99(),
                c.p999(), c.max(), c.mean(), c.cpuProcess() + sv.get("cpuProcess"), sv.get("cpuServer"),
                c.cpuClient(), c.cpuEngine() + sv.get("cpuEngine"), c.cpuOtherJava() + sv.get("cpuOtherJava"),
                c.gcCount(), "two processes over DPDK net_memif", c.machineCores(), c.offered(), c.cpuApp(),
                c.senderLagP99()), null);
        } catch (IOException | RuntimeException e) {
            return new BenchReport.Run(s, MEMIF, null, e.toString() + ": " + tail(errs));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new BenchReport.Run(s, MEMIF, null, "interrupted");
        } finally {
            stop(cli, false);
            stop(srv, false);
            try {
                java.nio.file.Files.deleteIfExists(sock);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    private void pump(java.io.InputStream in, String prefix, Deque<String> last) {
        Thread.ofPlatform().daemon().name("bench-pump").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    synchronized (last) {
                        last.addLast(prefix + l);
                        if (last.size() > 20) {
                            last.removeFirst();
                        }
                    }
                    if (!quiet && !l.startsWith("WARNING: ")) {
                        System.out.println("    " + prefix + l.strip());
                        System.out.flush();
                    }
                }
            } catch (IOException ignored) {
                // gone
            }
        });
    }

    /** Waits up to 15 s for a child to end ({@code terminate}: after a SIGTERM), then kills it. */
    private static void stop(Process p, boolean terminate) {
        if (p == null || !p.isAlive()) {
            return;
        }
        if (terminate) {
            p.destroy();
        }
        try {
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** A child's standard output, line by line, ending with "EOF" when it closes. */
    private static java.util.concurrent.BlockingQueue<String> lines(Process child, String threadName) {
        java.util.concurrent.BlockingQueue<String> out = new java.util.concurrent.LinkedBlockingQueue<>();
        Thread.ofPlatform().daemon().name(threadName).start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    out.add(l);
                }
            } catch (IOException ignored) {
                // gone
            }
            out.add("EOF");
        });
        return out;
    }

    private static String tail(Deque<String> last) {
        synchronized (last) {
            return String.join(" / ", last.stream().filter(l -> !l.contains("WARNING: ")).toList());
        }
    }
}
