package io.tasnetty.engine.port;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.jctools.queues.MpmcArrayQueue;

/**
 * A pool of fixed-size packet buffers carved out of one off-heap region, for the pure-Java ports
 * (wire, TAP). Every {@link PacketBuffer} is created once here and recycled; nothing is allocated
 * per packet.
 *
 * <pre>
 *   region: | buf 0 (bufferSize) | buf 1 | ... | buf count-1 |
 *   buffer i: segment = region, offset = i * bufferSize, handle = i, owner = this pool
 * </pre>
 *
 * <p>{@link #alloc} and {@link #free} may be called from any thread (the free list is an MPMC
 * queue). A per-buffer in-use flag guards against a double free or a buffer of another pool: such
 * a free is refused and counted ({@link #invalidFrees()}) instead of corrupting the free list.
 */
public final class TasPacketPool implements AutoCloseable {
    /** Default buffer capacity: a 1500-byte MTU frame plus headroom, a power of two. */
    public static final int DEFAULT_BUFFER_SIZE = 2048;
    private static final int ALIGNMENT = 64;

    private final Arena arena;
    private final MemorySegment region;
    private final PacketBuffer[] buffers;
    private final AtomicIntegerArray inUse;
    private final MpmcArrayQueue<PacketBuffer> freeList;
    private final int bufferSize;
    private final AtomicLong invalidFrees = new AtomicLong();
    private volatile boolean closed;

    /** A pool of {@code count} buffers of {@link #DEFAULT_BUFFER_SIZE} bytes. */
    public TasPacketPool(int count) {
        this(count, DEFAULT_BUFFER_SIZE);
    }

    /** A pool of {@code count} buffers of {@code bufferSize} bytes each (rounded up to 64). */
    public TasPacketPool(int count, int bufferSize) {
        if (count < 1) {
            throw new IllegalArgumentException("pool count must be at least 1, was " + count);
        }
        if (bufferSize < 64) {
            throw new IllegalArgumentException("pool bufferSize must be at least 64 bytes, was " + bufferSize);
        }
        this.bufferSize = (bufferSize + ALIGNMENT - 1) & -ALIGNMENT;
        this.arena = Arena.ofShared();
        this.region = arena.allocate((long) count * this.bufferSize, ALIGNMENT);
        this.buffers = new PacketBuffer[count];
        this.inUse = new AtomicIntegerArray(count);
        // JCTools rounds the capacity up to a power of two; it never needs more than count slots.
        this.freeList = new MpmcArrayQueue<>(Math.max(2, count));
        for (int i = 0; i < count; i++) {
            PacketBuffer b = new PacketBuffer(region, (long) i * this.bufferSize, this.bufferSize, i, this);
            buffers[i] = b;
            freeList.offer(b);
        }
    }

    /** Capacity of each buffer in bytes. */
    public int bufferSize() {
        return bufferSize;
    }

    /** Number of buffers the pool holds in total. */
    public int capacity() {
        return buffers.length;
    }

    /** Buffers currently free (a snapshot; may be stale by the time it is read). */
    public int available() {
        return freeList.size();
    }

    /** Frees refused because the buffer was already free or belongs to another pool. */
    public long invalidFrees() {
        return invalidFrees.get();
    }

    /** The off-heap region all buffers live in. */
    public MemorySegment region() {
        return region;
    }

    /** Whether {@code buf} is one of this pool's buffers. */
    public boolean owns(PacketBuffer buf) {
        return buf != null && buf.owner == this;
    }

    /** Allocates up to {@code n} buffers into {@code bufs[0..)}, each reset; returns how many. */
    public int alloc(PacketBuffer[] bufs, int n) {
        if (closed) {
            return 0;
        }
        int i = 0;
        for (; i < n; i++) {
            PacketBuffer b = freeList.poll();
            if (b == null) {
                break;
            }
            take(b);
            bufs[i] = b;
        }
        return i;
    }

    /** Allocates one reset buffer, or returns null when the pool is empty (or closed). */
    public PacketBuffer allocOne() {
        if (closed) {
            return null;
        }
        PacketBuffer b = freeList.poll();
        if (b != null) {
            take(b);
        }
        return b;
    }

    private void take(PacketBuffer b) {
        // The buffer came off the free list, so its flag is 0; a plain release store is enough
        // (the queue's poll already ordered us after the freeing thread's writes).
        inUse.lazySet((int) b.handle, 1);
        b.reset();
    }

    /** Returns {@code buf} to the pool. A double free or a foreign buffer is counted and ignored. */
    public void free(PacketBuffer buf) {
        if (buf == null || buf.owner != this) {
            invalidFrees.incrementAndGet();
            return;
        }
        // CAS so that two racing frees of one buffer cannot both put it on the free list.
        if (!inUse.compareAndSet((int) buf.handle, 1, 0)) {
            invalidFrees.incrementAndGet();
            return;
        }
        freeList.offer(buf); // never full: at most count buffers are ever free
    }

    /** Releases the region; buffers still held become invalid (their memory is gone). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        arena.close();
    }

    public boolean isClosed() {
        return closed;
    }
}
