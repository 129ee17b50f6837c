package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.tasnetty.engine.EngineHarness.bytes;
import static io.tasnetty.engine.ScriptedConnection.dataOf;
import static io.tasnetty.engine.ScriptedConnection.end;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Nagle's algorithm (RFC 896, RFC 9293 3.7.4) per connection, in Minshall's form as Linux: off by
 * default (TCP_NODELAY on, Netty's default); on, a sub-MSS segment waits while an earlier sub-MSS
 * segment is unacknowledged.
 */
class TcpNagleTest {
    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate"));
    private final ScriptedConnection sc = h.accept(80); // MSS 1460

    @AfterEach
    void close() {
        h.close();
    }

    private int written;

    private List<Segment> write(int n) {
        sc.write(bytes(n, written));
        written += n;
        return dataOf(h.step());
    }

    @Test
    void shouldSendEverySmallWriteAtOnceWithNoDelay() {
        assertThat(write(10)).hasSize(1);
        assertThat(write(10)).as("TCP_NODELAY (the default): no waiting for the ACK").hasSize(1);
    }

    @Test
    void shouldHoldSmallSegmentsWhileASmallOneIsUnacknowledged() {
        sc.conn.setNoDelay(false);
        h.step();
        List<Segment> first = write(10);
        assertThat(first).as("nothing in flight: sent").hasSize(1);
        assertThat(write(10)).as("held behind the unacknowledged 10 bytes").isEmpty();
        assertThat(write(15)).isEmpty();
        sc.ack(end(first.get(0)));
        List<Segment> out = dataOf(h.step());
        assertThat(out).as("the ACK releases both writes as one segment").hasSize(1);
        assertThat(out.get(0).len()).isEqualTo(25);
        assertThat(out.get(0).seq()).isEqualTo(end(first.get(0)));
    }

    @Test
    void shouldNeverHoldFullSizedSegments() {
        sc.conn.setNoDelay(false);
        h.step();
        List<Segment> first = write(10);
        assertThat(first).hasSize(1);
        List<Segment> out = write(3000);
        assertThat(out).as("two full segments go; the 80-byte tail waits").hasSize(2);
        assertThat(out).allMatch(s -> s.len() == 1460);
        sc.ack(end(out.get(1)));
        out = dataOf(h.step());
        assertThat(out).hasSize(1);
        assertThat(out.get(0).len()).isEqualTo(80);
    }

    @Test
    void shouldSendWhatItHeldWhenNoDelayIsTurnedBackOn() {
        sc.conn.setNoDelay(false);
        h.step();
        assertThat(write(10)).hasSize(1);
        assertThat(write(10)).isEmpty();
        sc.conn.setNoDelay(true);
        List<Segment> out = dataOf(h.step());
        assertThat(out).hasSize(1);
        assertThat(out.get(0).len()).isEqualTo(10);
    }

    @Test
    void shouldNotHoldTheLastDataBeforeAFin() {
        sc.conn.setNoDelay(false);
        h.step();
        assertThat(write(10)).hasSize(1);
        sc.write(bytes(10, 10));
        sc.conn.shutdownOutput();
        List<Segment> out = h.step();
        assertThat(dataOf(out)).hasSize(1);
        assertThat(out).anyMatch(s -> s.has(Tcp.FIN));
    }
}
