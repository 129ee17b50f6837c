package io.tasnetty.engine;

/** A clock that moves only when told to: for scripted tests with no threads and no sleeps. */
public final class TasManualClock implements TasClock {
    private volatile long now;

    public TasManualClock(long startNanos) {
        this.now = startNanos;
    }

    @Override
    public long nanoTime() {
        return now;
    }

    public void advanceNanos(long nanos) {
        now += nanos;
    }

    public void advanceMillis(long millis) {
        now += millis * 1_000_000L;
    }

    public void set(long nanos) {
        now = nanos;
    }
}
