package io.tasnetty.engine.flow;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Off-heap home of the engine's per-flow records ({@link TasFlow#TCB}): chunks of
 * {@value #CHUNK_RECORDS} cache-line aligned records, allocated as flows appear and never moved,
 * with freed slots reused most-recently-freed first (their lines are likely still in cache).
 *
 * <p>Slots are taken and returned on connection setup and reclaim, never per packet; both are
 * short and synchronized, like ring allocation. Chunks come from automatic arenas: memory goes
 * back to the system once the engine and every flow of a chunk are unreachable, so no thread can
 * ever touch freed memory, even one that outlives the engine.
 */
public final class TasTcbSlab {
    /** Records per chunk (384 KiB with 384-byte records). */
    public static final int CHUNK_RECORDS = 1024;

    private final List<MemorySegment> chunks = new ArrayList<>();
    private int[] free = new int[CHUNK_RECORDS];
    private int freeCount;
    private int inUse;

    /** A new flow whose record is a zeroed slot of this slab. */
    public synchronized TasFlow allocate() {
        if (freeCount == 0) {
            grow();
        }
        int slot = free[--freeCount];
        MemorySegment chunk = chunks.get(slot / CHUNK_RECORDS);
        long at = (long) (slot % CHUNK_RECORDS) * TasFlow.TCB_BYTES;
        inUse++;
        return new TasFlow(chunk.asSlice(at, TasFlow.TCB_BYTES), slot);
    }

    /**
     * Returns {@code f}'s slot for reuse; {@code f} keeps a private copy of its last state. Call
     * once the engine is done with the flow (it is out of every table, list and timer). A flow
     * that has no slot (already freed, or standalone) is left alone, so calling twice is harmless.
     */
    public synchronized void free(TasFlow f) {
        int slot = f.slot;
        if (slot < 0) {
            return;
        }
        f.detach();
        free[freeCount++] = slot;
        inUse--;
    }

    /** Records handed out and not yet freed. */
    public synchronized int inUse() {
        return inUse;
    }

    /** Off-heap bytes reserved for records. */
    public synchronized long bytesReserved() {
        return (long) chunks.size() * CHUNK_RECORDS * TasFlow.TCB_BYTES;
    }

    private void grow() {
        int base = chunks.size() * CHUNK_RECORDS;
        chunks.add(Arena.ofAuto().allocate((long) CHUNK_RECORDS * TasFlow.TCB_BYTES, 64));
        if (free.length < base + CHUNK_RECORDS) {
            free = java.util.Arrays.copyOf(free, base + CHUNK_RECORDS);
        }
        // Push in reverse so the lowest slot is handed out first.
        for (int i = CHUNK_RECORDS - 1; i >= 0; i--) {
            free[freeCount++] = base + i;
        }
    }
}
