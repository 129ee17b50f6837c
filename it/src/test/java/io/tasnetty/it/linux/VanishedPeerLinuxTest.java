package io.tasnetty.it.linux;

import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasSocket;
import io.tasnetty.engine.port.TapPort;
import io.tasnetty.engine.stats.TasCounter;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Linux clients that vanish during teardown (issue 11): they close (FIN), the engine's application
 * closes only after the clients' link went down, so the engine's FINs reach nobody and are never
 * acknowledged. Each orphaned flow (LAST_ACK) must give up after Linux's tcp_orphan_retries (8)
 * retransmissions, not hold its record and rings for the 15 of a connection an application still
 * holds, and everything must be reclaimed.
 */
class VanishedPeerLinuxTest {
    private static final int CONNECTIONS = 1000;
    private static final int PORT = 7410;
    /** The engine's orphan retry limit (TcpTimers.ORPHAN_RETRIES). */
    private static final int ORPHAN_RETRIES = 8;

    private final String tap = PeerNet.ifname("vpt");
    private PeerNet net;
    private SynFloodLinuxTest.EngineFixtureLite fx;

    @BeforeAll
    static void requirements() {
        ItDpdk.requireRootNetworking();
        ItDpdk.requireTools("python3");
    }

    @AfterEach
    void teardown() throws Exception {
        PeerNet.closeWithTap(fx, tap, net);
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void orphanedFlowsWhosePeerVanishedAreReclaimedAfterTheOrphanRetries() throws Exception {
        PeerNet.WithTap tapNet = PeerNet.namespaceWithTap("vp", tap, LinuxLink.JAVA_TAP_MAC);
        net = tapNet.net();
        TapPort port = tapNet.port();
        // A short RTO ceiling keeps the eight backed-off retransmissions within seconds.
        fx = new SynFloodLinuxTest.EngineFixtureLite(net, port, TasConfig.builder()
                .set("ip-addr", PeerNet.ENGINE_IP + "/24")
                .set("tcp-rto-max", "1s")
                .build());
        TasEngine engine = fx.engine;
        List<TasConnection> finished = new CopyOnWriteArrayList<>();
        fx.loop.listen(PORT, 4096, () -> new EchoUntilEof(finished));
        fx.python(net.ns, "conn-client", PeerNet.ENGINE_IP, Integer.toString(PORT), Integer.toString(CONNECTIONS))
                .awaitSuccess(120, TimeUnit.SECONDS);
        fx.await(() -> finished.size() == CONNECTIONS, 60, "the clients' FINs (" + finished.size() + " read)");

        // The peer vanishes: nothing the engine sends reaches it, nothing comes back.
        Sh.run("ip", "-n", net.ns, "link", "set", tap, "down");
        long timeoutsBefore = engine.counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS);
        long t0 = System.nanoTime();
        fx.loop.call(() -> {
            finished.forEach(TasConnection::close);
            return null;
        });
        fx.await(() -> engine.flowCount() == 0 && engine.ringBytesInUse() == 0 && engine.flowRecordsInUse() == 0,
                120, "the orphaned flows to give up (" + engine.flowCount() + " left)");
        long timeouts = engine.counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS) - timeoutsBefore;
        System.out.printf("[vanished peer] %d orphaned LAST_ACK flows reclaimed in %d ms, %d retransmission"
                        + " timeouts (%.1f per flow); %s%n", CONNECTIONS, (System.nanoTime() - t0) / 1_000_000,
                timeouts, (double) timeouts / CONNECTIONS, fx.nonZeroCounters());
        // Each flow's timer expires once per retransmission and once more to give up.
        assertThat(timeouts).as("retransmission timeouts of the orphans").isBetween((long) CONNECTIONS,
                (long) CONNECTIONS * (ORPHAN_RETRIES + 1));
    }

    /** Echoes; at the peer's FIN keeps the connection (the test closes it later). */
    private static final class EchoUntilEof implements ContextLoop.Handler {
        private static final ByteBuffer SHARED = ByteBuffer.allocate(256);
        private final List<TasConnection> finished;
        private boolean eof;

        EchoUntilEof(List<TasConnection> finished) {
            this.finished = finished;
        }

        @Override
        public void onEvents(TasSocket s, int ev) {
            TasConnection c = (TasConnection) s;
            while (!eof) {
                ByteBuffer b = SHARED.clear();
                int n = c.read(b);
                if (n < 0) {
                    eof = true;
                    finished.add(c);
                    return;
                }
                if (n == 0) {
                    return;
                }
                b.flip();
                c.write(b);
                c.flush();
            }
        }
    }
}
