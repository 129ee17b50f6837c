package io.tasnetty.samples;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The untimed requests a sample sends before it times any: at least as many as it will time, then
 * on until the JIT has stopped compiling (two rounds of {@value #ROUND} requests in which the
 * compilers worked less than {@value #QUIET_PERCENT}% of the time) or a time limit has passed.
 *
 * <p>A fixed count is not enough to compare transports: a user-space TCP stack is Java the JIT
 * still has to compile (the kernel's stack is compiled already), and on a small machine the
 * compiler threads take the cores the request path runs on. Measured on this project's 2-core
 * machines: the HTTP sample's 2,000 timed GETs after 2,000 untimed ran at 7,000-8,400/s on TAS and
 * 15,000-19,000/s on epoll, with TAS's JIT compiling for 2.9 s during the run and epoll's for 1.5 s,
 * and TAS's rate went on rising for tens of thousands of requests more. A settled request rate is
 * no sign of a finished JIT (the rate sits at the C1 compilers' level for thousands of requests
 * before C2's code arrives), so the compilers' own time decides. What the warm-up took is printed, so that what
 * a cold start costs stays visible.
 */
public final class Warmup {
    /** Requests per round. */
    static final int ROUND = 1_000;
    /** A round in which the JIT compiled for less than this share of its time is quiet. */
    public static final int QUIET_PERCENT = 2;
    private final long minCount;
    private final long maxNanos;
    private final LongSupplier clock;
    private final LongSupplier compileMillis;
    private final long start;
    private long count;
    private long roundStart;
    private long roundCompileMillis;
    private double lastRate;
    private int quietRounds;
    private boolean settled;
    private long end;

    /**
     * @param minCount at least this many
     * @param maxNanos after {@code minCount}, go on until the JIT is done but no longer than this
     *     from the start (0: exactly {@code minCount})
     */
    public Warmup(long minCount, long maxNanos) {
        this(minCount, maxNanos, System::nanoTime, Warmup::compileMillis);
    }

    Warmup(long minCount, long maxNanos, LongSupplier clock, LongSupplier compileMillis) {
        this.minCount = Math.max(0, minCount);
        this.maxNanos = maxNanos;
        this.clock = clock;
        this.compileMillis = compileMillis;
        this.start = clock.getAsLong();
        this.roundStart = start;
        this.roundCompileMillis = compileMillis.getAsLong();
    }

    /** The JIT's accumulated compilation time (ms), or 0 where the JVM does not report it. */
    public static long compileMillis() {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
    }

    /** Seconds (as the samples' {@code --warmup} option takes them) to nanoseconds; refuses bad values. */
    public static long nanos(double seconds) {
        if (!(seconds >= 0) || seconds > 3600) {
            throw new IllegalArgumentException("--warmup: expected seconds from 0 to 3600, not " + seconds);
        }
        return (long) (seconds * 1e9);
    }

    /** Whether to send one more untimed request (counts it when so). */
    public boolean more() {
        if (end != 0) {
            return false;
        }
        if (count > 0 && count % ROUND == 0) {
            long now = clock.getAsLong();
            long compiled = compileMillis.getAsLong();
            long roundNanos = Math.max(1, now - roundStart);
            lastRate = ROUND * 1e9 / roundNanos;
            boolean quiet = (compiled - roundCompileMillis) * 1_000_000L * 100 < QUIET_PERCENT * roundNanos;
            quietRounds = quiet ? quietRounds + 1 : 0;
            settled = quietRounds >= 2;
            roundStart = now;
            roundCompileMillis = compiled;
        }
        if (count >= minCount && (maxNanos == 0 || settled || clock.getAsLong() - start >= maxNanos)) {
            end = clock.getAsLong();
            return false;
        }
        count++;
        return true;
    }

    /** How many were sent. */
    public long count() {
        return count;
    }

    /** E.g. "24,000 untimed GETs in 3.1 s (last 1,000 at 9,312/s; JIT done)". */
    public String describe(String what) {
        double secs = Math.max(1, (end == 0 ? clock.getAsLong() : end) - start) / 1e9;
        if (lastRate == 0) {
            return String.format(Locale.ROOT, "%,d untimed %s in %.1f s", count, what, secs);
        }
        return String.format(Locale.ROOT, "%,d untimed %s in %.1f s (last %,d at %,.0f/s; %s)", count, what, secs, ROUND,
            lastRate, settled ? "JIT done: 2 rounds with under " + QUIET_PERCENT + "% compiling"
                : maxNanos == 0 ? "no time given to the JIT" : "JIT still compiling at the time limit");
    }
}
