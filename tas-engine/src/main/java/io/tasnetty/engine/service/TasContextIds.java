package io.tasnetty.engine.service;

import java.util.BitSet;

/**
 * Context ids of one attached application: the lowest free one first, and an id comes back
 * when its context closes. A context's id names its event queue and futex word in the region
 * ({@link TasServiceLayout#CONTEXTS} of them), so an application that makes and closes event
 * loop groups over its lifetime (tests do, per test) keeps using the same few queues instead of
 * running past the last one. Taken and given back when loops start and stop: never on a data path.
 */
final class TasContextIds {
    private final BitSet taken = new BitSet();

    TasContextIds() {
        taken.set(0); // queue 0 is the session thread's
    }

    synchronized int take() {
        int id = taken.nextClearBit(1);
        taken.set(id);
        return id;
    }

    synchronized void giveBack(int id) {
        if (id > 0) {
            taken.clear(id);
        }
    }
}
