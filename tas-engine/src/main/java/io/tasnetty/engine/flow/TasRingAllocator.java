package io.tasnetty.engine.flow;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Ring memory for connections: power-of-two blocks carved from large off-heap chunks and recycled
 * through one free list per size, so opening and closing connections neither leaks nor pays for an
 * arena per connection. The engine owns the chunks and frees them all when it stops.
 */
public final class TasRingAllocator implements AutoCloseable {
    private static final int CHUNK = 4 << 20;
    private static final int CLASSES = 31;

    private final Arena arena = Arena.ofShared();
    private final long limitBytes;
    @SuppressWarnings("unchecked")
    private final ConcurrentLinkedQueue<MemorySegment>[] free = new ConcurrentLinkedQueue[CLASSES];
    private final AtomicLong reserved = new AtomicLong();
    private final AtomicLong inUse = new AtomicLong();
    private MemorySegment chunk;
    private long chunkUsed;

    /** @param limitBytes most ring memory the engine may hold, across all connections */
    public TasRingAllocator(long limitBytes) {
        this.limitBytes = limitBytes;
        for (int i = 0; i < CLASSES; i++) {
            free[i] = new ConcurrentLinkedQueue<>();
        }
    }

    /** A block of exactly {@code size} bytes (a power of two), or {@code null} when over the limit. */
    public MemorySegment allocate(int size) {
        if (Integer.bitCount(size) != 1) {
            throw new IllegalArgumentException("ring size must be a power of two: " + size);
        }
        int cls = Integer.numberOfTrailingZeros(size);
        MemorySegment seg = free[cls].poll();
        if (seg == null) {
            seg = carve(size);
            if (seg == null) {
                return null;
            }
        }
        inUse.addAndGet(size);
        return seg;
    }

    private synchronized MemorySegment carve(int size) {
        if (reserved.get() + size > limitBytes) {
            return null;
        }
        reserved.addAndGet(size);
        if (size >= CHUNK) {
            return arena.allocate(size, 64);
        }
        if (chunk == null || chunkUsed + size > CHUNK) {
            chunk = arena.allocate(CHUNK, 4096);
            chunkUsed = 0;
        }
        MemorySegment seg = chunk.asSlice(chunkUsed, size);
        chunkUsed += size;
        return seg;
    }

    /** Returns a block from {@link #allocate}. */
    public void release(MemorySegment seg) {
        int size = (int) seg.byteSize();
        inUse.addAndGet(-size);
        free[Integer.numberOfTrailingZeros(size)].offer(seg);
    }

    /** Bytes handed out and not yet released (0 after every connection is gone). */
    public long bytesInUse() {
        return inUse.get();
    }

    /** Bytes reserved from the system (grows to the high-water mark, then is reused). */
    public long bytesReserved() {
        return reserved.get();
    }

    @Override
    public void close() {
        arena.close();
    }
}
