package io.tasnetty.engine;

import io.tasnetty.engine.context.TasConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Capacity: many more concurrent connections than a fixed 256 KiB of committed rings each would
 * allow in 1 GiB (4,094 was the old ceiling), each carrying a request and a response byte-exact.
 * Prints what a connection costs in resident memory (both engines' ends together).
 */
class TasManyConnectionsTest {
    private static final int CONNECTIONS = 8_000;
    private static final int REQUEST = 200;

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void eightThousandConnectionsAreEstablishedAndEachCarriesARequestAndAResponse() throws IOException {
        // fp-poll-interval-tas 0: idle engines block, so the test thread gets the cores.
        // tcp-backlog-max: room in the listen backlog for every connection at once, so no SYN is
        // answered with a cookie. A cookie handshake whose final ACK is lost cannot recover until
        // the client sends (the server keeps no state, RFC 4987 3.6; Linux alike), and these
        // clients send only once all are accepted, while the wire drops frames under load
        // (3,576 in a run that left 416 clients established and never accepted).
        try (TasEnginePair p = new TasEnginePair(
                c -> c.set("fp-poll-interval-tas", "0").set("tcp-backlog-max", Integer.toString(CONNECTIONS)),
                w -> w, w -> w)) {
            System.gc();
            long before = residentBytes();
            List<TasEnginePair.Link> links = p.connect(5000, CONNECTIONS, 180_000);
            assertThat(links).hasSize(CONNECTIONS);
            assertThat(p.a.flowCount()).isEqualTo(CONNECTIONS);

            // Each client end sends a request, each server end answers; all read back byte for byte.
            ByteBuffer buf = ByteBuffer.allocateDirect(REQUEST);
            for (int i = 0; i < links.size(); i++) {
                write(links.get(i).atB(), TasEnginePair.pattern(REQUEST, i), buf);
            }
            for (int i = 0; i < links.size(); i++) {
                assertThat(read(p, links.get(i).atA(), buf)).as("request %d", i)
                    .isEqualTo(TasEnginePair.pattern(REQUEST, i));
                write(links.get(i).atA(), TasEnginePair.pattern(REQUEST, -i - 1), buf);
            }
            for (int i = 0; i < links.size(); i++) {
                assertThat(read(p, links.get(i).atB(), buf)).as("response %d", i)
                    .isEqualTo(TasEnginePair.pattern(REQUEST, -i - 1));
            }
            System.gc();
            long grown = residentBytes() - before;
            System.out.printf("%,d connections (both ends in this JVM): resident memory grew %,d KiB,"
                + " %,d bytes per connection; ring address space in use %,d MiB per engine%n",
                CONNECTIONS, grown >> 10, grown / CONNECTIONS, p.a.ringBytesInUse() >> 20);
            assertThat(p.a.ringBytesInUse()).isEqualTo((long) CONNECTIONS * (256 << 10));
        }
    }

    private static void write(TasConnection c, byte[] data, ByteBuffer buf) {
        buf.clear().put(data).flip();
        int n = c.write(buf);
        c.flush();
        assertThat(n).as("a fresh ring takes a small request whole").isEqualTo(data.length);
    }

    private static byte[] read(TasEnginePair p, TasConnection c, ByteBuffer buf) {
        buf.clear();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (buf.position() < REQUEST) {
            int n = c.read(buf);
            if (n <= 0) {
                p.pollEvents();
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("only " + buf.position() + " of " + REQUEST + " bytes on " + c + ": "
                        + TasEnginePair.dump(c) + "\n  A counters " + TasEnginePair.nonZero(p.a) + "\n  B counters "
                        + TasEnginePair.nonZero(p.b) + "\n  wire A " + p.wireA.stats() + " wire B " + p.wireB.stats());
                }
                LockSupport.parkNanos(20_000);
            }
        }
        byte[] out = new byte[REQUEST];
        buf.flip().get(out);
        return out;
    }

    private static long residentBytes() throws IOException {
        String[] statm = Files.readString(Path.of("/proc/self/statm")).trim().split("\\s+");
        return Long.parseLong(statm[1]) * 4096;
    }
}
