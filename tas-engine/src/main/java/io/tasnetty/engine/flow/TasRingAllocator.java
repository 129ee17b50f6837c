package io.tasnetty.engine.flow;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Ring memory for connections: power-of-two blocks carved from large chunks and recycled through
 * one free list per size, so opening and closing connections neither leaks nor pays for a mapping
 * per connection. The engine owns the chunks and frees them all when it stops.
 *
 * <p>The limit ({@code shm-len}) bounds address space, not resident memory: on Linux a chunk is
 * committed page by page as data first touches it ({@link TasPageMemory}), and a released block
 * gives back every page but its first, which stays warm for the next connection's first bytes. An
 * idle connection therefore costs the pages its data touched, as an idle Linux socket does.
 */
public final class TasRingAllocator implements AutoCloseable {
    /** Address space taken from the system at a time; committed lazily where the system allows. */
    private static final long CHUNK = 64L << 20;
    private static final int PAGE = 4096;
    private static final int CLASSES = 31;

    private final TasPageMemory memory;
    private final long limitBytes;
    @SuppressWarnings("unchecked")
    private final ConcurrentLinkedQueue<MemorySegment>[] free = new ConcurrentLinkedQueue[CLASSES];
    private final AtomicLong reserved = new AtomicLong();
    private final AtomicLong inUse = new AtomicLong();
    /** Allocations refused for the limit (a connection's rings, not per packet: counted where it fails). */
    private final AtomicLong failures = new AtomicLong();
    private MemorySegment chunk;
    private long chunkUsed;

    /** @param limitBytes most ring memory (address space) the engine may hold, across all connections */
    public TasRingAllocator(long limitBytes) {
        this(limitBytes, TasPageMemory.create());
    }

    /**
     * Ring memory carved from {@code region} only (service mode: a file shared with one
     * application), at most {@code limitBytes}. A released ring's pages past its first are
     * punched out of the file ({@code MADV_REMOVE}) and its block is reused by the next ring of
     * its size, so the region's resident size follows the rings in use.
     */
    public static TasRingAllocator inRegion(MemorySegment region, long limitBytes) {
        return new TasRingAllocator(Math.min(limitBytes, region.byteSize()), new TasPageMemory.Region(region));
    }

    /** Byte offset of {@code ring}'s memory within {@code region} (what the other process maps). */
    public static long offsetIn(MemorySegment region, MemorySegment ring) {
        return ring.address() - region.address();
    }

    TasRingAllocator(long limitBytes, TasPageMemory memory) {
        this.limitBytes = limitBytes;
        this.memory = memory;
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
                failures.incrementAndGet();
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
        if (size >= CHUNK) {
            MemorySegment big = memory.reserve(size);
            if (big != null) {
                reserved.addAndGet(size);
            }
            return big;
        }
        // Blocks of a page or more start on a page, so a release can hand back whole pages.
        long align = Math.min(size, PAGE);
        long at = (chunkUsed + align - 1) & -align;
        if (chunk == null || at + size > CHUNK) {
            MemorySegment c = memory.reserve(CHUNK);
            if (c == null) {
                return null;
            }
            chunk = c;
            at = 0;
        }
        chunkUsed = at + size;
        reserved.addAndGet(size);
        return chunk.asSlice(at, size);
    }

    /** Returns a block from {@link #allocate}; its pages past the first go back to the system. */
    public void release(MemorySegment seg) {
        int size = (int) seg.byteSize();
        if (size > PAGE) {
            memory.discard(seg.asSlice(PAGE));
        }
        inUse.addAndGet(-size);
        free[Integer.numberOfTrailingZeros(size)].offer(seg);
    }

    /** Bytes handed out and not yet released (0 after every connection is gone). */
    public long bytesInUse() {
        return inUse.get();
    }

    /** Allocations refused because the limit (or the region) was exhausted. */
    public long failures() {
        return failures.get();
    }

    /** Bytes of ring address space reserved (grows to the high-water mark, then is reused). */
    public long bytesReserved() {
        return reserved.get();
    }

    /** The limit ({@code shm-len}). */
    public long limitBytes() {
        return limitBytes;
    }

    /** True when ring pages are committed on first touch and released rings return theirs. */
    public boolean commitsOnTouch() {
        return memory.lazy();
    }

    @Override
    public void close() {
        memory.close();
    }
}
