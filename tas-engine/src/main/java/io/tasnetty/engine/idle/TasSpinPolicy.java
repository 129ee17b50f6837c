package io.tasnetty.engine.idle;

/**
 * How long a thread that ran out of work keeps polling before it blocks: only while polling is
 * likely to pay. Blocking is not free (a park, a wake-up by whoever brings the next work, two
 * context switches; on a virtual machine also the halt and wake of a virtual CPU), so polling for a
 * short gap is cheaper than blocking through it, and a long gap is cheaper blocked.
 *
 * <p>The policy watches the gaps between running out of work and the arrival of the next work
 * (the moment a producer posted it, not the moment this thread got round to it: a gap measured
 * after waking would include this thread's own wake-up latency, and two threads that wake each
 * other would then both see long gaps and block forever, though each would answer the other at
 * once if it polled). It keeps a moving average; while the average is below
 * {@code spinWorthNanos} the thread polls for up to twice the average (at most {@code maxSpinNanos}),
 * otherwise it blocks at once.
 *
 * <p>A thread that always blocks learns nothing about what polling would have caught. So after
 * every {@code probeEvery}-th wake-up it polls for {@code maxSpinNanos} once (a probe): if the next
 * work comes within that, the gap it measures is the short one, and the average follows. The
 * probes cost at most {@code maxSpinNanos / probeEvery} per wake-up when the load is low.
 *
 * <p>Polling on a machine without a spare core takes the core from a thread with work (an
 * application thread, the peer loop). A poller yields while it polls and reports whether each
 * yield came back late, i.e. another thread ran ({@link #yielded}); when most of its recent yields
 * did, the policy blocks at once for the next {@link #CONTENDED_PERIODS} idle periods whatever the
 * gaps. One late yield is no sign of that: a fast-path thread woken for a moment, the JIT, or a
 * timer tick also make one, and blocking on each (as this policy once did) made two loops that
 * feed each other block about 25,000 times a second each at 8 connections, which then woke each
 * other onto one core (the scheduler's wake-affine placement), where their yields were late again:
 * 214,000 requests/s at 6.6 CPU-us each, against 342,000 at 5.4 with one late yield ignored.
 *
 * <p>A yield that comes back only after {@link #STARVED_YIELD_NANOS} gave another task a whole
 * scheduler slice: a runnable task that is not ours, even a niced batch job, which the scheduler
 * (EEVDF) lets run its full slice, about 3 ms, when we yield to it. Polling then costs every
 * request that waits on this thread milliseconds, while a blocked thread is woken at once (a
 * woken task preempts the batch job). So the policy blocks at once for
 * {@link #STARVED_BACKOFF_NANOS} ({@link #starved}). Measured (8 connections, closed loop, two
 * niced busy loops beside): p99 3.3 ms against epoll's 0.15 ms before.
 *
 * <p>Single-threaded (the owning thread); times are {@code System.nanoTime()} values passed in.
 */
public final class TasSpinPolicy {
    private final long maxSpinNanos;
    private final long spinWorthNanos;
    private final int probeEvery;
    /** Moving average of the gaps, nanoseconds (weight 1/8 for each new gap). */
    private long averageGap;
    private int wakeUps;
    private boolean probing;
    /** Idle periods left in which to block at once: other threads wanted the CPU we polled on. */
    private int contendedPeriods;
    /** Moving average (weight 1/16) of late yields, {@link #LATE} meaning all of them. */
    private int lateYields;
    static final int LATE = 1 << 10;
    /** How many idle periods a {@link #contended()} report turns polling off for. */
    static final int CONTENDED_PERIODS = Integer.getInteger("tas.debug.contended-periods", 256);
    /** A yield this long gave another task a whole scheduler slice (see the class comment). */
    public static final long STARVED_YIELD_NANOS = 500_000;
    /** After a {@link #starved} report, block at once for this long. */
    public static final long STARVED_BACKOFF_NANOS = 100_000_000;
    /** Until when to block at once after a starved yield ({@link #starved}); meaningful while {@link #starvedSet}. */
    private long noSpinUntil;
    private boolean starvedSet;

