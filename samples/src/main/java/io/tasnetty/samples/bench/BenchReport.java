package io.tasnetty.samples.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/** Turns the runs of one {@link BenchRunner} invocation into a Markdown report and an SVG chart. */
final class BenchReport {
    /**
     * One scenario of the matrix: {@code mode} as in {@link BenchResult}; {@code rate} is the open
     * loop's requests/s (0 in the other modes); in blocking mode {@code connections} counts the callers.
     */
    record Scenario(String mode, int size, int connections, int depth, long rate) {
        Scenario(String mode, int size, int connections, int depth) {
            this(mode, size, connections, depth, 0);
        }

        static Scenario of(BenchResult r) {
            return new Scenario(r.mode(), r.size(), r.connections(), r.depth(), Math.round(r.offered()));
        }

        /** The closed loop and bulk (warmed up longer) as opposed to the open loop and blocking callers. */
        boolean closedLoopOrBulk() {
            return mode.equals("rpc") || mode.equals("bulk");
        }

        String label() {
            return switch (mode) {
                case "rpc" -> String.format(Locale.ROOT, "%d B RPC, %d conn%s", size, connections,
                    depth > 1 ? ", depth " + depth : "");
                case "open" -> String.format(Locale.ROOT, "open loop, %,d req/s, %d conn", rate, connections);
                case "blocking" -> String.format(Locale.ROOT, "blocking, %d caller%s", connections,
                    connections == 1 ? "" : "s");
                default -> String.format(Locale.ROOT, "bulk, %s writes, %d conn", bytes(size), connections);
            };
        }

        String shortLabel() {
            return switch (mode) {
                case "rpc" -> connections + " conn" + (depth > 1 ? " d" + depth : "");
                case "open" -> SvgChart.compact(rate) + " req/s";
                case "blocking" -> connections + (connections == 1 ? " caller" : " callers");
                default -> connections + " conn";
            };
        }
    }

    /**
     * One cell of the matrix: a result (the median by throughput when the cell ran several times),
     * or why there is none. {@code rounds} holds every attempt's result in run order, null where an
     * attempt failed.
     */
    record Run(Scenario scenario, String transport, BenchResult result, String failure, List<BenchResult> rounds) {
        Run(Scenario scenario, String transport, BenchResult result, String failure) {
            this(scenario, transport, result, failure, java.util.Collections.singletonList(result));
        }

        /** The successful attempts. */
        List<BenchResult> samples() {
            return rounds.stream().filter(java.util.Objects::nonNull).toList();
        }

        /**
         * The median of {@code f} over the runs the median is picked from (the undisturbed ones, if
         * any). An open-loop cell's row is the run with the median p99, whose CPU is not the median
         * CPU: a cell's CPU is compared by this instead.
         */
        double median(ToDoubleFunction<BenchResult> f) {
            double[] v = medianPool(samples()).stream().mapToDouble(f).sorted().toArray();
            if (v.length == 0) {
                return Double.NaN;
            }
            return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        }

        /** The runs a median is taken over: the undisturbed ones, or all if every one was disturbed. */
        private static List<BenchResult> medianPool(List<BenchResult> ok) {
            List<BenchResult> quiet = ok.stream().filter(r -> !r.disturbed()).toList();
            return quiet.isEmpty() ? ok : quiet;
        }

        /** Combines the attempts of one cell (in run order): the median by throughput, or the last failure. */
        static Run merge(List<Run> attempts) {
            List<BenchResult> rounds = new ArrayList<>();
            String failure = null;
            for (Run a : attempts) {
                rounds.add(a.result());
                if (a.result() == null) {
                    failure = a.failure();
                }
            }
            Run first = attempts.get(0);
            List<BenchResult> ok = new ArrayList<>(rounds.stream().filter(java.util.Objects::nonNull).toList());
            if (ok.isEmpty()) {
                return new Run(first.scenario(), first.transport(), null, failure,
                    java.util.Collections.unmodifiableList(rounds));
            }
            List<BenchResult> pick = new ArrayList<>(medianPool(ok));
            pick.sort(java.util.Comparator.comparingDouble(BenchReport::rank));
            return new Run(first.scenario(), first.transport(), pick.get((pick.size() - 1) / 2), null,
                java.util.Collections.unmodifiableList(rounds));
        }
    }

    static double throughput(BenchResult r) {
        return r.mode().equals("bulk") ? r.gbitPerSecond() : r.requestsPerSecond();
    }

    /**
     * What picks the median of a repeated cell: throughput, except in the open loop, whose
     * throughput is set by its rate; there the p99.
     */
    static double rank(BenchResult r) {
        return r.mode().equals("open") ? r.p99() : throughput(r);
    }

