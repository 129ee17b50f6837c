package io.tasnetty.engine;

import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.context.TasSocket;
import io.tasnetty.engine.port.FaultInjectingPort;
import io.tasnetty.engine.port.TasFaultPlan;
import io.tasnetty.engine.port.TasWire;
import io.tasnetty.engine.stats.TasCounter;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Layer 2 of the test plan: two engines with their own threads on the in-JVM wire, each receiving
 * through a seeded fault injector; whole transfers in both directions must arrive byte-identical.
 */
class TasEngineTransferTest {
    private static final int CONNECTIONS = 8;
    private static final long TOTAL_PER_DIRECTION = 64L << 20;
    private static final long PER_CONNECTION = TOTAL_PER_DIRECTION / CONNECTIONS;

    @ParameterizedTest(name = "cc={0}")
    @ValueSource(strings = {"dctcp-rate", "dctcp-win", "timely", "const-rate"})
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void shouldDeliverEveryByteBothWaysThroughLossReorderDuplicationAndCorruption(String cc) throws Exception {
        TasFaultPlan plan = TasFaultPlan.builder().seed(7).loss(0.01).reorder(0.01).duplicate(0.001).corrupt(0.001)
            .build();
        try (TasWire wire = new TasWire()) {
            FaultInjectingPort portA = new FaultInjectingPort(
                wire.attach("a", 0x02_00_0A_00_00_01L, 1, 1500, 8192), plan);
            FaultInjectingPort portB = new FaultInjectingPort(
                wire.attach("b", 0x02_00_0A_00_00_02L, 1, 1500, 8192), plan.toBuilder().seed(8).build());
            try (TasEngine a = TasEngine.builder().config(config("10.0.0.1", cc)).port(portA).build();
                 TasEngine b = TasEngine.builder().config(config("10.0.0.2", cc)).port(portB).build()) {
                TasContext server = a.newContext();
                TasListener l = server.listen(new InetSocketAddress("10.0.0.1", 5000), 64);
                // Own threads: the common pool has a single worker on a 2-core machine.
                java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
                CompletableFuture<List<Peer>> serverSide = CompletableFuture.supplyAsync(() -> run(server, l, null), pool);
                TasContext client = b.newContext();
                CompletableFuture<List<Peer>> clientSide = CompletableFuture.supplyAsync(
                    () -> run(client, null, new InetSocketAddress("10.0.0.1", 5000)), pool);
                List<Peer> s = serverSide.get(280, TimeUnit.SECONDS);
                List<Peer> c = clientSide.get(280, TimeUnit.SECONDS);
                pool.shutdown();
                assertThat(s).hasSize(CONNECTIONS);
                assertThat(c).hasSize(CONNECTIONS);
                // Match connections by the client's port and compare digests both ways.
                for (Peer cp : c) {
                    int clientPort = cp.conn.localAddress().getPort(); // known once connected
                    Peer sp = s.stream().filter(x -> x.conn.remoteAddress().getPort() == clientPort).findFirst()
                        .orElseThrow();
                    assertThat(sp.received).as(() -> describe(cp, sp)).isEqualTo(PER_CONNECTION);
                    assertThat(cp.received).as(() -> describe(cp, sp)).isEqualTo(PER_CONNECTION);
                    assertThat(sp.receivedDigest()).as("client→server bytes").isEqualTo(cp.sentDigest());
                    assertThat(cp.receivedDigest()).as("server→client bytes").isEqualTo(sp.sentDigest());
                }
                assertThat(portA.lost() + portB.lost()).as("faults were injected").isPositive();
                assertThat(portA.corrupted() + portB.corrupted()).isPositive();
                // A flipped bit is caught by a checksum, or earlier by length validation (RFC 791/9293
                // headers); either way it is dropped and counted, never delivered.
                // A corrupted frame the injector still holds back (reordering) arrives after the
                // transfer ends: give it a few seconds to come through before counting.
                long caught = caught(a, b);
                for (long end = System.nanoTime() + 5_000_000_000L;
                        caught < portA.corrupted() + portB.corrupted() && System.nanoTime() < end; caught = caught(a, b)) {
                    Thread.sleep(10);
                }
                assertThat(caught).as("every corrupted frame is dropped and counted")
                    .isEqualTo(portA.corrupted() + portB.corrupted());
                assertThat(a.counter(TasCounter.TCP_RETRANSMITTED_SEGMENTS)
                    + b.counter(TasCounter.TCP_RETRANSMITTED_SEGMENTS)).isPositive();
                System.out.printf("transfer (cc=%s): A %s%n          B %s%n", cc, summary(a), summary(b));
            }
        }
    }

    private static String describe(Peer c, Peer s) {
        return "client " + c + "\nserver " + s;
    }