    /**
     * @param maxSpinNanos the longest a thread polls without work (0: always block at once)
     * @param spinWorthNanos gaps shorter than this on average make polling worth it (about what a
     *     block and a wake-up cost in CPU time)
     * @param probeEvery a probe after every this many wake-ups (0: never probe)
     */
    public TasSpinPolicy(long maxSpinNanos, long spinWorthNanos, int probeEvery) {
        if (maxSpinNanos < 0 || spinWorthNanos < 0 || probeEvery < 0) {
            throw new IllegalArgumentException("spin policy: negative argument");
        }
        this.maxSpinNanos = maxSpinNanos;
        this.spinWorthNanos = spinWorthNanos;
        this.probeEvery = probeEvery;
        this.averageGap = Math.max(1, spinWorthNanos) * 4; // start by blocking: low load is the common case
    }

    /**
     * How long to poll from the start of this idle period, which begins at {@code now}, before
     * blocking (nanoseconds).
     */
    public long spinBudget(long now) {
        if (starvedSet) {
            if (now - noSpinUntil < 0) {
                return 0;
            }
            starvedSet = false;
        }
        return spinBudget();
    }

    /** How long to poll from the start of this idle period before blocking (nanoseconds). */
    public long spinBudget() {
        if (contendedPeriods > 0) {
            contendedPeriods--;
            return 0;
        }
        if (probing) {
            return maxSpinNanos;
        }
        if (averageGap >= spinWorthNanos) {
            return 0;
        }
        return Math.min(maxSpinNanos, 2 * averageGap);
    }

    /**
     * The idle period ended: work arrived {@code gapNanos} after it began (measured to the
     * producer's post), or {@code gapNanos < 0} if the time is unknown. {@code wokenUp}: the thread
     * had blocked and was woken for it.
     */
    public void workArrived(long gapNanos, boolean wokenUp) {
        if (gapNanos >= 0) {
            // Cap what one long gap can add: a single quiet second must not take the average a
            // thousand gaps to come back from.
            long g = Math.min(gapNanos, Math.max(maxSpinNanos, spinWorthNanos) * 4);
            averageGap += (g - averageGap) >> 3;
        }
        probing = false;
        if (wokenUp && probeEvery > 0 && ++wakeUps >= probeEvery) {
            wakeUps = 0;
            probing = maxSpinNanos > 0;
        }
    }

    /**
     * While polling, the thread yielded; {@code late}: the yield returned only after another thread
     * ran. When most recent yields were late, polling costs others their CPU: see {@link #contended}.
     */
    public void yielded(boolean late) {
        lateYields += ((late ? LATE : 0) - lateYields) >> 4;
        if (lateYields > LATE / 2) {
            contended();
        }
    }

    /**
     * A yield that ended at {@code now} took {@code yieldNanos}: if that is a whole scheduler slice
     * ({@link #STARVED_YIELD_NANOS} or more), block at once for {@link #STARVED_BACKOFF_NANOS} and
     * return true (the caller stops polling now).
     */
    public boolean starved(long yieldNanos, long now) {
        if (yieldNanos < STARVED_YIELD_NANOS) {
            return false;
        }
        noSpinUntil = now + STARVED_BACKOFF_NANOS;
        starvedSet = true;
        probing = false;
        return true;
    }

    /**
     * A yield of the polling thread began at {@code before} and ended at {@code after}: reports
     * it as late (longer than {@code contendedNanos}, {@link #yielded}) and as {@link #starved};
     * returns true when the caller should stop polling now (a whole slice went elsewhere).
     */
    public boolean afterYield(long before, long after, long contendedNanos) {
        yielded(after - before > contendedNanos);
        return starved(after - before, after);
    }

    /** The CPU is contended: polling costs others their CPU here, so block at once for a while. */
    public void contended() {
        contendedPeriods = CONTENDED_PERIODS;
        probing = false;
        lateYields = 0; // measured afresh when polling resumes
    }

    /** The average gap the policy acts on (for tests and diagnostics). */
    public long averageGapNanos() {
        return averageGap;
    }

    public long maxSpinNanos() {
        return maxSpinNanos;
    }

    @Override
    public String toString() {
        return "TasSpinPolicy[max " + maxSpinNanos + " ns, worth below " + spinWorthNanos + " ns, average gap "
            + averageGap + " ns, probe every " + probeEvery + " wake-ups]";
    }
}
