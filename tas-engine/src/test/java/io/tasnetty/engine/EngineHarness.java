package io.tasnetty.engine;

import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.context.TasSocket;
import io.tasnetty.engine.port.TasWire;
import io.tasnetty.engine.port.WirePort;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

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
        return ctx.listen(new InetSocketAddress(addr(ENGINE_IP), port), 16);
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
