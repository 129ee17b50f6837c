package io.tasnetty.engine;

import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.context.TasSocket;
import io.tasnetty.engine.port.TasWire;
import io.tasnetty.engine.port.WirePort;
import io.tasnetty.engine.wire.Tcp;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An engine under test with no threads: a manual clock, one context, and a {@link TcpTestPeer} on
 * the same wire. {@link #step()} runs the engine's duty cycles, then collects the peer's view.
 */
public final class EngineHarness implements AutoCloseable {
    public static final long ENGINE_MAC = 0x02_00_0A_00_00_01L;
    public static final int ENGINE_IP = 0x0A000001; // 10.0.0.1

    public final TasManualClock clock = new TasManualClock(1_000_000_000L);
    public final TasWire wire = new TasWire();
    public final TasEngine engine;
    public final TasContext ctx;
    public final TcpTestPeer peer;
    /** Events delivered to the context, as "socket:EVENTS" pairs, in order. */
    public final List<Event> events = new ArrayList<>();

    public record Event(TasSocket socket, int bits) {
    }

    public EngineHarness() {
        this(TasConfig.builder());
    }

    public EngineHarness(TasConfig.Builder config) {
        TasConfig c = config.set("ip-addr", "10.0.0.1/24").set("mac-addr", "02:00:0a:00:00:01").set("seed", "42")
            .build();
        WirePort port = wire.attach("engine", ENGINE_MAC, 1, 1500, 4096);
        engine = TasEngine.builder().config(c).port(port).manual(clock).build();
        ctx = engine.newContext();
        peer = new TcpTestPeer(wire);
    }

    /** Runs the engine, then drains its events into {@link #events}; returns what the peer received. */
    public List<TcpTestPeer.Segment> step() {
        List<TcpTestPeer.Segment> out = new ArrayList<>();
        int arp;
        do {
            arp = peer.arpAnswered();
            engine.poll(clock.nanoTime());
            ctx.poll((s, ev) -> events.add(new Event(s, ev)), Integer.MAX_VALUE);
            out.addAll(peer.drain());
        } while (peer.arpAnswered() != arp); // an ARP answer needs one more round
        return out;
    }

    public List<TcpTestPeer.Segment> advanceMillis(long ms) {
        clock.advanceMillis(ms);
        return step();
    }

    /** Sets the clock to {@code nanos} (never backwards) and runs the engine. */
    public List<TcpTestPeer.Segment> advanceTo(long nanos) {
        if (nanos < clock.nanoTime()) {
            throw new IllegalArgumentException("the clock only moves forward");
        }
        clock.set(nanos);
        return step();
    }

    /** The clock, in nanoseconds. */
    public long now() {
        return clock.nanoTime();
    }

    /** Events for {@code s} OR-ed together, then forgotten. */
    public int takeEvents(TasSocket s) {
        int bits = 0;
        for (var it = events.iterator(); it.hasNext(); ) {
            Event e = it.next();
            if (e.socket() == s) {
                bits |= e.bits();
                it.remove();
            }
        }
        return bits;
    }

    public TasListener listen(int port) {
        TasListener l = ctx.listen(new InetSocketAddress(addr(ENGINE_IP), port), 16);
        listeners.put(port, l);
        return l;
    }

    private final Map<Integer, TasListener> listeners = new HashMap<>();

    /** The listener {@link #listen} or {@link #accept} opened on {@code port}. */
    public TasListener listenerFor(int port) {
        return listeners.get(port);
    }

    /**
     * Passive open by script: listens on {@code port} (once), the peer sends a SYN from
     * {@code peerPort} with sequence number {@code peerIss} and options {@code synOpts}, the
     * engine's SYN-ACK is checked to be alone on the wire, the peer's final ACK carries the
     * peer's default window, and the connection is accepted.
     */
    public ScriptedConnection accept(int port, int peerPort, int peerIss, TcpTestPeer.Opts synOpts) {
        return accept(port, peerPort, peerIss, synOpts, 0);
    }

    /** As {@link #accept(int, int, int, TcpTestPeer.Opts)}, the SYN also carrying {@code synFlags} (ECE|CWR: ECN). */
    public ScriptedConnection accept(int port, int peerPort, int peerIss, TcpTestPeer.Opts synOpts, int synFlags) {
        TasListener l = listeners.containsKey(port) ? listeners.get(port) : listen(port);
        peer.send(peerPort, ENGINE_IP, port, peerIss, 0, Tcp.SYN | synFlags, 65535, new byte[0],
            synOpts);
        List<TcpTestPeer.Segment> out = step();
        if (out.size() != 1 || (out.get(0).flags() & ~Tcp.ECE) != (Tcp.SYN | Tcp.ACK)) {
            throw new AssertionError("expected one SYN-ACK, got " + out);
        }
        int iss = out.get(0).seq();
        ScriptedConnection sc = new ScriptedConnection(this, null, peerPort, port, peerIss, iss);
        sc.ack();
        if (!step().isEmpty()) {
            throw new AssertionError("the final ACK of the handshake must not be answered");
        }
        TasConnection c = ctx.accept(l);
        if (c == null) {
            throw new AssertionError("no connection to accept");
        }
        takeEvents(l);
        return new ScriptedConnection(this, c, peerPort, port, peerIss, iss);
    }

    /** {@link #accept} with options the tests use most: MSS 1460, no scaling, SACK, no timestamps. */
    public ScriptedConnection accept(int port) {
        return accept(port, 40000, 1000, TcpTestPeer.Opts.syn(1460, -1, true, false, 0));
    }

    /**
     * Active open by script: the engine connects to the peer's {@code peerPort}, the peer answers
     * the SYN with a SYN-ACK with sequence number {@code peerIss}, window {@code synAckWindow} and
     * options {@code synAckOpts}, and the engine's ACK is checked.
     */
    public ScriptedConnection open(int peerPort, int peerIss, int synAckWindow, TcpTestPeer.Opts synAckOpts) {
        TasConnection c = connect(peerPort);
        List<TcpTestPeer.Segment> out = step();
        if (out.size() != 1 || !out.get(0).has(Tcp.SYN)) {
            throw new AssertionError("expected one SYN, got " + out);
        }
        TcpTestPeer.Segment syn = out.get(0);
        peer.send(peerPort, ENGINE_IP, syn.srcPort(), peerIss, syn.seq() + 1,
            Tcp.SYN | Tcp.ACK, synAckWindow, new byte[0], synAckOpts);
        out = step();
        if (out.size() != 1 || out.get(0).flags() != Tcp.ACK
            || out.get(0).ack() != peerIss + 1) {
            throw new AssertionError("expected the ACK of the handshake, got " + out);
        }
        takeEvents(c);
        return new ScriptedConnection(this, c, peerPort, syn.srcPort(), peerIss, syn.seq());
    }

    /** Bytes 0..n-1 of a pattern that does not repeat every 256 bytes (so misplaced bytes show). */
    public static byte[] bytes(int n) {
        return bytes(n, 0);
    }

    /** Bytes {@code from..from+n-1} of the same pattern. */
    public static byte[] bytes(int n, int from) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            int k = from + i;
            b[i] = (byte) (k * 31 + (k >>> 8) * 7 + 3);
        }
        return b;
    }

    public TasConnection connect(int port) {
        return ctx.connect(new InetSocketAddress(addr(TcpTestPeer.IP), port));
    }

    public static InetAddress addr(int ip) {
        try {
            return InetAddress.getByAddress(new byte[]{(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8),
                (byte) ip});
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        ctx.close();
        step();
        engine.close();
        peer.close();
    }
}
