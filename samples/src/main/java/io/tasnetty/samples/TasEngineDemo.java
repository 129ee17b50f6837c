package io.tasnetty.samples;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.config.TasConfigException;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Ipv4;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The engine demo: two TAS engines in one JVM on the in-JVM wire (no DPDK, no root). Engine A
 * serves an echo port; engine B connects, makes request/response round trips, then streams bulk
 * data that A checks with SHA-256. It prints what happened, including the engines' counters.
 *
 * <p>Engine options apply to both engines (B takes the next address): e.g.
 * {@code --tcp-rxbuf-len=256k --cc=const-rate}. {@code --help} lists them.
 */
public final class TasEngineDemo {
    private static final int PORT = 7;
    private static final int ROUND_TRIPS = 20_000;
    private static final int MESSAGE = 64;
    private static final long BULK = 256L << 20;

    private TasEngineDemo() {
    }

    public static void main(String[] args) throws Exception {
        if (TasConfig.isHelp(args)) {
            System.out.println("TAS engine demo: two engines on the in-JVM wire exchanging TCP data.\n");
            System.out.println(TasConfig.help());
            return;
        }
        TasConfig a;
        try {
            a = TasConfig.fromArgs(args);
        } catch (TasConfigException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
            return;
        }
        int ipB = a.ipAddr() + 1;
        TasConfig b = a.toBuilder().set("ip-addr", Ipv4.toString(ipB) + "/" + a.ipPrefixLength())
            .set("mac-addr", "").build();
        System.out.printf("Starting engine A at %s and engine B at %s on port=%s (cc=%s, rings %d/%d bytes)%n",
            Ipv4.toString(a.ipAddr()), Ipv4.toString(ipB), a.port(), a.cc().optionValue(), a.tcpRxbufLen(),
            a.tcpTxbufLen());
        try (TasEngine ea = TasEngine.start(a); TasEngine eb = TasEngine.start(b)) {
            TasContext server = ea.newContext();
            TasListener listener = server.listen(new InetSocketAddress(Ipv4.toString(a.ipAddr()), PORT), 16);
            Thread echo = Thread.ofPlatform().daemon().name("demo-server").start(() -> serve(server, listener));
            TasContext client = eb.newContext();
            TasConnection c = client.connect(new InetSocketAddress(Ipv4.toString(a.ipAddr()), PORT));
            waitFor(client, c, TasEvents.CONNECTED);
            var n = c.flow().negotiated();
            System.out.printf("Connected %s -> %s (MSS %d, window scale %d/%d, timestamps %s, SACK %s)%n",
                c.localAddress(), c.remoteAddress(), n.mss(), n.rcvWscale(), n.sndWscale(), n.timestamps(), n.sack());

            long[] rtt = roundTrips(client, c);
            Arrays.sort(rtt);
            System.out.printf("%,d round trips of %d bytes: p50 %.1f us, p99 %.1f us, max %.1f us%n", rtt.length,
                MESSAGE, rtt[rtt.length / 2] / 1e3, rtt[(int) (rtt.length * 0.99)] / 1e3, rtt[rtt.length - 1] / 1e3);

            long t0 = System.nanoTime();
            String sent = bulk(client, c);
            double secs = (System.nanoTime() - t0) / 1e9;
            echo.join(TimeUnit.SECONDS.toMillis(60));
            System.out.printf("Bulk: %d MiB in %.2f s (%.2f Gbit/s); SHA-256 sent %s%n", BULK >> 20, secs,
                BULK * 8 / secs / 1e9, sent.substring(0, 16));
            System.out.printf("                               SHA-256 received %s -> %s%n",
                receivedDigest.substring(0, 16), sent.equals(receivedDigest) ? "identical" : "DIFFERENT");
            c.close();
            client.close();
            server.close();
            printCounters("engine A", ea.counters());
            printCounters("engine B", eb.counters());
            if (!sent.equals(receivedDigest)) {
                System.exit(1);
            }
        }
        System.out.println("""

            Next: run the tests with ./mvnw -B verify. Engines can also run on a TAP device
            (--port=tap:tas0, root) or on DPDK (--port=dpdk --dpdk-extra="..."); see README.md.""");
    }

    private static volatile String receivedDigest = "";

