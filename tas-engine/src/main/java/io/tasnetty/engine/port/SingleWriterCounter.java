package io.tasnetty.engine.port;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A counter with one writing thread (the queue's fast-path thread) and any number of readers:
 * an increment is a plain read plus an opaque store, no CAS (same pattern as TasCounters).
 */
final class SingleWriterCounter {
    private static final VarHandle VALUE;

    static {
        try {
            VALUE = MethodHandles.lookup().findVarHandle(SingleWriterCounter.class, "value", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // accessed through VALUE
    private long value;

    /** Adds {@code delta}. Writer thread only. */
    void add(long delta) {
        // Opaque: readers see a whole, eventually fresh value; the writer needs no fence.
        VALUE.setOpaque(this, (long) VALUE.getOpaque(this) + delta);
    }

    void increment() {
        add(1);
    }

    /** Current value, from any thread. */
    long get() {
        return (long) VALUE.getOpaque(this);
    }

    static long sum(SingleWriterCounter[] counters) {
        long total = 0;
        for (SingleWriterCounter c : counters) {
            total += c.get();
        }
        return total;
    }

    static SingleWriterCounter[] array(int n) {
        SingleWriterCounter[] a = new SingleWriterCounter[n];
        for (int i = 0; i < n; i++) {
            a[i] = new SingleWriterCounter();
        }
        return a;
    }
}
