package io.tasnetty.engine.port.dpdk;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.tasnetty.engine.port.LinuxNative;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/**
 * Sleeps an idle queue of a {@code net_af_packet} {@link DpdkPort} in {@code ppoll} on the PMD's
 * socket for that queue ({@code POLLIN} while its rx ring holds a frame for user space; found by
 * {@link AfPacketSockets}) together with an eventfd per queue that {@link #wakeup} writes.
 *
 * <p>Each queue's ppoll memory (two pollfds, a timespec, an errno capture, scratch) is allocated
 * once: a wait allocates nothing. Only the queue's own fast-path thread waits on it (DPDK ports
 * receive on that thread alone), so the per-queue state below is that thread's.
 *
 * <p>A readable socket that the queue does not drain would make ppoll return at once, again and
 * again: when the mbuf pool is empty (the PMD leaves frames in the ring), while another thread
 * drives the queue's agent, or if a queue were ever given another queue's socket. So when the
 * socket woke the previous wait and the queue has taken no frame since, {@link #await} declines
 * and the caller naps briefly instead, as the port does without the socket.
 */
final class AfPacketWait {
    /** {@link #await} slept (or found the queue ready). */
    static final int WAITED = 0;
    /** {@link #await} did not wait: the caller naps ({@link DpdkPort#PARK_NANOS} at most). */
    static final int NAP = 1;

    private static final long EVENT_FD = LinuxNative.POLLFD_SIZE; // second pollfd of a queue

    private final int[] ringFds;
    private final int[] eventFds;
    private final MemorySegment[] pollFds;
    private final MemorySegment[] timespecs;
    private final MemorySegment[] errnos;
    /** 8 bytes: the eventfd counter drained, or SO_ERROR and its length. */
    private final MemorySegment[] scratch;
    private final long oneAddress;
    // Per queue, its own thread only (see class comment).
    private final boolean[] ringWoke;
    private final long[] framesAtWake;
    private final boolean[] broken;
    private final long[] declined;

    private AfPacketWait(Arena arena, int[] ringFds, int[] eventFds) {
        int queues = ringFds.length;
        this.ringFds = ringFds;
        this.eventFds = eventFds;
        this.pollFds = new MemorySegment[queues];
        this.timespecs = new MemorySegment[queues];
        this.errnos = new MemorySegment[queues];
        this.scratch = new MemorySegment[queues];
        for (int q = 0; q < queues; q++) {
            MemorySegment p = arena.allocate(2 * LinuxNative.POLLFD_SIZE, 64);
            p.set(JAVA_INT, 0, ringFds[q]);
            p.set(JAVA_SHORT, LinuxNative.POLLFD_EVENTS, LinuxNative.POLLIN);
            p.set(JAVA_INT, EVENT_FD, eventFds[q]);
            p.set(JAVA_SHORT, EVENT_FD + LinuxNative.POLLFD_EVENTS, LinuxNative.POLLIN);
            pollFds[q] = p;
            timespecs[q] = arena.allocate(LinuxNative.TIMESPEC_SIZE, 8);
            errnos[q] = LinuxNative.newCaptureState(arena);
            scratch[q] = arena.allocate(8, 8);
        }
        MemorySegment one = arena.allocate(8, 8);
        one.set(JAVA_LONG, 0, 1L);
        this.oneAddress = one.address();
        this.ringWoke = new boolean[queues];
        this.framesAtWake = new long[queues];
        this.broken = new boolean[queues];
        this.declined = new long[queues];
    }

