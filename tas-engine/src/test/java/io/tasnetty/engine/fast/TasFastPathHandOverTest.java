package io.tasnetty.engine.fast;

import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.TasEngineParams;
import io.tasnetty.engine.TasTestParams;
import io.tasnetty.engine.cc.TasDctcpWindow;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.port.PacketBuffer;
import io.tasnetty.engine.port.TasRss;
import io.tasnetty.engine.port.TasWire;
import io.tasnetty.engine.port.WirePort;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;
import io.tasnetty.engine.wire.Ethernet;
import io.tasnetty.engine.wire.Ipv4;
import io.tasnetty.engine.wire.Tcp;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The receiving end of a hand-over: a segment the slow path passes to the core that owns its flow
 * (because the port delivered it to another core) is received there like a frame from the port,
 * after any install queued before it; if its flow is gone it is dropped and counted, never sent
 * back to the slow path; its buffer is freed exactly once either way.
 */
class TasFastPathHandOverTest {
    private static final int IP_A = 0x0A000001;
    private static final int IP_B = 0x0A000002;
    private static final long MAC_A = 0x02_00_0A_00_00_01L;
    private static final long MAC_B = 0x02_00_0A_00_00_02L;
    private static final int PAYLOAD = 100;
    /** The core under test: the one the wire delivers the test flow's frames to. */
    private static final int QUEUE = TasRss.queueFor(IP_A, 80, IP_B, 40000, 2);

    private final TasWire wire = new TasWire();
    private final WirePort port = wire.attach("a", MAC_A, 2, 1500, 64);
    private final Arena arena = Arena.ofShared();
    private final TasEngineParams params = TasTestParams.of(TasConfig.builder().set("ip-addr", "10.0.0.1/24")
        .set("mac-addr", "02:00:0a:00:00:01").set("cc", "dctcp-win").build(), port);
    private final TasCounters counters = new TasCounters("fp" + QUEUE);
    private final CountingEngine engine = new CountingEngine();
    private long now = 1_000_000_000L;
    private final TasFastPath fp = new TasFastPath(QUEUE, port, params, counters, new TasDctcpWindow(0.0625), engine,
        now);

    @AfterEach
    void close() {
        fp.close();
        wire.close();
        arena.close();
    }

    @Test
    void shouldReceiveAHandedOverSegmentAfterTheInstallQueuedBeforeIt() {
        TasFlow f = establishedFlow();
        int rcvNxt = f.rcvNxt();
        fp.install(f); // queued, not yet run: the segment below was handed over after it
        assertThat(fp.handOver(segment(f.rcvNxt(), f.sndUna()))).isTrue();

        fp.doWork(now += 1000);

        assertThat(f.rcvNxt()).as("the payload reached the flow").isEqualTo(rcvNxt + PAYLOAD);
        assertThat(f.rx.readable()).isEqualTo(PAYLOAD);
        assertThat(counters.get(TasCounter.RX_FLOW_SEGMENTS)).isEqualTo(1);
        assertThat(counters.get(TasCounter.RX_PACKETS)).as("counted where it arrived, not again").isZero();
        assertThat(counters.get(TasCounter.RX_BYTES)).isZero();
        assertThat(engine.exceptions).isZero();
        assertAllBuffersBack();
    }

    @Test
    void shouldDropAHandedOverSegmentWhoseFlowHasLeftInsteadOfReturningItToTheSlowPath() {
        TasFlow gone = establishedFlow(); // never installed here
        assertThat(fp.handOver(segment(gone.rcvNxt(), gone.sndUna()))).isTrue();

        fp.doWork(now += 1000);

        assertThat(counters.get(TasCounter.DROP_STEERED_NO_FLOW)).isEqualTo(1);
        assertThat(counters.get(TasCounter.RX_FLOW_SEGMENTS)).isZero();
        assertThat(engine.exceptions).as("no ping-pong with the slow path").isZero();
        assertThat(counters.get(TasCounter.RX_EXCEPTIONS)).isZero();
        assertAllBuffersBack();
    }

