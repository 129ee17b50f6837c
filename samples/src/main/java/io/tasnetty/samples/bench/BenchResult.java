package io.tasnetty.samples.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What one benchmark run measured, over its measured interval only (after warm-up). CPU times are
 * in nanoseconds, latencies in nanoseconds. A worker prints it as one {@code RESULT k=v ...} line
 * that the runner parses.
 *
 * @param mode       {@code rpc} (closed loop), {@code bulk}, {@code open} (open loop at {@code offered}
 *                   requests/s) or {@code blocking} (one send-and-wait caller thread per connection)
 * @param requests   completed RPCs in the interval, 0 in bulk mode
 * @param bytes      payload bytes received by the server in the interval (all modes)
 * @param cpuProcess CPU time of the whole process (user + system, all threads)
 * @param cpuServer  CPU of the server's event-loop threads
 * @param cpuClient  CPU of the client's event-loop threads
 * @param cpuEngine  CPU of the TAS engine's threads (fast path, slow path); 0 on kernel transports
 * @param cpuOtherJava CPU of the other Java threads (JIT compiler, Netty's helpers, ...), not the app threads
 * @param machineCores how many CPUs' worth the whole machine was busy (from /proc/stat), NaN if unknown
 * @param offered    open loop: the requests/s the sender was told to issue; 0 in the other modes
 * @param cpuApp     CPU of the application's threads (open-loop sender, blocking callers); 0 where there are none
 * @param senderLagP99 open loop: p99 of how late the sender issued a request after its intended time; 0 otherwise
 */
public record BenchResult(String transport, String mode, int size, int connections, int depth, double seconds,
                          long requests, long bytes, long p50, long p99, long p999, long max, double mean,
                          long cpuProcess, long cpuServer, long cpuClient, long cpuEngine, long cpuOtherJava,
                          long gcCount, String note, double machineCores, double offered, long cpuApp,
                          long senderLagP99) {

    /** More than this many cores busy outside the benchmark's process(es) marks a run as disturbed. */
    public static final double DISTURBED_CORES = 0.25;

    public BenchResult(String transport, String mode, int size, int connections, int depth, double seconds,
        long requests, long bytes, long p50, long p99, long p999, long max, double mean, long cpuProcess,
        long cpuServer, long cpuClient, long cpuEngine, long cpuOtherJava, long gcCount, String note) {
        this(transport, mode, size, connections, depth, seconds, requests, bytes, p50, p99, p999, max, mean,
            cpuProcess, cpuServer, cpuClient, cpuEngine, cpuOtherJava, gcCount, note, Double.NaN, 0, 0, 0);
    }

    /** CPUs' worth of work the machine did outside this run's process(es) during the measured interval. */
    public double otherLoadCores() {
        return Double.isNaN(machineCores) ? Double.NaN : machineCores - cores();
    }

    /** Whether something else on the machine used a noticeable share of the CPUs during the run. */
    public boolean disturbed() {
        return !Double.isNaN(machineCores) && otherLoadCores() > DISTURBED_CORES;
    }

    /** The same figures with {@code machineCores} set. */
    public BenchResult withMachineCores(double cores) {
        return new BenchResult(transport, mode, size, connections, depth, seconds, requests, bytes, p50, p99, p999,
            max, mean, cpuProcess, cpuServer, cpuClient, cpuEngine, cpuOtherJava, gcCount, note, cores, offered, cpuApp,
            senderLagP99);
    }

    /** The same figures under another transport label (a configuration variant, e.g. {@code tas+1m}). */
    public BenchResult withTransport(String label) {
        return new BenchResult(label, mode, size, connections, depth, seconds, requests, bytes, p50, p99, p999, max,
            mean, cpuProcess, cpuServer, cpuClient, cpuEngine, cpuOtherJava, gcCount, note, machineCores, offered, cpuApp,
            senderLagP99);
    }

    public double requestsPerSecond() {
        return requests / seconds;
    }

    public double gbitPerSecond() {
        return bytes * 8.0 / seconds / 1e9;
    }

    /** Process CPU-seconds per million requests. */
    public double cpuSecondsPerMillionRequests() {
        return requests == 0 ? Double.NaN : cpuProcess / 1e9 / (requests / 1e6);
    }

    /** CPU-seconds of the given thread CPU per million requests. */
    public double perMillion(long cpuNanos) {
        return requests == 0 ? Double.NaN : cpuNanos / 1e9 / (requests / 1e6);
    }

    /** Process CPU-seconds per GiB received. */
    public double cpuSecondsPerGib() {
        return bytes == 0 ? Double.NaN : cpuProcess / 1e9 / (bytes / (double) (1L << 30));
    }

    public double perGib(long cpuNanos) {
        return bytes == 0 ? Double.NaN : cpuNanos / 1e9 / (bytes / (double) (1L << 30));
    }

    /** CPU cores busy on average (process CPU / wall time). */
    public double cores() {
        return cpuProcess / 1e9 / seconds;
    }

    /** The given thread CPU as cores busy on average over the interval. */
    public double coresOf(long cpuNanos) {
        return cpuNanos / 1e9 / seconds;
    }

    /** Process CPU outside the loops, the engine and the app threads (JIT compiler, GC, ...). */
    public long cpuRest() {
        return cpuProcess - cpuServer - cpuClient - cpuEngine - cpuApp;
    }

    public String toLine() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("transport", transport);
        m.put("mode", mode);
        m.put("size", Integer.toString(size));
        m.put("connections", Integer.toString(connections));
        m.put("depth", Integer.toString(depth));
        m.put("seconds", String.format(Locale.ROOT, "%.6f", seconds));
        m.put("requests", Long.toString(requests));
        m.put("bytes", Long.toString(bytes));
        m.put("p50", Long.toString(p50));
        m.put("p99", Long.toString(p99));
        m.put("p999", Long.toString(p999));
        m.put("max", Long.toString(max));
        m.put("mean", String.format(Locale.ROOT, "%.1f", mean));
        m.put("cpuProcess", Long.toString(cpuProcess));
        m.put("cpuServer", Long.toString(cpuServer));
        m.put("cpuClient", Long.toString(cpuClient));
        m.put("cpuEngine", Long.toString(cpuEngine));
        m.put("cpuOtherJava", Long.toString(cpuOtherJava));
        m.put("gcCount", Long.toString(gcCount));
        m.put("machineCores", String.format(Locale.ROOT, "%.3f", machineCores));
        m.put("offered", String.format(Locale.ROOT, "%.1f", offered));
        m.put("cpuApp", Long.toString(cpuApp));
        m.put("senderLagP99", Long.toString(senderLagP99));
        m.put("note", note == null ? "" : note.replace(' ', '_'));
        StringBuilder sb = new StringBuilder("RESULT");
        m.forEach((k, v) -> sb.append(' ').append(k).append('=').append(v));
        return sb.toString();
    }

    public static BenchResult parse(String line) {
        if (!line.startsWith("RESULT ")) {
            throw new IllegalArgumentException("not a result line: " + line);
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : line.substring(7).trim().split(" ")) {
            int eq = kv.indexOf('=');
            m.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return new BenchResult(m.get("transport"), m.get("mode"), Integer.parseInt(m.get("size")),
            Integer.parseInt(m.get("connections")), Integer.parseInt(m.get("depth")),
            Double.parseDouble(m.get("seconds")), Long.parseLong(m.get("requests")), Long.parseLong(m.get("bytes")),
            Long.parseLong(m.get("p50")), Long.parseLong(m.get("p99")), Long.parseLong(m.get("p999")),
            Long.parseLong(m.get("max")), Double.parseDouble(m.get("mean")), Long.parseLong(m.get("cpuProcess")),
            Long.parseLong(m.get("cpuServer")), Long.parseLong(m.get("cpuClient")), Long.parseLong(m.get("cpuEngine")),
            Long.parseLong(m.get("cpuOtherJava")), Long.parseLong(m.get("gcCount")),
            m.getOrDefault("note", "").replace('_', ' '),
            Double.parseDouble(m.getOrDefault("machineCores", "NaN")),
            // absent from results written before the open-loop and blocking-caller scenarios existed
            Double.parseDouble(m.getOrDefault("offered", "0")), Long.parseLong(m.getOrDefault("cpuApp", "0")),
            Long.parseLong(m.getOrDefault("senderLagP99", "0")));
    }
}
