package io.tasnetty.engine.port;

/**
 * Large packet buffers for segments that never leave the engine (its loopback), so a looped
 * connection moves IP packets of up to {@link #LOOPBACK_MTU} bytes, as Linux's {@code lo} does,
 * instead of paying per-segment costs every 1,460 bytes.
 *
 * <p>The buffers come from pools of {@link #CHUNK} buffers each, created on demand (none until
 * the first looped segment that needs one) up to {@code maxChunks}; an exhausted supply makes
 * {@link #allocOne} return null, and the sender waits and tries again, as with the port's own
 * buffers. Any thread may allocate and free.
 *
 * <p>{@link #decorate} wraps the engine's port so that every {@code free} of such a buffer, by
 * whichever agent ends up holding it (a fast path that received it, the slow path that dropped
 * it), returns it here and everything else goes to the port.
 */
public final class TasLoopbackBuffers implements AutoCloseable {
    /**
     * Largest looped IP packet: as large as IPv4's 16-bit total length allows (Linux's {@code lo}
     * has an MTU of 65,536 but the same limit; its TCP segments carry 65,483 bytes with timestamps).
     */
    public static final int LOOPBACK_MTU = 65_535;
    /** Buffers per pool. */
    static final int CHUNK = 16;
    /** The IP packet, its Ethernet header, and slack. */
    private static final int BUFFER_SIZE = LOOPBACK_MTU + 64;

    private final int maxChunks;
    /** Copy-on-write: readers scan a snapshot without locking. */
    private volatile TasPacketPool[] chunks = new TasPacketPool[0];
    private volatile boolean closed;

    public TasLoopbackBuffers(int maxChunks) {
        if (maxChunks < 1) {
            throw new IllegalArgumentException("maxChunks must be at least 1, was " + maxChunks);
        }
        this.maxChunks = maxChunks;
    }

    /** A reset buffer for a frame of up to {@link #LOOPBACK_MTU} + 14 bytes, or null when none is free and no more may be made. */
    public PacketBuffer allocOne() {
        TasPacketPool[] cs = chunks;
        for (int i = cs.length - 1; i >= 0; i--) {
            PacketBuffer b = cs[i].allocOne();
            if (b != null) {
                return b;
            }
        }
        return grow(cs.length);
    }

    private synchronized PacketBuffer grow(int seen) {
        if (closed) {
            return null;
        }
        TasPacketPool[] cs = chunks;
        if (cs.length != seen) {
            return cs[cs.length - 1].allocOne(); // another thread grew it meanwhile
        }
        if (cs.length >= maxChunks) {
            return null;
        }
        TasPacketPool p = new TasPacketPool(CHUNK, BUFFER_SIZE);
        TasPacketPool[] next = java.util.Arrays.copyOf(cs, cs.length + 1);
        next[cs.length] = p;
        chunks = next;
        return p.allocOne();
    }

    /** Whether {@code b} is one of these buffers. */
    public boolean owns(PacketBuffer b) {
        if (b.capacity < BUFFER_SIZE) {
            return false; // a port's buffer (frames of an MTU): the common case, decided at once
        }
        Object owner = b.owner;
        for (TasPacketPool p : chunks) {
            if (p == owner) {
                return true;
            }
        }
        return false;
    }

    /** Returns {@code b}, which {@link #owns} must have said is ours. */
    public void free(PacketBuffer b) {
        ((TasPacketPool) b.owner).free(b);
    }

    /** Buffers made so far (for tests and diagnostics). */
    public int capacity() {
        return chunks.length * CHUNK;
    }

    /** Buffers free among those made. */
    public int available() {
        int n = 0;
        for (TasPacketPool p : chunks) {
            n += p.available();
        }
        return n;
    }

    /** {@code port}, with frees of these buffers routed here. */
    public TasPort decorate(TasPort port) {
        return new Decorated(port, this);
    }

    @Override
    public synchronized void close() {
        closed = true;
        for (TasPacketPool p : chunks) {
            p.close();
        }
    }

    private record Decorated(TasPort inner, TasLoopbackBuffers buffers) implements TasPortDecorator {
        @Override
        public void free(PacketBuffer buf) {
            if (buffers.owns(buf)) {
                buffers.free(buf);
            } else {
                inner.free(buf);
            }
        }

        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