    @Test
    void shouldSendTheSameSegmentToTheSlowPathWhenItArrivesFromThePortForNoFlow() {
        // The contrast: from the port, a miss is an exception (a SYN, a stray) for the slow path.
        TasFlow gone = establishedFlow();
        PacketBuffer b = segment(gone.rcvNxt(), gone.sndUna());
        fillChecksums(b);
        byte[] frame = b.segment.asSlice(b.offset, b.length).toArray(ValueLayout.JAVA_BYTE);
        port.free(b);
        WirePort sender = wire.attach("b", MAC_B, 1, 1500, 64);
        PacketBuffer[] one = new PacketBuffer[1];
        assertThat(sender.alloc(one, 1)).isEqualTo(1);
        MemorySegment.copy(frame, 0, one[0].segment, ValueLayout.JAVA_BYTE, one[0].offset, frame.length);
        one[0].length = frame.length;
        sender.txBurst(0, one, 1);

        fp.doWork(now += 1000);

        assertThat(engine.exceptions).isEqualTo(1);
        assertThat(counters.get(TasCounter.RX_PACKETS)).isEqualTo(1);
        assertThat(counters.get(TasCounter.RX_EXCEPTIONS)).isEqualTo(1);
        assertThat(counters.get(TasCounter.DROP_STEERED_NO_FLOW)).isZero();
        assertAllBuffersBack();
    }

    private void assertAllBuffersBack() {
        assertThat(port.pool().available()).as("free packet buffers").isEqualTo(port.pool().capacity());
        assertThat(port.pool().invalidFrees()).as("double or foreign frees").isZero();
    }

    /** A data segment from B:40000 to A:80 with PAYLOAD bytes (checksums left zero: handed-over frames were checked). */
    private PacketBuffer segment(int seq, int ack) {
        PacketBuffer[] one = new PacketBuffer[1];
        assertThat(port.alloc(one, 1)).isEqualTo(1);
        PacketBuffer b = one[0];
        MemorySegment s = b.segment;
        long o = b.offset;
        long ipOff = o + Ethernet.HEADER_LENGTH;
        long tcpOff = ipOff + Ipv4.MIN_HEADER_LENGTH;
        Ethernet.write(s, o, MAC_A, MAC_B, Ethernet.TYPE_IPV4);
        Ipv4.writeHeader(s, ipOff, Ipv4.MIN_HEADER_LENGTH + Tcp.MIN_HEADER_LENGTH + PAYLOAD, 0, Ipv4.ECN_NOT_ECT,
            Ipv4.DEFAULT_TTL, Ipv4.PROTO_TCP, IP_B, IP_A);
        Tcp.writeHeader(s, tcpOff, 40000, 80, seq, ack, Tcp.MIN_HEADER_LENGTH, Tcp.ACK, 65535);
        for (int i = 0; i < PAYLOAD; i++) {
            s.set(ValueLayout.JAVA_BYTE, tcpOff + Tcp.MIN_HEADER_LENGTH + i, (byte) i);
        }
        b.length = Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH + Tcp.MIN_HEADER_LENGTH + PAYLOAD;
        return b;
    }

    private static void fillChecksums(PacketBuffer b) {
        MemorySegment s = b.segment;
        long ipOff = b.offset + Ethernet.HEADER_LENGTH;
        long tcpOff = ipOff + Ipv4.MIN_HEADER_LENGTH;
        Ipv4.headerChecksum(s, ipOff, Ipv4.computeHeaderChecksum(s, ipOff, Ipv4.MIN_HEADER_LENGTH));
        Tcp.checksum(s, tcpOff, Tcp.checksum(s, tcpOff, Tcp.MIN_HEADER_LENGTH + PAYLOAD, IP_B, IP_A));
    }

    private TasFlow establishedFlow() {
        return FastPathFixtures.establishedFlow(arena.allocate(64 * 1024, 64), arena.allocate(64 * 1024, 64), IP_A, IP_B,
            MAC_B, QUEUE, params.mss(), params.rtoInitNanos(), now);
    }

    /** The rest of the engine: counts what the fast path hands to the slow path (and frees it). */
    private final class CountingEngine extends FastPathFixtures.LoneEngine {
        int exceptions;

        CountingEngine() {
            super(IP_A);
        }

        @Override
        public boolean exception(PacketBuffer buf) {
            exceptions++;
            port.free(buf);
            return true;
        }
    }
}
