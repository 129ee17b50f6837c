package io.tasnetty.engine;

import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.flow.TcpState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A connection the engine loops to itself gets {@code tcp-loopback-buf-len} buffers at both ends
 * (fewer hand-offs per byte between the two application threads), unless the application chose
 * sizes; a connection that leaves the engine keeps {@code tcp-rxbuf-len}/{@code tcp-txbuf-len}.
 */
class TasLoopbackBuffersTest {

    /** Opens a connection from A to A's own listener; returns {client end, accepted end}. */
    private static TasConnection[] loop(TasEnginePair pair, int port, int rxBufLen, int txBufLen) {
        InetSocketAddress at = new InetSocketAddress(EngineHarness.addr(TasEnginePair.IP_A), port);
        TasListener l = pair.ctxA.listen(at, 16);
        TasConnection client = pair.ctxA.connect(at, null, rxBufLen, txBufLen);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        TasConnection accepted = null;
        while (accepted == null || client.state() != TcpState.ESTABLISHED) {
            pair.pollEvents();
            if (accepted == null) {
                accepted = pair.ctxA.accept(l);
            }
            assertThat(System.nanoTime()).as("loopback connection established in 10 s").isLessThan(deadline);
            LockSupport.parkNanos(100_000);
        }
        return new TasConnection[] {client, accepted};
    }

    @Test
    @Timeout(60)
    void shouldGiveLoopedConnectionsTheLoopbackSizeAndOthersTheDefault() {
        try (TasEnginePair pair = new TasEnginePair()) {
            for (TasConnection c : loop(pair, 7100, 0, 0)) {
                assertThat(c.receiveBufferSize()).as("looped receive ring").isEqualTo(512 << 10);
                assertThat(c.sendBufferSize()).as("looped transmit ring").isEqualTo(512 << 10);
            }
            // The application's own choice wins on its end (the listener set none: the default).
            TasConnection[] sized = loop(pair, 7101, 8192, 16384);
            assertThat(sized[0].receiveBufferSize()).isEqualTo(8192);
            assertThat(sized[0].sendBufferSize()).isEqualTo(16384);
            assertThat(sized[1].receiveBufferSize()).isEqualTo(512 << 10);
            // Across the wire: the ordinary default at both ends.
            TasEnginePair.Link link = pair.connect(7102, 1, 10_000).getFirst();
            for (TasConnection c : new TasConnection[] {link.atA(), link.atB()}) {
                assertThat(c.receiveBufferSize()).as("receive ring across the wire").isEqualTo(128 << 10);
                assertThat(c.sendBufferSize()).as("transmit ring across the wire").isEqualTo(128 << 10);
            }
            // And bytes still arrive intact over the large looped rings.
            TasConnection[] c = loop(pair, 7103, 0, 0);
            pair.exchange(new TasEnginePair.Link(c[1], c[0]), TasEnginePair.pattern(3 << 20, 1),
                TasEnginePair.pattern(1 << 20, 2), 30_000);
        }
    }

    @Test
    @Timeout(60)
    void shouldTakeTheLoopbackSizeFromItsOption() {
        try (TasEnginePair pair = new TasEnginePair(b -> b.set("tcp-loopback-buf-len", "64k"), p -> p, p -> p)) {
            for (TasConnection c : loop(pair, 7110, 0, 0)) {
                assertThat(c.receiveBufferSize()).isEqualTo(64 << 10);
                assertThat(c.sendBufferSize()).isEqualTo(64 << 10);
            }
        }
    }
}
