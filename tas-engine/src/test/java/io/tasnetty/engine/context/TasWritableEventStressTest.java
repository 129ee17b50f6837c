package io.tasnetty.engine.context;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.port.FaultInjectingPort;
import io.tasnetty.engine.port.TasFaultPlan;
import io.tasnetty.engine.port.TasWire;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Embedded mode: can the fast path lose a WRITABLE? (Issue 13 saw a transmit ring fully
 * acknowledged, want-writable cleared and no WRITABLE in service mode.) Writers that, like
 * Netty's channels, retry only when a WRITABLE comes, on tiny transmit rings so that every write
 * fills them, both ways at once over a wire that loses and reorders frames (so space is freed by
 * retransmissions, SACK recovery and ACKs piggybacked on data as well as pure ACKs), on several
 * connections per context. A lost WRITABLE shows as a writer that waits with free space in its
 * ring and no event for 20 s; every byte is checked.
 */
class TasWritableEventStressTest {
    private static final int CONNECTIONS = 4;
    private static final long BYTES = 12L << 20;
    private static final int RING = 4096;
    private static final long SILENCE_NANOS = TimeUnit.SECONDS.toNanos(20);

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void shouldNeverLeaveAWriterWaitingOnFreeSpaceWithoutAWritable() throws Exception {
        TasFaultPlan plan = TasFaultPlan.builder().seed(11).loss(0.005).reorder(0.005).build();
        try (TasWire wire = new TasWire()) {
            FaultInjectingPort portA = new FaultInjectingPort(wire.attach("a", 0x02_00_0A_00_00_01L, 1, 1500, 8192), plan);
            FaultInjectingPort portB = new FaultInjectingPort(wire.attach("b", 0x02_00_0A_00_00_02L, 1, 1500, 8192),
                plan.toBuilder().seed(12).build());
            try (TasEngine a = TasEngine.builder().config(config("10.0.0.1")).port(portA).build();
                 TasEngine b = TasEngine.builder().config(config("10.0.0.2")).port(portB).build()) {
                ExecutorService pool = Executors.newFixedThreadPool(2);
                try {
                    TasContext server = a.newContext();
                    TasListener l = server.listen(new InetSocketAddress("10.0.0.1", 5100), 64, RING, RING);
                    CompletableFuture<String> sa = CompletableFuture.supplyAsync(() -> run(server, l, null, 1), pool);
                    TasContext client = b.newContext();
                    CompletableFuture<String> sb = CompletableFuture.supplyAsync(
                        () -> run(client, null, new InetSocketAddress("10.0.0.1", 5100), 2), pool);
                    assertThat(sb.get(280, TimeUnit.SECONDS)).isEqualTo("ok");
                    assertThat(sa.get(280, TimeUnit.SECONDS)).isEqualTo("ok");
                } finally {
                    pool.shutdownNow();
                }
            }
        }
    }

    private static TasConfig config(String ip) {
        return TasConfig.builder().args("--ip-addr=" + ip + "/24", "--quiet", "--tcp-time-wait=0").build();
    }

    /** One end of one connection: what it sent and received, and whether it waits for a WRITABLE. */
    private static final class End {
        final TasConnection c;
        final SplittableRandom out;
        final SplittableRandom in;
        final ByteBuffer chunk = ByteBuffer.allocate(3000);
        long sent;
        long received;
        boolean waiting;

        End(TasConnection c, long outSeed, long inSeed) {
            this.c = c;
            this.out = new SplittableRandom(outSeed);
            this.in = new SplittableRandom(inSeed);
            chunk.limit(0);
        }

        boolean done() {
            return sent == BYTES && received == BYTES;
        }
    }

