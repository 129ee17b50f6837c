package io.tasnetty.engine.port;

import java.lang.management.ManagementFactory;

/** Bytes the current thread allocates while running an action (HotSpot's per-thread counter). */
final class Allocation {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private Allocation() {
    }

    static long measure(Runnable action) {
        long before = THREADS.getCurrentThreadAllocatedBytes();
        action.run();
        return THREADS.getCurrentThreadAllocatedBytes() - before;
    }

    /**
     * Steady-state allocation of {@code round}: runs it until a round allocates less than
     * {@code bound} bytes (or {@code maxRounds} have run) and returns the last round's bytes.
     * Before C2 compiles the path, FFM calls that capture errno allocate a small carrier per call
     * that escape analysis later removes; what matters is the compiled hot path.
     */
    static long steadyState(Runnable round, long bound, int maxRounds) {
        long last = Long.MAX_VALUE;
        for (int i = 0; i < maxRounds && last >= bound; i++) {
            last = measure(round);
        }
        return last;
    }
}
