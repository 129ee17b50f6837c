package io.tasnetty.engine.fast;

import io.tasnetty.engine.TasEngineParams;
import io.tasnetty.engine.cc.TasCcAlgorithm;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.context.TasSocket;
import io.tasnetty.engine.flow.TasByteRing;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TasFlowTable;
import io.tasnetty.engine.flow.TasSeq;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.port.PacketBuffer;
import io.tasnetty.engine.port.TasPort;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;
import io.tasnetty.engine.wire.Ethernet;
import io.tasnetty.engine.wire.Icmp;
import io.tasnetty.engine.wire.Ipv4;
import io.tasnetty.engine.wire.Tcp;
import io.tasnetty.engine.wire.TcpOptions;
import org.jctools.queues.MpscArrayQueue;
import org.jctools.queues.MpscUnboundedArrayQueue;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One fast-path agent: owns one RX/TX queue pair of the port and the flows steered to it.
 *
 * <p>Duty cycle ({@link #doWork}): receive a burst, take looped-back frames, run control commands
 * from the slow path, run application commands (transmit bumps, window updates, closes), expire
 * timers, release segments of flows with something to send, flush the transmit batch. Segments
 * that are not for a known flow (SYN to a listener, ARP, strays) go to the slow path as exceptions.
 * Nothing on this path allocates, locks or logs; every drop is counted.
 *
 * <p>Who runs the duty cycle: the agent's own thread, or an application thread that just handed it
 * work ({@link #driveInline}, run to completion: a Netty event loop's flush sends the segment, the
 * looped-back peer receives it and its ACK comes back, all on the event loop's thread, with no
 * hand-off). One thread at a time {@linkplain #tryDrive drives}; nobody waits for it: a thread that
 * finds the agent driven leaves its work in the queues, and the driver looks at them again after
 * it lets go. The agent's thread then only needs to wake for the port's frames and for timers.
 *
 * <p>This class is the agent: duty cycle, frame validation and dispatch, the cross-thread queues,
 * application commands, install and teardown of flows. The TCP work is split by concern into
 * package-private parts that share this agent's state (port, parameters, counters, congestion
 * control, timer wheel) by reference:
 * <ul>
 *   <li>{@link TcpInput}: RFC 9293 3.10.7 SEGMENT ARRIVES for a segment of one of our flows;</li>
 *   <li>{@link TcpOutput}: what to send and when, segment construction, ACKs, RST, the transmit batch;</li>
 *   <li>{@link TcpTimers}: arming a flow's deadlines on the {@link TasTimerWheel} and their expiry.</li>
 * </ul>
 */
public final class TasFastPath {
    private static final int RX_BURST = 32;
    /** The smallest path MTU a fragmentation-needed message may set (Linux's min_pmtu). */
    private static final int PMTU_MIN = 552;

    /** What the fast path needs from the rest of the engine. */
    public interface Engine {
        /** Hands a packet the fast path does not handle to the slow path (ownership passes). */
        boolean exception(PacketBuffer buf);

        /** A flow is gone from the fast path: reclaim its rings and identity. */
        void flowDead(TasFlow f);

        /** The fast-path agent that owns loopback frames for this flow tuple. */
        TasFastPath loopbackTarget(int srcIp, int srcPort, int dstIp, int dstPort);

        /** True for the engine's own address and 127.0.0.0/8. */
        boolean isLocal(int ip);

        /**
         * Receive-buffer autotuning: {@code f}'s receive ring should be {@code size} bytes; the
         * memory comes later in {@link TasFlow#rxGrowBlock} (or never, when none is left).
         */
        default void wantLargerRxRing(TasFlow f, int size) {
        }

        /**
         * Fast path → slow path: send-buffer autotuning wants {@code f}'s transmit ring to be
         * {@code size} bytes; the memory comes later through {@link TasFlow#offerTxGrowBlock} (or
         * never, when none is left), and the application moves the ring at its next write.
         */
        default void wantLargerTxRing(TasFlow f, int size) {
        }

        /** Any thread: whether SYN cookies sent lately may still come back (see TasSynCookies.mayValidate). */
        default boolean cookiesOut(long now) {
            return false;
        }

        /** A ring moved to larger memory: {@code old} goes back to where it came from, off the data path. */
        default void ringMemoryLeft(TasFlow f, java.lang.foreign.MemorySegment old) {
        }

        /** The engine no longer needs the flow's rings (they are freed once the application is done too). */
        void engineDoneWithRings(TasFlow f);

        /** As {@link #engineDoneWithRings}, from the fast path, for a flow whose rings it pinned (on the slow path, which reclaims). */
        default void releaseRingsLater(TasFlow f) {
            engineDoneWithRings(f);
        }

        /** The application will never see this flow (a passive open not accepted): drop its hold on the rings. */
        void forgetUnaccepted(TasFlow f);

        /**
         * Takes one of the TIME_WAIT places (tcp-max-flows of them, apart from live connections, as
         * Linux's tcp_max_tw_buckets); false when none is left and the flow closes at once.
         */
        default boolean enterTimeWait() {
            return true;
        }

        /** A flow left TIME_WAIT (it ended, or a new SYN reused its ports). */
        default void leftTimeWait() {
        }

        /** True with kni-name: frames the engine does not consume go to the slow path (and on to the kernel). */
        default boolean hasKernelPath() {
            return false;
        }
    }

    private final int queue;
    private final TasPort port;
    private final TasEngineParams params;
    private final TasCounters counters;
    private final Engine engine;
    /** kni-name: what the engine does not consume goes to the slow path, which passes it to the kernel. */
    private final boolean kernelPath;

    private final TasFlowTable<TasFlow> flows;
    private final TasTimerWheel wheel;
    private final TcpOutput out;
    private final TcpTimers timers;
    private final TcpInput in;
    private final PacketBuffer[] rxBufs = new PacketBuffer[RX_BURST];
    private final MpscArrayQueue<TasFlow> commands;
    private final MpscUnboundedArrayQueue<Runnable> control;
    private final MpscArrayQueue<PacketBuffer> loopbackIn;
    private final MpscArrayQueue<PacketBuffer> foreignTx;
    /** Segments of flows owned here that arrived on another core's queue (see {@link #handOver}). */
    private final MpscArrayQueue<PacketBuffer> handedIn;
    private final PacketBuffer[] handedBatch = new PacketBuffer[RX_BURST];
    /** True while {@link #receive} runs on a handed-over segment. */
    private boolean rxHandedOver;
    /** Flows of this core with segments on a round trip through the slow path ({@link #detour}). */
    private int openDetours;
    /** {@code TasFlow.rxDetour} of a flow whose detour is open with none of its tickets out (no ticket is -1). */
    static final int DETOUR_NOTHING_OUT = -1;
    /** Options of the segment being received: parsed here, read by {@link TcpInput}. */
    private final TcpOptions opts = new TcpOptions();
    private long lastNow;
    private volatile boolean sleeping;
    /**
     * The last receive burst came back full: the port may hold more frames. Whoever stops
     * driving then must not leave them to an interrupt: with edge-triggered rx interrupts
     * (DPDK's), frames already waiting raise none, and the agent's thread would sleep past them.
     */
    private boolean rxMaybeMore;
    /** The port lets any driving thread receive ({@link TasPort#rxFromAnyThread()}). */
    private final boolean rxAnyThread;
    /** The agent's own thread, once it runs; null in a manual engine (whoever drives receives). */
    private volatile Thread agentThread;
    private static final VarHandle DRIVING;
    private static final VarHandle LAST_WORK;
    /** When a duty cycle last did work ({@link #drivenSince}). */
    @SuppressWarnings("unused")
    private long lastWork;
    /** 1 while a thread runs the duty cycle ({@link #tryDrive}); only that thread touches the agent's state. */
    @SuppressWarnings("unused")
    private volatile int driving;
    /** The thread that drives now (read by that thread to know it holds the agent). */
    private Thread driver;
    /**
     * When the agent's thread, asleep, plans to wake for its next timer; 0 while it is awake. A
     * driver that schedules an earlier deadline wakes it ({@link #driveInline}).
     */
    private volatile long sleepDeadline;
    /** Duty cycles an application thread runs inline at most before it leaves the rest to the agent's thread. */
    private static final int INLINE_PASSES = 8;
    /** The agent's thread naps on a poll-only port ({@link #napsWithoutInterrupts}). */
    private volatile boolean napping;
    /** A nap with more than this left is a long one: a sending application thread ends it. */
    static final long LONG_NAP_NANOS = 1_000_000;
    /** Times a sending application thread ended a long nap of the agent's thread (tests, diagnostics). */
    private final AtomicLong longNapsEnded = new AtomicLong();

    static {
        try {
            DRIVING = MethodHandles.lookup().findVarHandle(TasFastPath.class, "driving", int.class);
            LAST_WORK = MethodHandles.lookup().findVarHandle(TasFastPath.class, "lastWork", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    public TasFastPath(int queue, TasPort port, TasEngineParams params, TasCounters counters, TasCcAlgorithm cc,
                       Engine engine, long now) {
        this.queue = queue;
        this.port = port;
        this.params = params;
        this.counters = counters;
        this.engine = engine;
        this.kernelPath = engine.hasKernelPath();
        this.rxAnyThread = port.rxFromAnyThread();
        // The parts first, allocated next to this object (as their fields were when they were
        // one class); the queues after them. Output first: the timers send through it, and
        // input uses both (and this agent's teardown).
        this.lastNow = now;
        this.wheel = new TasTimerWheel(TcpTimers.TIMER_TICK_NANOS, now);
        this.out = new TcpOutput(queue, port, params, counters, engine, wheel);
        this.timers = new TcpTimers(this, out, wheel, params, counters, cc);
        this.in = new TcpInput(this, out, timers, params, counters, cc, opts);
        this.control = new MpscUnboundedArrayQueue<>(64);
        this.loopbackIn = new MpscArrayQueue<>(4096);
        this.foreignTx = new MpscArrayQueue<>(1024);
        this.handedIn = new MpscArrayQueue<>(4096);
        this.flows = new TasFlowTable<>(1024);
        int cap = Integer.highestOneBit(Math.max(1024, params.maxFlows() * 2) - 1) << 1;
        this.commands = new MpscArrayQueue<>(cap);
    }

    /** The time of the current duty cycle (as given to {@link #doWork}). */
    long lastNow() {
        return lastNow;
    }

    public int queue() {
        return queue;
    }

    public TasCounters counters() {
        return counters;
    }

    /** Flows of this core whose segments are on a round trip through the slow path (tests). */
    int openDetours() {
        return openDetours;
    }

    /** Flows currently installed on this core. */
    public int flowCount() {
        return flows.size();
    }

    // ------------------------------------------------------------------ cross-thread entry points

    /** Any thread: application commands for a flow owned here. */
    public void command(TasFlow f, int bits) {
        if (f.postCommand(bits)) {
            enqueueCommand(f);
        }
    }

    /**
     * Application thread, run to completion: posts the commands, then runs the duty cycle here
     * unless another thread drives the agent (which then takes them).
     */
    public void commandInline(TasFlow f, int bits, long now) {
        if (f.postCommand(bits)) {
            while (!commands.offer(f)) {
                Thread.onSpinWait(); // cannot happen: see enqueueCommand
            }
        }
        driveInline(now);
    }

    /** The agent's own thread calls this once before its duty cycles: it alone receives where the port asks that. */
    public void bindAgentThread() {
        agentThread = Thread.currentThread();
    }

    /**
     * The agent's thread naps instead of sleeping on the port (a poll-only port: no frame wakes
     * it), for up to tens of milliseconds when the port has been idle; see {@link #driveInline}.
     */
    public void napsWithoutInterrupts() {
        napping = true;
    }

    /**
     * Takes the agent if no thread drives it; the caller then runs {@link #doWork} and
     * {@link #release}s, and after letting go must look at the queues again (work queued
     * meanwhile by a thread whose tryDrive failed is the driver's to take or hand on).
     */
    public boolean tryDrive() {
        if (DRIVING.compareAndSet(this, 0, 1)) {
            driver = Thread.currentThread();
            return true;
        }
        return false;
    }

    /** One duty cycle if no other thread drives the agent; returns its work (0 also when another drives). */
    public int driveOnce(long now) {
        if (!tryDrive()) {
            return 0;
        }
        try {
            return doWork(now);
        } finally {
            release();
        }
    }

    /** Lets go of the agent. */
    public void release() {
        driver = null;
        // Volatile, not release-only: the caller looks at the queues next, and that load must not
        // pass this store (a producer whose tryDrive failed relies on us seeing its entry).
        driving = 0;
    }

    /**
     * Runs up to {@link #INLINE_PASSES} duty cycles on the calling thread while there is work and
     * no other thread drives the agent; what is left goes to the agent's thread.
     */
    public void driveInline(long now) {
        boolean worked = false;
        for (int pass = 0; pass < INLINE_PASSES; pass++) {
            if (!tryDrive()) {
                return; // the driver looks at the queues after it lets go
            }
            int work;
            try {
                work = doWork(now);
                if (work == 0) {
                    checkSleeperTimers(now);
                }
            } finally {
                release();
            }
            worked |= work > 0;
            if (work == 0 && queuesEmpty()) {
                if (worked) {
                    endLongNap(now);
                }
                return;
            }
        }
        if (rxMaybeMore) {
            port.wakeup(queue); // frames may wait at the port: the agent's thread takes them (a kept wake-up if it is not asleep)
        } else {
            wake();
        }
    }

    /**
     * An application thread drove (sent, mostly: a request): on a poll-only port whose agent's
     * thread is in a long nap, wake it. The reply will come to this port, and no frame can end
     * the nap; woken, the thread polls again while frames come (TasEngine's poll-only loop), so
     * the reply does not wait out a nap of up to 20 ms that an idle port's thread takes.
     */
    private void endLongNap(long now) {
        if (napping && sleeping && sleepDeadline - now > LONG_NAP_NANOS && Thread.currentThread() != agentThread) {
            longNapsEnded.incrementAndGet();
            port.wakeup(queue);
        }
    }

    /** Times an application thread that sent ended a long nap of the agent's thread. */
    public long longNapsEnded() {
        return longNapsEnded.get();
    }

    /**
     * Driver, at the end of its work: if it scheduled a deadline before the sleeping agent's
     * thread plans to wake, and that deadline still stands (a retransmission timer armed and
     * already cancelled by the ACK, as on every loopback exchange, does not), wake that thread.
     */
    private void checkSleeperTimers(long now) {
        long planned = sleepDeadline;
        if (wheel.earliestScheduled() < planned) {
            if (wheel.hasDeadlineBefore(now, planned)) {
                port.wakeup(queue);
            } else {
                wheel.resetEarliest(); // nothing earlier stands now: watch from here
            }
        }
    }

    /**
     * A polling application thread: one duty cycle here if no other thread drives the agent.
     * Returns the work done (0 also when another thread drives).
     */
    public int pollInline(long now) {
        if (!tryDrive()) {
            return 0;
        }
        int work;
        try {
            work = doWork(now);
            if (work == 0) {
                checkSleeperTimers(now);
            }
        } finally {
            release();
        }
        if (!queuesEmpty() || rxMaybeMore) {
            // Whoever queued work while we drove relies on us to take it (their tryDrive failed),
            // and a full receive burst may have left frames at the port.
            driveInline(now);
        }
        return work;
    }

    /** No frame or command waits in a cross-thread queue (a hint for the thread that just let go). */
    private boolean queuesEmpty() {
        return commands.isEmpty() && control.isEmpty() && loopbackIn.isEmpty() && foreignTx.isEmpty()
            && handedIn.isEmpty();
    }

    /** Any thread: queues a flow whose command bits were set. */
    public void enqueueCommand(TasFlow f) {
        while (!commands.offer(f)) {
            // Cannot happen while the queue holds twice the flow limit (each flow is queued at
            // most once at a time); never drop a command. (No counter: this is not our thread.)
            Thread.onSpinWait();
        }
        wake();
    }

    /** Slow path: installs a new flow here (its queue field already names this agent). */
    public void install(TasFlow f) {
        control(() -> install(f, lastNow));
    }

    /** Any thread: run {@code r} on this agent (slow-path control: install, remove). */
    public void control(Runnable r) {
        control.offer(r);
        wake();
    }

    /**
     * Any thread: a frame looped back inside the engine, to be received here. Returns false (and
     * frees the frame) when the queue is full; the caller counts the drop in its own counters,
     * since only this agent's thread may write ours.
     */
    public boolean deliverLoopback(PacketBuffer buf) {
        if (!loopbackIn.offer(buf)) {
            port.free(buf);
            return false;
        }
        wake();
        return true;
    }

    /**
     * Slow path: a validated IPv4/TCP segment of a flow installed (or being installed) on this
     * core that the port delivered to another core's queue. Ownership passes on success; on false
     * (queue full) the caller keeps the buffer. The slow path queues a flow's install before it
     * hands over any segment of it, and this agent runs its control queue before such segments
     * (see {@link #drainHandedOver}), so they find their flow unless it has left meanwhile.
     */
    public boolean handOver(PacketBuffer buf) {
        if (!handedIn.offer(buf)) {
            return false;
        }
        wake();
        return true;
    }

    /** Any thread (slow path): a finished frame to transmit from this queue. */
    public boolean transmitForeign(PacketBuffer buf) {
        if (!foreignTx.offer(buf)) {
            return false;
        }
        wake();
        return true;
    }

    private void wake() {
        // Dekker pairing with idle(): the offer above is a full fence (CAS), so reading `sleeping`
        // after it sees the agent's store made before it re-checked the queues. The thread that
        // drives the agent right now takes the work itself: no wake-up (a looped-back frame to
        // the agent that sent it, say).
        if (driver != Thread.currentThread() && sleeping) {
            port.wakeup(queue);
        }
    }

    // ------------------------------------------------------------------ duty cycle

    /**
     * Whether a duty cycle did work after {@code since} (any driver: an application thread running
     * the fast path inline counts). The agent's thread on a poll-only port keeps polling while
     * frames keep coming, whoever receives them.
     */
    public boolean drivenSince(long since) {
        return (long) LAST_WORK.getOpaque(this) - since > 0;
    }

    /** One duty cycle; returns the amount of work done (0 = idle). */
    public int doWork(long now) {
        int work = 0;
        // Drivers read the clock before they get the agent, so one may bring a time older than
        // the previous driver's: the agent's time must not go back, or a segment's TSval could be
        // older than one already sent and the peer's PAWS test drops it (RFC 7323 5.3; on the
        // loopback with 64 connections, ~50 drops a second, each repaired by a 200 ms RTO).
        if (now - lastNow < 0) {
            now = lastNow;
        }
        lastNow = now;
        if (openDetours != 0) {
            // What came back first: a detour ends when its last segment is back, and frames read
            // from the port before that go behind it and make it longer (through a bulk start).
            work += drainHandedOver(now);
        }
        Thread owner = agentThread;
        boolean own = owner == null || owner == Thread.currentThread();
        int n = rxAnyThread || own ? port.rxBurst(queue, rxBufs, RX_BURST) : 0;
        rxMaybeMore = n == RX_BURST;
        if (n > 0 && !own) {
            counters.add(TasCounter.RX_ON_APPLICATION_THREADS, n);
        }
        for (int i = 0; i < n; i++) {
            PacketBuffer b = rxBufs[i];
            rxBufs[i] = null;
            receive(b, now, false);
        }
        work += n;
        for (int i = 0; i < RX_BURST; i++) {
            PacketBuffer b = loopbackIn.relaxedPoll();
            if (b == null) {
                break;
            }
            receive(b, now, true);
            work++;
        }
        work += runControl();
        work += drainHandedOver(now);
        work += runCommands(now);
        work += wheel.advance(now, timers);
        work += out.transmitPending(now);
        work += out.sendAcks(now);
        work += drainForeign();
        out.flush();
        if (work > 0) {
            LAST_WORK.setOpaque(this, now); // one writer at a time (the driver); read by drivenSince
        }
        return work;
    }

    /**
     * A lazy deadline (a looped connection's delayed ACK) wakes a sleeping fast-path thread at
     * most this late; usually an application thread driving the fast path meets it first.
     */
    static final long LAZY_TIMER_SLACK_NANOS = 10_000_000L;

    /**
     * Blocks until work may be waiting (frames, commands, a timer). Called by the agent's thread
     * after it found nothing to do for the poll interval.
     */
    public void idle(long now, long maxNanos) {
        long timeout;
        if (tryDrive()) {
            try {
                // Another thread may have driven last and left frames at the port (see rxMaybeMore):
                // one more cycle before sleeping on an interrupt that may not come for them.
                if (out.hasWork() || rxMaybeMore || doWork(now) > 0) {
                    return;
                }
                long t = wheel.nanosToWake(now, LAZY_TIMER_SLACK_NANOS);
                timeout = t < 0 ? maxNanos : Math.min(t, maxNanos);
                wheel.resetEarliest();
                // Before letting go: a driver that schedules a deadline from now on sees it.
                sleepDeadline = now + timeout;
            } finally {
                release();
            }
        } else {
            // Another thread drives: the queues are its business (it wakes us if it leaves work), but
            // it may be scheduling deadlines we cannot see, so nap at most one timer tick.
            timeout = Math.min(maxNanos, TcpTimers.TIMER_TICK_NANOS);
            sleepDeadline = now + timeout;
            sleeping = true;
            try {
                port.awaitRx(queue, timeout);
            } finally {
                sleeping = false;
                sleepDeadline = 0;
            }
            return;
        }
        sleeping = true;
        try {
            if (!queuesEmpty()) {
                return;
            }
            port.awaitRx(queue, timeout);
        } finally {
            sleeping = false;
            sleepDeadline = 0;
        }
    }

    private int runControl() {
        int n = 0;
        Runnable r;
        while ((r = control.relaxedPoll()) != null) {
            r.run();
            n++;
        }
        return n;
    }

    /**
     * Receives the segments the slow path handed over, each as a frame from the port (counted in
     * RX_PACKETS where it arrived, not again here). Up to a burst is taken first,
     * then the control queue runs: each take is an acquire that makes visible every install the
     * slow path queued before handing the segment over, so its flow is in the table now. A segment
     * whose flow is no longer here is dropped and counted, never sent back (no ping-pong).
     */
    private int drainHandedOver(long now) {
        int n = 0;
        PacketBuffer b;
        while (n < RX_BURST && (b = handedIn.relaxedPoll()) != null) {
            handedBatch[n++] = b;
        }
        if (n == 0) {
            return 0;
        }
        // A handed-back batch is a receive burst of its own: the ACKs owed for what this cycle
        // received before it go first, and its own go after it, so that no ACK covers more than
        // one burst (a port burst and a batch behind a ring grant made stretch ACKs of 33+
        // segments; RFC 9293 3.8.6.3).
        int work = runControl() + n + out.sendAcks(now);
        rxHandedOver = true;
        try {
            for (int i = 0; i < n; i++) {
                b = handedBatch[i];
                handedBatch[i] = null;
                // As a looped frame: the core it arrived on already validated it (headers,
                // checksums, addresses), and it is IPv4/TCP for us, so nothing goes to the kernel.
                receive(b, now, true);
            }
        } finally {
            rxHandedOver = false;
        }
        return work + out.sendAcks(now);
    }

    private int drainForeign() {
        int n = 0;
        PacketBuffer b;
        while (!out.batchFull() && (b = foreignTx.relaxedPoll()) != null) {
            // Foreign frames are ARP from the slow path, or anything from the kernel (kni-name):
            // only an IPv4 destination can mean in-engine loopback.
            boolean ipv4 = b.length >= Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH
                && Ethernet.etherType(b.segment, b.offset) == Ethernet.TYPE_IPV4;
            out.enqueueTx(b, ipv4 ? Ipv4.dst(b.segment, b.offset + Ethernet.HEADER_LENGTH) : 0);
            n++;
        }
        return n;
    }

    // ------------------------------------------------------------------ receive

    private void receive(PacketBuffer b, long now, boolean looped) {
        Object source = looped ? b.payloadSource : null;
        receiveFrame(b, now, looped);
        if (source != null) {
            out.loopRefDone((TasFlow) source); // its payload was copied (or the segment dropped)
        }
    }

    private void receiveFrame(PacketBuffer b, long now, boolean looped) {
        MemorySegment s = b.segment;
        long o = b.offset;
        int len = b.length;
        if (!rxHandedOver) {
            counters.increment(TasCounter.RX_PACKETS);
            counters.add(TasCounter.RX_BYTES, len);
        }
        if (len < Ethernet.HEADER_LENGTH) {
            drop(b, TasCounter.DROP_MALFORMED_ETH);
            return;
        }
        int type = Ethernet.etherType(s, o);
        if (type != Ethernet.TYPE_IPV4) {
            if (type == Ethernet.TYPE_ARP || kernelPath) {
                toSlowPath(b);
            } else {
                drop(b, TasCounter.DROP_UNKNOWN_ETHERTYPE);
            }
            return;
        }
        long ipOff = o + Ethernet.HEADER_LENGTH;
        int ihl = Ipv4.validate(s, ipOff, len - Ethernet.HEADER_LENGTH);
        if (ihl < 0) {
            drop(b, TasCounter.DROP_MALFORMED_IP);
            return;
        }
        // Unlike TAS, verify checksums unless the port (or the in-engine loopback) already did.
        boolean trusted = looped;
        if (!trusted && (b.flags & PacketBuffer.RX_IP_CSUM_GOOD) == 0 && !Ipv4.isHeaderChecksumValid(s, ipOff, ihl)) {
            drop(b, TasCounter.DROP_IP_CHECKSUM);
            return;
        }
        if (Ipv4.isFragment(s, ipOff)) {
            dropOrKernel(b, TasCounter.DROP_IP_FRAGMENT, looped);
            return;
        }
        int dstIp = Ipv4.dst(s, ipOff);
        if (!engine.isLocal(dstIp)) {
            dropOrKernel(b, TasCounter.DROP_NOT_FOR_US, looped);
            return;
        }
        int srcIp = Ipv4.src(s, ipOff);
        if (!looped && isMartian(srcIp, dstIp)) {
            drop(b, TasCounter.DROP_MARTIAN);
            return;
        }
        if (Ipv4.protocol(s, ipOff) != Ipv4.PROTO_TCP) {
            if (Ipv4.protocol(s, ipOff) == Ipv4.PROTO_ICMP && !looped) {
                icmp(b, s, ipOff + ihl, Ipv4.totalLength(s, ipOff) - ihl, now);
                return;
            }
            dropOrKernel(b, TasCounter.DROP_NOT_TCP, looped);
            return;
        }
        long tcpOff = ipOff + ihl;
        int tcpLen = Ipv4.totalLength(s, ipOff) - ihl;
        int thl = Tcp.validate(s, tcpOff, tcpLen);
        if (thl < 0) {
            drop(b, TasCounter.DROP_MALFORMED_TCP);
            return;
        }
        if (!trusted && (b.flags & PacketBuffer.RX_L4_CSUM_GOOD) == 0
            && !Tcp.isChecksumValid(s, tcpOff, tcpLen, srcIp, dstIp)) {
            drop(b, TasCounter.DROP_TCP_CHECKSUM);
            return;
        }
        TasFlow f = flows.get(dstIp, Tcp.dstPort(s, tcpOff), srcIp, Tcp.srcPort(s, tcpOff));
        if (f == null) {
            if (rxHandedOver) {
                drop(b, TasCounter.DROP_STEERED_NO_FLOW); // its flow left this core meanwhile
                return;
            }
            toSlowPath(b); // SYN for a listener, or a stray: the slow path decides
            return;
        }
        int detour = f.rxDetour();
        if (detour != 0 && detoured(b, f, detour)) {
            return;
        }
        if (thl > Tcp.MIN_HEADER_LENGTH) {
            if (!opts.parse(s, tcpOff + Tcp.MIN_HEADER_LENGTH, thl - Tcp.MIN_HEADER_LENGTH)) {
                drop(b, TasCounter.DROP_MALFORMED_TCP);
                return;
            }
        } else {
            opts.clear();
        }
        in.arrive(f, s, ipOff, tcpOff, tcpLen, thl, looped ? b.payloadSource : null, b.payloadPos, now);
        if (in.reopens()) {
            b.flags |= PacketBuffer.RX_REOPENS_TIME_WAIT;
            b.minIss = in.reopenMinIss();
            toSlowPath(b); // the SYN that ended TIME_WAIT now opens a connection, as for a listener
        } else if (in.cookieCheck()) {
            b.flags |= PacketBuffer.RX_COOKIE_CHECK;
            toSlowPath(b); // a half-open connection's peer may have taken a SYN cookie instead
        } else if (in.needsRings()) {
            b.flags |= PacketBuffer.RX_NEEDS_RINGS;
            detour(b, f); // the final ACK of a passive open: its rings come from the slow path
        } else {
            counters.increment(TasCounter.RX_FLOW_SEGMENTS);
            port.free(b);
        }
    }

    /**
     * ICMP for the engine. Fragmentation needed for one of this core's flows is handled here (the
     * flow's record is this thread's); everything else, echo requests included, goes to the slow
     * path, which answers, steers the error to the flow's core, or passes it to the kernel.
     */
    private void icmp(PacketBuffer b, MemorySegment s, long icmpOff, int icmpLen, long now) {
        if (icmpLen < Icmp.HEADER_LENGTH || !Icmp.isChecksumValid(s, icmpOff, icmpLen)) {
            drop(b, TasCounter.DROP_ICMP_INVALID);
            return;
        }
        if (Icmp.type(s, icmpOff) != Icmp.TYPE_DEST_UNREACHABLE || Icmp.code(s, icmpOff) != Icmp.CODE_FRAG_NEEDED) {
            toSlowPath(b);
            return;
        }
        TasFlow f = quotedFlow(s, icmpOff, icmpLen);
        if (f == null) {
            if (rxHandedOver) {
                drop(b, TasCounter.DROP_ICMP_INVALID);
            } else {
                toSlowPath(b); // another core's flow, or none: the slow path knows
            }
            return;
        }
        long inner = Icmp.quotedIp(icmpOff);
        int seq = Tcp.seq(s, inner + Ipv4.headerLength(s, inner));
        // RFC 5927 4.1: act only on an error that quotes data we have in flight, so that a blind
        // attacker cannot shrink a connection's segments.
        if (TasSeq.lt(seq, f.sndUna()) || TasSeq.ge(seq, f.sndMax())) {
            drop(b, TasCounter.DROP_ICMP_INVALID);
            return;
        }
        counters.increment(TasCounter.RX_ICMP);
        pathMtu(f, Icmp.nextHopMtu(s, icmpOff), now);
        port.free(b);
    }

    /** This core's flow an ICMP error's quoted TCP/IPv4 header names (sent by us), or null. */
    private TasFlow quotedFlow(MemorySegment s, long icmpOff, int icmpLen) {
        long inner = Icmp.quotedIp(icmpOff);
        int room = icmpLen - Icmp.HEADER_LENGTH;
        if (room < Ipv4.MIN_HEADER_LENGTH || Ipv4.version(s, inner) != Ipv4.VERSION
            || Ipv4.protocol(s, inner) != Ipv4.PROTO_TCP) {
            return null;
        }
        int ihl = Ipv4.headerLength(s, inner);
        if (ihl < Ipv4.MIN_HEADER_LENGTH || room < ihl + Icmp.QUOTED_L4_BYTES) {
            return null;
        }
        long tcp = inner + ihl;
        return flows.get(Ipv4.src(s, inner), Tcp.srcPort(s, tcp), Ipv4.dst(s, inner), Tcp.dstPort(s, tcp));
    }

    /**
     * RFC 1191: the path to the peer takes at most {@code mtu} bytes per packet. Segments shrink to
     * fit, and what was sent since SND.UNA goes again at the new size (the too-big ones were
     * dropped on the way, as Linux's tcp_simple_retransmit assumes). An MTU below 552 counts as 552
     * (Linux's min_pmtu), so a forged tiny MTU cannot make segments absurdly small.
     */
    private void pathMtu(TasFlow f, int mtu, long now) {
        if (mtu == 0) {
            return; // a pre-RFC 1191 router: black-hole detection in TcpTimers takes over
        }
        int mss = Math.max(PMTU_MIN, mtu) - Ipv4.MIN_HEADER_LENGTH - Tcp.MIN_HEADER_LENGTH - f.optLen();
        if (mss >= f.mss()) {
            return;
        }
        f.mss(mss);
        counters.increment(TasCounter.TCP_PMTU_REDUCED);
        if (f.sndUna() != f.sndMax()) {
            f.sndNxt(f.sndUna());
            out.markTx(f);
        }
    }

    /**
     * RFC 1122 3.2.1.3: from the wire, no packet may come from 0/8, 127/8, a multicast or
     * reserved address (224/4, 240/4, broadcast) or from our own address, nor be addressed to
     * 127/8. Such a packet is spoofed; answering it would loop our replies back into the engine
     * (a LAND attack: a SYN "from" ourselves made two looped flows ACK each other without end).
     */
    private boolean isMartian(int src, int dst) {
        int srcNet = src >>> 24;
        return (dst >>> 24) == 127 || srcNet == 127 || srcNet == 0 || (src >>> 28) >= 0xE || src == params.ip();
    }

    private void drop(PacketBuffer b, TasCounter why) {
        counters.increment(why);
        port.free(b);
    }

    /** With kni-name, a frame from the port that the engine does not consume goes to the kernel (via the slow path). */
    private void dropOrKernel(PacketBuffer b, TasCounter why, boolean looped) {
        if (kernelPath && !looped) {
            toSlowPath(b);
        } else {
            drop(b, why);
        }
    }

    private void toSlowPath(PacketBuffer b) {
        b.detourFlow = null; // not a round trip of ours (a recycled buffer may still name a flow)
        offerToSlowPath(b);
    }

    private boolean offerToSlowPath(PacketBuffer b) {
        if (!engine.exception(b)) {
            drop(b, TasCounter.DROP_EXCEPTION_QUEUE_FULL);
            return false;
        }
        counters.increment(TasCounter.RX_EXCEPTIONS);
        return true;
    }

    /**
     * Sends a segment of {@code f} on a round trip through the slow path, which hands it back
     * (a passive open's final ACK, for its rings), with the next ticket of the flow's detour.
     * Whatever arrives for the flow until the last ticket is back follows the same way
     * ({@link #detoured}): the slow path's queues are FIFO, so the flow receives its segments in
     * the port's order. Otherwise a segment read from the port before the first flight came back
     * would be received first, out of order: duplicate ACKs, and the peer retransmits needlessly
     * (RFC 5681 3.2). The same holds for one that adopts the granted rings while the slow path has
     * yet to hand the final ACK back.
     */
    private void detour(PacketBuffer b, TasFlow f) {
        int open = f.rxDetour();
        int ticket = open + 1;
        if (ticket == 0) {
            ticket = 1; // 0 means no detour (from DETOUR_NOTHING_OUT, the first ticket)
        }
        b.detourFlow = f;
        b.detourTicket = ticket;
        if (offerToSlowPath(b)) {
            if (open == 0) {
                openDetours++;
            }
            f.rxDetour(ticket);
        }
    }

    /**
     * A segment of {@code f} while segments of it are on a round trip through the slow path, up
     * to ticket {@code last}. One of them back: the slow path's queues are FIFO, so every segment
     * sent before it is back too (or was dropped on the way, as the wire may drop it: no ticket
     * waits for it); it is the oldest, received now (false), and the last one ends the detour.
     * Any other segment goes behind them (true). A segment dropped on the way leaves the detour
     * open only until one sent after it comes back.
     */
    private boolean detoured(PacketBuffer b, TasFlow f, int last) {
        if (rxHandedOver && b.detourFlow == f) {
            b.detourFlow = null;
            if (b.detourTicket == last) {
                f.rxDetour(0);
                openDetours--;
            }
            return false;
        }
        if (b.payloadSource != null) {
            return false; // (a looped segment: its flow got rings with its SYN and never detours)
        }
        counters.increment(TasCounter.RX_BEHIND_RING_GRANT);
        detour(b, f);
        return true;
    }

    // ------------------------------------------------------------------ commands from the application

    private int runCommands(long now) {
        int n = 0;
        TasFlow f;
        while ((f = commands.relaxedPoll()) != null) {
            n++;
            if (f.installed) {
                applyCommands(f, f.takeCommands(), now);
            }
        }
        return n;
    }

    private void applyCommands(TasFlow f, int cmd, long now) {
        if (f.dead || cmd == 0) {
            return;
        }
        if ((cmd & TasFlow.CMD_ABORT) != 0) {
            if ((cmd & TasFlow.CMD_TX) != 0) {
                // Bytes flushed before the abort leave first, as on Linux, where write() transmits
                // at once and close() with SO_LINGER 0 discards only what the window held back.
                out.sendData(f, now, Integer.MAX_VALUE);
            }
            abortFlow(f, true, TasError.ABORTED, now);
            return;
        }
        if ((cmd & TasFlow.CMD_CLOSE) != 0) {
            appClose(f, now);
            if (f.dead) {
                return;
            }
        }
        if ((cmd & TasFlow.CMD_SHUTDOWN) != 0) {
            f.finRequested(true);
            out.markTx(f);
        }
        if ((cmd & TasFlow.CMD_TX_GROWN) != 0) {
            // The application moved the transmit ring: no copy made from here on reads the old
            // memory (each reads the ring's memory afresh), so it can go.
            MemorySegment old = f.takeTxRetired();
            if (old != null) {
                counters.increment(TasCounter.TCP_TX_RING_GROWN);
                ringMemoryLeft(f, old);
            }
            f.txGrowAsked = false;
        }
        if ((cmd & TasFlow.CMD_TX) != 0) {
            out.markTx(f);
        }
        if ((cmd & TasFlow.CMD_RX_CONSUMED) != 0 && TcpState.isSynchronized(f.state()) && !f.inputClosed) {
            // Window update, while the peer may still send: after its FIN it sends nothing, and
            // it may be CLOSED already (our last ACK ended its LAST_ACK), where Linux answers with RST.
            out.scheduleAck(f);
        }
        if ((cmd & TasFlow.CMD_KEEPALIVE) != 0) {
            timers.armKeepalive(f, now);
        }
        if ((cmd & TasFlow.CMD_OPTIONS) != 0) {
            // TCP_NODELAY turned on pushes what Nagle held (as Linux's tcp_push_pending_frames).
            // No small segment counts as outstanding from here (the safe side of a stale snd_sml).
            f.sndSml = f.sndUna();
            if (f.quickAckRequested) {
                f.quickAckRequested = false;
                out.quickAck(f);
            }
            out.markTx(f);
            timers.arm(f);
        }
    }

    private void appClose(TasFlow f, long now) {
        int s = f.state();
        if (s == TcpState.SYN_SENT) {
            f.error = TasError.ABORTED.ordinal();
            removeFlow(f, now, TasEvents.CLOSED);
            return;
        }
        TasByteRing rx = f.rx;
        if (s == TcpState.TIME_WAIT || s == TcpState.CLOSED) {
            return;
        }
        if (rx != null && rx.readable() > 0) {
            // Unread data would be lost silently: tell the peer (RFC 9293 3.10.4, RFC 2525 2.17).
            abortFlow(f, true, TasError.ABORTED, now);
            return;
        }
        f.finRequested(true);
        timers.finWait2Timeout(f, now);
        out.markTx(f);
    }

    /** Slow path → fast path: the flow enters this core. */
    private void install(TasFlow f, long now) {
        flows.put(f.localIp, f.localPort, f.remoteIp, f.remotePort, f);
        f.installed = true;
        f.rtoNanos(params.rtoInitNanos());
        if (f.state() == TcpState.SYN_SENT) {
            out.sendSyn(f, now);
        } else if (f.state() == TcpState.SYN_RCVD && f.sndMax() == f.iss()) {
            out.sendSynAck(f, now);
        } else if (f.madeByCookie && !f.loopback) {
            // A flow a SYN cookie made comes with its SYN-ACK sent and its final ACK handed over
            // behind the install. What came with that ACK went to the slow path as strays (no flow
            // here yet) and comes back later, after the ACK (the slow path marks both as in their
            // turn: received as they come). Until then, whatever the port brings for the flow must
            // go the same way behind them, or it would be received first, out of order (RFC 5681
            // 3.2: duplicate ACKs, a needless retransmission). So the flow starts on a detour with
            // nothing of ours out: the first segment sent round takes ticket 1, and the detour ends
            // when the last one sent is back (or with the flow).
            f.rxDetour(DETOUR_NOTHING_OUT);
            openDetours++;
        }
        // Commands the application posted before the flow had a home (e.g. close while connecting).
        applyCommands(f, f.takeCommands(), now);
    }

    boolean cookiesOut(long now) {
        return engine.cookiesOut(now);
    }

    void wantLargerRxRing(TasFlow f, int size) {
        engine.wantLargerRxRing(f, size);
    }

    void wantLargerTxRing(TasFlow f, int size) {
        engine.wantLargerTxRing(f, size);
    }

    void ringMemoryLeft(TasFlow f, MemorySegment old) {
        engine.ringMemoryLeft(f, old);
    }

    /** Slow path → fast path: applies the SYN options the slow path parsed for a passive open. */
    public static void negotiatePassive(TasFlow f, TcpOptions peer, boolean ecn, TasEngineParams params) {
        int peerMss = peer.mss > 0 ? peer.mss : 536;
        f.tsOn(params.timestamps() && peer.hasTimestamp);
        f.sackOn(params.sack() && peer.sackPermitted);
        f.peerWscale(peer.windowScale);
        if (params.windowScale() && peer.windowScale >= 0) {
            f.sndWscale(peer.windowScale);
            f.rcvWscale(params.ourWindowScale(f.rxCapacityMax())); // autotuning may grow the ring
        } else {
            f.sndWscale(0);
            f.rcvWscale(0);
        }
        f.ecnOn(params.ecn() && ecn);
        f.optLen(f.tsOn() ? 12 : 0);
        f.mss(Math.max(64, Math.min(peerMss, params.mssFor(f.loopback)) - f.optLen()));
        f.tsRecent(peer.tsVal);
    }

    // ------------------------------------------------------------------ teardown
    // (Also reached from TcpInput and TcpTimers: a flow ends here, where its table entry is.)

    void enterTimeWait(TasFlow f, long now) {
        if (!engine.enterTimeWait()) {
            // Out of TIME_WAIT places: close now, as Linux does on a full tw bucket table, rather
            // than refuse new connections for the sake of old ones.
            counters.increment(TasCounter.CONN_TIME_WAIT_OVERFLOW);
            if (f.ackPending()) {
                out.sendAckNow(f, now); // the peer's FIN is still acknowledged
            }
            removeFlow(f, now, TasEvents.CLOSED);
            return;
        }
        f.state(TcpState.TIME_WAIT);
        counters.increment(TasCounter.CONN_TIME_WAIT);
        f.rtoDeadline(0);
        f.persistDeadline(0);
        f.keepaliveDeadline(0);
        f.timeWaitDeadline(now + params.timeWaitNanos());
        post(f, TasEvents.CLOSED);
        if (f.loopRefs > 0) {
            f.ringsPinned = true; // released once its looped segments are through (TcpOutput.loopRefDone)
        } else {
            engine.engineDoneWithRings(f); // TIME_WAIT needs no buffers: only the small flow object stays
        }
        timers.arm(f);
    }

    /** Normal end (LAST_ACK acknowledged, TIME_WAIT over, orphaned FIN_WAIT_2 expired). */
    void closeFlow(TasFlow f, long now) {
        boolean announced = f.state() == TcpState.TIME_WAIT;
        removeFlow(f, now, announced ? 0 : TasEvents.CLOSED);
    }

    /** Abort: optionally send RST, then remove (RFC 9293 3.10.4 ABORT). */
    void abortFlow(TasFlow f, boolean sendRst, TasError why, long now) {
        if (sendRst && (TcpState.isSynchronized(f.state()) || f.state() == TcpState.SYN_RCVD)) {
            out.sendRst(f.localIp, f.localPort, f.remoteIp, f.remotePort, f.remoteMac, f.sndNxt(), 0, false, f.loopback);
        }
        if (f.listener != null) {
            forgetUnaccepted(f);
        }
        if (f.error == 0 && why != TasError.ABORTED) {
            f.error = why.ordinal();
        }
        removeFlow(f, now, (why == TasError.ABORTED ? 0 : TasEvents.RESET) | TasEvents.CLOSED);
    }

    void removeFlow(TasFlow f, long now, int events) {
        if (f.dead) {
            return;
        }
        if (f.state() == TcpState.TIME_WAIT) {
            engine.leftTimeWait();
        }
        f.state(TcpState.CLOSED);
        f.dead = true;
        if (f.loopRefs > 0) {
            // Looped segments still point into its transmit ring: the peer takes them first (a
            // reply written just before a close with SO_LINGER 0 must still arrive, as on Linux).
            f.ringsPinned = true;
        }
        wheel.cancel(f);
        out.unlinkTx(f);
        flows.remove(f.localIp, f.localPort, f.remoteIp, f.remotePort);
        if (f.rxDetour() != 0) {
            f.rxDetour(0); // what is still out finds no flow when it comes back, and is dropped
            openDetours--;
        }
        if (events != 0) {
            post(f, events);
        }
        engine.flowDead(f);
    }

    /** A passive open that will never reach the application: free its backlog slot and its rings. */
    void forgetUnaccepted(TasFlow f) {
        ((TasListener) f.listener).unreserve();
        f.listener = null;
        engine.forgetUnaccepted(f);
    }

    void failConnect(TasFlow f, TasError why, long now) {
        f.error = why.ordinal();
        removeFlow(f, now, TasEvents.CONNECT_FAILED | TasEvents.CLOSED);
    }

    // ------------------------------------------------------------------ events

    static void post(TasFlow f, int events) {
        Object h = f.handle;
        if (h instanceof TasSocket s) {
            s.post(events);
        }
    }

    /** Frees every buffer still held (engine shutdown). */
    public void close() {
        out.close();
        PacketBuffer b;
        while ((b = loopbackIn.poll()) != null) {
            port.free(b);
        }
        while ((b = foreignTx.poll()) != null) {
            port.free(b);
        }
        while ((b = handedIn.poll()) != null) {
            port.free(b);
        }
    }

    /** Flows on this core (for shutdown and diagnostics; allocates). */
    public java.util.List<TasFlow> flowList() {
        java.util.List<TasFlow> l = new java.util.ArrayList<>();
        flows.forEach(l::add);
        return l;
    }
}
