package io.tasnetty.engine.service;

import io.tasnetty.engine.port.LinuxNative;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The shared-memory contract between the service and one attached application: every offset and
 * size of the region file, in one place, checked by both sides at attach (magic and version).
 * Offsets, not addresses, so each process maps the file wherever it likes.
 *
 * <pre>
 * region file (one per attached application, mode 0600, owned by the application's user)
 * +-----------------------------+ 0
 * | header            (4 KiB)   |  magic, version, sizes, the two sleeping flags
 * +-----------------------------+ HEADER_BYTES
 * | context flags               |  CONTEXTS x 64 B: each event loop's sleeping flag (a futex word)
 * +-----------------------------+ EVENT_QUEUE_OFFSET
 * | event queue 0 (service->app)|  the session thread's: replies, accepts, sockets not yet routed
 * |   QUEUE_CONTROL + EVENT_ENTRIES x ENTRY_BYTES
 * +-----------------------------+
 * | event queues 1..CONTEXTS-1  |  one per context (event loop), each drained by its own loop;
 * |   QUEUE_CONTROL + CONTEXT_EVENT_ENTRIES x ENTRY_BYTES each    made ready at its first route
 * +-----------------------------+
 * | command queue (app->service)|  QUEUE_CONTROL + COMMAND_ENTRIES x ENTRY_BYTES
 * +-----------------------------+ ringsOffset (2 MiB aligned)
 * | payload rings               |  each connection's rx and tx ring, carved by the service
 * +-----------------------------+ ringsOffset + ringsBytes
 * </pre>
 *
 * <p>Queue entries are {@value #ENTRY_BYTES} bytes: a sequence word ({@link TasShmQueue}) and a
 * payload of a type, a socket id, six ints and three longs, whose meaning per type is listed at
 * the type constants below. Ring positions travel in entries (as TAS's bumps carry them): the
 * service's copy of a ring's head and tail is updated from commands, the application's from
 * events, so no position word is shared and neither side trusts the other's.
 *
 * <p>Event routing: a socket's events go to queue 0 until the application routes it
 * ({@link #C_ROUTE}) to the queue of the context (event loop) that serves it; that loop then
 * drains them itself and no thread hand-off lies between the service and the loop. Entries of
 * one socket may so sit in two queues for a moment: ring positions only move forward and each
 * E_FLOW carries a sequence number, so the application applies them in any order.
 *
 * <p>The file is sparse and a context's queue is made ready (its sequence words written) only
 * when the first connection is routed to it: an application pays memory for the loops it has,
 * not for {@link #CONTEXTS}. Until then the queue is zeros, which its consumer reads as empty
 * (an entry is there when its sequence is the position plus one), and nothing produces into it.
 */
public final class TasServiceLayout {
    /** "TASSVC01". */
    public static final long MAGIC = 0x5441535356433031L;
    /**
     * Protocol version: the handshake and the region must both match (2: per-application counters
     * in the header; 3: the polling state of the sleeping flags and the arrival stamps; 4: an
     * event queue and a futex word per context, C_ROUTE, generation bits in socket ids; 5: 256
     * contexts, their queues made ready at first use; C_PROBE; 6: the proxy sleeps on its flag word
     * with futex(2), the application wakes it there instead of writing to the control socket).
     */
    public static final int VERSION = 6;

    public static final StructLayout HEADER = MemoryLayout.structLayout(
            JAVA_LONG.withName("magic"),
            JAVA_INT.withName("version"),
            JAVA_INT.withName("eventEntries"),
            JAVA_INT.withName("commandEntries"),
            JAVA_INT.withName("pad0"),
            JAVA_LONG.withName("ringsOffset"),
            JAVA_LONG.withName("ringsBytes"),
            MemoryLayout.paddingLayout(24),
            // Each flag on its own cache line, with the arrival stamp the producer writes after
            // reading it (one line moves, not two): written by one side, polled by the other.
            JAVA_INT.withName("serviceSleeping"),
            JAVA_INT.withName("pad1"),
            JAVA_LONG.withName("serviceArrival"),
            MemoryLayout.paddingLayout(48),
            JAVA_INT.withName("appSleeping"),
            JAVA_INT.withName("pad2"),
            JAVA_LONG.withName("appArrival"),
            MemoryLayout.paddingLayout(48));
    public static final long HEADER_BYTES = 4096;
    public static final long MAGIC_OFFSET = HEADER.byteOffset(groupElement("magic"));
    public static final long VERSION_OFFSET = HEADER.byteOffset(groupElement("version"));
    public static final long EVENT_ENTRIES_OFFSET = HEADER.byteOffset(groupElement("eventEntries"));
    public static final long COMMAND_ENTRIES_OFFSET = HEADER.byteOffset(groupElement("commandEntries"));
    public static final long RINGS_OFFSET_OFFSET = HEADER.byteOffset(groupElement("ringsOffset"));
    public static final long RINGS_BYTES_OFFSET = HEADER.byteOffset(groupElement("ringsBytes"));
    /**
     * A consumer's state, {@link #AWAKE}, {@link #SLEEPING}, {@link #RUNG} or {@link #POLLING}; the
     * arrival stamp (a long) follows it at {@link #ARRIVAL}.
     */
    public static final long SERVICE_SLEEPING_OFFSET = HEADER.byteOffset(groupElement("serviceSleeping"));
    public static final long APP_SLEEPING_OFFSET = HEADER.byteOffset(groupElement("appSleeping"));
    /** From a sleeping flag to its arrival stamp. */
    static final long ARRIVAL = HEADER.byteOffset(groupElement("serviceArrival")) - SERVICE_SLEEPING_OFFSET;
    /** The consumer has work in hand: producers neither ring nor stamp. */
    static final int AWAKE = 0;
    /** The consumer is about to block or blocks: the first producer to see it rings the doorbell. */
    static final int SLEEPING = 1;
    /** The doorbell was rung for this sleep: later producers need not. */
    static final int RUNG = 2;
    /** The consumer ran out of work and polls its queue: no doorbell needed, but stamp the arrival. */
    static final int POLLING = 3;
    /**
     * A context's loop blocks somewhere the service cannot wake (a selector that also waits for
     * kernel sockets): the service rings the session thread instead, which wakes that loop.
     */
    static final int ELSEWHERE = 4;

    /**
     * Event queues: 0 is the session thread's, 1..CONTEXTS-1 belong to the contexts of those ids.
     * Netty's default group has two loops per CPU, so 255 cover a 128-CPU host; ids of closed
     * contexts are reused. A context past them is served through queue 0 (correct, one hop more).
     * Each costs address space only (128 KiB) until a connection is routed to it.
     */
    public static final int CONTEXTS = 256;
    public static final long CONTEXT_FLAG_BYTES = 64;
    public static final long CONTEXT_FLAGS_OFFSET = HEADER_BYTES;
    /** Times the service rang the session thread for a context that waits {@link #ELSEWHERE} (a long). */
    public static final long CONTEXT_BELLS_OFFSET = 192;
    /** Low bits of a socket id: its slot; the bits above count the slot's reuses, so a late entry of a closed socket never names its successor. */
    public static final int ID_INDEX_MASK = (1 << 20) - 1;
    /**
     * The application's counters ({@link TasServiceAppCounter}, one long each in declaration
     * order), written by the service only, read by the application's metrics: a copy, never trusted.
     */
    public static final long APP_COUNTERS_OFFSET = 256;

    public static final StructLayout ENTRY = MemoryLayout.structLayout(
            JAVA_LONG.withName("seq"),
            JAVA_INT.withName("type"),
            JAVA_INT.withName("id"),
            MemoryLayout.sequenceLayout(6, JAVA_INT).withName("i"),
            MemoryLayout.sequenceLayout(3, JAVA_LONG).withName("l"));
    public static final int ENTRY_BYTES = 64;
    public static final long SEQ = ENTRY.byteOffset(groupElement("seq"));
    public static final long TYPE = ENTRY.byteOffset(groupElement("type"));
    public static final long ID = ENTRY.byteOffset(groupElement("id"));
    private static final long I0 = ENTRY.byteOffset(groupElement("i"));
    private static final long L0 = ENTRY.byteOffset(groupElement("l"));

    /** Queue control block: consumer position, producer position, each on its own cache line. */
    public static final long QUEUE_HEAD = 0;
    public static final long QUEUE_TAIL = 64;
    public static final long QUEUE_CONTROL = 128;

    public static final int EVENT_ENTRIES = 1 << 14;
    public static final int COMMAND_ENTRIES = 1 << 14;
    /** A context's queue: when it is full the service falls back to queue 0, so a slow loop never stalls the service. */
    public static final int CONTEXT_EVENT_ENTRIES = 1 << 11;
    public static final long EVENT_QUEUE_OFFSET = CONTEXT_FLAGS_OFFSET + CONTEXTS * CONTEXT_FLAG_BYTES;
    public static final long COMMAND_QUEUE_OFFSET = eventQueueOffset(CONTEXTS);
    public static final long RINGS_OFFSET = align(COMMAND_QUEUE_OFFSET + queueBytes(COMMAND_ENTRIES), 2 << 20);

    // ---- commands (application -> service) ----
    /** id = connection; i0 = TasFlow.CMD_* bits; i1 = 1 if the application wants WRITABLE; l0 = tx tail; l1 = rx head. */
    public static final int C_FLOW = 1;
    /** id = connection; i0 = keepalive on; i1 = probes; i2 = tos; l0 = idle ns; l1 = interval ns. */
    public static final int C_OPTIONS = 2;
    /** id = request; i0 = ip; i1 = port; i2 = backlog; i3 = rx ring; i4 = tx ring. Answered by E_REPLY. */
    public static final int C_LISTEN = 3;
    /** id = request; i0 = remote ip; i1 = remote port; i2 = local ip; i3 = local port; i4 = rx ring; i5 = tx ring. */
    public static final int C_CONNECT = 4;
    /** id = listener. */
    public static final int C_UNLISTEN = 5;
    /** id = connection; i0 = the event queue (context) its events go to from now on. */
    public static final int C_ROUTE = 6;
    /**
     * id = request; i0 = ip (127/8); i1 = port. Answered by E_REPLY: R_OK when a listener of any
     * application of this service would take a connection to ip:port (the service's in-engine
     * loopback), R_REFUSED when none would (the application then uses the kernel's loopback).
     */
    public static final int C_PROBE = 7;

    // ---- events (service -> application) ----
    /**
     * id = request; i0 = status (R_*); i1 = socket id; i2 = port; i3 = rx ring bytes; i4 = tx ring
     * bytes; l0 = rx ring offset; l1 = tx ring offset (offsets from the start of the region).
     */
    public static final int E_REPLY = 1;
    /**
     * id = connection; i0 = TasEvents bits; i1 = state; i2 = error ordinal; i3 = F_* flags; i4 = mss;
     * i5 = rcv wscale | snd wscale << 8 | sequence << 16 (per socket, wrapping); l0 = rx tail (-1: none);
     * l1 = tx head (-1: none); l2 = advertised edge.
     */
    public static final int E_FLOW = 2;
    /**
     * id = new connection; i0 = listener id; i1 = rx ring bytes; i2 = tx ring bytes; l0 = rx ring
     * offset; l1 = tx ring offset. Its addresses (E_ADDRESS) and state (E_FLOW) follow.
     */
    public static final int E_ACCEPTED = 3;
    /** id = connection; i0 = local ip; i1 = local port; i2 = remote ip; i3 = remote port. */
    public static final int E_ADDRESS = 4;

    /** E_FLOW flags. */
    public static final int F_INPUT_CLOSED = 1;
    public static final int F_TIMESTAMPS = 2;
    public static final int F_SACK = 4;
    public static final int F_ECN = 8;

    /** E_REPLY statuses. */
    public static final int R_OK = 0;
    public static final int R_IN_USE = 1;
    public static final int R_NOT_LOCAL = 2;
    public static final int R_NO_RESOURCES = 3;
    public static final int R_REFUSED = 4;
    /** The application holds service-app-max-conns sockets already (i2 = that limit). */
    public static final int R_LIMIT_SOCKETS = 5;
    /** The application's region has no ring memory left for the connection (service-app-len). */
    public static final int R_LIMIT_RINGS = 6;

    static {
        // The counters must fit the header after the flags (asserted here, as TAS asserts its header's sizes).
        if (APP_COUNTERS_OFFSET < HEADER.byteSize()
                || APP_COUNTERS_OFFSET + 8L * TasServiceAppCounter.values().length > HEADER_BYTES) {
            throw new AssertionError("the per-application counters do not fit the region header");
        }
    }

    private static final VarHandle INT_AT = JAVA_INT.varHandle();
    private static final VarHandle LONG_AT = JAVA_LONG.varHandle();

    private TasServiceLayout() {
    }

    public static long queueBytes(int entries) {
        return QUEUE_CONTROL + (long) entries * ENTRY_BYTES;
    }

    /** Where event queue {@code k} starts (k = CONTEXTS: where the queues end). */
    public static long eventQueueOffset(int k) {
        return k == 0 ? EVENT_QUEUE_OFFSET
            : EVENT_QUEUE_OFFSET + queueBytes(EVENT_ENTRIES) + (k - 1) * queueBytes(CONTEXT_EVENT_ENTRIES);
    }

    public static int eventEntries(int k) {
        return k == 0 ? EVENT_ENTRIES : CONTEXT_EVENT_ENTRIES;
    }

    /** Context {@code k}'s sleeping flag (an int, the futex word). */
    public static long contextFlagOffset(int k) {
        return CONTEXT_FLAGS_OFFSET + k * CONTEXT_FLAG_BYTES;
    }

    public static long regionBytes(long ringsBytes) {
        return RINGS_OFFSET + ringsBytes;
    }

    static long align(long v, long to) {
        return (v + to - 1) & -to;
    }

    /** Writes a fresh header (the service, before the application is told the file's name). */
    static void initHeader(MemorySegment region, long ringsBytes) {
        region.set(JAVA_INT, VERSION_OFFSET, VERSION);
        region.set(JAVA_INT, EVENT_ENTRIES_OFFSET, EVENT_ENTRIES);
        region.set(JAVA_INT, COMMAND_ENTRIES_OFFSET, COMMAND_ENTRIES);
        region.set(JAVA_LONG, RINGS_OFFSET_OFFSET, RINGS_OFFSET);
        region.set(JAVA_LONG, RINGS_BYTES_OFFSET, ringsBytes);
        // Queue 0 only: a context's queue is made ready when a connection is first routed to it.
        TasShmQueue.init(region.asSlice(eventQueueOffset(0), queueBytes(eventEntries(0))), eventEntries(0));
        TasShmQueue.init(region.asSlice(COMMAND_QUEUE_OFFSET, queueBytes(COMMAND_ENTRIES)), COMMAND_ENTRIES);
        // Release: an application that sees the magic sees everything above.
        LONG_AT.setRelease(region, MAGIC_OFFSET, MAGIC);
    }

    /** The application: refuses a region of another version or layout. */
    static void checkHeader(MemorySegment region) {
        long magic = (long) LONG_AT.getAcquire(region, MAGIC_OFFSET);
        int version = region.get(JAVA_INT, VERSION_OFFSET);
        if (magic != MAGIC || version != VERSION || region.get(JAVA_INT, EVENT_ENTRIES_OFFSET) != EVENT_ENTRIES
                || region.get(JAVA_INT, COMMAND_ENTRIES_OFFSET) != COMMAND_ENTRIES
                || region.get(JAVA_LONG, RINGS_OFFSET_OFFSET) != RINGS_OFFSET) {
            throw new IllegalStateException("the service's shared memory has another layout (magic "
                + Long.toHexString(magic) + ", version " + version + "; this transport speaks version " + VERSION + ")");
        }
    }

    // ---- entry fields ----
    static int i(MemorySegment q, long entry, int n) {
        return q.get(JAVA_INT, entry + I0 + 4L * n);
    }

    static void i(MemorySegment q, long entry, int n, int v) {
        q.set(JAVA_INT, entry + I0 + 4L * n, v);
    }

    static long l(MemorySegment q, long entry, int n) {
        return q.get(JAVA_LONG, entry + L0 + 8L * n);
    }

    static void l(MemorySegment q, long entry, int n, long v) {
        q.set(JAVA_LONG, entry + L0 + 8L * n, v);
    }

    // ---- per-application counters ----
    static void appCounter(MemorySegment region, TasServiceAppCounter c, long v) {
        LONG_AT.setOpaque(region, APP_COUNTERS_OFFSET + 8L * c.ordinal(), v);
    }

    static long appCounter(MemorySegment region, TasServiceAppCounter c) {
        return (long) LONG_AT.getOpaque(region, APP_COUNTERS_OFFSET + 8L * c.ordinal());
    }

    // ---- context flags: each context's loop sleeps on its own futex word ----

    /** What {@link #takeContextBell} did: nothing, woke the loop's futex, or the session thread must be rung. */
    static final int BELL_NONE = 0;
    static final int BELL_FUTEX = 1;
    static final int BELL_SESSION = 2;

    /**
     * Service, after queueing events for context {@code k}: wakes its loop if it sleeps on its
     * futex word, or asks for the session thread's doorbell if it waits {@link #ELSEWHERE}.
     * Nothing (a fence and a load) while the loop is awake.
     */
    static int takeContextBell(MemorySegment region, int k) {
        long flag = contextFlagOffset(k);
        // Dekker pairing with the loop (it stores SLEEPING, then looks at its queue): see takeDoorbell.
        VarHandle.fullFence();
        int v = (int) INT_AT.getVolatile(region, flag);
        if (v == SLEEPING && INT_AT.compareAndSet(region, flag, SLEEPING, RUNG)) {
            LinuxNative.futexWake(region.address() + flag, 1);
            return BELL_FUTEX;
        }
        if (v == ELSEWHERE && INT_AT.compareAndSet(region, flag, ELSEWHERE, RUNG)) {
            LONG_AT.getAndAdd(region, CONTEXT_BELLS_OFFSET, 1L);
            return BELL_SESSION;
        }
        return BELL_NONE;
    }

    /**
     * A producer that did not take the doorbell itself (an engine event for the proxy, the
     * service stopping): wakes the sleeper on {@code flag} if it sleeps there. A sleeper that is
     * about to block sees the changed word and does not.
     */
    static void ringSleeper(MemorySegment region, long flag) {
        if (INT_AT.compareAndSet(region, flag, SLEEPING, RUNG)) {
            LinuxNative.futexWake(region.address() + flag, 1);
        }
    }

    /** The application, any thread: wakes context {@code k}'s loop if it sleeps on its futex word (or keeps it from sleeping). */
    static void wakeContext(MemorySegment region, int k) {
        long flag = contextFlagOffset(k);
        if ((int) INT_AT.getAndSet(region, flag, RUNG) == SLEEPING) {
            LinuxNative.futexWake(region.address() + flag, 1);
        }
    }

    static int contextFlag(MemorySegment region, int k) {
        return (int) INT_AT.getVolatile(region, contextFlagOffset(k));
    }

    static void setContextFlag(MemorySegment region, int k, int v) {
        INT_AT.setVolatile(region, contextFlagOffset(k), v);
    }

    static long contextBells(MemorySegment region) {
        return (long) LONG_AT.getVolatile(region, CONTEXT_BELLS_OFFSET);
    }

    // ---- sleeping flags: 0 awake, 1 asleep (ring me), 2 rung ----
    static void setSleeping(MemorySegment region, long flag, int v) {
        INT_AT.setVolatile(region, flag, v);
    }

    /**
     * Consumer: it ran out of work (its idle period begins): producers from now on stamp when
     * they queue the first entry, so the consumer's spin policy learns the gap to the post, not
     * to the moment it noticed (which after a block includes its own wake-up).
     */
    static void beginIdle(MemorySegment region, long flag) {
        LONG_AT.setRelease(region, flag + ARRIVAL, 0L);
        INT_AT.setVolatile(region, flag, POLLING);
    }

    /**
     * Consumer: its idle period that began at {@code idleSince} ended; the flag goes back to
     * {@link #AWAKE}. Returns the nanoseconds to the first producer's stamp, or -1 if none stamped.
     * The stamps are {@code System.nanoTime()} of another process: the same clock on one host
     * (CLOCK_MONOTONIC); a wrong one only misleads the polling heuristic.
     */
    static long endIdle(MemorySegment region, long flag, long idleSince) {
        INT_AT.setVolatile(region, flag, AWAKE);
        long a = (long) LONG_AT.getAcquire(region, flag + ARRIVAL);
        return a == 0 ? -1 : Math.max(0, a - idleSince);
    }

    /**
     * Producer, after publishing: true if the caller must ring the other side's doorbell (it
     * sleeps and nobody rang yet). A consumer that is awake or polling costs no doorbell; an idle
     * one (polling or asleep) gets its arrival stamped once.
     */
    static boolean takeDoorbell(MemorySegment region, long flag) {
        // Dekker pairing with the sleeper (it stores its flag, then looks at the queue): our entry
        // was published with a release store, which a following load may overtake (StoreLoad);
        // the full fence keeps us from reading a stale "awake" while it reads a stale queue.
        VarHandle.fullFence();
        int v = (int) INT_AT.getVolatile(region, flag);
        if (v == AWAKE) {
            return false;
        }
        if ((long) LONG_AT.getVolatile(region, flag + ARRIVAL) == 0L) {
            LONG_AT.compareAndSet(region, flag + ARRIVAL, 0L, System.nanoTime()); // a racing producer: equally early
        }
        return v == SLEEPING && INT_AT.compareAndSet(region, flag, SLEEPING, RUNG);
    }
}
