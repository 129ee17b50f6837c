package io.tasnetty.engine.slow;

import io.tasnetty.engine.TasEngineParams;
import io.tasnetty.engine.config.TasRoute;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.fast.TasFastPath;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TasFlowTable;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.port.PacketBuffer;
import io.tasnetty.engine.port.TasPort;
import io.tasnetty.engine.port.TasRss;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;
import io.tasnetty.engine.wire.Arp;
import io.tasnetty.engine.wire.Ethernet;
import io.tasnetty.engine.wire.Icmp;
import io.tasnetty.engine.wire.Ipv4;
import io.tasnetty.engine.wire.Tcp;
import io.tasnetty.engine.wire.TcpOptions;
import org.jctools.queues.MpscArrayQueue;
import org.jctools.queues.MpscUnboundedArrayQueue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * The slow path: one agent for everything the fast path does not handle. ARP (requests, replies,
 * cache, retries with doubling timeouts), routing, active opens (port choice, ISN, ARP, then the
 * flow is installed on its fast-path core, which sends the SYN), passive opens (a SYN to a
 * listener gets a flow and a SYN-ACK at once, within the listen backlog), RSTs for segments to no
 * connection (RFC 9293 3.10.7.1), and reclaiming flows the fast path has finished with. When a
 * listener's backlog is full, SYNs are answered with SYN cookies and no state (RFC 4987, see
 * {@link TasSynCookies}); a final ACK that brings a valid cookie back creates the connection.
 */
public final class TasSlowPath {
    /** What the slow path needs from the rest of the engine. */
    public interface Engine {
        TasFastPath fastPath(int queue);

        int queues();

        /**
         * Allocates the rings of a flow of a listener's connection (sizes 0 = the configured
         * default, {@code tcp-loopback-buf-len} for a connection the engine loops to itself);
         * throws when out of memory.
         */
        TasFlow newFlow(int rxBufLen, int txBufLen, boolean loopback);

        /** A flow for a connection to {@code l}, with rings where {@code l}'s context wants them. */
        default TasFlow newFlow(TasListener l, boolean loopback) {
            return newFlow(l.rxBufLen(), l.txBufLen(), loopback);
        }

        /**
         * A flow for a passive open from the network: its record only, the rings' sizes planned
         * (they come at ESTABLISHED, from {@link #grantRings}).
         */
        TasFlow newHalfOpenFlow(TasListener l);

        /** Allocates half-open {@code f}'s planned rings into its granted fields; false when out of ring memory. */
        boolean grantRings(TasFlow f);

        /** Reclaiming {@code f}: gives back granted rings its core never adopted. */
        void releaseUnadoptedGrant(TasFlow f);

        /** Ring memory of {@code size} bytes (a power of two) from where {@code f}'s rings come; null when none is left. */
        MemorySegment allocateRing(TasFlow f, int size);

        /** Gives back ring memory {@link #allocateRing} gave for {@code f}. */
        void releaseRing(TasFlow f, MemorySegment seg);

        /** The engine no longer needs the flow's rings. */
        void engineDoneWithRings(TasFlow f);

        /** No engine thread touches the flow any more: its record's slot may be reused. */
        void flowReclaimed(TasFlow f);

        TasContext.EngineAccess access();

        boolean isLocal(int ip);

        /** Flows in TIME_WAIT: they do not count against tcp-max-flows. */
        default int timeWaitFlows() {
            return 0;
        }

        /** The kernel exception path (kni-name), or null. */
        default TasKernelPath kernelPath() {
            return null;
        }
    }

    private static final System.Logger LOG = System.getLogger(TasSlowPath.class.getName());
    private static final long REFUSAL_WARNING_INTERVAL_NANOS = 10_000_000_000L;
    private static final int ARP_CACHE_MAX = 4096;
    /** Echo replies per second at most (RFC 1122 3.2.2.6 permits limiting; keeps ping floods cheap). */
    private static final int ECHO_REPLIES_PER_SECOND = 1000;
    private static final int EPHEMERAL_LOW = 32768;
    private static final int EPHEMERAL_HIGH = 60999;

