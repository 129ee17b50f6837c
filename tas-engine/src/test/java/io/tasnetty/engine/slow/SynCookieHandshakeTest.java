package io.tasnetty.engine.slow;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TcpState;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SYN cookies (RFC 4987) end to end through the engine: a full backlog answers SYNs without
 * keeping state, the client's final ACK creates an established connection the application
 * accepts, bad or stale cookies are refused, and the SYN's options come through the timestamp.
 */
class SynCookieHandshakeTest {
    private static final int PORT = 80;

    /** A listener with a backlog of one, taken by a half-open connection from port 39999. */
    private static TasListener fullListener(EngineHarness h) {
        TasListener l = h.ctx.listen(new InetSocketAddress(EngineHarness.addr(ENGINE_IP), PORT), 1);
        h.peer.send(39999, ENGINE_IP, PORT, 5000, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, -1, false, false, 0));
        assertThat(h.step()).extracting(Segment::flags).containsExactly(Tcp.SYN | Tcp.ACK);
        return l;
    }

    private static Segment synAckFor(EngineHarness h, int peerPort, int peerIss, int flags, Opts o) {
        h.peer.send(peerPort, ENGINE_IP, PORT, peerIss, 0, flags, 65535, new byte[0], o);
        List<Segment> out = h.step();
        assertThat(out).hasSize(1);
        Segment s = out.get(0);
        assertThat(s.flags() & (Tcp.SYN | Tcp.ACK)).isEqualTo(Tcp.SYN | Tcp.ACK);
        assertThat(s.ack()).isEqualTo(peerIss + 1);
        assertThat(s.checksumOk()).isTrue();
        return s;
    }

    @Test
    void shouldAnswerWithACookieAndKeepNothingWhenTheBacklogIsFull() {
        try (EngineHarness h = new EngineHarness()) {
            fullListener(h);
            long rings = h.engine.ringBytesInUse();
            for (int i = 0; i < 100; i++) {
                synAckFor(h, 40000 + i, 1000 * i, Tcp.SYN, Opts.syn(1460, 7, true, false, 0));
            }
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_SENT)).isEqualTo(100);
            assertThat(h.engine.counter(TasCounter.CONN_BACKLOG_FULL)).isZero();
            assertThat(h.engine.flowCount()).as("only the half-open connection that filled the backlog").isEqualTo(1);
            assertThat(h.engine.flowRecordsInUse()).isEqualTo(1);
            assertThat(h.engine.ringBytesInUse()).isEqualTo(rings);
            // Nothing is retransmitted for a cookie: no state, no timer.
            List<Segment> later = h.advanceMillis(5000);
            assertThat(later).allMatch(s -> s.dstPort() == 39999);
        }
    }

    @Test
    void shouldEstablishAndQueueForAcceptOnTheFinalAckAndCarryDataBothWays() {
        try (EngineHarness h = new EngineHarness()) {
            TasListener l = fullListener(h);
            Segment synAck = synAckFor(h, 40000, 1000, Tcp.SYN, Opts.syn(1460, -1, false, false, 0));
            ScriptedConnection sc = new ScriptedConnection(h, null, 40000, PORT, 1000, synAck.seq());
            sc.data(bytes(100)); // the final ACK carries the request, as it may
            List<Segment> out = h.step();
            assertThat(out).as("the data is acknowledged").anyMatch(s -> s.has(Tcp.ACK) && s.ack() == 1001 + 100);
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_VALIDATED)).isEqualTo(1);
            assertThat(h.engine.counter(TasCounter.CONN_ESTABLISHED)).isEqualTo(1);
            TasConnection c = h.ctx.accept(l);
            assertThat(c).isNotNull();
            assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
            ScriptedConnection conn = new ScriptedConnection(h, c, 40000, PORT, 1000, synAck.seq());
            conn.peerSeq = sc.peerSeq;
            assertThat(conn.read(1000)).isEqualTo(bytes(100));
            assertThat(conn.write(bytes(3000, 7))).isEqualTo(3000);
            List<Segment> data = ScriptedConnection.dataOf(h.step());
            byte[] got = new byte[3000];
            int n = 0;
            for (Segment s : data) {
                assertThat(s.seq()).isEqualTo(synAck.seq() + 1 + n);
                System.arraycopy(s.payload(), 0, got, n, s.len());
                n += s.len();
            }
            assertThat(n).isEqualTo(3000);
            assertThat(got).isEqualTo(bytes(3000, 7));
            assertThat(data.get(0).len()).as("MSS from the cookie: 1460").isEqualTo(1460);
            conn.ack(synAck.seq() + 1 + 3000);
            conn.data(bytes(50, 100));
            h.step();
            assertThat(conn.read(1000)).isEqualTo(bytes(50, 100));
            assertThat(c.flow().sndWscale()).as("no timestamps: nothing else survives").isZero();
            assertThat(c.flow().sackOn()).isFalse();
        }
    }

    /**
     * The race TasManyConnectionsTest hit under load (issue 11): a SYN meets a full backlog and
     * gets a cookie; the client's retransmitted SYN meets a backlog with room and makes a
     * half-open connection with our own ISS; the client took the cookie SYN-ACK and ACKs the
     * cookie. Linux establishes that connection from the cookie; a RST would reset a client that
     * is ESTABLISHED.
     */
    @Test
    void shouldEstablishOnTheCookieWhenTheRetransmittedSynMadeAHalfOpenConnectionMeanwhile() {
        try (EngineHarness h = new EngineHarness()) {
            TasListener l = fullListener(h);
            Segment cookie = synAckFor(h, 40000, 1000, Tcp.SYN, Opts.syn(1460, -1, false, false, 0));
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_SENT)).isEqualTo(1);
            // The half-open connection that filled the backlog is reset by its client: room again.
            h.peer.send(39999, ENGINE_IP, PORT, 5001, 0, Tcp.RST, 0, new byte[0], Opts.none());
            h.step();
            Segment own = synAckFor(h, 40000, 1000, Tcp.SYN, Opts.syn(1460, -1, false, false, 0));
            assertThat(own.seq()).as("a half-open connection with its own ISS").isNotEqualTo(cookie.seq());
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_SENT)).isEqualTo(1);

            ScriptedConnection sc = new ScriptedConnection(h, null, 40000, PORT, 1000, cookie.seq());
            sc.data(bytes(100)); // the ACK of the cookie SYN-ACK, with a request
            List<Segment> out = h.step();
            assertThat(out).noneMatch(s -> s.has(Tcp.RST));
            assertThat(out).as("acknowledged on the cookie's sequence space")
                .anyMatch(s -> s.has(Tcp.ACK) && s.ack() == 1001 + 100 && s.seq() == cookie.seq() + 1);
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_VALIDATED)).isEqualTo(1);
            assertThat(h.engine.counter(TasCounter.CONN_ESTABLISHED)).isEqualTo(1);
            TasConnection c = h.ctx.accept(l);
            assertThat(c).isNotNull();
            assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
            assertThat(c.flow().sndWscale()).as("the cookie agreed no scaling (no timestamps)").isZero();
            ScriptedConnection conn = new ScriptedConnection(h, c, 40000, PORT, 1000, cookie.seq());
            conn.peerSeq = sc.peerSeq;
            assertThat(conn.read(1000)).isEqualTo(bytes(100));
            assertThat(conn.write(bytes(2000, 3))).isEqualTo(2000);
            List<Segment> data = ScriptedConnection.dataOf(h.step());
            assertThat(data).isNotEmpty();
            assertThat(data.get(0).seq()).isEqualTo(cookie.seq() + 1);
            conn.ack(cookie.seq() + 1 + 2000);
            assertThat(h.step()).noneMatch(s -> s.has(Tcp.RST));
            assertThat(h.advanceMillis(5000)).as("our own SYN-ACK is not retransmitted")
                .noneMatch(s -> s.has(Tcp.SYN) || s.has(Tcp.RST));
        }
    }

    @Test
    void shouldStillResetAHalfOpenConnectionsUnacceptableAckThatIsNoCookie() {
        try (EngineHarness h = new EngineHarness()) {
            fullListener(h);
            synAckFor(h, 40000, 1000, Tcp.SYN, Opts.syn(1460, -1, false, false, 0)); // cookies are out
            // The half-open connection from 39999 (ISN 5000) gets an ACK of something we never sent.
            h.peer.send(39999, ENGINE_IP, PORT, 5001, 12345, Tcp.ACK, 65535, new byte[0], Opts.none());
            List<Segment> out = h.step();
            assertThat(out).extracting(Segment::flags).containsExactly(Tcp.RST);
            assertThat(out.get(0).seq()).as("RFC 9293 3.10.7.4: SEQ = SEG.ACK").isEqualTo(12345);
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_FAILED)).isEqualTo(1);
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_VALIDATED)).isZero();
        }
    }

    @Test
    void shouldRefuseAWrongCookieWithARstAndCountIt() {
        try (EngineHarness h = new EngineHarness()) {
            fullListener(h);
            Segment synAck = synAckFor(h, 40000, 1000, Tcp.SYN, Opts.syn(1460, -1, false, false, 0));
            h.peer.send(40000, ENGINE_IP, PORT, 1001, synAck.seq() + 2, Tcp.ACK, 65535, new byte[0], Opts.none());
            List<Segment> out = h.step();
            assertThat(out).extracting(Segment::flags).containsExactly(Tcp.RST);
            assertThat(out.get(0).seq()).as("RFC 9293 3.10.7.1: SEQ = SEG.ACK").isEqualTo(synAck.seq() + 2);
            // Right cookie, but for another SYN (another client ISN).
            h.peer.send(40000, ENGINE_IP, PORT, 1002, synAck.seq() + 1, Tcp.ACK, 65535, new byte[0], Opts.none());
            assertThat(h.step()).extracting(Segment::flags).containsExactly(Tcp.RST);
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_FAILED)).isEqualTo(2);
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_VALIDATED)).isZero();
            assertThat(h.engine.flowCount()).isEqualTo(1);
        }
    }

    @Test
    void shouldRefuseACookieOlderThanItsPeriodAndTheNext() {
        try (EngineHarness h = new EngineHarness()) {
            fullListener(h);
            Segment old = synAckFor(h, 40000, 1000, Tcp.SYN, Opts.syn(1460, -1, false, false, 0));
            long made = h.now();
            // Into the second period after the one it was made in, while cookies may still be checked.
            h.advanceTo((made / TasSynCookies.PERIOD_NANOS + 2) * TasSynCookies.PERIOD_NANOS + 1);
            h.peer.send(40000, ENGINE_IP, PORT, 1001, old.seq() + 1, Tcp.ACK, 65535, new byte[0], Opts.none());
            assertThat(h.step()).extracting(Segment::flags).containsExactly(Tcp.RST);
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_FAILED)).isEqualTo(1);
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_VALIDATED)).isZero();
        }
    }

    @Test
    void shouldDropAGoodCookieWhileTheAcceptQueueIsFullAndTakeTheClientsNextSegment() {
        try (EngineHarness h = new EngineHarness()) {
            // Backlog 2: one connection established and not accepted, one half-open.
            TasListener l = h.ctx.listen(new InetSocketAddress(EngineHarness.addr(ENGINE_IP), PORT), 2);
            Segment e = synAckFor(h, 39000, 7000, Tcp.SYN, Opts.syn(1460, -1, false, false, 0));
            h.peer.send(39000, ENGINE_IP, PORT, 7001, e.seq() + 1, Tcp.ACK, 65535, new byte[0], Opts.none());
            assertThat(h.step()).isEmpty();
            Segment half = synAckFor(h, 39001, 8000, Tcp.SYN, Opts.syn(1460, -1, false, false, 0));
            Segment cookie = synAckFor(h, 40001, 2000, Tcp.SYN, Opts.syn(1460, -1, false, false, 0));
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_SENT)).isEqualTo(1);
            // The half-open one completes: two wait for accept, the accept queue is full.
            h.peer.send(39001, ENGINE_IP, PORT, 8001, half.seq() + 1, Tcp.ACK, 65535, new byte[0], Opts.none());
            assertThat(h.step()).isEmpty();

            // Valid, but no room: dropped as Linux does, without RST.
            h.peer.send(40001, ENGINE_IP, PORT, 2001, cookie.seq() + 1, Tcp.ACK, 65535, new byte[0], Opts.none());
            assertThat(h.step()).isEmpty();
            assertThat(h.engine.counter(TasCounter.CONN_BACKLOG_FULL)).isEqualTo(1);
            assertThat(h.engine.flowCount()).isEqualTo(2);

            // The application accepts one; the client's next segment (the cookie still in its ACK) gets in.
            assertThat(h.ctx.accept(l)).isNotNull();
            h.peer.send(40001, ENGINE_IP, PORT, 2001, cookie.seq() + 1, Tcp.ACK | Tcp.PSH, 65535, bytes(10),
                Opts.none());
            h.step();
            assertThat(h.engine.counter(TasCounter.SYN_COOKIES_VALIDATED)).isEqualTo(1);
            assertThat(h.ctx.accept(l)).isNotNull();
            TasConnection c = h.ctx.accept(l);
            assertThat(c).isNotNull();
            assertThat(c.remoteAddress().getPort()).isEqualTo(40001);
            assertThat(c.readableBytes()).isEqualTo(10);
        }
    }

    @Test
    void shouldCarryMssWindowScaleSackTimestampsAndEcnThroughTheCookie() {
        try (EngineHarness h = new EngineHarness()) {
            TasListener l = fullListener(h);
            int peerTs = 0x1234_5600;
            Segment synAck = synAckFor(h, 40000, 1000, Tcp.SYN | Tcp.ECE | Tcp.CWR, Opts.syn(1400, 7, true, true, peerTs));
            assertThat(synAck.has(Tcp.ECE)).as("RFC 3168 6.1.1: ECN-setup SYN-ACK").isTrue();
            assertThat(synAck.hasTimestamp()).isTrue();
            assertThat(synAck.tsEcr()).isEqualTo(peerTs);
            assertThat(synAck.sackPermitted()).isTrue();
            assertThat(synAck.windowScale()).isGreaterThanOrEqualTo(0);
            assertThat(synAck.mss()).isEqualTo(1460);
            h.advanceMillis(3);
            h.peer.send(40000, ENGINE_IP, PORT, 1001, synAck.seq() + 1, Tcp.ACK, 1000, new byte[0],
                Opts.none().timestamps(peerTs + 3, synAck.tsVal()));
            assertThat(h.step()).isEmpty();
            TasConnection c = h.ctx.accept(l);
            assertThat(c).isNotNull();
            TasFlow f = c.flow();
            assertThat(f.tsOn()).isTrue();
            assertThat(f.sackOn()).isTrue();
            assertThat(f.ecnOn()).isTrue();
            assertThat(f.sndWscale()).isEqualTo(7);
            assertThat(f.rcvWscale()).isEqualTo(synAck.windowScale());
            assertThat(f.mss()).as("the 1400 class, less 12 bytes of timestamps").isEqualTo(1400 - 12);
            assertThat(f.sndWnd()).as("the ACK's window, scaled by 7").isEqualTo(1000 << 7);
            ScriptedConnection conn = new ScriptedConnection(h, c, 40000, PORT, 1000, synAck.seq());
            assertThat(conn.write(bytes(2000))).isEqualTo(2000);
            List<Segment> data = ScriptedConnection.dataOf(h.step());
            assertThat(data.get(0).len()).isEqualTo(1388);
            assertThat(data.get(0).hasTimestamp()).isTrue();
            assertThat(data.get(0).tsEcr()).as("TS.Recent from the final ACK").isEqualTo(peerTs + 3);
            assertThat(data.get(0).tsVal() - synAck.tsVal()).as("our clock never went back").isGreaterThanOrEqualTo(0);
        }
    }

    @Test
    void shouldLoseOnlyWhatACookieCannotHoldWithoutTimestamps() {
        try (EngineHarness h = new EngineHarness()) {
            TasListener l = fullListener(h);
            Segment synAck = synAckFor(h, 40000, 1000, Tcp.SYN | Tcp.ECE | Tcp.CWR, Opts.syn(1300, 7, true, false, 0));
            assertThat(synAck.windowScale()).as("nothing could remember the client's shift").isEqualTo(-1);
            assertThat(synAck.sackPermitted()).isFalse();
            assertThat(synAck.hasTimestamp()).isFalse();
            assertThat(synAck.has(Tcp.ECE)).isFalse();
            h.peer.send(40000, ENGINE_IP, PORT, 1001, synAck.seq() + 1, Tcp.ACK, 65535, new byte[0], Opts.none());
            h.step();
            TasFlow f = h.ctx.accept(l).flow();
            assertThat(f.mss()).as("1300 rounds down to the 1240 class").isEqualTo(1240);
            assertThat(f.sndWscale()).isZero();
            assertThat(f.rcvWscale()).isZero();
            assertThat(f.sackOn()).isFalse();
            assertThat(f.ecnOn()).isFalse();
        }
    }
}
