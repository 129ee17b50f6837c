package io.tasnetty.engine.fast;

import io.tasnetty.engine.flow.TasFlow;

/**
 * A hashed timer wheel of flows (one timer per flow: the earliest of its deadlines), with the
 * list links inside the flow so scheduling allocates nothing. Owned by one fast-path agent.
 * A timer fires on the first {@link #advance} at or after its deadline, never before.
 */
final class TasTimerWheel {
    private static final int SLOTS = 1024;
    private static final int MASK = SLOTS - 1;

    private final long tickNanos;
    private final TasFlow[] heads = new TasFlow[SLOTS];
    private long currentTick;
    private int count;
    /** The earliest deadline scheduled since {@link #resetEarliest()} (Long.MAX_VALUE: none). */
    private long earliestScheduled = Long.MAX_VALUE;

    TasTimerWheel(long tickNanos, long now) {
        this.tickNanos = tickNanos;
        this.currentTick = now / tickNanos;
    }

    int size() {
        return count;
    }

    /** The earliest deadline scheduled since the last {@link #resetEarliest()}, or Long.MAX_VALUE. */
    long earliestScheduled() {
        return earliestScheduled;
    }

    /**
     * Whether a flow on the wheel is due before {@code limit}: scans only the slots from now to
     * {@code limit} (a sleeping agent's planned wake-up, at most a few hundred ticks away).
     */
    boolean hasDeadlineBefore(long now, long limit) {
        if (count == 0 || limit <= now) {
            return count > 0 && limit <= now;
        }
        // From the wheel's own tick: overdue flows it has not advanced past yet wait there.
        long fromTick = Math.min(currentTick, now / tickNanos);
        long lastTick = Math.min(limit / tickNanos, fromTick + SLOTS - 1);
        for (long t = fromTick; t <= lastTick; t++) {
            for (TasFlow f = heads[(int) (t & MASK)]; f != null; f = f.timerNext) {
                if (f.timerDeadline() < limit) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Starts watching for newly scheduled deadlines (the agent's thread is about to sleep). */
    void resetEarliest() {
        earliestScheduled = Long.MAX_VALUE;
    }

    /** (Re)schedules {@code f} at {@code deadline}; 0 cancels. */
    void schedule(TasFlow f, long deadline) {
        schedule(f, deadline, false);
    }

    /**
     * As {@link #schedule(TasFlow, long)}; a {@code lazy} deadline may fire late (when the agent's
     * thread next wakes for something else, within its sleep cap): it does not count in
     * {@link #earliestScheduled()}, so it wakes no sleeping thread.
     */
    void schedule(TasFlow f, long deadline, boolean lazy) {
        if (f.timerSlot() >= 0) {
            if (f.timerDeadline() == deadline && (lazy || !f.timerLazy)) {
                return; // unchanged (an eager entry stays eager; a lazy one made eager is rescheduled)
            }
            unlink(f);
        }
        f.timerDeadline(deadline);
        if (deadline == 0) {
            return;
        }
        f.timerLazy = lazy;
        if (!lazy && deadline < earliestScheduled) {
            earliestScheduled = deadline;
        }
        // The slot of the tick the deadline falls in; that slot is re-scanned while it is current,
        // so a timer fires on the first advance at or after its deadline.
        long tick = Math.max(deadline / tickNanos, currentTick);
        int slot = (int) (tick & MASK);
        f.timerSlot(slot);
        f.timerPrev = null;
        f.timerNext = heads[slot];
        if (heads[slot] != null) {
            heads[slot].timerPrev = f;
        }
        heads[slot] = f;
        count++;
    }

    void cancel(TasFlow f) {
        if (f.timerSlot() >= 0) {
            unlink(f);
        }
        f.timerDeadline(0);
    }

    private void unlink(TasFlow f) {
        if (f.timerPrev != null) {
            f.timerPrev.timerNext = f.timerNext;
        } else {
            heads[f.timerSlot()] = f.timerNext;
        }
        if (f.timerNext != null) {
            f.timerNext.timerPrev = f.timerPrev;
        }
        f.timerPrev = null;
        f.timerNext = null;
        f.timerSlot(-1);
        count--;
    }

    interface Expiry {
        void expired(TasFlow f, long now);
    }

    /** Fires every flow whose deadline is {@code <= now}; returns how many fired. */
    int advance(long now, Expiry expiry) {
        long target = now / tickNanos;
        if (count == 0) {
            currentTick = target;
            return 0;
        }
        int fired = 0;
        long steps = Math.min(target - currentTick, SLOTS - 1);
        long start = target - steps;
        for (long t = start; t <= target; t++) {
            TasFlow f = heads[(int) (t & MASK)];
            while (f != null) {
                TasFlow next = f.timerNext;
                if (f.timerDeadline() <= now) {
                    unlink(f);
                    f.timerDeadline(0);
                    expiry.expired(f, now);
                    fired++;
                }
                f = next;
            }
        }
        currentTick = target;
        return fired;
    }

    /**
     * How long the agent's thread may sleep for its timers: until the earliest deadline, but a
     * lazy one (a looped connection's delayed ACK) no sooner than {@code lazySlackNanos} from now,
     * so such deadlines do not wake the thread every millisecond while application threads drive
     * the fast path (they usually cancel them first: the reply carries the ACK). -1 if none.
     */
    long nanosToWake(long now, long lazySlackNanos) {
        if (count == 0) {
            return -1;
        }
        long nowTick = now / tickNanos;
        long eager = Long.MAX_VALUE;
        long lazy = Long.MAX_VALUE;
        scan:
        for (long t = nowTick; t < nowTick + SLOTS; t++) {
            for (TasFlow f = heads[(int) (t & MASK)]; f != null; f = f.timerNext) {
                long d = f.timerDeadline();
                if (f.timerLazy) {
                    lazy = Math.min(lazy, d);
                } else {
                    eager = Math.min(eager, d);
                    if (d / tickNanos <= t) {
                        break scan; // due in this round: no later slot holds an earlier eager deadline
                    }
                }
            }
        }
        long wait = eager == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, eager - now);
        if (lazy != Long.MAX_VALUE) {
            wait = Math.min(wait, Math.max(lazy - now, lazySlackNanos));
        }
        return wait == Long.MAX_VALUE ? -1 : wait;
    }

    /** Nanoseconds until the earliest scheduled deadline, lazy or not, or -1 if none. */
    long nanosToNext(long now) {
        return nanosToWake(now, 0);
    }

}
