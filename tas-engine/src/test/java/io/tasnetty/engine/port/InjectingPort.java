package io.tasnetty.engine.port;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.jctools.queues.SpscArrayQueue;

/**
 * A test decorator that lets one test thread put frames into an engine's receive path next to
 * what the inner port receives: {@link #alloc} a buffer of the inner port's pool, fill it,
 * {@link #inject} it, and the engine's next {@link #rxBurst} on queue 0 hands it out like any
 * received frame. Unlike a second port on a wire, it can deliver frames no wire carries (runts
 * shorter than an Ethernet header, frames longer than the MTU) and it counts exactly what it
 * delivered, so a test can account for every frame.
 *
 * <p>Single producer (the test thread), single consumer (queue 0's fast-path thread).
 */
public final class InjectingPort implements TasPortDecorator {
    private final TasPort inner;
    private final SpscArrayQueue<PacketBuffer> injected;
    private final PacketBuffer[] one = new PacketBuffer[1];
    private final AtomicLong delivered = new AtomicLong();

    public InjectingPort(TasPort inner, int capacity) {
        this.inner = Objects.requireNonNull(inner, "inner");
        this.injected = new SpscArrayQueue<>(capacity);
    }

    /** Test thread: one empty buffer of the inner port's pool, or null when the pool is empty. */
    public PacketBuffer allocForInjection() {
        if (inner.alloc(one, 1) != 1) {
            return null;
        }
        PacketBuffer b = one[0];
        one[0] = null;
        return b;
    }

    /** Test thread: queues {@code b} for queue 0; false if the queue is full (the caller retries). */
    public boolean inject(PacketBuffer b) {
        if (!injected.offer(b)) {
            return false;
        }
        inner.wakeup(0); // the fast path may be blocked in awaitRx: ring its doorbell
        return true;
    }

    /** Frames injected but not yet handed to the engine. */
    public int pending() {
        return injected.size();
    }

    /** Injected frames handed to the engine so far. */
    public long delivered() {
        return delivered.get();
    }

    @Override
    public int rxBurst(int queue, PacketBuffer[] bufs, int max) {
        int n = inner.rxBurst(queue, bufs, max);
        if (queue == 0) {
            int before = n;
            PacketBuffer b;
            while (n < max && (b = injected.relaxedPoll()) != null) {
                bufs[n++] = b;
            }
            if (n > before) {
                delivered.addAndGet(n - before);
            }
        }
        return n;
    }

    @Override
    public void awaitRx(int queue, long timeoutNanos) {
        if (queue == 0 && !injected.isEmpty()) {
            return;
        }
        inner.awaitRx(queue, timeoutNanos);
    }

    @Override
    public TasPort inner() {
        return inner;
    }

    @Override
    public String name() {
        return "inject(" + inner.name() + ")";
    }











    @Override
    public void close() {
        PacketBuffer b;
        while ((b = injected.poll()) != null) {
            inner.free(b);
        }
        inner.close();
    }
}