    private boolean repeated() {
        return runs.stream().anyMatch(r -> r.samples().size() > 1);
    }

    private static String range(Run run) {
        if (run.samples().size() < 2) {
            return "";
        }
        double lo = Double.MAX_VALUE;
        double hi = 0;
        for (BenchResult r : run.samples()) {
            lo = Math.min(lo, rank(r));
            hi = Math.max(hi, rank(r));
        }
        long disturbed = run.samples().stream().filter(BenchResult::disturbed).count();
        String n = run.samples().size() + " runs" + (disturbed > 0 ? ", " + disturbed + " disturbed" : "");
        return switch (run.scenario().mode()) {
            case "bulk" -> String.format(Locale.ROOT, "%.2f – %.2f (%s)", lo, hi, n);
            case "open" -> String.format(Locale.ROOT, "%.1f – %.1f (%s)", lo / 1e3, hi / 1e3, n);
            default -> String.format(Locale.ROOT, "%,.0f – %,.0f (%s)", lo, hi, n);
        };
    }

    private final List<String> transports;
    private final List<Run> runs;
    private final String command;
    private final String method;
    private final List<String> notes;
    private final ZonedDateTime date;

    BenchReport(List<String> transports, List<Run> runs, String command, String method, List<String> notes,
        ZonedDateTime date) {
        this.transports = transports;
        this.runs = runs;
        this.command = command;
        this.method = method;
        this.notes = notes;
        this.date = date;
    }

