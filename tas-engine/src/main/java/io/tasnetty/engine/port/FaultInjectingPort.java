package io.tasnetty.engine.port;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;

/**
 * A decorator that makes any port a bad network on the receive side: loss, duplication,
 * reordering, bit corruption, fixed delay and a rate limit, as set by a {@link TasFaultPlan}.
 * This machine's kernel has no {@code netem}, so the project injects faults itself.
 *
 * <p>Each RX queue is a small pipeline, run by the queue's own thread inside {@link #rxBurst}:
 *
 * <pre>
 *   inner.rxBurst -> loss -> corrupt -> duplicate -> [rate limiter queue] -> [delay line] -> reorder -> caller
 * </pre>
 *
 * <p>Deterministic: every queue draws from its own {@link SplittableRandom} split from the plan's
 * seed, one for the per-frame faults and one for reordering, so the same seed and the same input
 * frames give the same faults whatever the timing. Time comes from an injectable clock, so tests
 * drive delay and rate on a manual clock. Transmit, alloc and free pass straight through.
 *
 * <p>Not allocation-free in one place only: a duplicate takes a buffer from the inner port.
 */
public final class FaultInjectingPort implements TasPortDecorator {
    private static final int ETH_HEADER = 14;
    private static final int PULL_BURST = 256;
    private static final long NONE = Long.MAX_VALUE;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final TasPort inner;
    private final TasFaultPlan plan;
    private final LongSupplier nanoClock;
    private final boolean rateLimited;
    private final long rate; // bits per second
    /** Token-bucket depth in scaled units: bits * 10^9, so refilling is elapsedNanos * rate, exact. */
    private final long bucket;
    private final Lane[] lanes;

    /** One RX queue's pipeline; touched only by that queue's thread. */
    private static final class Lane {
        final SplittableRandom rng;
        final SplittableRandom reorderRng;
        final PacketBuffer[] scratch = new PacketBuffer[PULL_BURST];
        final PacketBuffer[] one = new PacketBuffer[1];
        final HoldRing rateQueue;
        final HoldRing line;
        long tokens; // scaled like bucket
        long tokenTime;
        PacketBuffer held;
        long heldDeadline;
        final SingleWriterCounter lost = new SingleWriterCounter();
        final SingleWriterCounter duplicated = new SingleWriterCounter();
        final SingleWriterCounter reordered = new SingleWriterCounter();
        final SingleWriterCounter corrupted = new SingleWriterCounter();
        final SingleWriterCounter delayed = new SingleWriterCounter();
        final SingleWriterCounter rateQueued = new SingleWriterCounter();
        final SingleWriterCounter rateDropped = new SingleWriterCounter();

        Lane(SplittableRandom rng, SplittableRandom reorderRng, TasFaultPlan plan, long bucket, long now) {
            this.rng = rng;
            this.reorderRng = reorderRng;
            this.rateQueue = plan.rateBitsPerSecond() > 0 ? new HoldRing(Math.max(1, plan.rateQueueFrames())) : null;
            this.line = new HoldRing(plan.holdFrames());
            this.tokens = bucket;
            this.tokenTime = now;
        }
    }

    /** A FIFO of frames with due times; capacity rounded up to a power of two, bounded by limit. */
    private static final class HoldRing {
        final PacketBuffer[] bufs;
        final long[] due;
        final int mask;
        final int limit;
        int head;
        int tail;

        HoldRing(int limit) {
            int cap = Integer.highestOneBit(Math.max(2, limit) - 1) << 1;
            bufs = new PacketBuffer[cap];
            due = new long[cap];
            mask = cap - 1;
            this.limit = limit;
        }

        int size() {
            return tail - head;
        }

        boolean isEmpty() {
            return tail == head;
        }

        int free() {
            return limit - size();
        }

        void push(PacketBuffer b, long dueNanos) {
            int i = tail++ & mask;
            bufs[i] = b;
            due[i] = dueNanos;
        }

        PacketBuffer peek() {
            return bufs[head & mask];
        }

        long peekDue() {
            return due[head & mask];
        }

        PacketBuffer pop() {
            int i = head++ & mask;
            PacketBuffer b = bufs[i];
            bufs[i] = null;
            return b;
        }
    }

    /** Wraps {@code inner} with the system clock. */
    public FaultInjectingPort(TasPort inner, TasFaultPlan plan) {
        this(inner, plan, System::nanoTime);
    }

    /** Wraps {@code inner}; {@code nanoClock} is read once per burst (tests pass a manual clock). */
    public FaultInjectingPort(TasPort inner, TasFaultPlan plan, LongSupplier nanoClock) {
        this.inner = Objects.requireNonNull(inner, "inner");
        this.plan = Objects.requireNonNull(plan, "plan");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
        this.rateLimited = plan.rateBitsPerSecond() > 0;
        this.rate = plan.rateBitsPerSecond();
        long burstBytes = plan.rateBurstBytes() > 0 ? plan.rateBurstBytes() : 2L * (inner.mtu() + ETH_HEADER);
        this.bucket = burstBytes * 8 * NANOS_PER_SECOND; // at most 2^33 * 10^9 < 2^63 (plan validates)
        SplittableRandom root = new SplittableRandom(plan.seed());
        long now = nanoClock.getAsLong();
        this.lanes = new Lane[inner.queueCount()];
        for (int q = 0; q < lanes.length; q++) {
            SplittableRandom frames = root.split(); // split in queue order: deterministic per queue
            lanes[q] = new Lane(frames, frames.split(), plan, bucket, now);
        }
    }