    /**
     * Waits for queue q on {@code sockets.get(q)}, q in {@code [0, queues)}; the eventfds live
     * until {@link #close}, the segments as long as {@code arena}.
     *
     * @throws IllegalStateException when an eventfd cannot be created
     */
    static AfPacketWait open(Arena arena, List<AfPacketSockets.Sock> sockets, int queues) {
        int[] ring = new int[queues];
        int[] events = new int[queues];
        Arrays.fill(events, -1);
        MemorySegment errno = LinuxNative.newCaptureState(arena);
        for (int q = 0; q < queues; q++) {
            ring[q] = sockets.get(q).fd();
            events[q] = LinuxNative.eventfd(errno, 0, LinuxNative.EFD_NONBLOCK | LinuxNative.EFD_CLOEXEC);
            if (events[q] < 0) {
                int e = LinuxNative.errno(errno);
                for (int fd : events) {
                    if (fd >= 0) {
                        LinuxNative.close(fd);
                    }
                }
                throw new IllegalStateException("cannot create an eventfd: " + LinuxNative.describe(e));
            }
        }
        return new AfPacketWait(arena, ring, events);
    }

    /**
     * Sleeps until queue q's socket has a frame, {@link #wakeup}, or the timeout; returns
     * {@link #NAP} instead when ppoll cannot serve this wait (see class comment).
     *
     * @param framesTaken frames the queue has received so far (tells whether the last wake-up
     *                    by the socket was followed by a receive)
     */
    int await(int q, long timeoutNanos, long framesTaken) {
        if (ringWoke[q]) {
            ringWoke[q] = false;
            if (framesTaken == framesAtWake[q]) {
                declined[q]++;
                return NAP;
            }
        }
        if (broken[q]) {
            return NAP;
        }
        MemorySegment p = pollFds[q];
        MemorySegment ts = timespecs[q];
        ts.set(JAVA_LONG, 0, timeoutNanos / 1_000_000_000L);
        ts.set(JAVA_LONG, 8, timeoutNanos % 1_000_000_000L);
        p.set(JAVA_SHORT, LinuxNative.POLLFD_REVENTS, (short) 0);
        p.set(JAVA_SHORT, EVENT_FD + LinuxNative.POLLFD_REVENTS, (short) 0);
        int r = LinuxNative.ppoll(errnos[q], p, 2, ts);
        if (r <= 0) {
            return WAITED; // timeout, or EINTR: a spurious return, which awaitRx allows
        }
        if ((p.get(JAVA_SHORT, EVENT_FD + LinuxNative.POLLFD_REVENTS) & LinuxNative.POLLIN) != 0) {
            // Drain, so the next ppoll blocks again; a wakeup() after this read sets the counter
            // again and the next ppoll returns at once: none is lost.
            LinuxNative.read(errnos[q], eventFds[q], scratch[q].address(), 8);
        }
        short ring = p.get(JAVA_SHORT, LinuxNative.POLLFD_REVENTS);
        if (ring != 0) {
            if ((ring & LinuxNative.POLLNVAL) != 0) {
                broken[q] = true; // the socket is gone (port stopped under us): nap from now on
                return WAITED;
            }
            if ((ring & LinuxNative.POLLERR) != 0) {
                // e.g. ENETDOWN when the interface goes down: the PMD never reads the error, and
                // until someone does, every poll reports it.
                LinuxNative.takeSocketError(ringFds[q], scratch[q]);
            }
            ringWoke[q] = true;
            framesAtWake[q] = framesTaken;
        }
        return WAITED;
    }

    /** Any thread: ends queue q's current or next {@link #await}. */
    void wakeup(int q) {
        LinuxNative.writeIgnoringErrno(eventFds[q], oneAddress, 8); // EAGAIN only if the counter is saturated
    }

    /** Waits declined because the socket's last wake-up brought the queue no frame. */
    long declinedWaits() {
        long n = 0;
        for (long d : declined) {
            n += d;
        }
        return n;
    }

    /** Whether queue q lost its socket (it naps from then on). */
    boolean broken(int q) {
        return broken[q];
    }

    /** The sockets waited on, by queue. */
    int[] socketFds() {
        return ringFds.clone();
    }

    /** Closes the eventfds (the sockets are the PMD's). Call once no thread waits. */
    void close() {
        for (int fd : eventFds) {
            LinuxNative.close(fd);
        }
    }
}
