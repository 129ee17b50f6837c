package io.tasnetty.engine.fast;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Ipv4;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * ECN with classic peers (RFC 3168), and DCTCP's per-segment echo (RFC 8257 3.2) only when the
 * engine runs DCTCP: the receiver latches ECE from a CE mark until the sender's CWR; the sender
 * reduces once per window, sets CWR on its next new data, and never marks retransmissions ECT.
 */
class TcpEcnTest {
    private static final int MSS = 1460;

    private static ScriptedConnection acceptWithEcn(EngineHarness h) {
        return h.accept(80, 40000, 1000, Opts.syn(MSS, -1, true, false, 0), Tcp.ECE | Tcp.CWR);
    }

    private static void data(EngineHarness h, ScriptedConnection sc, int len, int ecn, int extraFlags) {
        h.peer.sendRaw(40000, ENGINE_IP, 80, sc.peerSeq, sc.engineSeq, Tcp.ACK | Tcp.PSH | extraFlags, 65535,
            bytes(len), null, ecn, false);
        sc.peerSeq += len;
    }

    @Test
    void aClassicReceiverEchoesFromTheMarkUntilTheSendersCwr() {
        try (EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "cubic"))) {
            ScriptedConnection sc = acceptWithEcn(h);
            data(h, sc, 100, Ipv4.ECN_CE, 0);
            assertThat(h.advanceMillis(50)).last().satisfies(a -> assertThat(a.has(Tcp.ECE)).isTrue());
            data(h, sc, 100, Ipv4.ECN_ECT0, 0);
            assertThat(h.advanceMillis(50)).as("still echoing: no CWR yet").last()
                .satisfies(a -> assertThat(a.has(Tcp.ECE)).isTrue());
            data(h, sc, 100, Ipv4.ECN_ECT0, Tcp.CWR);
            assertThat(h.advanceMillis(50)).as("the sender's CWR ends the echo").last()
                .satisfies(a -> assertThat(a.has(Tcp.ECE)).isFalse());
        }
    }

    @Test
    void theSenderReducesOncePerWindowAndSetsCwrOnItsNextNewData() {
        try (EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "cubic"))) {
            ScriptedConnection sc = acceptWithEcn(h);
            sc.write(bytes(4 * MSS));
            List<Segment> sent = h.step();
            assertThat(sent).hasSize(4).allSatisfy(s -> assertThat(s.ecn()).isEqualTo(Ipv4.ECN_ECT0));
            int cwnd = sc.conn.flow().cwnd();

            sc.sendAt(sc.peerSeq, ScriptedConnection.end(sent.get(0)), Tcp.ACK | Tcp.ECE, 65535, new byte[0], null);
            h.step();
            assertThat(sc.conn.flow().cwnd()).isEqualTo((int) (cwnd * 0.7));
            sc.sendAt(sc.peerSeq, ScriptedConnection.end(sent.get(1)), Tcp.ACK | Tcp.ECE, 65535, new byte[0], null);
            h.step();
            assertThat(h.engine.counter(TasCounter.TCP_ECN_REDUCTIONS)).as("one reduction per window").isEqualTo(1);

            sc.write(bytes(2 * MSS));
            List<Segment> next = h.step();
            assertThat(next).isNotEmpty();
            assertThat(next.get(0).has(Tcp.CWR)).as("CWR on the first new data").isTrue();
            assertThat(next.subList(1, next.size())).allSatisfy(s -> assertThat(s.has(Tcp.CWR)).isFalse());
        }
    }

    @Test
    void retransmissionsAreNotEcnCapable() {
        try (EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "cubic"))) {
            ScriptedConnection sc = acceptWithEcn(h);
            sc.write(bytes(MSS));
            assertThat(h.step()).extracting(Segment::ecn).containsExactly(Ipv4.ECN_ECT0);
            List<Segment> again = h.advanceMillis(1_100);
            assertThat(again).isNotEmpty();
            assertThat(again.get(0).ecn()).as("RFC 3168 6.1.5").isEqualTo(Ipv4.ECN_NOT_ECT);
        }
    }

    @Test
    void aDctcpReceiverAcknowledgesEachMarkStateSeparatelySoNoMarkIsLost() {
        try (EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "dctcp-win"))) {
            ScriptedConnection sc = acceptWithEcn(h);
            int start = sc.peerSeq;
            data(h, sc, 100, Ipv4.ECN_CE, 0);
            data(h, sc, 100, Ipv4.ECN_ECT0, 0);
            List<Segment> acks = h.advanceMillis(50);
            assertThat(acks).hasSizeGreaterThanOrEqualTo(2);
            assertThat(acks.get(0).ack()).isEqualTo(start + 100);
            assertThat(acks.get(0).has(Tcp.ECE)).as("the marked segment's ACK").isTrue();
            assertThat(acks.get(acks.size() - 1).ack()).isEqualTo(start + 200);
            assertThat(acks.get(acks.size() - 1).has(Tcp.ECE)).as("the unmarked one's").isFalse();
        }
    }
}