    /** The plan in force. */
    public TasFaultPlan plan() {
        return plan;
    }

    @Override
    public TasPort inner() {
        return inner;
    }

    @Override
    public String name() {
        return "faults(" + inner.name() + ")";
    }






    @Override
    public int rxBurst(int queue, PacketBuffer[] bufs, int max) {
        if (max <= 0) {
            return 0;
        }
        Lane l = lanes[queue];
        long now = nanoClock.getAsLong(); // once per burst
        if (rateLimited) {
            refill(l, now);
            drainRateQueue(l, now); // frames already waiting go before new arrivals
        }
        pull(l, queue, now);
        return release(l, bufs, max, now);
    }

    private void pull(Lane l, int queue, long now) {
        // A pulled frame may become two (duplicate). With a rate limiter, excess frames are
        // dropped at its queue like a router's; without one, we stop pulling when the delay line
        // is full and let the inner port's own queue overflow instead.
        int room = rateLimited ? PULL_BURST : Math.min(PULL_BURST, l.line.free() / 2);
        if (room <= 0) {
            return;
        }
        int n = inner.rxBurst(queue, l.scratch, room);
        for (int i = 0; i < n; i++) {
            PacketBuffer f = l.scratch[i];
            l.scratch[i] = null;
            if (plan.loss() > 0 && l.rng.nextDouble() < plan.loss()) {
                inner.free(f);
                l.lost.increment();
                continue;
            }
            boolean damaged = false;
            if (plan.corrupt() > 0 && l.rng.nextDouble() < plan.corrupt() && f.length > ETH_HEADER) {
                corrupt(l, f);
                damaged = true;
            }
            PacketBuffer copy = null;
            if (plan.duplicate() > 0 && l.rng.nextDouble() < plan.duplicate()) {
                copy = duplicate(l, f);
                if (copy != null && damaged) {
                    l.corrupted.increment(); // a second damaged frame is delivered
                }
            }
            admit(l, f, now);
            if (copy != null) {
                admit(l, copy, now);
            }
        }
    }

    /** Flips one random bit after the Ethernet header, so the IPv4/TCP checksums catch it. */
    private void corrupt(Lane l, PacketBuffer f) {
        long at = f.offset + ETH_HEADER + l.rng.nextInt(f.length - ETH_HEADER);
        byte b = f.segment.get(ValueLayout.JAVA_BYTE, at);
        f.segment.set(ValueLayout.JAVA_BYTE, at, (byte) (b ^ (1 << l.rng.nextInt(8))));
        // As if damaged on the wire before any checksum offload looked at it.
        f.flags &= ~(PacketBuffer.RX_IP_CSUM_GOOD | PacketBuffer.RX_L4_CSUM_GOOD);
        l.corrupted.increment();
    }

    private PacketBuffer duplicate(Lane l, PacketBuffer f) {
        if (inner.alloc(l.one, 1) != 1) {
            return null; // no buffer: the duplicate simply does not happen
        }
        PacketBuffer c = l.one[0];
        l.one[0] = null;
        if (c.capacity < f.length) {
            inner.free(c);
            return null;
        }
        MemorySegment.copy(f.segment, f.offset, c.segment, c.offset, f.length);
        c.length = f.length;
        c.flags = f.flags;
        l.duplicated.increment();
        return c;
    }

    private void admit(Lane l, PacketBuffer f, long now) {
        if (!rateLimited) {
            toLine(l, f, now);
            return;
        }
        if (l.rateQueue.isEmpty() && l.line.free() > 0 && tryTakeTokens(l, f)) {
            toLine(l, f, now);
        } else if (l.rateQueue.free() > 0 && plan.rateQueueFrames() > 0) {
            l.rateQueue.push(f, 0);
            l.rateQueued.increment();
        } else {
            inner.free(f); // tail drop, as a router with a full queue
            l.rateDropped.increment();
        }
    }

    private void toLine(Lane l, PacketBuffer f, long departure) {
        long delay = plan.delayNanos();
        l.line.push(f, delay == 0 ? departure : saturatedAdd(departure, delay));
        if (delay > 0) {
            l.delayed.increment();
        }
    }

    private void refill(Lane l, long now) {
        long elapsed = now - l.tokenTime;
        if (elapsed > 0) {
            long missing = bucket - l.tokens;
            // Compare before multiplying so elapsed * rate cannot overflow.
            l.tokens = elapsed >= missing / rate + 1 ? bucket : Math.min(bucket, l.tokens + elapsed * rate);
            l.tokenTime = now;
        }
    }

    /** Tokens (scaled) a frame needs before it may go: a frame larger than the bucket needs a full one. */
    private long need(PacketBuffer f) {
        return Math.min(f.length * 8L * NANOS_PER_SECOND, bucket);
    }

