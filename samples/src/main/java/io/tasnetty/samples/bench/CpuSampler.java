package io.tasnetty.samples.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * CPU time of this process (user + system, from the OS) and of each of its Java threads (from
 * {@link ThreadMXBean}), so a run can say where the CPU went: the server's event loops, the
 * client's, the TAS engine's threads, the application's own threads (the open-loop sender, the
 * blocking callers), or the rest of the JVM (JIT compiler, GC, ...).
 */
final class CpuSampler {
    /** Thread-name prefixes of the threads a run creates, and what the report calls them. */
    static final String SERVER_PREFIX = "bench-server";
    static final String CLIENT_PREFIX = "bench-client";
    static final String ENGINE_PREFIX = "tas-";
    /** Threads that play the application: they call into Netty from outside its event loops. */
    static final String APP_PREFIX = "bench-app";

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final com.sun.management.OperatingSystemMXBean OS =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    static {
        if (THREADS.isThreadCpuTimeSupported() && !THREADS.isThreadCpuTimeEnabled()) {
            THREADS.setThreadCpuTimeEnabled(true);
        }
    }

    /**
     * A snapshot: process CPU and per-thread CPU (by thread id), in nanoseconds, and the machine's
     * per-CPU busy and idle jiffies from {@code /proc/stat} (empty where there is none).
     */
    record Snapshot(long wallNanos, long processCpu, Map<Long, Long> threadCpu, Map<Long, String> names,
                    long[][] machine) {
    }

    private CpuSampler() {
    }

    static Snapshot snapshot() {
        long wall = System.nanoTime();
        long proc = processCpuNanos();
        long[] ids = THREADS.getAllThreadIds();
        ThreadInfo[] infos = THREADS.getThreadInfo(ids);
        Map<Long, Long> cpu = new HashMap<>();
        Map<Long, String> names = new HashMap<>();
        for (int i = 0; i < ids.length; i++) {
            long t = THREADS.getThreadCpuTime(ids[i]);
            if (t >= 0 && infos[i] != null) {
                cpu.put(ids[i], t);
                names.put(ids[i], infos[i].getThreadName());
            }
        }
        return new Snapshot(wall, proc, cpu, names, procStat());
    }

    /** Per CPU: {busy, idle} jiffies (busy: user, nice, system, irq, softirq, steal; idle: idle, iowait). */
    static long[][] procStat() {
        try {
            java.util.List<long[]> l = new java.util.ArrayList<>();
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/stat"))) {
                if (line.startsWith("cpu") && line.length() > 3 && Character.isDigit(line.charAt(3))) {
                    String[] f = line.trim().split("\\s+");
                    long busy = Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3])
                        + Long.parseLong(f[6]) + Long.parseLong(f[7]) + Long.parseLong(f[8]);
                    long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
                    l.add(new long[] {busy, idle});
                }
            }
            return l.toArray(long[][]::new);
        } catch (java.io.IOException | RuntimeException e) {
            return new long[0][];
        }
    }

    /**
     * How busy each CPU of the machine was between two snapshots (0..1 each), e.g. {@code [0.98, 0.97]}:
     * with the process's own CPU it shows whether something else ran, or a CPU was not there.
     */
    static double[] machineBusy(Snapshot a, Snapshot b) {
        int n = Math.min(a.machine().length, b.machine().length);
        double[] r = new double[n];
        for (int i = 0; i < n; i++) {
            long busy = b.machine()[i][0] - a.machine()[i][0];
            long idle = b.machine()[i][1] - a.machine()[i][1];
            r[i] = busy + idle == 0 ? 0 : busy / (double) (busy + idle);
        }
        return r;
    }

    /** Process CPU time (all threads, user + system) in ns; falls back to the sum of Java threads. */
    static long processCpuNanos() {
        long t = OS.getProcessCpuTime();
        if (t >= 0) {
            return t;
        }
        long sum = 0;
        for (long id : THREADS.getAllThreadIds()) {
            sum += Math.max(0, THREADS.getThreadCpuTime(id));
        }
        return sum;
    }

    /** CPU between two snapshots, grouped: server, client, engine, app, otherJava; and the process total. */
    static Map<String, Long> delta(Snapshot a, Snapshot b) {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("server", 0L);
        m.put("client", 0L);
        m.put("engine", 0L);
        m.put("app", 0L);
        m.put("otherJava", 0L);
        b.threadCpu().forEach((id, t) -> {
            long d = t - a.threadCpu().getOrDefault(id, 0L);
            m.merge(category(b.names().get(id)), Math.max(0, d), Long::sum);
        });
        m.put("process", b.processCpu() - a.processCpu());
        return m;
    }

    /** Per-thread CPU between two snapshots, busiest first, e.g. {@code "tas-fp-0 1.234 s"}. */
    static java.util.List<String> perThread(Snapshot a, Snapshot b) {
        java.util.List<Map.Entry<String, Long>> l = new java.util.ArrayList<>();
        b.threadCpu().forEach((id, t) -> {
            long d = t - a.threadCpu().getOrDefault(id, 0L);
            if (d > 0) {
                l.add(Map.entry(b.names().get(id), d));
            }
        });
        l.sort(Map.Entry.<String, Long>comparingByValue().reversed());
        return l.stream().map(e -> String.format(java.util.Locale.ROOT, "%-32s %8.3f s", e.getKey(), e.getValue() / 1e9))
            .toList();
    }

    static String category(String threadName) {
        if (threadName.startsWith(SERVER_PREFIX)) {
            return "server";
        }
        if (threadName.startsWith(CLIENT_PREFIX)) {
            return "client";
        }
        if (threadName.startsWith(ENGINE_PREFIX)) {
            return "engine";
        }
        if (threadName.startsWith(APP_PREFIX)) {
            return "app";
        }
        return "otherJava";
    }
}
