package io.tasnetty.engine.port;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/** A test double: frames are injected by the test; transmitted frames are kept as byte arrays. */
final class ScriptedPort implements TasPort {
    static final long MAC = 0x02_00_00_00_00_01L;
    final TasPacketPool pool;
    final ArrayDeque<PacketBuffer>[] rx;
    final List<byte[]> transmitted = new ArrayList<>();
    /** How many frames the next txBurst takes at most. */
    int txAccept = Integer.MAX_VALUE;
    long lastAwaitTimeout = -1;
    boolean closed;

    @SuppressWarnings("unchecked")
    ScriptedPort(int queues, int poolBuffers) {
        pool = new TasPacketPool(poolBuffers);
        rx = new ArrayDeque[queues];
        for (int i = 0; i < queues; i++) {
            rx[i] = new ArrayDeque<>();
        }
    }

    /** Queues a raw frame with sequence number {@code seq} for {@link #rxBurst}. */
    PacketBuffer inject(int queue, int seq, int length) {
        PacketBuffer b = pool.allocOne();
        if (b == null) {
            throw new IllegalStateException("scripted port pool exhausted");
        }
        Frames.raw(b, MAC, 0x02_00_00_00_00_02L, seq, length);
        rx[queue].add(b);
        return b;
    }

    @Override
    public String name() {
        return "scripted";
    }

    @Override
    public int queueCount() {
        return rx.length;
    }

    @Override
    public long macAddress() {
        return MAC;
    }

    @Override
    public int mtu() {
        return 1500;
    }

    @Override
    public TasPortCapabilities capabilities() {
        return TasPortCapabilities.SOFTWARE;
    }

    @Override
    public void start() {
    }

    @Override
    public int rxBurst(int queue, PacketBuffer[] bufs, int max) {
        int n = 0;
        while (n < max && !rx[queue].isEmpty()) {
            bufs[n++] = rx[queue].poll();
        }
        return n;
    }

    @Override
    public int txBurst(int queue, PacketBuffer[] bufs, int count) {
        int n = Math.min(count, txAccept);
        for (int i = 0; i < n; i++) {
            transmitted.add(Frames.bytes(bufs[i]));
            pool.free(bufs[i]);
        }
        return n;
    }

    @Override
    public int alloc(PacketBuffer[] bufs, int count) {
        return pool.alloc(bufs, count);
    }

    @Override
    public void free(PacketBuffer buf) {
        pool.free(buf);
    }

    @Override
    public void awaitRx(int queue, long timeoutNanos) {
        lastAwaitTimeout = timeoutNanos;
    }

    @Override
    public void wakeup(int queue) {
    }

    @Override
    public void close() {
        closed = true; // the pool stays open so tests can check it afterwards
    }
}