    private boolean tryTakeTokens(Lane l, PacketBuffer f) {
        if (l.tokens >= need(f)) {
            l.tokens -= f.length * 8L * NANOS_PER_SECOND; // may leave the bucket in debt
            return true;
        }
        return false;
    }

    private void drainRateQueue(Lane l, long now) {
        HoldRing q = l.rateQueue;
        while (!q.isEmpty() && l.line.free() > 0 && tryTakeTokens(l, q.peek())) {
            toLine(l, q.pop(), now);
        }
    }

    private int release(Lane l, PacketBuffer[] bufs, int max, long now) {
        int out = 0;
        HoldRing line = l.line;
        while (out < max) {
            if (l.held != null && now - l.heldDeadline >= 0) {
                bufs[out++] = l.held; // no successor came in time: deliver it in order after all
                l.held = null;
                continue;
            }
            if (line.isEmpty() || line.peekDue() - now > 0) {
                break;
            }
            if (l.held != null) {
                bufs[out++] = line.pop(); // the successor overtakes the held frame
                l.reordered.increment();
                if (out < max) {
                    bufs[out++] = l.held;
                    l.held = null;
                } else {
                    l.heldDeadline = now; // first thing in the next burst
                }
                continue;
            }
            PacketBuffer f = line.pop();
            if (plan.reorder() > 0 && l.reorderRng.nextDouble() < plan.reorder()) {
                l.held = f;
                l.heldDeadline = saturatedAdd(now, plan.reorderHoldNanos());
                continue;
            }
            bufs[out++] = f;
        }
        return out;
    }

    /** The next time something held becomes deliverable, or {@link #NONE}. */
    private long nextDue(Lane l) {
        long next = NONE;
        if (l.held != null) {
            next = l.heldDeadline;
        }
        if (!l.line.isEmpty()) {
            next = Math.min(next, l.line.peekDue());
        }
        if (rateLimited && !l.rateQueue.isEmpty()) {
            long missing = need(l.rateQueue.peek()) - l.tokens;
            long wait = missing <= 0 ? 0 : (missing + rate - 1) / rate; // ceil: never wake too early
            next = Math.min(next, saturatedAdd(l.tokenTime, wait));
        }
        return next;
    }




    /**
     * Blocks in the inner port, but never past the moment a held frame becomes due. (When the
     * delay line is full the inner port has frames waiting and this returns at once until the
     * head of the line is due: a bounded spin, only under overload.)
     */
    @Override
    public void awaitRx(int queue, long timeoutNanos) {
        Lane l = lanes[queue];
        long next = nextDue(l);
        long wait = timeoutNanos;
        if (next != NONE) {
            long untilDue = next - nanoClock.getAsLong();
            if (untilDue <= 0) {
                return;
            }
            wait = Math.min(wait, untilDue);
        }
        inner.awaitRx(queue, wait);
    }



    /** Frames dropped by the loss setting. */
    public long lost() {
        long s = 0;
        for (Lane l : lanes) {
            s += l.lost.get();
        }
        return s;
    }

    /** Frames delivered twice. */
    public long duplicated() {
        long s = 0;
        for (Lane l : lanes) {
            s += l.duplicated.get();
        }
        return s;
    }

    /** Frames overtaken by their successor. */
    public long reordered() {
        long s = 0;
        for (Lane l : lanes) {
            s += l.reordered.get();
        }
        return s;
    }

    /** Damaged frames delivered (one bit flipped; a duplicate of a damaged frame counts again). */
    public long corrupted() {
        long s = 0;
        for (Lane l : lanes) {
            s += l.corrupted.get();
        }
        return s;
    }

    /** Frames held by the fixed delay. */
    public long delayed() {
        long s = 0;
        for (Lane l : lanes) {
            s += l.delayed.get();
        }
        return s;
    }

    /** Frames that waited in the rate limiter's queue for tokens. */
    public long rateQueued() {
        long s = 0;
        for (Lane l : lanes) {
            s += l.rateQueued.get();
        }
        return s;
    }

    /** Frames dropped because the rate limiter's queue was full. */
    public long rateDropped() {
        long s = 0;
        for (Lane l : lanes) {
            s += l.rateDropped.get();
        }
        return s;
    }

    /** Frames currently held on {@code queue} (rate queue, delay line, reorder slot). */
    public int held(int queue) {
        Lane l = lanes[queue];
        return l.line.size() + (l.rateQueue == null ? 0 : l.rateQueue.size()) + (l.held == null ? 0 : 1);
    }

    /** Frees every held frame, then closes the inner port. Call after the queue threads stopped. */
    @Override
    public void close() {
        for (Lane l : lanes) {
            while (!l.line.isEmpty()) {
                inner.free(l.line.pop());
            }
            if (l.rateQueue != null) {
                while (!l.rateQueue.isEmpty()) {
                    inner.free(l.rateQueue.pop());
                }
            }
            if (l.held != null) {
                inner.free(l.held);
                l.held = null;
            }
        }
        inner.close();
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }
}