    void write(Path dir, String base) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(base + ".md"), markdown(base + ".svg"));
        Files.writeString(dir.resolve(base + ".svg"), svg());
        StringBuilder raw = new StringBuilder();
        raw.append("# date ").append(date).append('\n');
        raw.append("# command ").append(command).append('\n');
        raw.append("# method ").append(method).append('\n');
        for (String n : notes) {
            raw.append("# note ").append(n).append('\n');
        }
        raw.append("# transports ").append(String.join(",", transports)).append('\n');
        for (Run r : runs) {
            for (int i = 0; i < r.rounds().size(); i++) {
                BenchResult b = r.rounds().get(i);
                if (b != null) {
                    raw.append(b.toLine()).append(" round=").append(i + 1).append('\n');
                } else {
                    raw.append("# failed ").append(r.transport()).append(" round=").append(i + 1).append(' ')
                        .append(r.scenario().mode()).append(' ').append(r.scenario().size()).append(' ')
                        .append(r.scenario().connections()).append(' ').append(r.scenario().depth()).append(' ')
                        .append(r.scenario().rate() > 0 ? "rate=" + r.scenario().rate() + " " : "")
                        .append(String.valueOf(r.failure()).replace('\n', ' ')).append('\n');
                }
            }
        }
        Files.writeString(dir.resolve(base + ".results.txt"), raw.toString());
    }

    /** Reads back what {@link #write} wrote to {@code base.results.txt}, to render the report again. */
    static BenchReport fromRaw(Path file) throws IOException {
        ZonedDateTime date = ZonedDateTime.now();
        String command = "";
        String method = "";
        List<String> notes = new ArrayList<>();
        List<String> transports = new ArrayList<>();
        Map<String, Scenario> scenarios = new LinkedHashMap<>();
        Map<String, Map<Integer, Run>> cells = new LinkedHashMap<>();
        for (String l : Files.readAllLines(file)) {
            if (l.startsWith("# date ")) {
                date = ZonedDateTime.parse(l.substring(7).trim());
            } else if (l.startsWith("# command ")) {
                command = l.substring(10);
            } else if (l.startsWith("# method ")) {
                method = l.substring(9);
            } else if (l.startsWith("# note ")) {
                notes.add(l.substring(7));
            } else if (l.startsWith("# transports ")) {
                transports.addAll(List.of(l.substring(13).trim().split(",")));
            } else if (l.startsWith("# failed ")) {
                String[] f = l.substring(9).split(" ", 7);
                String why = f.length > 6 ? f[6] : "failed";
                long rate = 0;
                if (why.startsWith("rate=")) { // open-loop cells only
                    int sp = why.indexOf(' ');
                    rate = Long.parseLong(sp < 0 ? why.substring(5) : why.substring(5, sp));
                    why = sp < 0 ? "failed" : why.substring(sp + 1);
                }
                Scenario sc = new Scenario(f[2], Integer.parseInt(f[3]), Integer.parseInt(f[4]), Integer.parseInt(f[5]),
                    rate);
                int round = Integer.parseInt(f[1].substring(6));
                scenarios.putIfAbsent(sc.toString(), sc);
                cells.computeIfAbsent(sc + "|" + f[0], k -> new java.util.TreeMap<>())
                    .put(round, new Run(sc, f[0], null, why));
            } else if (l.startsWith("RESULT ")) {
                BenchResult r = BenchResult.parse(l);
                int at = l.lastIndexOf(" round=");
                int round = at < 0 ? 1 : Integer.parseInt(l.substring(at + 7).trim());
                Scenario sc = Scenario.of(r);
                scenarios.putIfAbsent(sc.toString(), sc);
                if (!transports.contains(r.transport())) {
                    transports.add(r.transport());
                }
                cells.computeIfAbsent(sc + "|" + r.transport(), k -> new java.util.TreeMap<>())
                    .put(round, new Run(sc, r.transport(), r, null));
            }
        }
        List<Run> runs = new ArrayList<>();
        for (Map<Integer, Run> attempts : cells.values()) {
            int max = java.util.Collections.max(attempts.keySet());
            List<Run> ordered = new ArrayList<>();
            Run any = attempts.values().iterator().next();
            for (int i = 1; i <= max; i++) {
                ordered.add(attempts.getOrDefault(i, new Run(any.scenario(), any.transport(), null, "no result")));
            }
            runs.add(Run.merge(ordered));
        }
        return new BenchReport(transports, runs, command, method, notes, date);
    }

    // ---- Markdown ---------------------------------------------------------------------------------

    String markdown(String svgName) {
        StringBuilder sb = new StringBuilder();
        sb.append("# RPC echo benchmark: TAS against NIO, epoll and io_uring\n\n");
        sb.append("- **Date:** ").append(date.withZoneSameInstant(ZoneOffset.UTC)
            .format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'"))).append('\n');
        sb.append("- **Machine:** ").append(Machine.describe()).append('\n');
        sb.append("- **Command:** `").append(command).append("`\n");
        sb.append("- **Method:** ").append(method).append("\n\n");
        sb.append(tables());
        sb.append(targets());
        StringBuilder details = new StringBuilder();
        for (Run r : runs) {
            if (r.result() == null || r.result().note() == null) {
                continue;
            }
            String note = r.result().note();
            int m = note.indexOf("machine CPUs busy ");
            int e = note.indexOf("engine: ");
            if (m < 0 && e < 0) {
                continue;
            }
            details.append("- ").append(r.transport()).append(", ").append(r.scenario().label()).append(": ");
            if (m >= 0) {
                int end = note.indexOf(';', m);
                details.append("CPUs busy ").append(note, m + 18, end < 0 ? note.length() : end);
                if (!Double.isNaN(r.result().otherLoadCores())) {
                    details.append(String.format(Locale.ROOT, " (%.2f cores outside the run%s)",
                        Math.max(0, r.result().otherLoadCores()), r.result().disturbed() ? ": disturbed" : ""));
                }
            }
            int j = note.indexOf("JIT: ");
            if (j >= 0) {
                int end = note.indexOf(';', j);
                details.append(m >= 0 ? "; " : "").append("JIT ").append(note, j + 5, end < 0 ? note.length() : end);
            }
            if (e >= 0) {
                details.append(m >= 0 || j >= 0 ? "; " : "").append("engine ").append(note.substring(e + 8));
            }
            details.append('\n');
        }
        if (!details.isEmpty()) {
            sb.append("\n## Details of the runs shown\n\n")
                .append("How busy each CPU of the machine was in the measured interval (from /proc/stat: anything "
                    + "well below 100% with a TAS row's ~2 cores of process CPU, or a sum far above the process's "
                    + "CPU, means the machine did something else too), how long the run waited for the JIT after "
                + "its warm-up and how much it compiled while measured, and what the TAS engine did.\n\n")
                .append(details);
        }
        sb.append("\n![chart](").append(svgName).append(")\n");
        if (!notes.isEmpty()) {
            sb.append("\n## Notes\n\n");
            for (String n : notes) {
                sb.append("- ").append(n).append('\n');
            }
        }
        List<String> problems = new ArrayList<>();
        for (Run r : runs) {
            for (int i = 0; i < r.rounds().size(); i++) {
                if (r.rounds().get(i) == null) {
                    problems.add(r.transport() + ", " + r.scenario().label()
                        + (r.rounds().size() > 1 ? " (round " + (i + 1) + ")" : "") + ": " + r.failure());
                }
            }
        }
        if (!problems.isEmpty()) {
            sb.append("\n## Failed runs\n\n");
            for (String p : problems) {
                sb.append("- ").append(p).append('\n');
            }
        }
        return sb.toString();
    }

    /** The tables only (what the runner prints at the end). */
    String tables() {
        StringBuilder sb = new StringBuilder();
        List<Scenario> rpc = scenarios("rpc");
        if (!rpc.isEmpty()) {
            sb.append("## RPCs (closed loop, ").append(bytes(rpc.get(0).size())).append(" requests and responses)\n\n");
            sb.append("Each figure with its ratio to epoll in the same scenario in parentheses. "
                + "CPU columns: lower is better; \"req per CPU-s\" is epoll's CPU per request divided by this "
                + "row's (process CPU): higher is better.\n\n");
            boolean rep = repeated();
            if (rep) {
                sb.append("Every cell ran several times (interleaved); each row shows the run with the median "
                    + "requests/s among its undisturbed runs (a run is disturbed when more than "
                    + BenchResult.DISTURBED_CORES + " cores of the machine were busy outside it), and the last column "
                    + "the range over all runs.\n\n");
            }
            sb.append("| scenario | transport | requests/s | p50 µs | p99 µs | p99.9 µs | CPU-s per M req (process) "
                + "| CPU-s per M req (loops + engine) | req per CPU-s vs epoll | CPU-s per M req: server · client · engine · rest |"
                + (rep ? " requests/s, all runs |" : "") + "\n");
            sb.append("|---|---|--:|--:|--:|--:|--:|--:|--:|---|" + (rep ? "--:|" : "") + "\n");
            rows(sb, rpc, " | | | | | | | |", rep, (r, base) -> {
                double cpuThreads = r.perMillion(r.cpuServer() + r.cpuClient() + r.cpuEngine());
                double baseThreads = of(base, b -> b.perMillion(b.cpuServer() + b.cpuClient() + b.cpuEngine()));
                sb.append(cell(r.requestsPerSecond(), of(base, BenchResult::requestsPerSecond), "%,.0f"))
                    .append(" | ").append(cell(r.p50() / 1e3, of(base, b -> b.p50() / 1e3), "%.1f"))
                    .append(" | ").append(cell(r.p99() / 1e3, of(base, b -> b.p99() / 1e3), "%.1f"))
                    .append(" | ").append(cell(r.p999() / 1e3, of(base, b -> b.p999() / 1e3), "%.1f"))
                    .append(" | ").append(cell(r.cpuSecondsPerMillionRequests(),
                        of(base, BenchResult::cpuSecondsPerMillionRequests), "%.2f"))
                    .append(" | ").append(cell(cpuThreads, baseThreads, "%.2f"))
                    .append(" | ").append(base == null ? "n/a" : String.format(Locale.ROOT, "%.2f×",
                        base.cpuSecondsPerMillionRequests() / r.cpuSecondsPerMillionRequests()))
                    .append(" | ").append(split(r, true));
            });
            sb.append('\n');
        }
        List<Scenario> bulk = scenarios("bulk");
        if (!bulk.isEmpty()) {
            sb.append("## Bulk transfer (client streams, server counts and drops)\n\n");
            boolean rep = repeated();
            sb.append("| scenario | transport | Gbit/s | CPU-s per GiB (process) | CPU-s per GiB (loops + engine) "
                + "| GiB per CPU-s vs epoll | CPU-s per GiB: server · client · engine · rest |"
                + (rep ? " Gbit/s, all runs |" : "") + "\n");
            sb.append("|---|---|--:|--:|--:|--:|---|" + (rep ? "--:|" : "") + "\n");
            rows(sb, bulk, " | | | | |", rep, (r, base) -> {
                double cpuThreads = r.perGib(r.cpuServer() + r.cpuClient() + r.cpuEngine());
                double baseThreads = of(base, b -> b.perGib(b.cpuServer() + b.cpuClient() + b.cpuEngine()));
                sb.append(cell(r.gbitPerSecond(), of(base, BenchResult::gbitPerSecond), "%.2f"))
                    .append(" | ").append(cell(r.cpuSecondsPerGib(), of(base, BenchResult::cpuSecondsPerGib), "%.3f"))
                    .append(" | ").append(cell(cpuThreads, baseThreads, "%.3f"))
                    .append(" | ").append(base == null ? "n/a" : String.format(Locale.ROOT, "%.2f×",
                        base.cpuSecondsPerGib() / r.cpuSecondsPerGib()))
                    .append(" | ").append(split(r, false));
            });
            sb.append('\n');
        }
        List<Scenario> open = scenarios("open");
        if (!open.isEmpty()) {
            sb.append("## Open loop (").append(bytes(open.get(0).size())).append(" requests at a fixed rate from one "
                + "application thread, ").append(open.get(0).connections()).append(" connections)\n\n");
            sb.append("Every transport gets the same offered rate. \"achieved\": echoes completed per second of the "
                + "measured interval (below the offered rate while a backlog builds up, above it while one drains). "
                + "Latency runs from each request's intended send time. \"cores used\" is process CPU time / wall "
                + "time; ratios to epoll at the same rate in parentheses (lower is better). \"sender late\": how "
                + "long after its intended time the sender issued a request (already part of the latency; high when "
                + "the sender finds no free CPU).\n\n");
            boolean rep = repeated();
            if (rep) {
                sb.append("Repeated cells show the run with the median p99 and, in the last two columns, the median "
                    + "of the cores used over all runs (the median run by p99 need not be the median by CPU; the "
                    + "targets below compare this one) and the range of p99 over all runs.\n\n");
            }
            sb.append("| scenario | transport | achieved req/s | cores used | p50 µs | p99 µs | p99.9 µs "
                + "| cores: server · client · engine · app · rest | sender late p99 µs |"
                + (rep ? " cores used, median of all runs | p99 µs, all runs |" : "") + "\n");
            sb.append("|---|---|--:|--:|--:|--:|--:|---|--:|" + (rep ? "--:|--:|" : "") + "\n");
            rows(sb, open, " | | | | | | |" + (rep ? " |" : ""), rep, (r, base) -> {
                sb.append(String.format(Locale.ROOT, "%,.0f", r.requestsPerSecond()))
                    .append(" | ").append(cell(r.cores(), of(base, BenchResult::cores), "%.2f"));
                latencies(sb, r, base);
                sb.append(" | ").append(coreSplit(r))
                    .append(" | ").append(String.format(Locale.ROOT, "%.1f", r.senderLagP99() / 1e3));
                if (rep) {
                    Run cell = run(r);
                    Run baseRun = base == null ? null : run(base);
                    sb.append(" | ").append(cell(cell.median(BenchResult::cores),
                        baseRun == null ? Double.NaN : baseRun.median(BenchResult::cores), "%.2f"));
                }
            });
            sb.append('\n');
        }
        List<Scenario> blocking = scenarios("blocking");
        if (!blocking.isEmpty()) {
            sb.append("## Blocking callers (each thread sends ").append(bytes(blocking.get(0).size()))
                .append(" on its own connection and waits for the echo)\n\n");
            sb.append("Ratios to epoll with the same callers in parentheses. \"req per CPU-s vs epoll\": epoll's CPU "
                + "per request divided by this row's (higher is better).\n\n");
            boolean rep = repeated();
            sb.append("| scenario | transport | requests/s | p50 µs | p99 µs | p99.9 µs | cores used "
                + "| CPU-s per M req | req per CPU-s vs epoll | cores: server · client · engine · app · rest |"
                + (rep ? " requests/s, all runs |" : "") + "\n");
            sb.append("|---|---|--:|--:|--:|--:|--:|--:|--:|---|" + (rep ? "--:|" : "") + "\n");
            rows(sb, blocking, " | | | | | | | |", rep, (r, base) -> {
                sb.append(cell(r.requestsPerSecond(), of(base, BenchResult::requestsPerSecond), "%,.0f"));
                latencies(sb, r, base);
                sb.append(" | ").append(String.format(Locale.ROOT, "%.2f", r.cores()))
                    .append(" | ").append(cell(r.cpuSecondsPerMillionRequests(),
                        of(base, BenchResult::cpuSecondsPerMillionRequests), "%.2f"))
                    .append(" | ").append(base == null ? "n/a" : String.format(Locale.ROOT, "%.2f×",
                        base.cpuSecondsPerMillionRequests() / r.cpuSecondsPerMillionRequests()))
                    .append(" | ").append(coreSplit(r));
            });
            sb.append('\n');
        }
        return sb.toString();
    }

    /** " | p50 | p99 | p99.9" in µs, each with its ratio to epoll's. */
    private static void latencies(StringBuilder sb, BenchResult r, BenchResult base) {
        sb.append(" | ").append(cell(r.p50() / 1e3, of(base, b -> b.p50() / 1e3), "%.1f"))
            .append(" | ").append(cell(r.p99() / 1e3, of(base, b -> b.p99() / 1e3), "%.1f"))
            .append(" | ").append(cell(r.p999() / 1e3, of(base, b -> b.p999() / 1e3), "%.1f"));
    }

    /** Where the cores went: server loop, client loop, TAS engine, app threads, the rest of the process. */
    private static String coreSplit(BenchResult r) {
        return String.format(Locale.ROOT, "%.2f · %.2f · %.2f · %.2f · %.2f", r.coresOf(r.cpuServer()),
            r.coresOf(r.cpuClient()), r.coresOf(r.cpuEngine()), r.coresOf(r.cpuApp()), r.coresOf(r.cpuRest()));
    }

    /** Writes the cells of one result row after "| scenario | **transport** | ", given epoll's result (or null). */
    private interface RowCells {
        void write(BenchResult r, BenchResult base);
    }

    /**
     * One table's rows: every transport's run of every scenario, its cells from {@code cells}, a
     * failed run as its failure and {@code emptyCells}, and with {@code rep} the range of all runs.
     */
    private void rows(StringBuilder sb, List<Scenario> scenarios, String emptyCells, boolean rep, RowCells cells) {
        for (Scenario s : scenarios) {
            BenchResult base = result(s, "epoll");
            for (String t : transports) {
                Run run = run(s, t);
                if (run == null) {
                    continue;
                }
                BenchResult r = run.result();
                if (r == null) {
                    sb.append("| ").append(s.label()).append(" | ").append(t).append(" | ")
                        .append(shortFailure(run.failure())).append(emptyCells).append('\n');
                    continue;
                }
                sb.append("| ").append(s.label()).append(" | **").append(t).append("** | ");
                cells.write(r, base);
                sb.append(" |").append(rep ? " " + range(run) + " |" : "").append('\n');
            }
        }
    }

    /** {@code f} of epoll's result, NaN without one. */
    private static double of(BenchResult base, ToDoubleFunction<BenchResult> f) {
        return base == null ? Double.NaN : f.applyAsDouble(base);
    }

    /** The targets, checked against the measured figures. */
    String targets() {
        StringBuilder sb = new StringBuilder("## Against the targets\n\n");
        boolean any = false;
        for (Scenario s : scenarios("rpc")) {
            BenchResult tas = result(s, "tas");
            BenchResult ep = result(s, "epoll");
            if (tas == null || ep == null) {
                continue;
            }
            any = true;
            double perCpu = ep.cpuSecondsPerMillionRequests() / tas.cpuSecondsPerMillionRequests();
            double p99 = tas.p99() / (double) ep.p99();
            sb.append(String.format(Locale.ROOT,
                "- %s: requests per CPU-second %.2f× epoll (target ≥ 2×: %s); p99 %.2f× epoll's (target ≤ 1×: %s)%s%n",
                s.label(), perCpu, perCpu >= 2 ? "met" : String.format(Locale.ROOT, "missed by %.0f%%",
                    (1 - perCpu / 2) * 100), p99, p99 <= 1 ? "met" : String.format(Locale.ROOT, "missed, %.0f%% higher",
                    (p99 - 1) * 100), paired(s)));
        }
        for (Scenario s : scenarios("bulk")) {
            BenchResult tas = result(s, "tas");
            if (tas == null) {
                continue;
            }
            for (String k : List.of("epoll", "nio", "io_uring")) {
                BenchResult kr = result(s, k);
                if (kr == null) {
                    continue;
                }
                any = true;
                double perCpu = kr.cpuSecondsPerGib() / tas.cpuSecondsPerGib();
                sb.append(String.format(Locale.ROOT,
                    "- %s: GiB per CPU-second %.2f× %s over kernel loopback (target ≥ 1×: %s); %.2f Gbit/s vs %.2f%n",
                    s.label(), perCpu, k, perCpu >= 1 ? "met" : String.format(Locale.ROOT, "missed by %.0f%%",
                        (1 - perCpu) * 100), tas.gbitPerSecond(), kr.gbitPerSecond()));
            }
        }
        for (Scenario s : scenarios("open")) {
            BenchResult tas = result(s, "tas");
            BenchResult ep = result(s, "epoll");
            if (tas == null || ep == null) {
                continue;
            }
            any = true;
            // Cores: the median over the runs (the row is the run with the median p99).
            double cores = run(s, "tas").median(BenchResult::cores) / run(s, "epoll").median(BenchResult::cores);
            sb.append("- ").append(s.label()).append(": cores used").append(repeated() ? " (medians of all runs) " : " ")
                .append(atMost(cores, "epoll's")).append("; p99 ").append(atMost(tas.p99() / (double) ep.p99(), "epoll's")).append('\n');
        }
        for (Scenario s : scenarios("blocking")) {
            BenchResult tas = result(s, "tas");
            BenchResult ep = result(s, "epoll");
            if (tas == null || ep == null) {
                continue;
            }
            any = true;
            sb.append("- ").append(s.label()).append(": requests/s ")
                .append(atLeast(tas.requestsPerSecond() / ep.requestsPerSecond(), "epoll's")).append("; CPU per request ")
                .append(atMost(tas.cpuSecondsPerMillionRequests() / ep.cpuSecondsPerMillionRequests(), "epoll's"))
                .append('\n');
        }
        // Service mode (issue 13): attached costs at most 20% more CPU per unit of work than embedded.
        List<Scenario> all = new ArrayList<>();
        for (String m : List.of("rpc", "bulk", "open", "blocking")) {
            all.addAll(scenarios(m));
        }
        for (Scenario s : all) {
            BenchResult emb = result(s, "tas");
            BenchResult att = result(s, BenchRunner.ATTACHED);
            if (emb == null || att == null) {
                continue;
            }
            any = true;
            double ratio = switch (s.mode()) {
                case "bulk" -> att.cpuSecondsPerGib() / emb.cpuSecondsPerGib();
                case "open" -> run(s, BenchRunner.ATTACHED).median(BenchResult::cores) / run(s, "tas").median(BenchResult::cores);
                default -> att.cpuSecondsPerMillionRequests() / emb.cpuSecondsPerMillionRequests();
            };
            String what = switch (s.mode()) {
                case "bulk" -> "CPU per GiB";
                case "open" -> "cores used at the same rate";
                default -> "CPU per request";
            };
            sb.append(String.format(Locale.ROOT, "- %s, attached (%s) vs embedded: %s %.2f× (target ≤ 1.2×: %s); "
                    + "%s %.0f vs %.0f%s; p99 %.0f vs %.0f µs%n", s.label(), BenchRunner.ATTACHED, what, ratio,
                ratio <= 1.2 ? "met" : String.format(Locale.ROOT, "missed, %.0f%% more", (ratio - 1) * 100),
                s.mode().equals("bulk") ? "Gbit/s" : "req/s", s.mode().equals("bulk") ? att.gbitPerSecond()
                    : att.requestsPerSecond(), s.mode().equals("bulk") ? emb.gbitPerSecond() : emb.requestsPerSecond(),
                "", att.p99() / 1e3, emb.p99() / 1e3));
        }
        if (!any) {
            sb.append("- (needs both TAS and epoll results)\n");
        }
        return sb.toString();
    }

    /** "1.23× epoll's (target ≤ 1×: missed, 23% higher)". */
    private static String atMost(double ratio, String of) {
        return String.format(Locale.ROOT, "%.2f× %s (target ≤ 1×: %s)", ratio, of, ratio <= 1 ? "met"
            : String.format(Locale.ROOT, "missed, %.0f%% higher", (ratio - 1) * 100));
    }

    /** "0.80× epoll's (target ≥ 1×: missed by 20%)". */
    private static String atLeast(double ratio, String of) {
        return String.format(Locale.ROOT, "%.2f× %s (target ≥ 1×: %s)", ratio, of, ratio >= 1 ? "met"
            : String.format(Locale.ROOT, "missed by %.0f%%", (1 - ratio) * 100));
    }

    /** Per round (same-round TAS and epoll runs): requests per CPU-second and p99, as ratios. */
    private String paired(Scenario s) {
        Run tas = run(s, "tas");
        Run ep = run(s, "epoll");
        if (tas == null || ep == null || tas.rounds().size() < 2) {
            return "";
        }
        List<String> cpu = new ArrayList<>();
        List<String> p99 = new ArrayList<>();
        for (int i = 0; i < Math.min(tas.rounds().size(), ep.rounds().size()); i++) {
            BenchResult a = tas.rounds().get(i);
            BenchResult b = ep.rounds().get(i);
            if (a != null && b != null && !a.disturbed() && !b.disturbed()) {
                cpu.add(String.format(Locale.ROOT, "%.2f×", b.cpuSecondsPerMillionRequests() / a.cpuSecondsPerMillionRequests()));
                p99.add(String.format(Locale.ROOT, "%.2f×", a.p99() / (double) b.p99()));
            }
        }
        return cpu.isEmpty() ? "" : "; round by round (undisturbed pairs only): requests per CPU-second "
            + String.join(", ", cpu) + ", p99 " + String.join(", ", p99);
    }

    // ---- SVG --------------------------------------------------------------------------------------

    String svg() {
        List<String> present = new ArrayList<>();
        for (String t : transports) {
            if (runs.stream().anyMatch(r -> r.transport().equals(t) && r.result() != null)) {
                present.add(t);
            }
        }
        SvgChart chart = new SvgChart("RPC echo benchmark: TAS vs NIO, epoll, io_uring",
            "server and client in one JVM per run (TAS: engine loopback; kernel transports: kernel loopback) · "
                + Machine.shortDescription() + " · " + date.withZoneSameInstant(ZoneOffset.UTC)
                .format(DateTimeFormatter.ofPattern("yyyy-MM-dd")), present);
        List<Scenario> rpc = scenarios("rpc");
        if (!rpc.isEmpty()) {
            String sz = bytes(rpc.get(0).size());
            chart.add(panel("Requests/s, " + sz + " RPCs (higher is better)", rpc, present,
                BenchResult::requestsPerSecond, "%,.0f req/s"));
            chart.add(panel("CPU-s per million requests, process (lower is better)", rpc, present,
                BenchResult::cpuSecondsPerMillionRequests, "%.2f CPU-s"));
            chart.add(panel("p50 latency, µs (lower is better)", rpc, present, r -> r.p50() / 1e3, "%.1f µs"));
            chart.add(panel("p99 latency, µs (lower is better)", rpc, present, r -> r.p99() / 1e3, "%.1f µs"));
        }
        List<Scenario> bulk = scenarios("bulk");
        if (!bulk.isEmpty()) {
            chart.add(panel("Bulk throughput, Gbit/s (higher is better)", bulk, present,
                BenchResult::gbitPerSecond, "%.2f Gbit/s"));
            chart.add(panel("Bulk CPU-s per GiB, process (lower is better)", bulk, present,
                BenchResult::cpuSecondsPerGib, "%.3f CPU-s/GiB"));
        }
        List<Scenario> open = scenarios("open");
        if (!open.isEmpty()) {
            chart.add(panel("Open loop: cores used at each offered rate (lower is better)", open, present,
                BenchResult::cores, "%.2f cores"));
            // An overloaded point's p99 can be 1000× the others': a log axis keeps them all readable.
            chart.add(panel("Open loop: p99 latency, µs, log scale (lower is better)", open, present,
                r -> r.p99() / 1e3, "%.1f µs").logScale());
        }
        List<Scenario> blocking = scenarios("blocking");
        if (!blocking.isEmpty()) {
            chart.add(panel("Blocking callers: requests/s (higher is better)", blocking, present,
                BenchResult::requestsPerSecond, "%,.0f req/s"));
            chart.add(panel("Blocking callers: CPU-s per million requests (lower is better)", blocking, present,
                BenchResult::cpuSecondsPerMillionRequests, "%.2f CPU-s"));
        }
        return chart.render();
    }

    private SvgChart.Panel panel(String title, List<Scenario> scenarios, List<String> series,
        ToDoubleFunction<BenchResult> f, String format) {
        double[][] v = new double[series.size()][scenarios.size()];
        for (int s = 0; s < series.size(); s++) {
            for (int c = 0; c < scenarios.size(); c++) {
                BenchResult r = result(scenarios.get(c), series.get(s));
                v[s][c] = r == null ? Double.NaN : f.applyAsDouble(r);
            }
        }
        return new SvgChart.Panel(title, scenarios.stream().map(Scenario::shortLabel).toList(), v, format);
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private List<Scenario> scenarios(String mode) {
        Map<Scenario, Boolean> m = new LinkedHashMap<>();
        for (Run r : runs) {
            if (r.scenario().mode().equals(mode)) {
                m.put(r.scenario(), true);
            }
        }
        return new ArrayList<>(m.keySet());
    }

    private Run run(Scenario s, String t) {
        for (Run r : runs) {
            if (r.scenario().equals(s) && r.transport().equals(t)) {
                return r;
            }
        }
        return null;
    }

    /** The cell whose row is {@code r}. */
    private Run run(BenchResult r) {
        for (Run x : runs) {
            if (x.result() == r) {
                return x;
            }
        }
        throw new IllegalArgumentException("not a row of this report: " + r);
    }

    private BenchResult result(Scenario s, String t) {
        Run r = run(s, t);
        return r == null ? null : r.result();
    }

    private static String cell(double v, double base, String fmt) {
        String s = String.format(Locale.ROOT, fmt, v);
        if (Double.isNaN(base) || base == 0 || Double.isNaN(v)) {
            return s;
        }
        return s + String.format(Locale.ROOT, " (%.2f×)", v / base);
    }

    private static String split(BenchResult r, boolean perRequest) {
        long rest = r.cpuProcess() - r.cpuServer() - r.cpuClient() - r.cpuEngine();
        ToDoubleFunction<Long> f = perRequest ? r::perMillion : r::perGib;
        String fmt = perRequest ? "%.2f" : "%.3f";
        return String.format(Locale.ROOT, fmt + " · " + fmt + " · " + fmt + " · " + fmt, f.applyAsDouble(r.cpuServer()),
            f.applyAsDouble(r.cpuClient()), f.applyAsDouble(r.cpuEngine()), f.applyAsDouble(rest));
    }

    private static String shortFailure(String f) {
        String s = f == null ? "failed" : f;
        s = s.replace('|', '/').replace('\n', ' ');
        return s.length() > 120 ? s.substring(0, 117) + "..." : s;
    }

    static String bytes(int n) {
        if (n >= 1 << 20 && n % (1 << 20) == 0) {
            return (n >> 20) + " MiB";
        }
        if (n >= 1024 && n % 1024 == 0) {
            return (n >> 10) + " KiB";
        }
        return n + " B";
    }
}
