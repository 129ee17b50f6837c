package io.tasnetty.transport;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Figures of one TAS event loop. The loop's thread is the only writer (a plain add and an opaque
 * store, no atomics); any thread may read, seeing whole, possibly slightly stale values.
 */
public final class TasLoopStats {
    static final int EVENTS = 0;
    static final int CHANNELS = 1;
    static final int BYTES_READ = 2;
    static final int BYTES_WRITTEN = 3;
    static final int BLOCKS = 4;
    static final int RING_FULL = 5;
    static final int ENGINE_CONNECTIONS = 6;
    static final int KERNEL_CONNECTIONS = 7;
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] values = new long[8];

    void add(int which, long delta) {
        LONGS.setOpaque(values, which, (long) LONGS.getOpaque(values, which) + delta);
    }

    private long get(int which) {
        return (long) LONGS.getOpaque(values, which);
    }

    /** Socket event sets the loop took from its context. */
    public long events() {
        return get(EVENTS);
    }

    /** Channels registered on the loop now (connections and listeners). */
    public long channels() {
        return get(CHANNELS);
    }

    /** Bytes the loop's channels read from receive rings. */
    public long bytesRead() {
        return get(BYTES_READ);
    }

    /** Bytes the loop's channels wrote into transmit rings. */
    public long bytesWritten() {
        return get(BYTES_WRITTEN);
    }

    /** Times the loop blocked waiting for events (an idle loop blocks instead of spinning). */
    public long blocks() {
        return get(BLOCKS);
    }

    /** A connection of this loop took {@code path} (client connects and accepted connections alike). */
    void connectionOpened(TasPath path) {
        add(path == TasPath.ENGINE ? ENGINE_CONNECTIONS : KERNEL_CONNECTIONS, 1);
    }

    /** Connections this loop served through the engine (opened or accepted), since it started. */
    public long engineConnections() {
        return get(ENGINE_CONNECTIONS);
    }

    /** Connections this loop served through kernel sockets (opened or accepted), since it started. */
    public long kernelConnections() {
        return get(KERNEL_CONNECTIONS);
    }

    /** Writes that found a transmit ring full (the channel then waits for the engine's WRITABLE). */
    public long ringFull() {
        return get(RING_FULL);
    }
}
