package io.tasnetty.engine.port.dpdk;

import io.tasnetty.engine.TasEnginePair;
import io.tasnetty.engine.stats.TasCounter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two engines of this JVM linked by DPDK's {@code net_memif} (server and client on one socket): a
 * memif queue has no receive interrupts and no per-thread state, so an application thread that
 * runs the fast path inline also receives from it (run to completion, no hand-off to the
 * fast-path thread), and every byte still arrives in order.
 */
class DpdkMemifRunToCompletionTest {

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void applicationThreadsReceiveFromMemifAndEveryByteArrives() throws Exception {
        DpdkTestSupport.requireEal();
        Path sock = Path.of("/tmp", "tastest-memif-" + DpdkTestSupport.PID + ".sock");
        Files.deleteIfExists(sock);
        try (DpdkPort server = DpdkPort.attach(DpdkTestSupport.EAL, "net_memif1,role=server,id=0,socket=" + sock,
                1, 0, false, false, 4095);
             DpdkPort client = DpdkPort.attach(DpdkTestSupport.EAL, "net_memif2,role=client,id=0,socket=" + sock,
                1, 0, false, false, 4095)) {
            assertThat(server.driverName()).isEqualTo("net_memif");
            assertThat(server.capabilities().rxInterrupts()).as("memif has no rx interrupts").isFalse();
            assertThat(server.rxFromAnyThread()).as("memif lets any (one) thread receive").isTrue();
            assertThat(client.rxFromAnyThread()).isTrue();

            try (TasEnginePair pair = new TasEnginePair(c -> c, w -> server, w -> client)) {
                List<TasEnginePair.Link> links = pair.connect(7100, 4, 30_000);
                // (The memif link may come up after the first SYN: count timeouts from here.)
                long rtosBefore = pair.a.counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS)
                    + pair.b.counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS);
                pair.exchangeAll(links, 1 << 20, 60_000);
                long onApps = pair.a.counter(TasCounter.RX_ON_APPLICATION_THREADS)
                    + pair.b.counter(TasCounter.RX_ON_APPLICATION_THREADS);
                long all = pair.a.counter(TasCounter.RX_PACKETS) + pair.b.counter(TasCounter.RX_PACKETS);
                assertThat(onApps).as("packets received on application threads, of %d (A: %s; B: %s)", all,
                    TasEnginePair.nonZero(pair.a), TasEnginePair.nonZero(pair.b)).isPositive().isLessThanOrEqualTo(all);
                assertThat(pair.a.counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS)
                    + pair.b.counter(TasCounter.TCP_RETRANSMIT_TIMEOUTS)).as("no frame lost to a receiving race")
                    .isEqualTo(rtosBefore);
                assertThat(pair.threadsAlive()).isTrue();
            }
        } finally {
            Files.deleteIfExists(sock);
        }
    }
}
