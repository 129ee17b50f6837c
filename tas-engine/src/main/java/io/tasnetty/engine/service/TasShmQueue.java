package io.tasnetty.engine.service;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A bounded queue of fixed {@value TasServiceLayout#ENTRY_BYTES}-byte entries in memory shared
 * between two processes: multi-producer (the application's event loops all write commands),
 * single consumer. Each entry carries a sequence word (Vyukov's bounded queue): producers claim
 * a slot by CAS on the tail, fill it, then publish it by a release store of its sequence; the
 * consumer reads the sequence with acquire. No locks, no allocation; a full queue makes
 * {@link #claim} return -1 so the producer applies back-pressure instead of dropping.
 */
final class TasShmQueue {
    private static final VarHandle LONG_AT = JAVA_LONG.varHandle();

    private final MemorySegment q;
    private final int capacity;
    private final long mask;
    /** Consumer only: the next entry to read (mirrors the shared head). */
    private long head;
    /** Sole producer ({@link #claimSingle}): the next slot, kept here so the other side cannot move it. */
    private long ownTail;

    TasShmQueue(MemorySegment q, int capacity) {
        this.q = q;
        this.capacity = capacity;
        this.mask = capacity - 1;
        this.head = (long) LONG_AT.getAcquire(q, TasServiceLayout.QUEUE_HEAD);
    }

    /** Service, on a fresh region: every slot's sequence is its index (free for round 0). */
    static void init(MemorySegment q, int capacity) {
        for (int i = 0; i < capacity; i++) {
            q.set(JAVA_LONG, entryOffset(i), i);
        }
        q.set(JAVA_LONG, TasServiceLayout.QUEUE_HEAD, 0);
        q.set(JAVA_LONG, TasServiceLayout.QUEUE_TAIL, 0);
    }

    private static long entryOffset(long index) {
        return TasServiceLayout.QUEUE_CONTROL + index * TasServiceLayout.ENTRY_BYTES;
    }

    MemorySegment memory() {
        return q;
    }

    // ---- producers ----

    /** Claims the next slot: its offset in {@link #memory()}, or -1 when the queue is full. Then fill it and {@link #publish}. */
    long claim() {
        while (true) {
            long t = (long) LONG_AT.getVolatile(q, TasServiceLayout.QUEUE_TAIL);
            long e = entryOffset(t & mask);
            long seq = (long) LONG_AT.getAcquire(q, e + TasServiceLayout.SEQ);
            if (seq == t) {
                if (LONG_AT.compareAndSet(q, TasServiceLayout.QUEUE_TAIL, t, t + 1)) {
                    return e;
                }
            } else if (seq < t) {
                return -1; // the consumer has not freed this slot from the previous round
            }
            // else another producer took slot t meanwhile: retry with the new tail
        }
    }

    /**
     * As {@link #claim} for a queue with one producer (the service's event queue): the tail lives
     * here, not in memory the consumer could overwrite, and a slot whose sequence is not exactly
     * what this round expects counts as full, so a consumer that scribbles on the queue can stall
     * its own queue but never make the producer spin or write out of place.
     */
    long claimSingle() {
        long t = ownTail;
        long e = entryOffset(t & mask);
        if ((long) LONG_AT.getAcquire(q, e + TasServiceLayout.SEQ) != t) {
            return -1;
        }
        ownTail = t + 1;
        LONG_AT.setRelease(q, TasServiceLayout.QUEUE_TAIL, t + 1); // for observers only
        return e;
    }

    /** Writes a claimed entry's type and id; returns {@link #memory()} for the rest of its fields. */
    MemorySegment begin(long entry, int type, int id) {
        q.set(JAVA_INT, entry + TasServiceLayout.TYPE, type);
        q.set(JAVA_INT, entry + TasServiceLayout.ID, id);
        return q;
    }

    /** Makes a claimed slot visible to the consumer (release: its payload before the sequence). */
    void publish(long entry) {
        long seq = (long) LONG_AT.get(q, entry + TasServiceLayout.SEQ);
        LONG_AT.setRelease(q, entry + TasServiceLayout.SEQ, seq + 1);
    }

    /** {@link #publish} for {@link #claimSingle}: the sequence from our own count, not re-read from shared memory. */
    void publishSingle(long entry) {
        LONG_AT.setRelease(q, entry + TasServiceLayout.SEQ, ownTail);
    }

    // ---- the consumer ----

    /** The next published entry's offset, or -1 if none. Read it, then {@link #advance}. */
    long peek() {
        long e = entryOffset(head & mask);
        long seq = (long) LONG_AT.getAcquire(q, e + TasServiceLayout.SEQ);
        return seq == head + 1 ? e : -1;
    }

    /** Frees the entry {@link #peek} returned for the producers' next round (release: our reads first). */
    void advance() {
        long e = entryOffset(head & mask);
        LONG_AT.setRelease(q, e + TasServiceLayout.SEQ, head + capacity);
        head++;
        LONG_AT.setRelease(q, TasServiceLayout.QUEUE_HEAD, head);
    }

    /** Consumer: whether nothing is published (acquire). */
    boolean isEmpty() {
        return peek() < 0;
    }
}
