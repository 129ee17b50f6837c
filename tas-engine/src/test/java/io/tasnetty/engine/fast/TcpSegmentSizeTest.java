package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static org.assertj.core.api.Assertions.assertThat;

/** Data segments never exceed the MTU, whatever options they carry (found by the lossy pcap test). */
class TcpSegmentSizeTest {
    private final EngineHarness h = new EngineHarness();

    @AfterEach
    void close() {
        h.close();
    }

    @Test
    void shouldShrinkDataSegmentsToMakeRoomForSackBlocks() {
        TasListener l = h.listen(80);
        h.peer.send(40000, ENGINE_IP, 80, 1000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, 7, true, true, 555));
        Segment synAck = h.step().get(0);
        int iss = synAck.seq();
        h.peer.send(40000, ENGINE_IP, 80, 1001, iss + 1, Tcp.ACK, 1024, new byte[0],
            Opts.none().timestamps(556, synAck.tsVal()));
        h.step();
        TasConnection c = h.ctx.accept(l);
        // Out-of-order data from the peer: we now hold intervals and report them in SACK blocks.
        for (int hole = 0; hole < 3; hole++) {
            h.peer.send(40000, ENGINE_IP, 80, 1001 + 1000 + hole * 2000, iss + 1, Tcp.ACK, 1024, new byte[500],
                Opts.none().timestamps(557, synAck.tsVal()));
        }
        h.step();
        c.write(ByteBuffer.wrap(new byte[20_000]));
        c.flush();
        List<Segment> out = h.step();
        long oversize = h.wire.ports().stream().mapToLong(p -> p.stats().txDropped()).sum();
        assertThat(oversize).as("frames the wire refused as longer than the MTU").isZero();
        List<Segment> data = out.stream().filter(s -> s.len() > 0).toList();
        assertThat(data).isNotEmpty();
        for (Segment s : data) {
            int options = (s.hasTimestamp() ? 12 : 0) + (s.sackBlocks() > 0 ? 4 + 8 * s.sackBlocks() : 0);
            assertThat(s.sackBlocks()).as("SACK blocks on %s", s).isEqualTo(3);
            // IPv4 (20) + TCP (20) + options + payload within the 1500-byte MTU.
            assertThat(40 + options + s.len()).as("IP length of %s", s).isLessThanOrEqualTo(1500);
        }
        assertThat(data.get(0).len()).as("payload beside 3 SACK blocks and timestamps").isEqualTo(1460 - 12 - 28);
    }
}