    private final TasEngineParams params;
    private final TasPort port;
    private final TasCounters counters;
    /** When the last "refusing connections" warning was logged (0: never). */
    private long lastRefusalWarning;
    private long echoWindowStart;
    private int echoRepliesInWindow;
    private final Engine engine;
    private final TasIsn isn;
    private final TasSynCookies cookies;
    private final MpscArrayQueue<PacketBuffer> exceptions = new MpscArrayQueue<>(4096);
    private final MpscUnboundedArrayQueue<Runnable> control = new MpscUnboundedArrayQueue<>(256);
    private final TasFlowTable<TasFlow> allFlows = new TasFlowTable<>(1024);
    private final TcpOptions opts = new TcpOptions();
    /** The SYN options a valid cookie restores (what {@link TasFastPath#negotiatePassive} reads). */
    private final TcpOptions cookieOpts = new TcpOptions();
    private final PacketBuffer[] one = new PacketBuffer[1];
    /** Bounded, least recently used first out: spoofed ARP traffic cannot grow it without limit. */
    private final Map<Integer, Neighbour> arpCache = new java.util.LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, Neighbour> eldest) {
            return size() > ARP_CACHE_MAX;
        }
    };
    /**
     * Installed flows per next hop: whether an aged entry is worth re-validating, and whether a
     * MAC change has flows to move (so ARP for unused addresses never costs a walk over the flows).
     */
    private final Map<Integer, Integer> flowsPerHop = new HashMap<>();
    /** When {@link #neighbourTimers} next has something to do (Long.MAX_VALUE: nothing). */
    private long neighbourCheckNanos = Long.MAX_VALUE;
    private final Map<Integer, ArpPending> arpPending = new HashMap<>();
    private final List<TasRoute> routes;
    /** RFC 6056 3.3.4 (double-hash port selection): F gives each destination its own offset ... */
    private final TasSipHash portOffset;
    /** ... and G picks one of these counters, so successive ports to one destination simply count up. */
    private final int[] portCounters = new int[256];
    private volatile Thread thread;
    private volatile boolean sleeping;

    /**
     * An ARP cache entry, aged as Linux's neighbour table: REACHABLE for {@link #ARP_REACHABLE_NANOS}
     * after the last confirmation (a reply to us), then, if a flow still goes through it, probed
     * by unicast ({@link #ARP_UNICAST_PROBES}) and then broadcast ({@link #ARP_BROADCAST_PROBES})
     * requests {@link #ARP_PROBE_INTERVAL_NANOS} apart before it is dropped; flows keep the MAC
     * meanwhile. An unused entry is simply forgotten at that point (Linux's garbage collection).
     */
    private static final class Neighbour {
        long mac;
        long confirmedNanos;
        /** When the MAC was last set (Linux's locktime guards against flapping between two answers). */
        long changedNanos;
        /** Re-validation requests sent since the last confirmation (0: reachable). */
        int probes;
        long nextProbeNanos;

        Neighbour(long mac, long now) {
            this.mac = mac;
            this.confirmedNanos = now;
            this.changedNanos = now;
        }
    }

    /** Linux's base_reachable_time (30 s; Linux randomises it to 15-45 s per entry). */
    static final long ARP_REACHABLE_NANOS = 30_000_000_000L;
    /** Linux's retrans_time_ms: between re-validation requests. */
    static final long ARP_PROBE_INTERVAL_NANOS = 1_000_000_000L;
    /** Linux's ucast_probes, then as many broadcasts (mcast_resolicit) before giving up. */
    static final int ARP_UNICAST_PROBES = 3;
    static final int ARP_BROADCAST_PROBES = 3;
    /** Linux's locktime: a different MAC in an answer within this long of the last change is ignored. */
    static final long ARP_LOCKTIME_NANOS = 1_000_000_000L;

    private static final class ArpPending {
        final List<TasFlow> waiting = new ArrayList<>();
        long deadline;
        long timeout;
        int attempts;
    }

    public TasSlowPath(TasEngineParams params, TasPort port, TasCounters counters, Engine engine,
                       List<TasRoute> routes, long k0, long k1) {
        this.params = params;
        this.port = port;
        this.counters = counters;
        this.engine = engine;
        this.routes = List.copyOf(routes);
        this.isn = new TasIsn(k0, k1);
        this.cookies = new TasSynCookies(k0, k1);
        // A key of its own (derived, so seed reproduces it): port choice must not reveal the ISN key.
        this.portOffset = new TasSipHash(k0 ^ 0x5deece66dL, Long.rotateLeft(k1, 17) ^ 0x2545f4914f6cdd1dL);
    }

    public TasCounters counters() {
        return counters;
    }

    // ------------------------------------------------------------------ cross-thread entry points

    /** Fast path: a packet it does not handle. Ownership passes on success. */
    public boolean exception(PacketBuffer buf) {
        if (!exceptions.offer(buf)) {
            return false;
        }
        wake();
        return true;
    }

    /** Any thread: run {@code r} on the slow path. */
    public void control(Runnable r) {
        control.offer(r);
        wake();
    }

    private void wake() {
        if (sleeping) {
            Thread t = thread;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    // ------------------------------------------------------------------ duty cycle

    public int doWork(long now) {
        int work = 0;
        Runnable r;
        while ((r = control.relaxedPoll()) != null) {
            r.run();
            work++;
        }
        for (int i = 0; i < 256; i++) {
            PacketBuffer b = exceptions.relaxedPoll();
            if (b == null) {
                break;
            }
            if ((b.flags & PacketBuffer.RX_COOKIE_CHECK) != 0 && cookieForHalfOpen(b, now)) {
                work++;
                continue;
            }
            if ((b.flags & PacketBuffer.RX_NEEDS_RINGS) != 0 && grantRings(b, now)) {
                work++;
                continue;
            }
            if (steer(b)) {
                work++;
                continue;
            }
            boolean kept = false;
            try {
                kept = handle(b, now);
            } finally {
                if (!kept) {
                    port.free(b);
                }
            }
            work++;
        }
        work += arpTimers(now);
        return work;
    }

    /** Blocks until a command, an exception or the next ARP deadline. */
    public void idle(long now, long maxNanos) {
        thread = Thread.currentThread();
        long timeout = maxNanos;
        for (ArpPending p : arpPending.values()) {
            timeout = Math.min(timeout, Math.max(0, p.deadline - now));
        }
        if (neighbourCheckNanos != Long.MAX_VALUE) {
            timeout = Math.min(timeout, Math.max(0, neighbourCheckNanos - now));
        }
        sleeping = true;
        try {
            if (!control.isEmpty() || !exceptions.isEmpty() || timeout == 0) {
                return;
            }
            LockSupport.parkNanos(this, timeout);
        } finally {
            sleeping = false;
        }
    }

    // ------------------------------------------------------------------ packets

    /** Handles one exception; true when {@code b} was passed on (the caller then does not free it). */
    private boolean handle(PacketBuffer b, long now) {
        MemorySegment s = b.segment;
        long o = b.offset;
        int type = Ethernet.etherType(s, o);
        TasKernelPath kernel = engine.kernelPath();
        if (type == Ethernet.TYPE_ARP) {
            arp(s, o + Ethernet.HEADER_LENGTH, b.length - Ethernet.HEADER_LENGTH, now);
            if (kernel != null) {
                kernel.toKernel(b, counters); // the kernel keeps its own neighbour table (same MAC, same address)
            }
            return false;
        }
        long ipOff = o + Ethernet.HEADER_LENGTH;
        if (kernel == null && isEchoRequest(s, ipOff, b.length)) {
            echoReply(b, now); // with kni-name the kernel answers pings (same address)
            return false;
        }
        if (kernel != null && !isEngineTcp(s, ipOff)) {
            kernel.toKernel(b, counters); // not IPv4, not TCP, not for us, or a fragment (the fast path sent it on)
            return false;
        }
        if (Ipv4.protocol(s, ipOff) != Ipv4.PROTO_TCP) {
            counters.increment(TasCounter.DROP_NOT_TCP); // ICMP the engine does not act on
            return false;
        }
        // The fast path validated Ethernet, IPv4 (incl. checksum) and the TCP header and checksum.
        int ihl = Ipv4.headerLength(s, ipOff);
        long tcpOff = ipOff + ihl;
        int tcpLen = Ipv4.totalLength(s, ipOff) - ihl;
        int thl = Tcp.headerLength(s, tcpOff);
        int srcIp = Ipv4.src(s, ipOff);
        int dstIp = Ipv4.dst(s, ipOff);
        int srcPort = Tcp.srcPort(s, tcpOff);
        int dstPort = Tcp.dstPort(s, tcpOff);
        int flags = Tcp.flags(s, tcpOff);
        int seq = Tcp.seq(s, tcpOff);
        int ack = Tcp.ack(s, tcpOff);
        int payload = tcpLen - thl;
        long srcMac = Ethernet.src(s, o);
        // kni-name: segments for no flow of ours may belong to the kernel's connections or listeners
        // (never loopback ones: those stay ours, and get RST).
        boolean kernelMayOwn = kernel != null && !engine.isLocal(srcIp);
        if ((flags & Tcp.RST) != 0) {
            if (kernelMayOwn && allFlows.get(dstIp, dstPort, srcIp, srcPort) == null) {
                kernel.toKernel(b, counters);
                return false;
            }
            counters.increment(TasCounter.DROP_NO_FLOW); // never answer a RST (RFC 9293 3.10.7.1)
            return false;
        }
        TasFlow known = allFlows.get(dstIp, dstPort, srcIp, srcPort);
        if (known != null && !known.dead) {
            // Installing right now (or waiting for ARP): the fast path answers from here on.
            counters.increment(TasCounter.DROP_FLOW_NOT_READY);
            return false;
        }
        // The same four-tuple's last connection has ended (its core removed it; reclaim is queued):
        // the tuple is free for a new SYN (one that ended TIME_WAIT, RFC 6191, or a client's next
        // attempt); reclaim(known) then sees that the tuple is no longer its own.
        if (known != null && (flags & (Tcp.SYN | Tcp.ACK)) == Tcp.SYN) {
            allFlows.remove(dstIp, dstPort, srcIp, srcPort);
        }
        // A SYN that ended TIME_WAIT: the new ISS starts beyond the old connection's SND.NXT, as
        // on Linux, so that a peer without timestamps cannot take old segments for new ones.
        boolean haveMinIss = (b.flags & PacketBuffer.RX_REOPENS_TIME_WAIT) != 0;
        int minIss = b.minIss;
        if ((flags & (Tcp.SYN | Tcp.ACK)) == Tcp.SYN) {
            TasListener l = listenerFor(dstIp, dstPort);
            if (l == null && kernelMayOwn) {
                kernel.toKernel(b, counters); // the kernel answers: its listener, or its RST
                return false;
            }
            if (l == null) {
                counters.increment(TasCounter.CONN_NO_LISTENER);
                rst(dstIp, dstPort, srcIp, srcPort, srcMac, 0, seq + payload + 1, true);
                return false;
            }
            if (!opts.parse(s, tcpOff + Tcp.MIN_HEADER_LENGTH, thl - Tcp.MIN_HEADER_LENGTH)) {
                counters.increment(TasCounter.DROP_MALFORMED_TCP);
                return false;
            }
            passiveOpen(l, dstIp, dstPort, srcIp, srcPort, srcMac, seq,
                (flags & (Tcp.ECE | Tcp.CWR)) == (Tcp.ECE | Tcp.CWR), haveMinIss, minIss, now);
            return false;
        }
        if ((flags & (Tcp.SYN | Tcp.ACK)) == Tcp.ACK && cookies.mayValidate(now)) {
            // RFC 4987 3.6: an ACK for no connection may complete a handshake answered with a cookie.
            TasListener l = listenerFor(dstIp, dstPort);
            if (l != null) {
                if (!opts.parse(s, tcpOff + Tcp.MIN_HEADER_LENGTH, thl - Tcp.MIN_HEADER_LENGTH)) {
                    counters.increment(TasCounter.DROP_MALFORMED_TCP);
                    return false;
                }
                if (known != null) {
                    allFlows.remove(dstIp, dstPort, srcIp, srcPort); // ended; its reclaim is queued (see above)
                }
                return cookieAck(b, l, dstIp, dstPort, srcIp, srcPort, srcMac, seq, ack, now);
            }
        }
        if (kernelMayOwn) {
            kernel.toKernel(b, counters); // a segment of one of the kernel's connections, or a stray it answers
            return false;
        }
        counters.increment(TasCounter.DROP_NO_FLOW);
        // RFC 9293 3.10.7.1 (CLOSED): with ACK, <SEQ=SEG.ACK><CTL=RST>; else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
        int segLen = payload + ((flags & Tcp.SYN) != 0 ? 1 : 0) + ((flags & Tcp.FIN) != 0 ? 1 : 0);
        if ((flags & Tcp.ACK) != 0) {
            rst(dstIp, dstPort, srcIp, srcPort, srcMac, ack, 0, false);
        } else {
            rst(dstIp, dstPort, srcIp, srcPort, srcMac, 0, seq + segLen, true);
        }
        return false;
    }

    /**
     * Hands a segment of a flow placed on a fast path (installed, or its install queued) to that
     * flow's core, when it missed the table of the core it arrived on: the port put it on another
     * queue than {@link TasPort#flowQueue} said (a device hash the port does not model, af_packet
     * fanout, tap queue selection, a redirection table changed since), or it came just before its
     * install. Whatever its flags (a RST, a SYN): on the right queue the flow's core would have
     * taken it too. Returns false, keeping nothing, when {@code b} is not such a segment: a flow
     * waiting for ARP has no queue yet, so its segments still end as DROP_FLOW_NOT_READY.
     */
    private boolean steer(PacketBuffer b) {
        MemorySegment s = b.segment;
        long ipOff = b.offset + Ethernet.HEADER_LENGTH;
        // An IPv4/TCP segment for us reaches this queue only after its core validated it; all else
        // here (ARP, frames for the kernel path) is not a flow's.
        TasFlow f;
        if (isEngineTcp(s, ipOff)) {
            long tcpOff = ipOff + Ipv4.headerLength(s, ipOff);
            f = allFlows.get(Ipv4.dst(s, ipOff), Tcp.dstPort(s, tcpOff), Ipv4.src(s, ipOff), Tcp.srcPort(s, tcpOff));
        } else if (isFragNeeded(s, ipOff, b.length)) {
            // RFC 1191: the flow's core lowers its MSS (its record is that core's to change).
            long inner = Icmp.quotedIp(ipOff + Ipv4.headerLength(s, ipOff));
            long tcp = inner + Ipv4.headerLength(s, inner);
            f = allFlows.get(Ipv4.src(s, inner), Tcp.srcPort(s, tcp), Ipv4.dst(s, inner), Tcp.dstPort(s, tcp));
            if (f == null || f.dead || f.queue < 0) {
                counters.increment(TasCounter.DROP_ICMP_INVALID);
                port.free(b);
                return true;
            }
        } else {
            return false;
        }
        // A flow its core has already removed (an abort, a reset) is not steered: the segment is
        // a stray now, answered as for no connection (RFC 9293 3.10.7.1). Segments its core sent
        // behind a passive open's first flight, which waits here for its rings, come back this way
        // too, after it (see TasFastPath.detour).
        int q = f == null || f.dead ? -1 : f.queue;
        if (q < 0) {
            return false;
        }
        if (f.madeByCookie && b.detourFlow == null) {
            inTurn(b, f); // behind the cookie's ACK in our FIFO (see TasFastPath#install)
        }
        if (engine.fastPath(q).handOver(b)) {
            counters.increment(TasCounter.RX_STEERED);
        } else {
            counters.increment(TasCounter.DROP_STEERED_QUEUE_FULL);
            port.free(b);
        }
        return true;
    }

    /**
     * An ICMP fragmentation-needed message (checksum verified by the fast path) quoting a TCP
     * segment the engine sent: its IP header and the 8 bytes of TCP that carry the ports and SEQ.
     */
    private boolean isFragNeeded(MemorySegment s, long ipOff, int frameLen) {
        if (Ethernet.etherType(s, ipOff - Ethernet.HEADER_LENGTH) != Ethernet.TYPE_IPV4
            || Ipv4.protocol(s, ipOff) != Ipv4.PROTO_ICMP || Ipv4.isFragment(s, ipOff)) {
            return false;
        }
        int ihl = Ipv4.headerLength(s, ipOff);
        long icmp = ipOff + ihl;
        int icmpLen = Math.min(Ipv4.totalLength(s, ipOff), frameLen - Ethernet.HEADER_LENGTH) - ihl;
        if (icmpLen < Icmp.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH + Icmp.QUOTED_L4_BYTES
            || Icmp.type(s, icmp) != Icmp.TYPE_DEST_UNREACHABLE || Icmp.code(s, icmp) != Icmp.CODE_FRAG_NEEDED) {
            return false;
        }
        long inner = Icmp.quotedIp(icmp);
        int innerIhl = Ipv4.headerLength(s, inner);
        return Ipv4.version(s, inner) == Ipv4.VERSION && Ipv4.protocol(s, inner) == Ipv4.PROTO_TCP
            && innerIhl >= Ipv4.MIN_HEADER_LENGTH
            && icmpLen >= Icmp.HEADER_LENGTH + innerIhl + Icmp.QUOTED_L4_BYTES
            && engine.isLocal(Ipv4.src(s, inner));
    }

    /** An unfragmented IPv4/TCP packet to one of the engine's addresses (what the engine consumes). */
    private boolean isEngineTcp(MemorySegment s, long ipOff) {
        return Ethernet.etherType(s, ipOff - Ethernet.HEADER_LENGTH) == Ethernet.TYPE_IPV4
            && Ipv4.protocol(s, ipOff) == Ipv4.PROTO_TCP && !Ipv4.isFragment(s, ipOff)
            && engine.isLocal(Ipv4.dst(s, ipOff));
    }

    private TasListener listenerFor(int ip, int port) {
        return listeners.lookup(ip, port);
    }

    private void passiveOpen(TasListener l, int localIp, int localPort, int remoteIp, int remotePort, long remoteMac,
                             int seq, boolean ecn, boolean haveMinIss, int minIss, long now) {
        if (!l.tryReserve()) {
            if (!l.isOpen() || l.acceptQueueFull()) {
                // Closing (the peer retransmits, then gets RST), or the application is behind on
                // accepting: no cookie either, as Linux, since the final ACK would find no room
                // and a client that waits for the server to speak first would wait forever.
                counters.increment(TasCounter.CONN_BACKLOG_FULL);
                return;
            }
            synCookie(l, localIp, localPort, remoteIp, remotePort, remoteMac, seq, ecn, now);
            return;
        }
        // Out of flows or ring memory: refuse at once with a RST (as Linux's tcp_abort_on_overflow)
        // rather than let the client retransmit SYNs into a wall until it times out.
        if (liveFlows() >= params.maxFlows()) {
            l.unreserve();
            counters.increment(TasCounter.CONN_FLOW_TABLE_FULL);
            refuse(localIp, localPort, remoteIp, remotePort, remoteMac, 0, seq + 1, true, now,
                "the flow table is full (tcp-max-flows=" + params.maxFlows() + ")");
            return;
        }
        // A connection from the network gets its rings when the handshake completes (see
        // grantRings), so a SYN costs its record only. One the engine loops to itself gets them
        // now: its peer is a local application, and looped segments point into rings.
        boolean local = engine.isLocal(remoteIp);
        TasFlow f;
        try {
            f = local ? engine.newFlow(l, true) : engine.newHalfOpenFlow(l);
        } catch (RuntimeException e) {
            l.unreserve();
            counters.increment(TasCounter.CONN_BUFFER_EXHAUSTED);
            refuse(localIp, localPort, remoteIp, remotePort, remoteMac, 0, seq + 1, true, now, e.getMessage());
            return;
        }
        f.localIp = localIp;
        f.localPort = localPort;
        f.remoteIp = remoteIp;
        f.remotePort = remotePort;
        f.loopback = engine.isLocal(remoteIp);
        f.remoteMac = f.loopback ? params.mac() : remoteMac;
        if (!f.loopback) {
            learnNeighbour(remoteIp, remoteMac, now);
        }
        f.irs(seq);
        f.rcvNxt(seq + 1);
        int iss = isn.isn(localIp, localPort, remoteIp, remotePort, now);
        f.iss(haveMinIss && io.tasnetty.engine.flow.TasSeq.lt(iss, minIss) ? minIss : iss);
        f.sndUna(f.iss());
        f.sndNxt(f.iss());
        f.sndMax(f.iss());
        f.recover(f.iss()); // RFC 6582 3.2 step 1
        f.state(TcpState.SYN_RCVD);
        f.listener = l;
        TasFastPath.negotiatePassive(f, opts, ecn, params);
        TasConnection.forPassiveOpen(engine.access(), f);
        counters.increment(TasCounter.CONN_PASSIVE_OPENS);
        install(f);
    }

    /** Any thread: whether SYN cookies sent lately may still come back. */
    public boolean cookiesOut(long now) {
        return cookies.mayValidate(now);
    }

    /**
     * An ACK a half-open connection refused (another ISS) while cookies are out. If it brings a
     * valid cookie for that connection's SYN (its ISN), the peer took our cookie SYN-ACK rather
     * than the connection's own (a retransmitted SYN made the connection after the cookie went
     * out): the core moves the connection onto the cookie (TasFlow.cookieRebase) and the ACK
     * goes back to it. Otherwise RST, as the core would have sent (RFC 9293 3.10.7.4,
     * SYN-RECEIVED: an unacceptable ACK gets {@code <SEQ=SEG.ACK><CTL=RST>}). Returns false when
     * the connection is gone or no longer half-open: the segment is then handled as any other.
     */
    private boolean cookieForHalfOpen(PacketBuffer b, long now) {
        b.flags &= ~PacketBuffer.RX_COOKIE_CHECK;
        MemorySegment s = b.segment;
        long ipOff = b.offset + Ethernet.HEADER_LENGTH;
        long tcpOff = ipOff + Ipv4.headerLength(s, ipOff);
        int localIp = Ipv4.dst(s, ipOff);
        int localPort = Tcp.dstPort(s, tcpOff);
        int remoteIp = Ipv4.src(s, ipOff);
        int remotePort = Tcp.srcPort(s, tcpOff);
        TasFlow f = allFlows.get(localIp, localPort, remoteIp, remotePort);
        TasListener l = f == null ? null : (TasListener) f.listener;
        if (f == null || f.dead || f.queue < 0 || l == null) {
            return false;
        }
        int thl = Tcp.headerLength(s, tcpOff);
        if (!opts.parse(s, tcpOff + Tcp.MIN_HEADER_LENGTH, thl - Tcp.MIN_HEADER_LENGTH)) {
            counters.increment(TasCounter.DROP_MALFORMED_TCP);
            port.free(b);
            return true;
        }
        int seq = Tcp.seq(s, tcpOff);
        int ack = Tcp.ack(s, tcpOff);
        boolean ts = params.timestamps() && opts.hasTimestamp;
        int tsBits = ts ? opts.tsEcr & TasSynCookies.TS_OPTION_BITS : -1;
        int mssClass = seq - 1 != f.irs() ? -1
            : cookies.check(localIp, localPort, remoteIp, remotePort, seq - 1, tsBits, ack - 1, now);
        if (mssClass < 0) {
            counters.increment(TasCounter.SYN_COOKIES_FAILED);
            rst(localIp, localPort, remoteIp, remotePort, Ethernet.src(s, b.offset), ack, 0, false);
            port.free(b);
            return true;
        }
        f.cookieRebase = new TasFlow.CookieRebase(ack - 1, TasSynCookies.MSS_CLASSES[mssClass],
            ts ? TasSynCookies.wscaleOf(tsBits) : -1, ts && TasSynCookies.sackOf(tsBits), ts,
            ts && TasSynCookies.ecnOf(tsBits), params.ourWindowScale(rxCapacity(l)));
        counters.increment(TasCounter.SYN_COOKIES_VALIDATED);
        if (engine.fastPath(f.queue).handOver(b)) {
            counters.increment(TasCounter.RX_STEERED);
        } else {
            counters.increment(TasCounter.DROP_STEERED_QUEUE_FULL); // the peer retransmits; the rebase waits
            port.free(b);
        }
        return true;
    }

    /**
     * The ACK that completes a passive open whose connection has no rings yet (its core passed it
     * on, unprocessed): allocate them now, at ESTABLISHED, and hand the ACK back to the core,
     * which adopts them and establishes the connection. Without ring memory the connection is
     * refused visibly, never left to hang: counted in conn_buffer_exhausted, and its core resets
     * it (a RST to the peer, whose final ACK we cannot take, as Linux's tcp_abort_on_overflow).
     * Returns false when the flow is gone meanwhile: the segment is then handled as any stray.
     */
    private boolean grantRings(PacketBuffer b, long now) {
        b.flags &= ~PacketBuffer.RX_NEEDS_RINGS;
        MemorySegment s = b.segment;
        long ipOff = b.offset + Ethernet.HEADER_LENGTH;
        long tcpOff = ipOff + Ipv4.headerLength(s, ipOff);
        TasFlow f = allFlows.get(Ipv4.dst(s, ipOff), Tcp.dstPort(s, tcpOff), Ipv4.src(s, ipOff), Tcp.srcPort(s, tcpOff));
        if (f == null || f.dead || f.queue < 0 || (b.detourFlow != null && b.detourFlow != f)) {
            return false; // (the last: a new connection on the same ports; this ACK was for the old one)
        }
        TasFastPath fp = engine.fastPath(f.queue);
        // A retransmitted final ACK may come while the first one's grant is on its way: one grant.
        if (f.grantedRx == null && !engine.grantRings(f)) {
            counters.increment(TasCounter.CONN_BUFFER_EXHAUSTED);
            port.free(b);
            warnRefusal(f.localIp, f.localPort, now, "no ring memory left for an established connection, which"
                + " needs " + (f.rxPlanned + f.txPlanned) + " bytes (raise shm-len, or lower tcp-rxbuf-len/tcp-txbuf-len)");
            fp.command(f, TasFlow.CMD_ABORT); // RST to the peer, backlog slot freed
            return true;
        }
        if (fp.handOver(b)) {
            counters.increment(TasCounter.RX_RINGS_GRANTED);
        } else {
            // The peer retransmits (or our SYN-ACK does, and its ACK comes again): the grant stays.
            counters.increment(TasCounter.DROP_STEERED_QUEUE_FULL);
            port.free(b);
        }
        return true;
    }

    /**
     * Refuses a connection the engine has no resources for (its SYN, or the final ACK of a cookie
     * handshake): a RST (RFC 9293 3.10.7.1's form for what it answers), and a warning at most
     * every 10 s.
     */
    private void refuse(int localIp, int localPort, int remoteIp, int remotePort, long remoteMac, int rstSeq,
                        int rstAck, boolean withAck, long now, String why) {
        rst(localIp, localPort, remoteIp, remotePort, remoteMac, rstSeq, rstAck, withAck);
        warnRefusal(localIp, localPort, now, why);
    }

    /** The refusal warning, at most every 10 s (the counters say how many). */
    private void warnRefusal(int localIp, int localPort, long now, String why) {
        if (lastRefusalWarning == 0 || now - lastRefusalWarning >= REFUSAL_WARNING_INTERVAL_NANOS) {
            lastRefusalWarning = now;
            LOG.log(System.Logger.Level.WARNING, "refusing connections to {0}:{1}: {2} (counted in"
                + " conn_flow_table_full and conn_buffer_exhausted)", Ipv4.toString(localIp), localPort, why);
        }
    }

    /**
     * The largest receive ring a connection of {@code l} may get (as {@code Engine.newFlow} sizes
     * it, autotuning included): what a cookie SYN-ACK's window scale must cover.
     */
    private int rxCapacity(TasListener l) {
        int initial = io.tasnetty.engine.flow.TasByteRing.roundUp(l.rxBufLen() > 0 ? l.rxBufLen() : params.rxBufLen());
        boolean tuned = l.rxBufLen() <= 0 && l.ringAllocator() == null;
        return tuned ? Math.max(initial, io.tasnetty.engine.flow.TasByteRing.roundUp(params.rxBufMax())) : initial;
    }

    /**
     * RFC 4987 3.6: the backlog is full (of half-open connections, a SYN flood perhaps), so answer
     * with a SYN-ACK whose ISS is a cookie and keep nothing. The options the client offered come
     * back only through the timestamp (see {@link TasSynCookies}); without one, the SYN-ACK offers
     * no window scaling, SACK or ECN, since nothing could remember what the client asked for.
     */
    private void synCookie(TasListener l, int localIp, int localPort, int remoteIp, int remotePort, long remoteMac,
                           int seq, boolean ecnOffered, long now) {
        boolean loop = engine.isLocal(remoteIp);
        int rxCap = rxCapacity(l);
        boolean ts = params.timestamps() && opts.hasTimestamp;
        boolean wscale = ts && params.windowScale() && opts.windowScale >= 0;
        boolean sack = ts && params.sack() && opts.sackPermitted;
        boolean ecn = ts && params.ecn() && ecnOffered;
        int tsBits = ts ? TasSynCookies.tsBits(wscale ? opts.windowScale : -1, sack, ecn) : -1;
        int mssClass = TasSynCookies.mssClass(opts.mss);
        int iss = cookies.cookie(localIp, localPort, remoteIp, remotePort, seq, mssClass, tsBits, now);
        PacketBuffer b = alloc();
        if (b == null) {
            counters.increment(TasCounter.CONN_BACKLOG_FULL); // no buffer for the answer: the client retries
            return;
        }
        MemorySegment s = b.segment;
        long o = b.offset;
        long ipOff = o + Ethernet.HEADER_LENGTH;
        long tcpOff = ipOff + Ipv4.MIN_HEADER_LENGTH;
        int optLen = TcpOptions.writeSynOptions(s, tcpOff + Tcp.MIN_HEADER_LENGTH, params.mssFor(loop),
            wscale ? params.ourWindowScale(rxCap) : -1, sack, ts,
            ts ? TasSynCookies.tsVal(tsBits, now) : 0, ts ? opts.tsVal : 0);
        int hdr = Tcp.MIN_HEADER_LENGTH + optLen;
        Ethernet.write(s, o, loop ? params.mac() : remoteMac, params.mac(), Ethernet.TYPE_IPV4);
        Ipv4.writeHeader(s, ipOff, Ipv4.MIN_HEADER_LENGTH + hdr, 0, Ipv4.ECN_NOT_ECT, Ipv4.DEFAULT_TTL,
            Ipv4.PROTO_TCP, localIp, remoteIp);
        // RFC 7323 2.2: the window of a SYN-ACK is never scaled.
        int rxInitial = io.tasnetty.engine.flow.TasByteRing.roundUp(l.rxBufLen() > 0 ? l.rxBufLen() : params.rxBufLen());
        Tcp.writeHeader(s, tcpOff, localPort, remotePort, iss, seq + 1, hdr, Tcp.SYN | Tcp.ACK | (ecn ? Tcp.ECE : 0),
            Math.min(65535, Math.min(rxInitial, rxCap)));
        Ipv4.headerChecksum(s, ipOff, Ipv4.computeHeaderChecksum(s, ipOff, Ipv4.MIN_HEADER_LENGTH));
        Tcp.checksum(s, tcpOff, Tcp.checksum(s, tcpOff, hdr, localIp, remoteIp));
        b.length = Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH + hdr;
        counters.increment(TasCounter.SYN_COOKIES_SENT);
        send(b);
    }

    /**
     * An ACK for no connection to listener {@code l} while cookies are out: if SEG.ACK - 1 is a
     * cookie we made for this client's SYN (SEG.SEQ - 1 its ISN), create the connection as the SYN
     * would have, in SYN-RECEIVED with its SYN-ACK sent, install it, and hand it this ACK, which
     * establishes it at once and queues it for accept (data on the ACK is received too). Otherwise
     * RST, as for any ACK to a listener (RFC 9293 3.10.7.2). Returns true when {@code b} went on.
     */
    private boolean cookieAck(PacketBuffer b, TasListener l, int localIp, int localPort, int remoteIp, int remotePort,
                              long remoteMac, int seq, int ack, long now) {
        boolean ts = params.timestamps() && opts.hasTimestamp;
        int tsBits = ts ? opts.tsEcr & TasSynCookies.TS_OPTION_BITS : -1;
        int mssClass = cookies.check(localIp, localPort, remoteIp, remotePort, seq - 1, tsBits, ack - 1, now);
        if (mssClass < 0) {
            counters.increment(TasCounter.SYN_COOKIES_FAILED);
            rst(localIp, localPort, remoteIp, remotePort, remoteMac, ack, 0, false);
            return false;
        }
        if (!l.tryReserveAccepted()) {
            // Linux drops it too (its accept queue overflows): the client retransmits what it
            // sends next, and that ACK still carries the cookie.
            counters.increment(TasCounter.CONN_BACKLOG_FULL);
            return false;
        }
        if (liveFlows() >= params.maxFlows()) {
            l.unreserve();
            counters.increment(TasCounter.CONN_FLOW_TABLE_FULL);
            refuse(localIp, localPort, remoteIp, remotePort, remoteMac, ack, 0, false, now,
                "the flow table is full (tcp-max-flows=" + params.maxFlows() + ")");
            return false;
        }
        TasFlow f;
        try {
            f = engine.newFlow(l, engine.isLocal(remoteIp));
        } catch (RuntimeException e) {
            l.unreserve();
            counters.increment(TasCounter.CONN_BUFFER_EXHAUSTED);
            refuse(localIp, localPort, remoteIp, remotePort, remoteMac, ack, 0, false, now, e.getMessage());
            return false;
        }
        f.localIp = localIp;
        f.localPort = localPort;
        f.remoteIp = remoteIp;
        f.remotePort = remotePort;
        f.loopback = engine.isLocal(remoteIp);
        f.remoteMac = f.loopback ? params.mac() : remoteMac;
        if (!f.loopback) {
            learnNeighbour(remoteIp, remoteMac, now);
        }
        f.irs(seq - 1);
        f.rcvNxt(seq);
        f.iss(ack - 1);
        f.sndUna(f.iss());
        f.sndNxt(ack); // our SYN-ACK went out with the cookie
        f.sndMax(ack);
        f.recover(f.iss()); // RFC 6582 3.2 step 1
        f.state(TcpState.SYN_RCVD);
        f.listener = l;
        TcpOptions syn = cookieOpts;
        syn.clear();
        syn.mss = TasSynCookies.MSS_CLASSES[mssClass];
        boolean ecn = false;
        if (ts) {
            syn.windowScale = TasSynCookies.wscaleOf(tsBits);
            syn.sackPermitted = TasSynCookies.sackOf(tsBits);
            ecn = TasSynCookies.ecnOf(tsBits);
            syn.hasTimestamp = true;
            syn.tsVal = opts.tsVal; // TS.Recent: this ACK's (RFC 7323 4.3)
        }
        TasFastPath.negotiatePassive(f, syn, ecn, params);
        if (params.windowScale() && syn.windowScale >= 0) {
            // The scale our cookie SYN-ACK announced, whatever ring this connection got (a looped
            // one gets tcp-loopback-buf-len): announcing less than the ring holds is safe.
            f.rcvWscale(params.ourWindowScale(rxCapacity(l)));
        }
        TasConnection.forPassiveOpen(engine.access(), f);
        counters.increment(TasCounter.SYN_COOKIES_VALIDATED);
        f.madeByCookie = true;
        inTurn(b, f);
        install(f);
        // The install is queued before the ACK, and the core runs installs first (see handOver).
        TasFastPath fp = engine.fastPath(f.queue);
        if (fp.handOver(b)) {
            counters.increment(TasCounter.RX_STEERED);
            return true;
        }
        counters.increment(TasCounter.DROP_STEERED_QUEUE_FULL);
        fp.command(f, TasFlow.CMD_ABORT); // nothing would ever establish it: reset it (and free its slot)
        return false;
    }

    /**
     * Marks a segment of {@code f} as one the core receives when it comes, even while the flow is
     * on a detour: our FIFO put it where it belongs (a detour's ticket 0, which ends none).
     */
    private static void inTurn(PacketBuffer b, TasFlow f) {
        b.detourFlow = f;
        b.detourTicket = 0;
    }

    private void install(TasFlow f) {
        if (!f.loopback) {
            flowsPerHop.merge(nextHop(f.remoteIp), 1, Integer::sum);
        }
        f.queue = placement(f.loopback, f.localIp, f.localPort, f.remoteIp, f.remotePort);
        allFlows.put(f.localIp, f.localPort, f.remoteIp, f.remotePort, f);
        engine.fastPath(f.queue).install(f);
    }

    /**
     * The fast path of a new flow: the one whose RX queue the port delivers its packets to
     * ({@link TasPort#flowQueue}), so they need no hand-over. A looped flow never touches the
     * port: the engine's own hash, as its loopback delivery uses.
     */
    private int placement(boolean loopback, int localIp, int localPort, int remoteIp, int remotePort) {
        int queues = engine.queues();
        if (!loopback) {
            int q = port.flowQueue(localIp, localPort, remoteIp, remotePort, queues);
            if (q >= 0 && q < queues) {
                return q;
            }
        }
        return TasRss.queueFor(localIp, localPort, remoteIp, remotePort, queues);
    }

    // ------------------------------------------------------------------ active open

    /** Context → slow path: start connecting {@code c} (runs on the slow path). */
    public void connect(TasConnection c, int remoteIp, int remotePort, int localIp, int localPort, long now) {
        TasFlow f = c.flow();
        if (liveFlows() >= params.maxFlows()) {
            counters.increment(TasCounter.CONN_FLOW_TABLE_FULL);
            fail(f, TasError.NO_RESOURCES);
            return;
        }
        boolean loop = engine.isLocal(remoteIp);
        if (localIp == 0) {
            localIp = (remoteIp >>> 24) == 127 ? 0x7F000001 : params.ip();
        }
        if (localPort == 0) {
            localPort = ephemeralPort(localIp, remoteIp, remotePort);
            if (localPort < 0) {
                counters.increment(TasCounter.CONN_FLOW_TABLE_FULL);
                fail(f, TasError.NO_RESOURCES);
                return;
            }
        } else if (allFlows.get(localIp, localPort, remoteIp, remotePort) != null) {
            fail(f, TasError.NO_RESOURCES);
            return;
        }
        f.localIp = localIp;
        f.localPort = localPort;
        f.remoteIp = remoteIp;
        f.remotePort = remotePort;
        f.loopback = loop;
        f.iss(isn.isn(localIp, localPort, remoteIp, remotePort, now));
        f.sndUna(f.iss());
        f.sndNxt(f.iss());
        f.sndMax(f.iss());
        f.recover(f.iss()); // RFC 6582 3.2 step 1
        f.rcvWscale(params.ourWindowScale(f.rxCapacityMax())); // autotuning may grow the ring
        f.mss(params.mssFor(loop));
        f.state(TcpState.SYN_SENT);
        counters.increment(TasCounter.CONN_ACTIVE_OPENS);
        if (loop) {
            f.remoteMac = params.mac();
            install(f);
            return;
        }
        int hop = nextHop(remoteIp);
        if (hop == 0) {
            counters.increment(TasCounter.DROP_NO_ROUTE);
            fail(f, TasError.UNREACHABLE);
            return;
        }
        Neighbour n = arpCache.get(hop);
        if (n != null) {
            f.remoteMac = n.mac; // also while it is being re-validated, as Linux's STALE/PROBE entries
            install(f);
            return;
        }
        // Hold the tuple while ARP resolves so a second connect cannot take it.
        allFlows.put(f.localIp, f.localPort, f.remoteIp, f.remotePort, f);
        ArpPending p = arpPending.get(hop);
        if (p == null) {
            p = new ArpPending();
            p.timeout = params.arpTimeoutNanos();
            p.deadline = now + p.timeout;
            p.attempts = 1;
            arpPending.put(hop, p);
            arpRequest(hop);
        }
        p.waiting.add(f);
    }

    /**
     * RFC 6056 3.3.4, algorithm 4: the port is min + (F(addresses, remote port) + counter[G(...)])
     * mod range. An off-path attacker cannot guess ports from the ones it sees (F is keyed), one
     * destination still gets ports that do not repeat soon (its counter counts up), and many
     * destinations do not share one global sequence.
     */
    private int ephemeralPort(int localIp, int remoteIp, int remotePort) {
        int range = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
        long addresses = ((long) localIp << 32) | (remoteIp & 0xFFFFFFFFL);
        int offset = (int) Math.floorMod(portOffset.hash(addresses, remotePort & 0xFFFFL), (long) range);
        int g = (int) (portOffset.hash(addresses, (remotePort & 0xFFFFL) | 1L << 32) & (portCounters.length - 1));
        for (int i = 0; i < range; i++) {
            int p = EPHEMERAL_LOW + Math.floorMod(offset + portCounters[g]++, range);
            if (allFlows.get(localIp, p, remoteIp, remotePort) == null && !listeners.portInUse(p)) {
                return p;
            }
        }
        return -1;
    }

    /** The next hop for {@code ip}: itself inside our subnet, else the longest matching route; 0 = none. */
    /** Any thread: whether the engine's subnet or one of its routes covers {@code ip}. */
    public boolean routes(int ip) {
        return nextHop(ip) != 0;
    }

    private int nextHop(int ip) {
        int pl = params.prefixLength();
        if (pl == 0 || ((ip ^ params.ip()) >>> (32 - pl)) == 0) {
            return ip;
        }
        TasRoute best = null;
        for (TasRoute r : routes) {
            if (r.matches(ip) && (best == null || r.prefixLength() > best.prefixLength())) {
                best = r;
            }
        }
        return best == null ? 0 : best.nextHop();
    }

    private void fail(TasFlow f, TasError why) {
        f.error = why.ordinal();
        f.state(TcpState.CLOSED);
        f.dead = true;
        if (why == TasError.UNREACHABLE) {
            counters.increment(TasCounter.ARP_FAILED);
        }
        if (f.handle instanceof TasConnection c) {
            c.post(TasEvents.CONNECT_FAILED | TasEvents.CLOSED);
        }
        reclaim(f);
    }

    // ------------------------------------------------------------------ ARP (RFC 826)

    private void arp(MemorySegment s, long off, int len, long now) {
        if (!Arp.isEthernetIpv4(s, off, len)) {
            counters.increment(TasCounter.DROP_MALFORMED_ARP);
            return;
        }
        counters.increment(TasCounter.RX_ARP);
        int op = Arp.op(s, off);
        int senderIp = Arp.senderIp(s, off);
        long senderMac = Arp.senderMac(s, off);
        int targetIp = Arp.targetIp(s, off);
        boolean forUs = targetIp == params.ip();
        // RFC 826 "merge": update an existing entry (a reply, a request, or a gratuitous ARP that
        // announces a new MAC); add one when the packet is for us.
        if (senderIp != 0 && !Ethernet.isMulticast(senderMac) && senderIp != params.ip()) {
            Neighbour n = arpCache.get(senderIp);
            if (n == null && (forUs || arpPending.containsKey(senderIp))) {
                arpCache.put(senderIp, new Neighbour(senderMac, now));
                neighbourCheckNanos = Math.min(neighbourCheckNanos, now + ARP_REACHABLE_NANOS);
                counters.increment(TasCounter.ARP_RESOLVED);
            } else if (n != null && n.mac != senderMac) {
                // Linux's arp_process: a gratuitous ARP (sender = target) is an announcement and
                // always overrides; other answers only after the locktime.
                boolean gratuitous = senderIp == targetIp;
                if (gratuitous || now - n.changedNanos >= ARP_LOCKTIME_NANOS) {
                    // The neighbour moved (failover, a replaced NIC, a new gateway): established
                    // flows through it follow at once instead of sending into the void.
                    n.mac = senderMac;
                    n.changedNanos = now;
                    confirm(n, now);
                    counters.increment(TasCounter.ARP_MAC_CHANGED);
                    moveFlows(senderIp, senderMac);
                } else {
                    counters.increment(TasCounter.ARP_CHANGES_LOCKED);
                }
            } else if (n != null && forUs && op == Arp.OP_REPLY) {
                confirm(n, now); // an answer to us from the same MAC: reachable again
            }
            ArpPending p = arpPending.remove(senderIp);
            if (p != null) {
                long mac = arpCache.get(senderIp).mac; // (locktime may have kept an older answer)
                for (TasFlow f : p.waiting) {
                    if (!f.dead) {
                        f.remoteMac = mac;
                        allFlows.remove(f.localIp, f.localPort, f.remoteIp, f.remotePort);
                        install(f);
                    }
                }
            }
        }
        if (forUs && op == Arp.OP_REQUEST) {
            PacketBuffer b = alloc();
            if (b == null) {
                return;
            }
            Ethernet.write(b.segment, b.offset, senderMac, params.mac(), Ethernet.TYPE_ARP);
            Arp.write(b.segment, b.offset + Ethernet.HEADER_LENGTH, Arp.OP_REPLY, params.mac(), params.ip(),
                senderMac, senderIp);
            b.length = Ethernet.HEADER_LENGTH + Arp.LENGTH;
            send(b);
            counters.increment(TasCounter.ARP_REPLIES_SENT);
        }
    }

    private void confirm(Neighbour n, long now) {
        n.confirmedNanos = now;
        n.probes = 0;
        neighbourCheckNanos = Math.min(neighbourCheckNanos, now + ARP_REACHABLE_NANOS);
    }

    /**
     * A passive open learns its peer's next hop from the SYN's source MAC (the frame just came
     * from it, and a host beyond a router cannot choose that MAC), so that the entry ages and a
     * MAC change moves this flow too. An existing entry is left alone.
     */
    private void learnNeighbour(int remoteIp, long mac, long now) {
        int hop = nextHop(remoteIp);
        if (hop != 0 && !Ethernet.isMulticast(mac) && !arpCache.containsKey(hop)) {
            arpCache.put(hop, new Neighbour(mac, now));
            neighbourCheckNanos = Math.min(neighbourCheckNanos, now + ARP_REACHABLE_NANOS);
        }
    }

    /**
     * Points every flow whose next hop is {@code hop} at {@code mac}. The write happens on the
     * flow's own fast path (its frames are built there), through its control queue.
     */
    private void moveFlows(int hop, long mac) {
        if (!flowsPerHop.containsKey(hop)) {
            return;
        }
        allFlows.forEach(f -> {
            if (!f.loopback && !f.dead && f.queue >= 0 && f.remoteMac != mac && nextHop(f.remoteIp) == hop) {
                engine.fastPath(f.queue).control(() -> {
                    if (!f.dead) {
                        f.remoteMac = mac;
                    }
                });
                counters.increment(TasCounter.ARP_FLOWS_MOVED);
            }
        });
    }

    /** Ages the ARP cache (see {@link Neighbour}); returns the work done. */
    private int neighbourTimers(long now) {
        if (now < neighbourCheckNanos) {
            return 0;
        }
        int work = 0;
        long next = Long.MAX_VALUE;
        for (Iterator<Map.Entry<Integer, Neighbour>> it = arpCache.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Integer, Neighbour> e = it.next();
            Neighbour n = e.getValue();
            if (n.probes == 0) {
                long due = n.confirmedNanos + ARP_REACHABLE_NANOS;
                if (now < due) {
                    next = Math.min(next, due);
                    continue;
                }
                if (!flowsPerHop.containsKey(e.getKey()) && !arpPending.containsKey(e.getKey())) {
                    it.remove(); // nobody sends through it: forget it, the next connect resolves afresh
                    counters.increment(TasCounter.ARP_AGED_OUT);
                    work++;
                    continue;
                }
            } else if (now < n.nextProbeNanos) {
                next = Math.min(next, n.nextProbeNanos);
                continue;
            } else if (n.probes >= ARP_UNICAST_PROBES + ARP_BROADCAST_PROBES) {
                it.remove(); // no answer to unicast or broadcast: it is gone (its flows keep the old MAC)
                counters.increment(TasCounter.ARP_FAILED);
                work++;
                continue;
            }
            n.probes++;
            // RFC 1122 2.3.2.1: re-validate by unicast to the cached MAC first (cheap for everyone
            // else on the link), by broadcast once that went unanswered (the MAC may have changed).
            arpRequest(e.getKey(), n.probes <= ARP_UNICAST_PROBES ? n.mac : Ethernet.BROADCAST);
            n.nextProbeNanos = now + ARP_PROBE_INTERVAL_NANOS;
            next = Math.min(next, n.nextProbeNanos);
            work++;
        }
        neighbourCheckNanos = next;
        return work;
    }

    private void arpRequest(int ip) {
        arpRequest(ip, Ethernet.BROADCAST);
    }

    private void arpRequest(int ip, long dstMac) {
        PacketBuffer b = alloc();
        if (b == null) {
            return;
        }
        Ethernet.write(b.segment, b.offset, dstMac, params.mac(), Ethernet.TYPE_ARP);
        Arp.write(b.segment, b.offset + Ethernet.HEADER_LENGTH, Arp.OP_REQUEST, params.mac(), params.ip(), 0, ip);
        b.length = Ethernet.HEADER_LENGTH + Arp.LENGTH;
        send(b);
        counters.increment(TasCounter.ARP_REQUESTS_SENT);
    }

    private int arpTimers(long now) {
        int work = neighbourTimers(now);
        if (arpPending.isEmpty()) {
            return work;
        }
        for (Iterator<Map.Entry<Integer, ArpPending>> it = arpPending.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Integer, ArpPending> e = it.next();
            ArpPending p = e.getValue();
            if (now < p.deadline) {
                continue;
            }
            work++;
            if (p.attempts > params.arpRetries()) {
                it.remove();
                for (TasFlow f : p.waiting) {
                    if (!f.dead) {
                        allFlows.remove(f.localIp, f.localPort, f.remoteIp, f.remotePort);
                        fail(f, TasError.UNREACHABLE);
                    }
                }
                continue;
            }
            p.attempts++;
            p.timeout = Math.min(p.timeout * 2, params.arpTimeoutMaxNanos()); // doubling, as TAS
            p.deadline = now + p.timeout;
            arpRequest(e.getKey());
        }
        return work;
    }

    // ------------------------------------------------------------------ output

    private PacketBuffer alloc() {
        if (port.alloc(one, 1) != 1) {
            counters.increment(TasCounter.TX_NO_BUFFER);
            return null;
        }
        PacketBuffer b = one[0];
        one[0] = null;
        return b;
    }

    private void send(PacketBuffer b) {
        if (!engine.fastPath(0).transmitForeign(b)) {
            counters.increment(TasCounter.CMD_QUEUE_FULL);
            port.free(b);
        }
    }

    private boolean isEchoRequest(MemorySegment s, long ipOff, int frameLen) {
        if (Ethernet.etherType(s, ipOff - Ethernet.HEADER_LENGTH) != Ethernet.TYPE_IPV4
            || Ipv4.protocol(s, ipOff) != Ipv4.PROTO_ICMP || Ipv4.isFragment(s, ipOff)
            || Ipv4.dst(s, ipOff) != params.ip()) {
            return false;
        }
        int ihl = Ipv4.headerLength(s, ipOff);
        int icmpLen = Ipv4.totalLength(s, ipOff) - ihl;
        return icmpLen >= Icmp.HEADER_LENGTH && Ipv4.totalLength(s, ipOff) + Ethernet.HEADER_LENGTH <= frameLen
            && Icmp.type(s, ipOff + ihl) == Icmp.TYPE_ECHO_REQUEST && Icmp.code(s, ipOff + ihl) == 0;
    }

    /**
     * RFC 1122 3.2.2.6: answer an echo request with the same identifier, sequence number and data,
     * at most ECHO_REPLIES_PER_SECOND a second (the slow path must not become a reflector).
     */
    private void echoReply(PacketBuffer req, long now) {
        if (now - echoWindowStart >= 1_000_000_000L || echoWindowStart == 0) {
            echoWindowStart = now;
            echoRepliesInWindow = 0;
        }
        if (echoRepliesInWindow >= ECHO_REPLIES_PER_SECOND) {
            counters.increment(TasCounter.ICMP_ECHO_UNANSWERED);
            return;
        }
        MemorySegment rs = req.segment;
        long ro = req.offset;
        long rip = ro + Ethernet.HEADER_LENGTH;
        int ihl = Ipv4.headerLength(rs, rip);
        int total = Ipv4.totalLength(rs, rip);
        int icmpLen = total - ihl;
        PacketBuffer b = alloc();
        if (b == null) {
            counters.increment(TasCounter.ICMP_ECHO_UNANSWERED);
            return;
        }
        if (Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH + icmpLen > b.capacity) {
            port.free(b);
            counters.increment(TasCounter.DROP_ICMP_INVALID);
            return;
        }
        echoRepliesInWindow++;
        MemorySegment s = b.segment;
        long o = b.offset;
        long ipOff = o + Ethernet.HEADER_LENGTH;
        long icmpOff = ipOff + Ipv4.MIN_HEADER_LENGTH;
        Ethernet.write(s, o, Ethernet.src(rs, ro), params.mac(), Ethernet.TYPE_IPV4);
        Ipv4.writeHeader(s, ipOff, Ipv4.MIN_HEADER_LENGTH + icmpLen, 0, 0, Ipv4.DEFAULT_TTL, Ipv4.PROTO_ICMP,
            params.ip(), Ipv4.src(rs, rip));
        Ipv4.headerChecksum(s, ipOff, Ipv4.computeHeaderChecksum(s, ipOff, Ipv4.MIN_HEADER_LENGTH));
        MemorySegment.copy(rs, rip + ihl, s, icmpOff, icmpLen);
        Icmp.toEchoReply(s, icmpOff, icmpLen);
        b.length = Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH + icmpLen;
        counters.increment(TasCounter.ICMP_ECHO_REPLIES);
        send(b);
    }

    private void rst(int localIp, int localPort, int remoteIp, int remotePort, long remoteMac, int seq, int ack,
                     boolean withAck) {
        PacketBuffer b = alloc();
        if (b == null) {
            return;
        }
        MemorySegment s = b.segment;
        long o = b.offset;
        long ipOff = o + Ethernet.HEADER_LENGTH;
        long tcpOff = ipOff + Ipv4.MIN_HEADER_LENGTH;
        boolean loop = engine.isLocal(remoteIp);
        Ethernet.write(s, o, loop ? params.mac() : remoteMac, params.mac(), Ethernet.TYPE_IPV4);
        Ipv4.writeHeader(s, ipOff, Ipv4.MIN_HEADER_LENGTH + Tcp.MIN_HEADER_LENGTH, 0, Ipv4.ECN_NOT_ECT,
            Ipv4.DEFAULT_TTL, Ipv4.PROTO_TCP, localIp, remoteIp);
        Tcp.writeHeader(s, tcpOff, localPort, remotePort, seq, ack, Tcp.MIN_HEADER_LENGTH,
            Tcp.RST | (withAck ? Tcp.ACK : 0), 0);
        // The slow path always checksums in software (rare packets; keeps offload logic in one place).
        Ipv4.headerChecksum(s, ipOff, Ipv4.computeHeaderChecksum(s, ipOff, Ipv4.MIN_HEADER_LENGTH));
        Tcp.checksum(s, tcpOff, Tcp.checksum(s, tcpOff, Tcp.MIN_HEADER_LENGTH, localIp, remoteIp));
        b.length = Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH + Tcp.MIN_HEADER_LENGTH;
        counters.increment(TasCounter.CONN_RESETS_SENT);
        send(b);
    }

    // ------------------------------------------------------------------ reclaim

    /** Fast path → slow path (queued): the flow is finished; free everything it held. */
    public void flowDead(TasFlow f) {
        control(() -> reclaim(f));
    }

    private void reclaim(TasFlow f) {
        if (!f.loopback && f.queue >= 0) { // installed (a flow that failed in ARP never was)
            flowsPerHop.computeIfPresent(nextHop(f.remoteIp), (hop, n) -> n > 1 ? n - 1 : null);
        }
        TasFlow cur = allFlows.get(f.localIp, f.localPort, f.remoteIp, f.remotePort);
        if (cur == f) {
            allFlows.remove(f.localIp, f.localPort, f.remoteIp, f.remotePort);
        }
        if (!f.ringsPinned) {
            engine.engineDoneWithRings(f); // else the fast path releases them once its looped segments are through
        }
        engine.releaseUnadoptedGrant(f);
        MemorySegment grow = f.rxGrowBlock;
        if (grow != null) {
            f.rxGrowBlock = null;
            engine.releaseRing(f, grow); // a larger receive ring its core never moved to
        }
        MemorySegment txGrow = f.takeTxGrowBlock();
        if (txGrow != null) {
            engine.releaseRing(f, txGrow); // a larger transmit ring the application never moved to
        }
        engine.flowReclaimed(f);
        counters.increment(TasCounter.CONN_CLOSED);
    }

    /**
     * Fast path → slow path (queued): receive-buffer autotuning wants {@code f}'s receive ring to
     * be {@code size} bytes. The memory is allocated here, off the data path; the core moves the
     * ring once it is empty. Out of ring memory, the connection keeps its ring (counted): growth
     * is an optimisation, never a reason to refuse or reset.
     */
    public void growRxRing(TasFlow f, int size) {
        control(() -> {
            if (f.rxGrowBlock == null) { // (else one waits already; reclaim gives it back)
                allocateGrowth(f, size, TasCounter.TCP_RX_RING_GROWTH_REFUSED, m -> f.rxGrowBlock = m);
            }
        });
    }

    /**
     * Fast path → slow path (queued): send-buffer autotuning wants {@code f}'s transmit ring to be
     * {@code size} bytes. The memory is allocated here; the application moves the ring (with its
     * bytes) at its next write. Out of ring memory, the ring keeps its size (counted).
     */
    public void growTxRing(TasFlow f, int size) {
        control(() -> allocateGrowth(f, size, TasCounter.TCP_TX_RING_GROWTH_REFUSED, f::offerTxGrowBlock));
    }

    /** Slow path: ring memory for autotuning to hand to {@code to}; none for a dead flow, none left is {@code refused}. */
    private void allocateGrowth(TasFlow f, int size, TasCounter refused, java.util.function.Consumer<MemorySegment> to) {
        if (f.dead) {
            return;
        }
        MemorySegment m = engine.allocateRing(f, size);
        if (m == null) {
            counters.increment(refused);
        } else {
            to.accept(m);
        }
    }

    /** Fast path → slow path (queued): the rings of a flow whose looped segments are through. */
    public void releaseRings(TasFlow f) {
        control(() -> engine.engineDoneWithRings(f));
    }

    /** Flows that count against tcp-max-flows: all but those in TIME_WAIT. */
    private int liveFlows() {
        return allFlows.size() - engine.timeWaitFlows();
    }

    /** Live flows known to the slow path (installed or being set up). */
    public int flowCount() {
        return allFlows.size();
    }

    // ------------------------------------------------------------------ listeners

    private final TasListenerTable listeners = new TasListenerTable(EPHEMERAL_LOW, EPHEMERAL_HIGH);

    /**
     * Any thread: binds a listener on {@code ip:port} (ip 0 = every engine address; port 0 picks an
     * ephemeral port), with Linux's conflict rules ({@link TasListenerTable}). Returns the listener.
     */
    public TasListener bind(int ip, int port, TasContext.ListenerFactory factory) {
        return listeners.bind(ip, port, factory);
    }

    /** Any thread: the listener a SYN to {@code ip:port} would reach, or null. */
    public TasListener listenerAt(int ip, int port) {
        return listeners.lookup(ip, port);
    }

    /** Any thread: stops a listener and resets connections it queued but nobody accepted. */
    public void unbind(TasListener l) {
        listeners.remove(l);
        TasConnection c;
        while ((c = l.pollAcceptForEngine()) != null) {
            l.unreserve();
            c.abort();
        }
    }

    public int listenerCount() {
        return listeners.size();
    }
}
