package io.tasnetty.engine.stats;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.EnumMap;
import java.util.Map;

/**
 * One writer's set of counters. Each engine agent (fast-path core, slow path) owns one and is its
 * only writer, so an increment is a plain read plus an opaque store: no lock, no CAS, no
 * allocation. Any thread may read (opaque loads see each value whole, possibly slightly stale).
 */
public final class TasCounters {
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final TasCounter[] ALL = TasCounter.values();

    private final String owner;
    private final long[] values = new long[ALL.length];

    public TasCounters(String owner) {
        this.owner = owner;
    }

    /** The agent that writes these counters. */
    public String owner() {
        return owner;
    }

    /** Adds one. Single writer only. */
    public void increment(TasCounter c) {
        add(c, 1);
    }

    /** Adds {@code delta}. Single writer only. */
    public void add(TasCounter c, long delta) {
        int i = c.ordinal();
        // Opaque: readers on other threads see a whole, eventually fresh value; no fence needed.
        LONGS.setOpaque(values, i, (long) LONGS.getOpaque(values, i) + delta);
    }

    /** Current value, from any thread. */
    public long get(TasCounter c) {
        return (long) LONGS.getOpaque(values, c.ordinal());
    }

    /** Sums {@code c} over several counter sets. */
    public static long sum(Iterable<TasCounters> sets, TasCounter c) {
        long total = 0;
        for (TasCounters s : sets) {
            total += s.get(c);
        }
        return total;
    }

    /** A snapshot of every counter summed over {@code sets} (allocates: not for hot paths). */
    public static Map<TasCounter, Long> snapshot(Iterable<TasCounters> sets) {
        Map<TasCounter, Long> m = new EnumMap<>(TasCounter.class);
        for (TasCounter c : ALL) {
            m.put(c, sum(sets, c));
        }
        return m;
    }
}
