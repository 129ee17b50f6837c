package io.tasnetty.it.linux;

import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.port.dpdk.DpdkPort;
import io.tasnetty.engine.stats.TasCounter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every test of {@link LinuxInteropTestBase} with the engine on {@code net_af_packet} with two
 * queue pairs ({@code qpairs=2}) and two fast-path cores. The PMD has no RSS: each queue is an
 * AF_PACKET socket of one PACKET_FANOUT_HASH group, so the kernel's flow hash (not the engine's)
 * picks the queue of every received packet. About half the flows are owned by the other core
 * than the one their packets reach; those segments must be handed over to their flow's core.
 */
class AfPacketTwoQueueLinuxInteropTest extends LinuxInteropTestBase {
    private static final int PARALLEL = 16;
    private static final long EACH = 8L << 20;

    @Override
    LinuxLink.Kind kind() {
        return LinuxLink.Kind.AF_PACKET;
    }

    @Override
    int queues() {
        return 2;
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void sixteenParallelTransfersFromLinuxCompleteWhateverQueueTheKernelPicks() throws Exception {
        try (EngineFixture f = fixture("mq")) {
            assertThat(f.engine.params().queues()).as("fast-path cores").isEqualTo(2);
            assertThat(((DpdkPort) f.link.port).rxSteering()).as("af_packet has no RSS to model").isNull();
            Path in = f.scratch.random("in.bin", EACH);
            String inSha = Files256.sha256(in);
            List<BulkPeer> peers = new CopyOnWriteArrayList<>();
            f.loop.listen(7011, 64, () -> {
                BulkPeer p = new BulkPeer(EACH, 77); // every connection sends the same bytes
                peers.add(p);
                return p;
            });
            long t0 = System.nanoTime();
            List<Sh.Background> socats = new ArrayList<>();
            try {
                for (int i = 0; i < PARALLEL; i++) {
                    socats.add(Sh.start(f.scratch.path("socat-" + i + ".log"), Sh.nsCommand(f.link.net.ns,
                            "socat", "-t", "60", "-b", "65536", "TCP4:" + PeerNet.ENGINE_IP + ":7011",
                            "OPEN:" + in + "!!CREATE:" + f.scratch.path("out-" + i + ".bin"))));
                }
                f.await(() -> socats.stream().noneMatch(s -> s.process().isAlive())
                        || peers.stream().anyMatch(p -> p.result.isCompletedExceptionally()), 150,
                        "the socat clients and the TAS server");
                for (Sh.Background s : socats) {
                    s.awaitSuccess(30, TimeUnit.SECONDS);
                }
            } finally {
                socats.forEach(Sh.Background::close);
            }
            assertThat(peers).hasSize(PARALLEL);
            String sentSha = null;
            for (BulkPeer p : peers) {
                BulkPeer.Result r = p.result.get(30, TimeUnit.SECONDS);
                assertThat(r.received()).as("bytes TAS received").isEqualTo(EACH);
                assertThat(r.receivedSha256()).as("SHA-256 Linux -> TAS").isEqualTo(inSha);
                sentSha = r.sentSha256();
            }
            for (int i = 0; i < PARALLEL; i++) {
                Path out = f.scratch.path("out-" + i + ".bin");
                assertThat(Files256.size(out)).as("bytes Linux received on connection %d", i).isEqualTo(EACH);
                assertThat(Files256.sha256(out)).as("SHA-256 TAS -> Linux on connection %d", i).isEqualTo(sentSha);
            }
            f.report(PARALLEL + " parallel transfers over 2 queues, 8 MiB each way each", t0);
            assertThat(f.engine.counter(TasCounter.RX_STEERED)).as("segments handed to their flow's core: "
                    + f.nonZeroCounters()).isPositive();
            assertThat(f.engine.counter(TasCounter.DROP_FLOW_NOT_READY)).isZero();
            assertThat(f.engine.counter(TasCounter.DROP_STEERED_QUEUE_FULL)).isZero();
            f.awaitReclaimed();
        }
    }
}
