package io.tasnetty.engine.flow;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

/**
 * A single-producer single-consumer byte ring over off-heap memory: a connection's receive ring
 * (the fast path produces, the application consumes) or transmit ring (the application produces,
 * the fast path consumes once the peer acknowledges).
 *
 * <p>{@code head} and {@code tail} are ever-growing byte positions (never wrapped); the byte at
 * position p lives at {@code p & mask}. The producer publishes {@code tail} with a release store
 * after writing the bytes, and the consumer publishes {@code head} with a release store after it
 * is done with them; each side reads the other's position with an acquire load. This is the only
 * synchronisation between the engine and the application on the data path.
 */
public final class TasByteRing {
    private static final VarHandle HEAD;
    private static final VarHandle TAIL;
    private static final VarHandle MEM;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            HEAD = l.findVarHandle(TasByteRing.class, "head", long.class);
            TAIL = l.findVarHandle(TasByteRing.class, "tail", long.class);
            MEM = l.findVarHandle(TasByteRing.class, "mem", Mem.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The ring's memory and its size, replaced as a whole when the ring moves (never torn). */
    private record Mem(MemorySegment data, int capacity, int mask) {
        Mem(MemorySegment data) {
            this(data, (int) data.byteSize(), (int) data.byteSize() - 1);
        }
    }

    // The producer may move the ring to larger memory (grow, growCopying); each copy reads the
    // memory once (acquire), so it never mixes the old memory with the new size. A consumer
    // that read a tail published after the move reads the new memory (the move was published
    // first); bytes below the tail at the move are in both, so a consumer still on the old
    // memory reads the same bytes (the old memory is freed only once the consumer let go of it).
    @SuppressWarnings("unused") // accessed through MEM
    private Mem mem;
    // Padding keeps the producer's and consumer's positions off one cache line.
    @SuppressWarnings("unused")
    private long p01, p02, p03, p04, p05, p06, p07;
    private volatile long head;
    @SuppressWarnings("unused")
    private long p11, p12, p13, p14, p15, p16, p17;
    private volatile long tail;

    /** @param data off-heap memory whose size is a power of two */
    public TasByteRing(MemorySegment data) {
        long size = data.byteSize();
        if (size <= 0 || Long.bitCount(size) != 1 || size > (1L << 30)) {
            throw new IllegalArgumentException("ring size must be a power of two up to 1 GiB, was " + size);
        }
        MEM.setRelease(this, new Mem(data));
    }

    private Mem mem() {
        return (Mem) MEM.getAcquire(this);
    }

    private static void checkLarger(MemorySegment bigger, int capacity) {
        long size = bigger.byteSize();
        if (size <= capacity || Long.bitCount(size) != 1 || size > (1L << 30)) {
            throw new IllegalArgumentException("a ring grows to a larger power of two up to 1 GiB, not " + size);
        }
    }

    /**
     * Producer only: moves the ring to {@code bigger} (a power of two larger than the capacity)
     * if it is empty, and returns the memory it leaves, or null (not empty: try later). Positions
     * go on as they were; byte p now lives at {@code p & newMask}. Safe without a lock: the
     * consumer has finished with every byte (the head it published says so, and its reads came
     * before that release store), and it reads nothing new until the tail moves, which the
     * producer publishes (release) after this store.
     */
    public MemorySegment grow(MemorySegment bigger) {
        Mem old = mem();
        checkLarger(bigger, old.capacity);
        if (head() != tailPlain()) {
            return null;
        }
        MEM.setRelease(this, new Mem(bigger));
        return old.data;
    }

    /**
     * Producer only: moves the ring to {@code bigger} (a power of two larger than the capacity)
     * with the bytes it holds, and returns the memory it leaves. Positions go on as they were.
     * The consumer may go on reading the bytes below the present tail from the old memory (they
     * are in both) until it next reads the memory; the caller frees the old memory only after
     * that (the transmit ring's consumer, the fast path, lets it go: TasFlow#txRetired).
     */
    public MemorySegment growCopying(MemorySegment bigger) {
        Mem old = mem();
        checkLarger(bigger, old.capacity);
        Mem m = new Mem(bigger);
        long t = tailPlain();
        long h = head(); // bytes below it are the consumer's no more: copying them anyway is harmless
        for (long pos = h; pos < t; ) {
            int from = (int) (pos & old.mask);
            int to = (int) (pos & m.mask);
            int n = (int) Math.min(t - pos, Math.min(old.capacity - from, m.capacity - to));
            MemorySegment.copy(old.data, from, m.data, to, n);
            pos += n;
        }
        MEM.setRelease(this, m);
        return old.data;
    }

    /** Rounds a requested size up to the power of two a ring uses. */
    public static int roundUp(int bytes) {
        int b = Math.max(bytes, 64);
        return Integer.highestOneBit(b - 1) << 1;
    }

    public MemorySegment memory() {
        return mem().data;
    }

    public int capacity() {
        return mem().capacity;
    }

    /** Consumer's position (acquire). */
    public long head() {
        return (long) HEAD.getAcquire(this);
    }

    /** Producer's position (acquire). */
    public long tail() {
        return (long) TAIL.getAcquire(this);
    }

    /** Consumer only: its own position, no fence needed. */
    public long headPlain() {
        return (long) HEAD.get(this);
    }

    /** Producer only: its own position, no fence needed. */
    public long tailPlain() {
        return (long) TAIL.get(this);
    }

    /** Producer: publishes bytes written up to {@code newTail} (release: the bytes before the position). */
    public void publishTail(long newTail) {
        TAIL.setRelease(this, newTail);
    }

    /** Consumer: frees bytes up to {@code newHead} (release: our reads happen before the producer reuses them). */
    public void publishHead(long newHead) {
        HEAD.setRelease(this, newHead);
    }

    /**
     * For a stand-in producer of which several threads relay one real producer's positions (an
     * attached application's event loops): moves the tail to {@code newTail} unless it is there
     * or beyond already (release).
     */
    public void advanceTailTo(long newTail) {
        long t;
        while (newTail > (t = (long) TAIL.getVolatile(this))) {
            if (TAIL.compareAndSet(this, t, newTail)) {
                return;
            }
        }
    }

    /** As {@link #advanceTailTo} for the head; true if this call moved it. */
    public boolean advanceHeadTo(long newHead) {
        long h;
        while (newHead > (h = (long) HEAD.getVolatile(this))) {
            if (HEAD.compareAndSet(this, h, newHead)) {
                return true;
            }
        }
        return false;
    }

    /** Bytes readable by the consumer. */
    public int readable() {
        return (int) (tail() - headPlain());
    }

    /** Bytes writable by the producer. */
    public int writable() {
        return capacity() - (int) (tailPlain() - head());
    }

    /** Copies {@code len} bytes from {@code src} into the ring at position {@code pos} (wrap-aware). */
    public void copyIn(long pos, MemorySegment src, long srcOffset, int len) {
        Mem m = mem();
        int at = (int) (pos & m.mask);
        int first = Math.min(len, m.capacity - at);
        MemorySegment.copy(src, srcOffset, m.data, at, first);
        if (first < len) {
            MemorySegment.copy(src, srcOffset + first, m.data, 0, len - first);
        }
    }

    /** Copies {@code len} bytes at ring position {@code pos} out to {@code dst} (wrap-aware). */
    public void copyOut(long pos, MemorySegment dst, long dstOffset, int len) {
        Mem m = mem();
        int at = (int) (pos & m.mask);
        int first = Math.min(len, m.capacity - at);
        MemorySegment.copy(m.data, at, dst, dstOffset, first);
        if (first < len) {
            MemorySegment.copy(m.data, 0, dst, dstOffset + first, len - first);
        }
    }

    /** Copies from a heap or direct buffer into the ring at {@code pos}; advances {@code src}'s position. */
    public void copyIn(long pos, ByteBuffer src, int len) {
        Mem m = mem();
        int at = (int) (pos & m.mask);
        int first = Math.min(len, m.capacity - at);
        int p = src.position();
        MemorySegment s = MemorySegment.ofBuffer(src);
        MemorySegment.copy(s, 0, m.data, at, first);
        if (first < len) {
            MemorySegment.copy(s, first, m.data, 0, len - first);
        }
        src.position(p + len);
    }

    /** Copies out of the ring at {@code pos} into a heap or direct buffer; advances {@code dst}'s position. */
    public void copyOut(long pos, ByteBuffer dst, int len) {
        Mem m = mem();
        int at = (int) (pos & m.mask);
        int first = Math.min(len, m.capacity - at);
        int p = dst.position();
        MemorySegment d = MemorySegment.ofBuffer(dst);
        MemorySegment.copy(m.data, at, d, 0, first);
        if (first < len) {
            MemorySegment.copy(m.data, 0, d, first, len - first);
        }
        dst.position(p + len);
    }

    /**
     * Copies {@code len} bytes at position {@code srcPos} of ring {@code src} to position
     * {@code pos} of this ring (both wrap-aware): the one copy of a looped segment's payload.
     */
    public void copyFromRing(long pos, TasByteRing src, long srcPos, int len) {
        Mem m = mem();
        Mem sm = src.mem();
        while (len > 0) {
            int at = (int) (pos & m.mask);
            int srcAt = (int) (srcPos & sm.mask);
            int n = Math.min(len, Math.min(m.capacity - at, sm.capacity - srcAt));
            MemorySegment.copy(sm.data, srcAt, m.data, at, n);
            pos += n;
            srcPos += n;
            len -= n;
        }
    }

    /** Reads one byte at ring position {@code pos}. */
    public byte get(long pos) {
        Mem m = mem();
        return m.data.get(ValueLayout.JAVA_BYTE, pos & m.mask);
    }
}
