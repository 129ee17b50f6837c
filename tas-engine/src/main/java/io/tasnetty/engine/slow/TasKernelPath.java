package io.tasnetty.engine.slow;

import io.tasnetty.engine.port.KernelInterfaces;
import io.tasnetty.engine.port.PacketBuffer;
import io.tasnetty.engine.port.TapPort;
import io.tasnetty.engine.port.TasPort;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The kernel exception path ({@code kni-name}, TAS's KNI): a TAP interface through which the
 * Linux kernel shares the engine's port. Frames the engine does not consume (non-IPv4, non-TCP,
 * IPv4 for other addresses, TCP for no flow and no listener, a copy of every ARP frame) are copied
 * to the kernel; what the kernel sends on the interface leaves through the engine's port.
 *
 * <p>The interface gets the engine's MAC, so the kernel and the engine are one host on the wire:
 * give it the engine's address ({@code ip addr add A.B.C.D/P dev NAME; ip link set NAME up}) and
 * Linux answers ping, runs its own TCP servers on ports the engine does not listen on, and keeps
 * its own client connections, while the engine serves its ports. (DPDK 22.11 deprecates KNI; like
 * its tap-PMD replacement this is a tap, opened through FFM so it works with every port type.)
 *
 * <p>Threads: {@link #toKernel} runs on the slow path (a copy and one {@code write}); frames from
 * the kernel are read by this path's own thread ({@link #start}), or by {@link #poll} in a manual
 * engine, copied into buffers of the engine's port and queued for transmission on fast-path core 0.
 */
public final class TasKernelPath implements AutoCloseable {
    private static final int BURST = 32;

    private final TapPort tap;
    private final TasPort port;
    private final Predicate<PacketBuffer> transmit;
    /** Written only by the kernel-to-wire side (its thread, or the manual engine's poller). */
    private final TasCounters counters;
    private final PacketBuffer[] in = new PacketBuffer[BURST];
    private final PacketBuffer[] out = new PacketBuffer[1];
    private final PacketBuffer[] toTap = new PacketBuffer[1];
    private volatile boolean running = true;
    private Thread thread;

    private TasKernelPath(TapPort tap, TasPort port, Predicate<PacketBuffer> transmit, TasCounters counters) {
        this.tap = tap;
        this.port = port;
        this.transmit = transmit;
        this.counters = counters;
    }

    /**
     * Opens (creating it if needed) TAP interface {@code ifname} with MAC {@code mac} for the
     * kernel side, sized for {@code port}'s MTU. {@code transmit} queues a frame (a buffer of
     * {@code port}) for sending, taking ownership when it returns true.
     */
    public static TasKernelPath open(String ifname, long mac, TasPort port, Predicate<PacketBuffer> transmit,
                                     TasCounters counters) {
        TapPort tap = TapPort.open(ifname, mac, port.mtu(), 1024);
        try {
            KernelInterfaces.setMacAddress(tap.interfaceName(), mac);
            return new TasKernelPath(tap, port, transmit, counters);
        } catch (RuntimeException | Error e) {
            tap.close();
            throw e;
        }
    }

    /** The kernel interface's name. */
    public String interfaceName() {
        return tap.interfaceName();
    }

    /**
     * Slow path: copies frame {@code b} to the kernel (the caller keeps {@code b}). Returns false
     * when the kernel could not take it (counted as {@link TasCounter#DROP_KNI} in {@code slowCounters}).
     */
    public boolean toKernel(PacketBuffer b, TasCounters slowCounters) {
        if (tap.alloc(toTap, 1) != 1) {
            slowCounters.increment(TasCounter.DROP_KNI);
            return false;
        }
        PacketBuffer t = toTap[0];
        toTap[0] = null;
        int len = Math.min(b.length, t.capacity);
        MemorySegment.copy(b.segment, b.offset, t.segment, t.offset, len);
        t.length = len;
        toTap[0] = t;
        if (tap.txBurst(0, toTap, 1) != 1) { // the tap frees what it took
            tap.free(t);
            toTap[0] = null;
            slowCounters.increment(TasCounter.DROP_KNI);
            return false;
        }
        toTap[0] = null;
        slowCounters.increment(TasCounter.KNI_TO_KERNEL);
        return true;
    }

    /** Starts the thread that sends what the kernel writes to the interface. */
    public void start() {
        thread = Thread.ofPlatform().daemon().name("tas-kni-" + tap.interfaceName()).start(() -> {
            while (running) {
                if (poll() == 0) {
                    tap.awaitRx(0, TimeUnit.MILLISECONDS.toNanos(100));
                }
            }
        });
    }

    /** Sends what the kernel wrote since the last call (manual engines call this; else the thread does). */
    public int poll() {
        int n = tap.rxBurst(0, in, BURST);
        for (int i = 0; i < n; i++) {
            PacketBuffer k = in[i];
            in[i] = null;
            forward(k);
            tap.free(k);
        }
        return n;
    }

    private void forward(PacketBuffer k) {
        if (k.length < 14 || port.alloc(out, 1) != 1) {
            counters.increment(TasCounter.DROP_KNI);
            return;
        }
        PacketBuffer b = out[0];
        out[0] = null;
        if (k.length > b.capacity) {
            port.free(b);
            counters.increment(TasCounter.DROP_KNI); // larger than the port's MTU allows
            return;
        }
        MemorySegment.copy(k.segment, k.offset, b.segment, b.offset, k.length);
        b.length = k.length;
        if (!transmit.test(b)) {
            port.free(b);
            counters.increment(TasCounter.DROP_KNI);
            return;
        }
        counters.increment(TasCounter.KNI_FROM_KERNEL);
    }

    /** Stops the thread and closes the interface (a non-persistent tap disappears). */
    @Override
    public void close() {
        running = false;
        tap.wakeup(0);
        if (thread != null) {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        tap.close();
    }
}
