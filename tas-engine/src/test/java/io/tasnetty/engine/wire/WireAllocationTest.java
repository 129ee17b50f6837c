package io.tasnetty.engine.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/**
 * The receive and transmit paths through the flyweights allocate nothing once compiled. Measured
 * with the thread allocation counter; several attempts are allowed so that the loop is measured
 * after the JIT has compiled it (the interpreter may box), but one attempt must read exactly 0.
 */
class WireAllocationTest {
    private static final int ITERATIONS = 20_000;
    private static final int ATTEMPTS = 200;

    private final TcpOptions opts = new TcpOptions();
    private final int[] sackLeft = {1, 2, 3};
    private final int[] sackRight = {4, 5, 6};
    private long sink;

    @Test
    void shouldBuildAndParseFramesWithoutAllocating() {
        final com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment s = arena.allocate(4096);
            long best = Long.MAX_VALUE;
            for (int attempt = 0; attempt < ATTEMPTS && best != 0; attempt++) {
                final long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < ITERATIONS; i++) {
                    sink += roundTrip(s, 37 + (i & 7), i);
                }
                best = Math.min(best, threads.getCurrentThreadAllocatedBytes() - before);
            }
            assertThat(best).as("bytes allocated by %d round trips", ITERATIONS).isZero();
            assertThat(sink).isNotZero();
        }
    }

    private long roundTrip(MemorySegment s, long frame, int i) {
        final long ip = frame + Ethernet.HEADER_LENGTH;
        final long tcp = ip + Ipv4.MIN_HEADER_LENGTH;
        final int optLen = TcpOptions.writeAckOptions(s, tcp + 20, true, i, i + 1, sackLeft, sackRight, i & 3);
        final int tcpLength = 20 + optLen + 100 + (i & 1);
        Tcp.writeHeader(s, tcp, 1000, 2000, i, -i, 20 + optLen, Tcp.ACK, 500);
        Tcp.checksum(s, tcp, Tcp.checksum(s, tcp, tcpLength, 0x0A000001, 0x0A000002));
        Ipv4.writeHeader(s, ip, 20 + tcpLength, i, Ipv4.ECN_ECT0, 64, Ipv4.PROTO_TCP, 0x0A000001, 0x0A000002);
        Ipv4.headerChecksum(s, ip, Ipv4.computeHeaderChecksum(s, ip, 20));
        Ethernet.write(s, frame, 0x0200_0000_0002L, 0x0200_0000_0001L, Ethernet.TYPE_IPV4);

        long acc = Ethernet.dst(s, frame) + Ethernet.etherType(s, frame);
        final int hl = Ipv4.validate(s, ip, 14 + 20 + tcpLength);
        acc += hl + (Ipv4.isHeaderChecksumValid(s, ip, hl) ? 1 : 0);
        final int th = Tcp.validate(s, tcp, Ipv4.totalLength(s, ip) - hl);
        acc += th + (Tcp.isChecksumValid(s, tcp, tcpLength, Ipv4.src(s, ip), Ipv4.dst(s, ip)) ? 1 : 0);
        acc += opts.parse(s, tcp + 20, th - 20) ? opts.tsVal + opts.sackBlocks : -1;
        return acc;
    }
}
