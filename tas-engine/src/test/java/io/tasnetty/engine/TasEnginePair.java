package io.tasnetty.engine;

import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.port.TasPort;
import io.tasnetty.engine.port.TasWire;
import io.tasnetty.engine.port.WirePort;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * Two threaded engines on one in-JVM wire: A (10.0.0.1) and B (10.0.0.2), each with one context
 * driven by the test thread. Each engine's wire port may be wrapped (fault injector, pcap
 * recorder, a test injector) before the engine gets it. {@link #connect} opens connections from B
 * to a listener on A; {@link #exchange} moves bytes both ways and checks them byte for byte.
 */
public final class TasEnginePair implements AutoCloseable {
    public static final long MAC_A = 0x02_00_0A_00_00_01L;
    public static final long MAC_B = 0x02_00_0A_00_00_02L;
    public static final int IP_A = 0x0A000001; // 10.0.0.1
    public static final int IP_B = 0x0A000002; // 10.0.0.2

    public final TasWire wire = new TasWire();
    public final WirePort wireA;
    public final WirePort wireB;
    public final TasPort portA;
    public final TasPort portB;
    public final TasEngine a;
    public final TasEngine b;
    public final TasContext ctxA;
    public final TasContext ctxB;
    /** The threads each engine started (fast paths and slow path). */
    public final Set<Thread> threadsA;
    public final Set<Thread> threadsB;

    /** One connection seen from both ends. */
    public record Link(TasConnection atA, TasConnection atB) {
    }

    public TasEnginePair() {
        this(c -> c, p -> p, p -> p);
    }

    /**
     * @param config applied to both engines' configuration after the addresses are set
     * @param decorateA wraps A's wire port (e.g. a fault injector), or returns it unchanged
     * @param decorateB the same for B
     */
    public TasEnginePair(UnaryOperator<TasConfig.Builder> config, Function<WirePort, TasPort> decorateA,
                         Function<WirePort, TasPort> decorateB) {
        this(1, config, decorateA, decorateB);
    }

    /**
     * As {@link #TasEnginePair(UnaryOperator, Function, Function)}, with {@code queues} RX/TX
     * queue pairs on each wire port and as many fast-path cores ({@code fp-cores-max}) per engine.
     */
    public TasEnginePair(int queues, UnaryOperator<TasConfig.Builder> config, Function<WirePort, TasPort> decorateA,
                         Function<WirePort, TasPort> decorateB) {
        wireA = wire.attach("a", MAC_A, queues, 1500, 4096);
        wireB = wire.attach("b", MAC_B, queues, 1500, 4096);
        portA = decorateA.apply(wireA);
        portB = decorateB.apply(wireB);
        String cores = Integer.toString(queues);
        Set<Thread> before = Thread.getAllStackTraces().keySet();
        a = TasEngine.builder().config(config.apply(TasConfig.builder().set("ip-addr", "10.0.0.1/24")
            .set("mac-addr", "02:00:0a:00:00:01").set("seed", "1").set("fp-cores-max", cores)).build()).port(portA)
            .build();
        threadsA = newThreads(before);
        before = Thread.getAllStackTraces().keySet();
        b = TasEngine.builder().config(config.apply(TasConfig.builder().set("ip-addr", "10.0.0.2/24")
            .set("mac-addr", "02:00:0a:00:00:02").set("seed", "2").set("fp-cores-max", cores)).build()).port(portB)
            .build();
        threadsB = newThreads(before);
        ctxA = a.newContext();
        ctxB = b.newContext();
    }

    private static Set<Thread> newThreads(Set<Thread> before) {
        Set<Thread> s = new HashSet<>(Thread.getAllStackTraces().keySet());
        s.removeAll(before);
        s.removeIf(t -> !t.getName().startsWith("tas-"));
        return s;
    }

    /** Listens on A's {@code port} and opens {@code n} connections from B to it; returns them established. */
    public List<Link> connect(int port, int n, long timeoutMillis) {
        TasListener l = ctxA.listen(new InetSocketAddress(EngineHarness.addr(IP_A), port), Math.max(16, n));
        List<TasConnection> fromB = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            fromB.add(ctxB.connect(new InetSocketAddress(EngineHarness.addr(IP_A), port)));
        }
        List<TasConnection> atA = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (atA.size() < n || !allActive(fromB)) {
            pollEvents();
            TasConnection c;
            while ((c = ctxA.accept(l)) != null) {
                atA.add(c);
            }
            for (TasConnection x : fromB) {
                if (x.error() != TasError.NONE) {
                    throw new AssertionError("connect failed: " + x + " " + x.error() + "\n  A counters "
                        + nonZero(a) + "\n  B counters " + nonZero(b));
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("only " + atA.size() + " of " + n + " connections accepted in "
                    + timeoutMillis + " ms\n  A counters " + nonZero(a) + "\n  B counters " + nonZero(b));
            }
            LockSupport.parkNanos(100_000);
        }
        List<Link> links = new ArrayList<>();
        for (TasConnection x : atA) {
            int remotePort = x.remoteAddress().getPort();
            TasConnection match = fromB.stream().filter(y -> y.localAddress().getPort() == remotePort).findFirst()
                .orElseThrow();
            links.add(new Link(x, match));
        }
        return links;
    }

    private static boolean allActive(List<TasConnection> cs) {
        for (TasConnection c : cs) {
            if (c.state() != TcpState.ESTABLISHED) {
                return false;
            }
        }
        return true;
    }

    /** Drains both contexts' event queues (the tests poll the rings directly). */
    public void pollEvents() {
        ctxA.poll((s, ev) -> { }, Integer.MAX_VALUE);
        ctxB.poll((s, ev) -> { }, Integer.MAX_VALUE);
    }

    /**
     * Sends {@code toB} from A's end and {@code toA} from B's end at the same time; fails unless
     * each side receives exactly the other's bytes, in order, within {@code timeoutMillis}.
     */
    public void exchange(Link link, byte[] toB, byte[] toA, long timeoutMillis) {
        Direction ab = new Direction(link.atA(), link.atB(), toB);
        Direction ba = new Direction(link.atB(), link.atA(), toA);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!ab.done() || !ba.done()) {
            boolean progress = ab.pump() | ba.pump();
            pollEvents();
            if (System.nanoTime() > deadline) {
                throw new AssertionError("exchange timed out: A->B " + ab + ", B->A " + ba + "\n  A " + dump(link.atA())
                    + "\n  B " + dump(link.atB()) + "\n  A counters " + nonZero(a) + "\n  B counters " + nonZero(b)
                    + "\n  wire A " + wireA.stats() + " wire B " + wireB.stats());
            }
            if (!progress) {
                LockSupport.parkNanos(50_000);
            }
        }
    }

    /**
     * As {@link #exchange}, on all {@code links} at once: link i carries {@code pattern(bytes, 2i + 1)}
     * from A to B and {@code pattern(bytes, 2i + 2)} from B to A, each checked byte for byte.
     */
    public void exchangeAll(List<Link> links, int bytes, long timeoutMillis) {
        List<Direction> all = new ArrayList<>();
        for (int i = 0; i < links.size(); i++) {
            Link l = links.get(i);
            all.add(new Direction(l.atA(), l.atB(), pattern(bytes, 2L * i + 1)));
            all.add(new Direction(l.atB(), l.atA(), pattern(bytes, 2L * i + 2)));
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!all.stream().allMatch(Direction::done)) {
            boolean progress = false;
            for (Direction d : all) {
                progress |= d.pump();
            }
            pollEvents();
            if (System.nanoTime() > deadline) {
                StringBuilder sb = new StringBuilder("exchange on " + links.size() + " links timed out:");
                for (int i = 0; i < all.size(); i += 2) {
                    Link l = links.get(i / 2);
                    sb.append("\n  A->B ").append(all.get(i)).append(", B->A ").append(all.get(i + 1))
                        .append("\n    A ").append(dump(l.atA())).append("\n    B ").append(dump(l.atB()));
                }
                throw new AssertionError(sb + "\n  A counters " + nonZero(a) + "\n  B counters " + nonZero(b)
                    + "\n  wire A " + wireA.stats() + " wire B " + wireB.stats());
            }
            if (!progress) {
                LockSupport.parkNanos(50_000);
            }
        }
    }

    /** The TCB fields that explain a stall (read racily: for failure messages only). */
    public static String dump(TasConnection c) {
        io.tasnetty.engine.flow.TasFlow f = c.flow();
        return f + " sndUna=" + f.sndUna() + " sndNxt=" + f.sndNxt() + " sndMax=" + f.sndMax() + " sndWnd=" + f.sndWnd()
            + " cwnd=" + f.cwnd() + " ssthresh=" + f.ssthresh() + " rate=" + f.rateBytesPerSec() + " rto=" + f.rtoNanos()
            + " rtoDeadline=" + f.rtoDeadline() + " backoff=" + f.backoff() + " inRecovery=" + f.inRecovery()
            + " rcvNxt=" + f.rcvNxt() + " ooo=" + f.oooCount() + " tsRecent=" + f.tsRecent() + " txReadable="
            + (f.tx == null ? -1 : f.tx.readable()) + " rxReadable=" + (f.rx == null ? -1 : f.rx.readable());
    }

    /** Every non-zero counter of {@code e}, for failure messages. */
    public static String nonZero(TasEngine e) {
        StringBuilder sb = new StringBuilder();
        e.counters().forEach((k, v) -> {
            if (v != 0) {
                sb.append(k).append('=').append(v).append(' ');
            }
        });
        return sb.toString();
    }

    /** One direction of an exchange: write what fits, read what arrived, compare as it comes. */
    private static final class Direction {
        final TasConnection from;
        final TasConnection to;
        final byte[] data;
        final byte[] got;
        final MemorySegment dataSeg;
        final MemorySegment gotSeg;
        int written;
        int read;

        Direction(TasConnection from, TasConnection to, byte[] data) {
            this.from = from;
            this.to = to;
            this.data = data;
            this.got = new byte[data.length];
            this.dataSeg = MemorySegment.ofArray(data);
            this.gotSeg = MemorySegment.ofArray(got);
        }

        boolean pump() {
            boolean progress = false;
            if (written < data.length) {
                int n = from.write(dataSeg, written, data.length - written);
                if (n > 0) {
                    written += n;
                    from.flush();
                    progress = true;
                }
            }
            if (read < got.length) {
                int n = to.read(gotSeg, read, got.length - read);
                if (n < 0) {
                    throw new AssertionError("connection closed after " + read + " of " + got.length + " bytes: "
                        + to + " " + to.error());
                }
                if (n > 0) {
                    int start = read;
                    read += n;
                    progress = true;
                    int mismatch = java.util.Arrays.mismatch(data, start, read, got, start, read);
                    if (mismatch >= 0) {
                        int at = start + mismatch;
                        throw new AssertionError("byte " + at + " differs: sent " + data[at] + ", received " + got[at]);
                    }
                }
            }
            return progress;
        }

        boolean done() {
            return read == got.length;
        }

        @Override
        public String toString() {
            return "written " + written + ", read " + read + " of " + data.length + " (" + from.flow() + ")";
        }
    }

    /** Deterministic test bytes. */
    public static byte[] pattern(int length, long seed) {
        byte[] b = new byte[length];
        new java.util.SplittableRandom(seed).nextBytes(b);
        return b;
    }

    /** Whether every engine thread is still running. */
    public boolean threadsAlive() {
        return !threadsA.isEmpty() && !threadsB.isEmpty() && threadsA.stream().allMatch(Thread::isAlive)
            && threadsB.stream().allMatch(Thread::isAlive);
    }

    @Override
    public void close() {
        ctxA.close();
        ctxB.close();
        a.close();
        b.close();
        wire.close();
    }
}
