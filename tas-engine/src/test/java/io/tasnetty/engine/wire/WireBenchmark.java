package io.tasnetty.engine.wire;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.concurrent.TimeUnit;
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

/**
 * Cost of the per-packet wire work: the Internet checksum by length and a full receive-side parse
 * of an Ethernet/IPv4/TCP frame with timestamps. Not a unit test; run it with JMH, e.g.
 * {@code java -cp <test classpath> org.openjdk.jmh.Main WireBenchmark -prof gc} (expect 0 B/op).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class WireBenchmark {
    /** Frames start 2 bytes into a cache line, as after a 14-byte Ethernet header with NET_IP_ALIGN. */
    private static final long FRAME = 2;

    @Param({"20", "64", "1460", "9000"})
    public int length;

    private Arena arena;
    private MemorySegment segment;
    private int frameTcpLength;
    private final TcpOptions opts = new TcpOptions();

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofConfined();
        segment = arena.allocate(16_384, 64);
        final byte[] random = new byte[16_384];
        new Random(42).nextBytes(random);
        MemorySegment.copy(MemorySegment.ofArray(random), 0, segment, 0, random.length);

        final long ip = FRAME + Ethernet.HEADER_LENGTH;
        final long tcp = ip + Ipv4.MIN_HEADER_LENGTH;
        final int optLen = TcpOptions.writeAckOptions(segment, tcp + 20, true, 1, 2, null, null, 0);
        frameTcpLength = 20 + optLen + length;
        Tcp.writeHeader(segment, tcp, 1000, 2000, 1, 2, 20 + optLen, Tcp.ACK, 500);
        Tcp.checksum(segment, tcp, Tcp.checksum(segment, tcp, frameTcpLength, 0x0A000001, 0x0A000002));
        Ipv4.writeHeader(segment, ip, 20 + frameTcpLength, 0, 0, 64, Ipv4.PROTO_TCP, 0x0A000001, 0x0A000002);
        Ipv4.headerChecksum(segment, ip, Ipv4.computeHeaderChecksum(segment, ip, 20));
        Ethernet.write(segment, FRAME, 2, 1, Ethernet.TYPE_IPV4);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public int checksumSum() {
        return Checksums.sum(segment, FRAME + Ethernet.HEADER_LENGTH, length, 0);
    }

    @Benchmark
    public long parseFrame() {
        final MemorySegment s = segment;
        final long ip = FRAME + Ethernet.HEADER_LENGTH;
        if (Ethernet.etherType(s, FRAME) != Ethernet.TYPE_IPV4) {
            return -1;
        }
        final int hl = Ipv4.validate(s, ip, 20 + frameTcpLength);
        if (hl < 0 || !Ipv4.isHeaderChecksumValid(s, ip, hl)) {
            return -2;
        }
        final long tcp = ip + hl;
        final int tcpLength = Ipv4.totalLength(s, ip) - hl;
        final int th = Tcp.validate(s, tcp, tcpLength);
        if (th < 0 || !Tcp.isChecksumValid(s, tcp, tcpLength, Ipv4.src(s, ip), Ipv4.dst(s, ip))) {
            return -3;
        }
        if (!opts.parse(s, tcp + Tcp.MIN_HEADER_LENGTH, th - Tcp.MIN_HEADER_LENGTH)) {
            return -4;
        }
        return Tcp.seq(s, tcp) + (long) opts.tsVal + Tcp.srcPort(s, tcp);
    }
}
