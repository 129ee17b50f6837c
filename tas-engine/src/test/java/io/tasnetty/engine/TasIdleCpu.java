package io.tasnetty.engine;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a window of idleness costs: this process's CPU time and its engine threads' ({@code tas-*})
 * over {@code seconds}, as percentages of one core, printed with each engine thread's share. Shared
 * by the idle-CPU programs ({@link TasIdleCpuMain}, it/'s {@code AfPacketIdleCpuMain}).
 */
public final class TasIdleCpu {
    /** Percent of one core: the whole process, and the engine threads alone. */
    public record Sample(double processPercent, double enginePercent) {
    }

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final com.sun.management.OperatingSystemMXBean OS =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private TasIdleCpu() {
    }

    /** Sleeps {@code seconds} and reports what the process and its engine threads used meanwhile. */
    public static Sample measure(int seconds, String what) throws InterruptedException {
        Map<Long, Long> before = engineThreadCpu();
        long cpu0 = OS.getProcessCpuTime();
        long t0 = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        long wall = System.nanoTime() - t0;
        long cpu = OS.getProcessCpuTime() - cpu0;
        Map<Long, Long> after = engineThreadCpu();
        long engine = 0;
        StringBuilder perThread = new StringBuilder();
        for (Map.Entry<Long, Long> e : after.entrySet()) {
            long d = e.getValue() - before.getOrDefault(e.getKey(), 0L);
            engine += d;
            ThreadInfo info = THREADS.getThreadInfo(e.getKey());
            perThread.append(String.format("  %-14s %8.3f ms%n", info == null ? "?" : info.getThreadName(), d / 1e6));
        }
        Sample s = new Sample(100.0 * cpu / wall, 100.0 * engine / wall);
        System.out.printf("%s: process CPU %.1f ms in %.1f s = %.2f%% of one core; engine threads %.2f%%%n%s", what,
            cpu / 1e6, wall / 1e9, s.processPercent(), s.enginePercent(), perThread);
        return s;
    }

    /** CPU nanoseconds of every live engine thread ({@code tas-*}), by thread id. */
    private static Map<Long, Long> engineThreadCpu() {
        Map<Long, Long> m = new LinkedHashMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("tas-")) {
                long c = THREADS.getThreadCpuTime(t.threadId());
                if (c >= 0) {
                    m.put(t.threadId(), c);
                }
            }
        }
        return m;
    }
}