    private static String summary(TasEngine e) {
        return "rexmit=" + e.counter(TasCounter.TCP_RETRANSMITTED_SEGMENTS)
            + " rto=" + e.counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS)
            + " fastrx=" + e.counter(TasCounter.TCP_FAST_RETRANSMITS)
            + " ooo=" + e.counter(TasCounter.TCP_OUT_OF_ORDER)
            + " csumdrops=" + (e.counter(TasCounter.DROP_TCP_CHECKSUM) + e.counter(TasCounter.DROP_IP_CHECKSUM))
            + " dup=" + e.counter(TasCounter.TCP_DUPLICATE_SEGMENTS);
    }

    private static TasConfig config(String ip, String cc) {
        return TasConfig.builder().set("ip-addr", ip + "/24").set("tcp-rto-min", "20000").set("seed", "1")
            .set("fp-poll-interval-tas", "50").set("cc", cc).build();
    }

    /** One side: either accepts CONNECTIONS connections or opens them, then sends and receives PER_CONNECTION bytes each. */
    private static List<Peer> run(TasContext ctx, TasListener l, InetSocketAddress remote) {
        List<Peer> peers = new ArrayList<>();
        if (remote != null) {
            for (int i = 0; i < CONNECTIONS; i++) {
                TasConnection c = ctx.connect(remote);
                Peer p = new Peer(c, i + 100);
                c.attach(p);
                peers.add(p);
            }
        }
        ByteBuffer rbuf = ByteBuffer.allocateDirect(64 * 1024);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(270);
        while (System.nanoTime() < deadline) {
            ctx.poll((TasSocket s, int ev) -> {
                if (s == l) {
                    TasConnection c;
                    while ((c = ctx.accept(l)) != null) {
                        Peer p = new Peer(c, peers.size());
                        c.attach(p);
                        peers.add(p);
                        p.pump(rbuf);
                    }
                    return;
                }
                Peer p = (Peer) s.attachment();
                if ((ev & TasEvents.CONNECT_FAILED) != 0) {
                    throw new AssertionError("connect failed: " + ((TasConnection) s).error());
                }
                if ((ev & TasEvents.RESET) != 0) {
                    throw new AssertionError("connection reset: " + ((TasConnection) s).error());
                }
                p.pump(rbuf);
            }, 64);
            if (peers.size() == CONNECTIONS && peers.stream().allMatch(Peer::done)) {
                break;
            }
            ctx.await(TimeUnit.MILLISECONDS.toNanos(10));
        }
        for (Peer p : peers) {
            p.conn.close();
        }
        return peers;
    }

    private static final class Peer {
        final TasConnection conn;
        final SplittableRandom data;
        final MessageDigest sent = sha();
        final MessageDigest recv = sha();
        final ByteBuffer chunk = ByteBuffer.allocate(16 * 1024);
        long sentBytes;
        long received;
        boolean eof;
        boolean shut;
        byte[] sentDigest;

        Peer(TasConnection c, int seed) {
            this.conn = c;
            this.data = new SplittableRandom(seed * 31L + 17);
            chunk.limit(0);
        }

        void pump(ByteBuffer rbuf) {
            // Read everything available.
            while (true) {
                rbuf.clear();
                int n = conn.read(rbuf);
                if (n < 0) {
                    eof = true;
                    break;
                }
                if (n == 0) {
                    break;
                }
                rbuf.flip();
                byte[] tmp = new byte[n];
                rbuf.get(tmp);
                recv.update(tmp);
                received += n;
            }
            // Write as much as fits.
            if (!conn.isActive() && conn.state() < io.tasnetty.engine.flow.TcpState.ESTABLISHED) {
                return;
            }
            while (sentBytes < PER_CONNECTION || chunk.hasRemaining()) {
                if (!chunk.hasRemaining()) {
                    int len = (int) Math.min(chunk.capacity(), PER_CONNECTION - sentBytes);
                    byte[] arr = chunk.array();
                    for (int i = 0; i < len; i++) {
                        arr[i] = (byte) data.nextInt();
                    }
                    sent.update(arr, 0, len);
                    sentBytes += len;
                    chunk.position(0).limit(len);
                }
                if (conn.write(chunk) == 0 || chunk.hasRemaining()) {
                    break;
                }
            }
            conn.flush();
            if (sentBytes == PER_CONNECTION && !chunk.hasRemaining() && !shut) {
                shut = true;
                sentDigest = sent.digest();
                conn.shutdownOutput();
            }
        }

        @Override
        public String toString() {
            io.tasnetty.engine.flow.TasFlow f = conn.flow();
            return "received=" + received + " sent=" + sentBytes + " eof=" + eof + " state="
                + io.tasnetty.engine.flow.TcpState.name(f.state()) + " rcvNxt=" + f.rcvNxt() + " irs=" + f.irs()
                + " finSeq=" + f.finSeq() + " finRcvd=" + f.finReceived() + " ooo=" + f.oooCount() + " sndUna=" + f.sndUna()
                + " iss=" + f.iss() + " finSentSeq=" + f.finSentSeq();
        }

        boolean done() {
            return shut && eof;
        }

        String sentDigest() {
            return HexFormat.of().formatHex(sentDigest);
        }

        String receivedDigest() {
            return HexFormat.of().formatHex(recv.digest());
        }

        static MessageDigest sha() {
            try {
                return MessageDigest.getInstance("SHA-256");
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** Corrupted frames both engines dropped and counted (checksums, or length validation before them). */
    private static long caught(TasEngine a, TasEngine b) {
        long caught = 0;
        for (TasEngine e : List.of(a, b)) {
            caught += e.counter(TasCounter.DROP_TCP_CHECKSUM) + e.counter(TasCounter.DROP_IP_CHECKSUM)
                + e.counter(TasCounter.DROP_MALFORMED_IP) + e.counter(TasCounter.DROP_MALFORMED_TCP);
        }
        return caught;
    }
}
