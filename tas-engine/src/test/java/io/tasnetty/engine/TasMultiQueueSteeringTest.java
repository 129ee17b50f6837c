package io.tasnetty.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.TasEnginePair.Link;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.port.TasRss;
import io.tasnetty.engine.port.TasRxSteering;
import io.tasnetty.engine.port.TasToeplitzSteering;
import io.tasnetty.engine.port.WirePort;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Engines with four fast-path cores on ports whose receive side spreads frames over four queues
 * by a rule of the port's own, as a multi-queue NIC does. When the port tells the engine that rule
 * ({@code TasPort.flowQueue}: here the in-JVM wire steering like a NIC's Toeplitz RSS with a
 * redirection table), every flow is placed on the core its packets arrive on and no segment needs
 * handing over. When it cannot (af_packet's fanout hash, a device without RSS delivering on queue
 * 0), segments that arrive on another core are handed to their flow's core: transfers still
 * complete byte for byte and nothing is lost or leaked.
 */
class TasMultiQueueSteeringTest {
    private static final int QUEUES = 4;
    private static final int CONNECTIONS = 16;
    private static final int BYTES = 256 * 1024;
    private static final int PORT = 6000;

    static Stream<Arguments> hardwareKeys() {
        byte[] symmetric = new byte[40];
        for (int i = 0; i < symmetric.length; i++) {
            symmetric[i] = (byte) ((i & 1) == 0 ? 0x6d : 0x5a);
        }
        return Stream.of(
            // Asymmetric: the two directions of a flow hash apart, so the engine must hash the packets it receives.
            Arguments.of("Microsoft key (asymmetric)", HexFormat.of().parseHex(
                "6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa")),
            Arguments.of("0x6d5a repeated (symmetric, what DpdkPort configures)", symmetric));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hardwareKeys")
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldPlaceEveryFlowOnTheQueueAToeplitzRssDeliversItsPacketsTo(String name, byte[] key) {
        TasToeplitzSteering rss = new TasToeplitzSteering(key, TasToeplitzSteering.roundRobin(128, QUEUES), true);
        try (TasEnginePair pair = new TasEnginePair(QUEUES, TasMultiQueueSteeringTest::config, w -> w.steering(rss),
            w -> w.steering(rss))) {
            List<Link> links = pair.connect(PORT, CONNECTIONS, 20_000);
            Set<Integer> queuesAtA = new TreeSet<>();
            for (Link l : links) {
                assertThat(l.atA().flow().queue).as("A's flow %s", l.atA())
                    .isEqualTo(rss.queueForPacket(TasEnginePair.IP_B, remotePort(l.atA()), TasEnginePair.IP_A, PORT,
                        QUEUES));
                assertThat(l.atB().flow().queue).as("B's flow %s", l.atB())
                    .isEqualTo(rss.queueForPacket(TasEnginePair.IP_A, PORT, TasEnginePair.IP_B, remotePort(l.atA()),
                        QUEUES));
                queuesAtA.add(l.atA().flow().queue);
            }
            assertThat(queuesAtA).as("cores owning A's flows").hasSizeGreaterThan(1);

            pair.exchangeAll(links, BYTES, 90_000);
            closeAndAwaitReclaimed(pair, links);

            for (TasEngine e : List.of(pair.a, pair.b)) {
                assertThat(e.counter(TasCounter.RX_STEERED)).as("segments handed over in %s: %s", e,
                    TasEnginePair.nonZero(e)).isZero();
                assertThat(e.counter(TasCounter.DROP_FLOW_NOT_READY)).isZero();
                assertThat(coresThatReceivedSegments(e)).as("cores that took segments in %s", e).hasSizeGreaterThan(1);
            }
        }
    }

    /** A port that steers by a rule the engine is not told: its flowQueue stays the software hash. */
    record UnknownRule(String name, TasRxSteering frames) implements TasRxSteering {
        @Override
        public int queueForPacket(int srcIp, int srcPort, int dstIp, int dstPort, int queues) {
            return frames.queueForPacket(srcIp, srcPort, dstIp, dstPort, queues);
        }

        @Override
        public int flowQueue(int localIp, int localPort, int remoteIp, int remotePort, int queues) {
            return TasRss.queueFor(localIp, localPort, remoteIp, remotePort, queues);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<UnknownRule> unknownRules() {
        return Stream.of(
            // Like af_packet's PACKET_FANOUT_HASH: a per-flow hash (not symmetric) unrelated to the engine's.
            new UnknownRule("fanout-like hash", (srcIp, srcPort, dstIp, dstPort, queues) -> {
                int h = srcIp * 0x9E37_79B1 ^ Integer.rotateLeft(dstIp, 13) * 0x85EB_CA6B
                    ^ ((srcPort << 16) | dstPort) * 0xC2B2_AE35;
                h ^= h >>> 16;
                return Integer.remainderUnsigned(h * 0x27D4_EB2F, queues);
            }),
            // Like a device without RSS: everything arrives on queue 0.
            new UnknownRule("everything on queue 0", (srcIp, srcPort, dstIp, dstPort, queues) -> 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("unknownRules")
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void shouldHandSegmentsThatArriveOnAnotherCoreToTheirFlowsCore(UnknownRule rule) {
        try (TasEnginePair pair = new TasEnginePair(QUEUES, TasMultiQueueSteeringTest::config, w -> w.steering(rule),
            w -> w.steering(rule))) {
            List<Link> links = pair.connect(PORT, CONNECTIONS, 20_000);
            int misplacedAtA = 0;
            for (Link l : links) {
                int arrives = rule.queueForPacket(TasEnginePair.IP_B, remotePort(l.atA()), TasEnginePair.IP_A, PORT,
                    QUEUES);
                if (l.atA().flow().queue != arrives) {
                    misplacedAtA++;
                }
            }
            assertThat(misplacedAtA).as("A's flows whose packets arrive on another core").isPositive();

            pair.exchangeAll(links, BYTES, 150_000);
            closeAndAwaitReclaimed(pair, links);

            for (TasEngine e : List.of(pair.a, pair.b)) {
                String counters = TasEnginePair.nonZero(e);
                assertThat(e.counter(TasCounter.RX_STEERED)).as("segments handed over in %s: %s", e, counters)
                    .isPositive();
                assertThat(e.counter(TasCounter.DROP_FLOW_NOT_READY)).as(counters).isZero();
                assertThat(e.counter(TasCounter.DROP_STEERED_QUEUE_FULL)).as(counters).isZero();
                assertThat(e.counter(TasCounter.DROP_EXCEPTION_QUEUE_FULL)).as(counters).isZero();
            }
        }
    }

    private static TasConfig.Builder config(TasConfig.Builder c) {
        return c.set("tcp-time-wait", "0").set("tcp-rto-min", "20000").set("fp-poll-interval-tas", "50");
    }

    private static int remotePort(TasConnection atA) {
        return atA.remoteAddress().getPort();
    }

    /** Fast-path cores of {@code e} whose counters show segments handed to a connection. */
    private static Set<String> coresThatReceivedSegments(TasEngine e) {
        Set<String> cores = new TreeSet<>();
        for (TasCounters c : e.counterSets()) {
            if (c.owner().startsWith("fp") && c.get(TasCounter.RX_FLOW_SEGMENTS) > 0) {
                cores.add(c.owner());
            }
        }
        return cores;
    }

    /**
     * Closes every connection at both ends; then each engine must have reclaimed every flow and
     * every ring, and both wire ports must have every packet buffer back (none lost, none freed twice).
     */
    private static void closeAndAwaitReclaimed(TasEnginePair pair, List<Link> links) {
        for (Link l : links) {
            l.atA().close();
            l.atB().close();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline && !(reclaimed(pair.a) && reclaimed(pair.b)
            && allBuffersHome(pair.wireA) && allBuffersHome(pair.wireB))) {
            pair.pollEvents();
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
        for (TasEngine e : List.of(pair.a, pair.b)) {
            assertThat(e.flowCount()).as("flows left in %s: %s", e, TasEnginePair.nonZero(e)).isZero();
            assertThat(e.ringBytesInUse()).as("ring bytes left in %s", e).isZero();
        }
        for (WirePort w : List.of(pair.wireA, pair.wireB)) {
            assertThat(w.pool().available()).as("free packet buffers of %s", w).isEqualTo(w.pool().capacity());
            assertThat(w.pool().invalidFrees()).as("double or foreign frees on %s", w).isZero();
        }
    }

    private static boolean reclaimed(TasEngine e) {
        return e.flowCount() == 0 && e.ringBytesInUse() == 0;
    }

    private static boolean allBuffersHome(WirePort w) {
        return w.pool().available() == w.pool().capacity();
    }
}
