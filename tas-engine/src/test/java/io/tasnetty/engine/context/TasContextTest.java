package io.tasnetty.engine.context;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.tasnetty.engine.EngineHarness.ENGINE_IP;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TasContextTest {
    @Test
    void shouldReclaimRingsAndFlowsWhenTheContextCloses() {
        try (EngineHarness h = new EngineHarness()) {
            TasContext other = h.engine.newContext();
            TasListener l = other.listen(new InetSocketAddress("10.0.0.1", 80), 8);
            h.peer.send(40000, ENGINE_IP, 80, 100, 0, Tcp.SYN, 65535, new byte[0], Opts.syn(1460, -1, false, false, 0));
            Segment synAck = h.step().get(0);
            h.peer.send(40000, ENGINE_IP, 80, 101, synAck.seq() + 1, Tcp.ACK, 65535, new byte[0], null);
            h.step();
            TasConnection c = other.accept(l);
            assertThat(c).isNotNull();
            assertThat(h.engine.ringBytesInUse()).isPositive();
            // Unread data at close means RST (nothing is silently lost), then everything is reclaimed.
            h.peer.send(40000, ENGINE_IP, 80, 101, synAck.seq() + 1, Tcp.ACK, 65535, new byte[]{1, 2, 3}, null);
            h.step();
            other.close();
            List<Segment> out = h.step();
            assertThat(out).anyMatch(s -> s.has(Tcp.RST));
            h.step();
            assertThat(h.engine.flowCount()).isZero();
            assertThat(h.engine.flowRecordsInUse()).as("off-heap flow records").isZero();
            assertThat(h.engine.ringBytesInUse()).isZero();
            assertThat(h.engine.listenerCount()).isZero();
            assertThatThrownBy(() -> other.listen(new InetSocketAddress("10.0.0.1", 81), 1))
                .isInstanceOf(TasException.class).hasMessageContaining("closed");
        }
    }

    @Test
    void aConnectRefusedBeforeTheEngineSeesItLeavesNothingBehind() {
        try (EngineHarness h = new EngineHarness()) {
            assertThatThrownBy(() -> h.ctx.connect(new InetSocketAddress("10.0.0.2", 0)))
                .isInstanceOf(TasException.class).hasMessageContaining("port out of range");
            assertThat(h.engine.ringBytesInUse()).isZero();
            assertThat(h.engine.flowRecordsInUse()).isZero();
        }
    }

    @Test
    void shouldRefuseASecondListenerOnTheSamePort() {
        try (EngineHarness h = new EngineHarness()) {
            h.listen(80);
            assertThatThrownBy(() -> h.listen(80)).isInstanceOf(TasException.class).hasMessageContaining("in use");
            TasListener any = h.ctx.listen(new InetSocketAddress("10.0.0.1", 0), 4);
            assertThat(any.port()).isBetween(32768, 60999);
        }
    }

    @Test
    void shouldWakeABlockedAwaitFromAnotherThread() throws Exception {
        try (EngineHarness h = new EngineHarness()) {
            Thread t = Thread.ofPlatform().start(() -> h.ctx.await(TimeUnit.SECONDS.toNanos(30)));
            Thread.sleep(50);
            h.ctx.wakeup();
            t.join(TimeUnit.SECONDS.toMillis(10));
            assertThat(t.isAlive()).as("await returned after wakeup").isFalse();
            h.ctx.wakeup(); // a wakeup with nobody waiting makes the next await return at once
            long t0 = System.nanoTime();
            h.ctx.await(TimeUnit.SECONDS.toNanos(30));
            assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(10));
        }
    }

    @Test
    void loopbackConnectionsAreNotPacedToTheLinkRate() {
        // 1 Mbit/s pacing: a flow on the wire may send its initial burst (10 segments) and then
        // waits for the clock; a loopback flow never crosses that link and is bounded only by
        // the peer's window.
        TasConfig.Builder slow = TasConfig.builder().set("cc", "const-rate").set("cc-const-rate", "1");
        try (EngineHarness h = new EngineHarness(slow)) {
            TasListener l = h.ctx.listen(new InetSocketAddress("127.0.0.1", 9), 4);
            TasConnection c = h.ctx.connect(new InetSocketAddress("127.0.0.1", 9));
            h.step();
            TasConnection s = h.ctx.accept(l);
            assertThat(s).isNotNull();
            byte[] data = new byte[64 * 1024];
            new java.util.Random(3).nextBytes(data);
            ByteBuffer out = ByteBuffer.wrap(data);
            assertThat(c.write(out)).isEqualTo(data.length);
            c.flush();
            ByteBuffer in = ByteBuffer.allocate(data.length);
            for (int i = 0; i < 10 && in.hasRemaining(); i++) {
                h.step(); // the clock does not move
                s.read(in);
            }
            assertThat(in.position()).isEqualTo(data.length);
            assertThat(in.array()).isEqualTo(data);
        }
        try (EngineHarness h = new EngineHarness(slow)) {
            io.tasnetty.engine.ScriptedConnection sc = h.accept(80);
            sc.write(new byte[64 * 1024]);
            List<Segment> burst = h.step();
            assertThat(burst).as("the wire flow is paced: its initial burst only").hasSizeLessThanOrEqualTo(10);
            assertThat(h.step()).as("and nothing more until the clock moves").isEmpty();
        }
    }

    @Test
    void loopbackConnectionsMoveUpTo64KiBPerSegmentAsLinuxLo() {
        try (EngineHarness h = new EngineHarness()) {
            TasListener l = h.ctx.listen(new InetSocketAddress("127.0.0.1", 9), 4);
            TasConnection c = h.ctx.connect(new InetSocketAddress("127.0.0.1", 9), null, 1 << 20, 1 << 20);
            h.step();
            TasConnection s = h.ctx.accept(l);
            long segmentsBefore = h.engine.counter(io.tasnetty.engine.stats.TasCounter.RX_FLOW_SEGMENTS);
            byte[] data = new byte[512 * 1024];
            new java.util.Random(5).nextBytes(data);
            ByteBuffer out = ByteBuffer.wrap(data);
            ByteBuffer in = ByteBuffer.allocate(data.length);
            for (int i = 0; i < 100 && in.hasRemaining(); i++) {
                c.write(out);
                c.flush();
                h.step();
                s.read(in);
            }
            assertThat(in.array()).isEqualTo(data);
            long segments = h.engine.counter(io.tasnetty.engine.stats.TasCounter.RX_FLOW_SEGMENTS) - segmentsBefore;
            // 8 data segments of up to 65,483 bytes (plus the ACKs coming back), where MTU-sized
            // segments would take 360 data segments.
            assertThat(segments).isLessThan(40);
        }
    }

    @Test
    void aLoopedReplyCarriesTheAckOfItsRequestAndALoneSegmentIsAckedAfterTheDelay() {
        try (EngineHarness h = new EngineHarness()) {
            TasListener l = h.ctx.listen(new InetSocketAddress("127.0.0.1", 9), 4);
            TasConnection c = h.ctx.connect(new InetSocketAddress("127.0.0.1", 9));
            h.step();
            TasConnection s = h.ctx.accept(l);
            long acksBefore = h.engine.counter(io.tasnetty.engine.stats.TasCounter.TCP_ACKS_SENT);
            long segmentsBefore = h.engine.counter(io.tasnetty.engine.stats.TasCounter.RX_FLOW_SEGMENTS);
            for (int i = 0; i < 10; i++) {
                c.write(ByteBuffer.wrap(new byte[64]));
                c.flush();
                h.step();
                assertThat(s.read(ByteBuffer.allocate(64))).isEqualTo(64);
                s.write(ByteBuffer.wrap(new byte[64]));
                s.flush();
                h.step();
                assertThat(c.read(ByteBuffer.allocate(64))).isEqualTo(64);
            }
            // One segment each way per exchange: every request and reply carried the other side's ACK.
            assertThat(h.engine.counter(io.tasnetty.engine.stats.TasCounter.RX_FLOW_SEGMENTS) - segmentsBefore)
                .isEqualTo(20);
            assertThat(h.engine.counter(io.tasnetty.engine.stats.TasCounter.TCP_ACKS_SENT) - acksBefore).isZero();
            // The last reply has no answer to ride on: its ACK goes once the delay (40 ms, Linux's
            // TCP_ATO_MIN) is over, and not before.
            h.advanceMillis(39);
            assertThat(h.engine.counter(io.tasnetty.engine.stats.TasCounter.TCP_ACKS_SENT) - acksBefore).isZero();
            h.advanceMillis(2);
            assertThat(h.engine.counter(io.tasnetty.engine.stats.TasCounter.TCP_ACKS_SENT) - acksBefore).isEqualTo(1);
            assertThat(s.flow().sndUna()).isEqualTo(s.flow().sndMax());
        }
    }

    @Test
    void aLoopedWriterWithASmallTransmitRingShouldNotWaitForTheDelayedAck() {
        // 4 KiB to send, 256 KiB to receive: what fills the writer's ring is far below a quarter of
        // the reader's, but the writer can go on only once it is acknowledged. The ACK goes at once.
        try (EngineHarness h = new EngineHarness()) {
            TasListener l = h.ctx.listen(new InetSocketAddress("127.0.0.1", 9), 4, 256 * 1024, 256 * 1024);
            TasConnection c = h.ctx.connect(new InetSocketAddress("127.0.0.1", 9), null, 4096, 4096);
            h.step();
            TasConnection s = h.ctx.accept(l);
            int total = 0;
            for (int round = 0; round < 8; round++) {
                int n = c.write(ByteBuffer.wrap(new byte[8192]));
                assertThat(n).as("round %d: the ring's worth, all of it free again", round).isEqualTo(4096);
                c.flush();
                h.step(); // no clock advance: only an ACK sent at once frees the ring
                ByteBuffer got = ByteBuffer.allocate(8192);
                total += s.read(got);
            }
            assertThat(total).isEqualTo(8 * 4096);
            // Small exchanges still wait for a reply to carry their ACK.
            long acks = h.engine.counter(io.tasnetty.engine.stats.TasCounter.TCP_ACKS_SENT);
            c.write(ByteBuffer.wrap(new byte[64]));
            c.flush();
            h.step();
            assertThat(h.engine.counter(io.tasnetty.engine.stats.TasCounter.TCP_ACKS_SENT)).isEqualTo(acks);
        }
    }

    @Test
    void shouldDeliverLoopbackConnectionsInsideTheEngine() {
        try (EngineHarness h = new EngineHarness()) {
            TasListener l = h.ctx.listen(new InetSocketAddress("127.0.0.1", 9), 4);
            TasConnection c = h.ctx.connect(new InetSocketAddress("127.0.0.1", 9));
            assertThat(h.step()).as("nothing reaches the wire").isEmpty();
            assertThat(h.takeEvents(c) & TasEvents.CONNECTED).isNotZero();
            TasConnection s = h.ctx.accept(l);
            assertThat(s).isNotNull();
            c.write(ByteBuffer.wrap(new byte[]{42, 43}));
            c.flush();
            h.step();
            ByteBuffer in = ByteBuffer.allocate(8);
            assertThat(s.read(in)).isEqualTo(2);
            assertThat(in.get(0)).isEqualTo((byte) 42);
        }
    }
}
