package io.tasnetty.engine.fast;

import io.tasnetty.engine.TasEngineParams;
import io.tasnetty.engine.TasTestParams;
import io.tasnetty.engine.cc.TasDctcpWindow;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.flow.TasByteRing;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TasFlowTable;
import io.tasnetty.engine.port.PacketBuffer;
import io.tasnetty.engine.port.TasPort;
import io.tasnetty.engine.port.TasPortCapabilities;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;
import io.tasnetty.engine.wire.Checksums;
import io.tasnetty.engine.wire.Ethernet;
import io.tasnetty.engine.wire.Ipv4;
import io.tasnetty.engine.wire.Tcp;
import io.tasnetty.engine.wire.TcpOptions;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Cost of the fast path's three hot operations, measured on the real {@link TasFastPath} duty
 * cycle ({@code doWork}) over a minimal port that recycles its buffers:
 * <ul>
 *   <li>{@code receiveInOrderSegmentAndAck}: one in-order data segment (timestamps, ACK|PSH) is
 *       received, verified, copied into the connection's receive ring, and its ACK is built,
 *       checksummed and handed to the port; the application then consumes the bytes.</li>
 *   <li>{@code transmitSegment}: the application publishes one segment of bytes in the transmit
 *       ring and flushes (a command to the fast path); the duty cycle builds the data segment and
 *       hands it to the port. Every 8th operation a cumulative ACK for the segments in flight is
 *       received too (its cost amortised, as in a steady bulk transfer with delayed ACKs).</li>
 *   <li>{@code lookupFlowAmong100k} / {@code lookupMissAmong100k}: {@link TasFlowTable#get} with
 *       100,000 flows installed, keys in random order.</li>
 * </ul>
 * {@code offload=false} is a software port (the pure-Java ports: every checksum computed and
 * verified in Java); {@code offload=true} a NIC that verifies received checksums and fills in
 * transmitted ones. Expect 0 B/op in {@code -prof gc}.
 *
 * <p>Not a unit test. Run with {@link TasFastPathBenchmarkMain}, or:
 * <pre>
 * mvn -o -q -pl tas-engine -am test-compile
 * java --enable-native-access=ALL-UNNAMED -cp &lt;test classpath&gt; org.openjdk.jmh.Main TasFastPathBenchmark \
 *     -prof gc -f 1 -wi 3 -i 5
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class TasFastPathBenchmark {
    static final int IP_A = 0x0A000001;
    static final int IP_B = 0x0A000002;
    static final long MAC_A = 0x02_00_0A_00_00_01L;
    static final long MAC_B = 0x02_00_0A_00_00_02L;
    static final int TS_VAL = 123_456;

    @Benchmark
    public int receiveInOrderSegmentAndAck(Path p) {
        return p.receiveOne();
    }

    @Benchmark
    public int transmitSegment(Path p) {
        return p.transmitOne();
    }

    @Benchmark
    public Object lookupFlowAmong100k(Flows s) {
        int i = s.cursor++ & s.mask;
        return s.table.get(IP_A, s.localPort[i], s.remoteIp[i], s.remotePort[i]);
    }

    @Benchmark
    public Object lookupMissAmong100k(Flows s) {
        int i = s.cursor++ & s.mask;
        return s.table.get(IP_A, s.localPort[i], s.remoteIp[i] ^ 0x00800000, s.remotePort[i]);
    }

    /** One fast path with one established connection (A's end) over a {@link BenchPort}. */
    @State(Scope.Thread)
    public static class Path {
        @Param({"1448"})
        public int payload;
        @Param({"false", "true"})
        public boolean offload;

        BenchPort port;
        TasFastPath fp;
        TasFlow flow;
        TasCounters counters;
        long now = 1_000_000_000L;
        long ops;
        int lastSeq;
        int lastAck;
        long txAtStart;
        int rcvNxtAtStart;
        int sndNxtAtStart;
        long txFramesAtStart;

        @Setup(Level.Trial)
        public void setup() {
            TasPortCapabilities caps = offload ? new TasPortCapabilities(true, true, 0, true)
                : TasPortCapabilities.SOFTWARE;
            port = new BenchPort(caps);
            TasConfig config = TasConfig.builder().set("ip-addr", "10.0.0.1/24").set("mac-addr", "02:00:0a:00:00:01")
                .set("cc", "dctcp-win").build();
            TasEngineParams params = TasTestParams.of(config, port);
            counters = new TasCounters("fp0");
            fp = new TasFastPath(0, port, params, counters, new TasDctcpWindow(config.ccDctcpWeight()),
                new FastPathFixtures.LoneEngine(IP_A), now);
            flow = establishedFlow(params);
            fp.install(flow);
            fp.doWork(now);
            if (!flow.installed) {
                throw new IllegalStateException("flow not installed");
            }
            port.buildDataFrame(flow, payload, offload);
            port.buildAckFrame(flow, offload);
            lastSeq = Tcp.seq(port.dataFrame.segment, BenchPort.TCP_OFF);
            lastAck = Tcp.ack(port.ackFrame.segment, BenchPort.TCP_OFF);
            rcvNxtAtStart = flow.rcvNxt();
            sndNxtAtStart = flow.sndNxt();
            txFramesAtStart = port.txFrames;
        }

        private TasFlow establishedFlow(TasEngineParams params) {
            TasFlow f = FastPathFixtures.establishedFlow(port.arena.allocate(128 * 1024, 64),
                port.arena.allocate(128 * 1024, 64), IP_A, IP_B, MAC_B, 0, params.mss(), params.rtoInitNanos(), now);
            f.sndWscale(7);
            f.rcvWscale(7);
            f.sndWnd(65535 << 7);
            f.tsOn(true);
            f.tsRecent(TS_VAL);
            f.sackOn(true);
            f.optLen(12);
            f.mss(params.mss() - f.optLen());
            new TasDctcpWindow(0.0625).init(f, now); // again: its initial window counts in MSS
            return f;
        }

        int receiveOne() {
            MemorySegment s = port.dataFrame.segment;
            int seq = flow.rcvNxt();
            Tcp.seq(s, BenchPort.TCP_OFF, seq);
            Tcp.checksum(s, BenchPort.TCP_OFF, Checksums.update32(Tcp.checksum(s, BenchPort.TCP_OFF), lastSeq, seq));
            lastSeq = seq;
            port.rxNext = port.dataFrame;
            now += 1_000;
            int work = fp.doWork(now);
            TasByteRing rx = flow.rx;
            rx.publishHead(rx.tailPlain()); // the application read everything
            ops++;
            return work;
        }

        int transmitOne() {
            TasByteRing tx = flow.tx;
            tx.publishTail(tx.tailPlain() + payload); // the application wrote one segment's worth
            fp.command(flow, TasFlow.CMD_TX); // ... and flushed
            if ((++ops & 7) == 0) {
                MemorySegment s = port.ackFrame.segment;
                int ack = flow.sndNxt();
                Tcp.ack(s, BenchPort.TCP_OFF, ack);
                Tcp.checksum(s, BenchPort.TCP_OFF, Checksums.update32(Tcp.checksum(s, BenchPort.TCP_OFF), lastAck,
                    ack));
                lastAck = ack;
                port.rxNext = port.ackFrame;
            }
            now += 1_000;
            return fp.doWork(now);
        }

        /** Fails the run if the operations did not take the path they claim to measure. */
        @TearDown(Level.Trial)
        public void check() {
            long drops = 0;
            for (TasCounter c : TasCounter.values()) {
                if (c.name().startsWith("DROP_") || c == TasCounter.TX_NO_BUFFER || c == TasCounter.TX_PORT_FULL
                    || c == TasCounter.TCP_RETRANSMITTED_SEGMENTS) {
                    drops += counters.get(c);
                }
            }
            long received = (flow.rcvNxt() - rcvNxtAtStart) & 0xFFFF_FFFFL;
            long sent = (flow.sndNxt() - sndNxtAtStart) & 0xFFFF_FFFFL;
            long frames = port.txFrames - txFramesAtStart;
            boolean rxOk = received == (ops * payload & 0xFFFF_FFFFL) && frames == ops && sent == 0;
            boolean txOk = received == 0 && sent == (ops * payload & 0xFFFF_FFFFL) && frames == ops;
            if (ops == 0 || drops != 0 || !(rxOk || txOk)) {
                throw new IllegalStateException("benchmark left the intended path: ops=" + ops + " drops=" + drops
                    + " received=" + received + " sent=" + sent + " frames=" + frames);
            }
            port.arena.close();
        }
    }

    /** 100,000 flows in a table, and the keys to look them up in random order. */
    @State(Scope.Thread)
    public static class Flows {
        static final int FLOWS = 100_000;

        TasFlowTable<TasFlow> table;
        int[] localPort;
        int[] remoteIp;
        int[] remotePort;
        int mask;
        int cursor;

        @Setup(Level.Trial)
        public void setup() {
            SplittableRandom r = new SplittableRandom(42);
            table = new TasFlowTable<>(1024); // grows as the engine's does
            int n = Integer.highestOneBit(FLOWS - 1) << 1;
            mask = n - 1;
            localPort = new int[n];
            remoteIp = new int[n];
            remotePort = new int[n];
            Set<Long> seen = new HashSet<>();
            int[] lp = new int[FLOWS];
            int[] ri = new int[FLOWS];
            int[] rp = new int[FLOWS];
            for (int i = 0; i < FLOWS; ) {
                lp[i] = 80 + r.nextInt(4);
                ri[i] = 0x0A000000 | r.nextInt(1 << 22); // inside 10.0.0.0/10: bit 23 clear (see the miss lookup)
                rp[i] = 1024 + r.nextInt(64000);
                if (seen.add((long) lp[i] << 48 ^ (long) ri[i] << 16 ^ rp[i])) {
                    TasFlow f = new TasFlow();
                    table.put(IP_A, lp[i], ri[i], rp[i], f);
                    i++;
                }
            }
            for (int i = 0; i < n; i++) {
                int j = r.nextInt(FLOWS);
                localPort[i] = lp[j];
                remoteIp[i] = ri[j];
                remotePort[i] = rp[j];
            }
        }
    }

    /** The rest of the engine, as far as the fast path needs it here: nothing happens. */
    /**
     * A port with one queue: {@link #rxBurst} hands out the one frame the benchmark staged,
     * {@link #txBurst} counts and recycles, buffers come from a small stack. Allocates nothing.
     */
    static final class BenchPort implements TasPort {
        static final long TCP_OFF = Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH;
        private static final int BUFFER = 2048;
        private static final int COUNT = 256;

        final Arena arena = Arena.ofShared();
        private final TasPortCapabilities caps;
        private final PacketBuffer[] stack = new PacketBuffer[COUNT];
        private int free;
        PacketBuffer dataFrame;
        PacketBuffer ackFrame;
        PacketBuffer rxNext;
        long txFrames;
        long txBytes;

        BenchPort(TasPortCapabilities caps) {
            this.caps = caps;
            MemorySegment region = arena.allocate((long) BUFFER * COUNT, 64);
            for (int i = 0; i < COUNT; i++) {
                stack[free++] = new PacketBuffer(region, (long) i * BUFFER, BUFFER, i, this);
            }
        }

        /** A data segment from B to A with timestamps; the benchmark rewrites its sequence number. */
        void buildDataFrame(TasFlow f, int payload, boolean offload) {
            dataFrame = frame(f, f.rcvNxt(), f.sndUna(), Tcp.ACK | Tcp.PSH, payload, offload);
        }

        /** A pure ACK from B to A; the benchmark rewrites its acknowledgement number. */
        void buildAckFrame(TasFlow f, boolean offload) {
            ackFrame = frame(f, f.rcvNxt(), f.sndUna(), Tcp.ACK, 0, offload);
        }

        private PacketBuffer frame(TasFlow f, int seq, int ack, int flags, int payload, boolean offload) {
            MemorySegment s = arena.allocate(BUFFER, 64);
            PacketBuffer b = new PacketBuffer(s, 0, BUFFER, -1, this); // handle -1: staged, never recycled
            long ip = Ethernet.HEADER_LENGTH;
            int opt = TcpOptions.writeAckOptions(s, TCP_OFF + 20, true, TS_VAL, 0, new int[0], new int[0], 0);
            int hdr = 20 + opt;
            Tcp.writeHeader(s, TCP_OFF, f.remotePort, f.localPort, seq, ack, hdr, flags, 65535);
            for (int i = 0; i < payload; i++) {
                s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, TCP_OFF + hdr + i, (byte) i);
            }
            Ethernet.write(s, 0, MAC_A, MAC_B, Ethernet.TYPE_IPV4);
            Ipv4.writeHeader(s, ip, 20 + hdr + payload, 1, Ipv4.ECN_NOT_ECT, 64, Ipv4.PROTO_TCP, IP_B, IP_A);
            Ipv4.headerChecksum(s, ip, Ipv4.computeHeaderChecksum(s, ip, 20));
            Tcp.checksum(s, TCP_OFF, Tcp.checksum(s, TCP_OFF, hdr + payload, IP_B, IP_A));
            b.length = (int) TCP_OFF + hdr + payload;
            b.flags = offload ? PacketBuffer.RX_IP_CSUM_GOOD | PacketBuffer.RX_L4_CSUM_GOOD : 0;
            return b;
        }

        @Override
        public int rxBurst(int queue, PacketBuffer[] bufs, int max) {
            PacketBuffer b = rxNext;
            if (b == null) {
                return 0;
            }
            rxNext = null;
            bufs[0] = b;
            return 1;
        }

        @Override
        public int txBurst(int queue, PacketBuffer[] bufs, int count) {
            for (int i = 0; i < count; i++) {
                txFrames++;
                txBytes += bufs[i].length;
                free(bufs[i]);
            }
            return count;
        }

        @Override
        public int alloc(PacketBuffer[] bufs, int count) {
            int n = Math.min(count, free);
            for (int i = 0; i < n; i++) {
                PacketBuffer b = stack[--free];
                stack[free] = null;
                b.reset();
                bufs[i] = b;
            }
            return n;
        }

        @Override
        public void free(PacketBuffer buf) {
            if (buf.handle >= 0) {
                stack[free++] = buf;
            }
        }

        @Override
        public String name() {
            return "bench";
        }

        @Override
        public int queueCount() {
            return 1;
        }

        @Override
        public long macAddress() {
            return MAC_A;
        }

        @Override
        public int mtu() {
            return 1500;
        }

        @Override
        public TasPortCapabilities capabilities() {
            return caps;
        }

        @Override
        public void start() {
        }

        @Override
        public void awaitRx(int queue, long timeoutNanos) {
        }

        @Override
        public void wakeup(int queue) {
        }

        @Override
        public void close() {
            arena.close();
        }
    }
}