    /**
     * One context's loop: accepts (listener) or opens (remote) {@link #CONNECTIONS} connections,
     * then on each sends {@link #BYTES} while it reads the other side's; the connection's port
     * pairs the seeds so both ends agree without talking about it.
     */
    private static String run(TasContext ctx, TasListener listener, InetSocketAddress remote, int side) {
        List<End> ends = new ArrayList<>();
        java.util.Map<TasSocket, Integer> events = new java.util.HashMap<>();
        if (remote != null) {
            for (int i = 0; i < CONNECTIONS; i++) {
                TasConnection c = ctx.connect(remote, null, RING, RING);
                ends.add(new End(c, 0, 0)); // seeds set once the local port is known
            }
        }
        boolean seeded = remote == null;
        ByteBuffer r = ByteBuffer.allocate(16 << 10);
        long quietSince = 0;
        while (ends.size() < CONNECTIONS || !ends.stream().allMatch(End::done)) {
            events.clear();
            ctx.poll((s, ev) -> events.merge(s, ev, (x, y) -> x | y), 1024);
            if (listener != null) {
                TasConnection c;
                while ((c = ctx.accept(listener)) != null) {
                    int port = c.remoteAddress().getPort();
                    End e = new End(c, port * 2L + side, port * 2L + 3 - side);
                    e.waiting = false;
                    ends.add(e);
                }
            }
            if (!seeded && ends.stream().allMatch(e -> e.c.isActive())) {
                List<End> again = new ArrayList<>();
                for (End e : ends) {
                    int port = e.c.localAddress().getPort();
                    again.add(new End(e.c, port * 2L + side, port * 2L + 3 - side));
                }
                ends = again;
                seeded = true;
            }
            boolean progress = !events.isEmpty();
            for (End e : ends) {
                if (e.c.error() != TasError.NONE) {
                    return "connection failed: " + e.c.error();
                }
                if (!seeded || !e.c.isActive() && e.c.state() < io.tasnetty.engine.flow.TcpState.ESTABLISHED) {
                    continue;
                }
                int n;
                while ((n = e.c.read(r.clear())) > 0) {
                    for (int i = 0; i < n; i++) {
                        if (r.get(i) != (byte) e.in.nextInt()) {
                            return "byte " + (e.received + i) + " differs";
                        }
                    }
                    e.received += n;
                    progress = true;
                }
                int ev = events.getOrDefault(e.c, 0);
                if (e.sent < BYTES && (!e.waiting || (ev & TasEvents.WRITABLE) != 0)) {
                    e.waiting = false;
                    while (e.sent < BYTES) {
                        if (!e.chunk.hasRemaining()) {
                            int len = (int) Math.min(e.chunk.capacity(), BYTES - e.sent);
                            e.chunk.clear().limit(len);
                            for (int i = 0; i < len; i++) {
                                e.chunk.put(i, (byte) e.out.nextInt());
                            }
                        }
                        int w = e.c.write(e.chunk);
                        e.sent += w;
                        progress |= w > 0;
                        if (e.chunk.hasRemaining()) {
                            e.waiting = true; // full: only a WRITABLE says when to go on
                            break;
                        }
                    }
                    e.c.flush();
                }
            }
            if (progress) {
                quietSince = 0;
                continue;
            }
            long now = System.nanoTime();
            if (quietSince == 0) {
                quietSince = now;
            } else if (now - quietSince > SILENCE_NANOS) {
                for (End e : ends) {
                    if (e.waiting && e.c.writableBytes() > 0) {
                        return "a WRITABLE was lost: side " + side + " waits with " + e.c.writableBytes()
                            + " bytes free after " + e.sent + " sent, no event for 20 s";
                    }
                }
                return "no progress for 20 s and no writer waiting on free space: " + describe(ends);
            }
            ctx.await(TimeUnit.MILLISECONDS.toNanos(200));
        }
        for (End e : ends) {
            e.c.close();
        }
        return "ok";
    }

    private static String describe(List<End> ends) {
        StringBuilder sb = new StringBuilder();
        for (End e : ends) {
            sb.append("[sent ").append(e.sent).append(" received ").append(e.received).append(" waiting ")
                .append(e.waiting).append(" state ").append(e.c.state()).append("] ");
        }
        return sb.toString();
    }
}