    /** Echoes every byte until the first connection has sent BULK bytes after the round trips, hashing those. */
    private static void serve(TasContext ctx, TasListener l) {
        ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
        MessageDigest sha = sha256();
        TasConnection[] conn = new TasConnection[1];
        long[] echoed = {0};
        long[] hashed = {0};
        long echoBytes = (long) ROUND_TRIPS * MESSAGE;
        boolean[] done = {false};
        while (!done[0]) {
            ctx.poll((s, ev) -> {
                if (s == l) {
                    TasConnection x = ctx.accept(l);
                    if (x != null && conn[0] == null) {
                        conn[0] = x;
                    }
                    return;
                }
                TasConnection c = (TasConnection) s;
                while (true) {
                    buf.clear();
                    if (echoed[0] < echoBytes) {
                        buf.limit((int) Math.min(buf.capacity(), echoBytes - echoed[0]));
                    }
                    int n = c.read(buf);
                    if (n < 0) {
                        done[0] = true;
                        break;
                    }
                    if (n == 0) {
                        break;
                    }
                    buf.flip();
                    if (echoed[0] < echoBytes) {
                        echoed[0] += n;
                        c.write(buf); // 64-byte messages always fit: the client waits for each echo
                        c.flush();
                    } else {
                        sha.update(buf);
                        hashed[0] += n;
                    }
                }
                if ((ev & TasEvents.INPUT_CLOSED) != 0 && c.readableBytes() == 0) {
                    done[0] = true;
                }
            }, 16);
            if (!done[0]) {
                ctx.await(TimeUnit.MILLISECONDS.toNanos(50));
            }
        }
        receivedDigest = HexFormat.of().formatHex(sha.digest());
    }

    private static long[] roundTrips(TasContext ctx, TasConnection c) {
        long[] rtt = new long[ROUND_TRIPS];
        ByteBuffer out = ByteBuffer.allocateDirect(MESSAGE);
        ByteBuffer in = ByteBuffer.allocateDirect(MESSAGE);
        for (int i = 0; i < ROUND_TRIPS; i++) {
            out.clear();
            long t = System.nanoTime();
            c.write(out);
            c.flush();
            in.clear();
            while (in.hasRemaining()) {
                if (c.read(in) == 0) {
                    ctx.poll((s, ev) -> { }, 16);
                    if (c.readableBytes() == 0) {
                        ctx.await(TimeUnit.MILLISECONDS.toNanos(10));
                    }
                }
            }
            rtt[i] = System.nanoTime() - t;
        }
        return rtt;
    }

    private static String bulk(TasContext ctx, TasConnection c) {
        MessageDigest sha = sha256();
        SplittableRandom r = new SplittableRandom(1);
        byte[] chunk = new byte[64 * 1024];
        ByteBuffer b = ByteBuffer.wrap(chunk).limit(0);
        long sent = 0;
        long nextReport = 64L << 20;
        while (sent < BULK || b.hasRemaining()) {
            if (!b.hasRemaining()) {
                for (int i = 0; i < chunk.length; i += 8) {
                    long v = r.nextLong();
                    for (int k = 0; k < 8; k++) {
                        chunk[i + k] = (byte) (v >>> (k * 8));
                    }
                }
                sha.update(chunk);
                sent += chunk.length;
                b.clear();
            }
            c.write(b);
            c.flush();
            if (b.hasRemaining()) {
                ctx.poll((s, ev) -> { }, 16);
                if (c.writableBytes() == 0) {
                    ctx.await(TimeUnit.MILLISECONDS.toNanos(10));
                }
            }
            if (sent >= nextReport) {
                System.out.printf("  ... %d MiB sent%n", sent >> 20);
                nextReport += 64L << 20;
            }
        }
        c.shutdownOutput();
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void waitFor(TasContext ctx, TasConnection c, int event) {
        int[] seen = {0};
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((seen[0] & event) == 0) {
            ctx.poll((s, ev) -> seen[0] |= ev, 16);
            if ((seen[0] & TasEvents.CONNECT_FAILED) != 0) {
                throw new IllegalStateException("connect failed: " + c.error().message());
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no connection after 10 s");
            }
            ctx.await(TimeUnit.MILLISECONDS.toNanos(10));
        }
    }

    private static void printCounters(String name, Map<TasCounter, Long> counters) {
        StringBuilder sb = new StringBuilder();
        counters.forEach((k, v) -> {
            if (v != 0) {
                sb.append(String.format("    %-28s %,14d  %s%n", k.metricName(), v, k.description()));
            }
        });
        System.out.printf("%s counters:%n%s", name, sb);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
