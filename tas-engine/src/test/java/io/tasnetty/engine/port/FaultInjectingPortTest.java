package io.tasnetty.engine.port;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class FaultInjectingPortTest {
    private static final int FRAMES = 100_000;
    private static final int LEN = 100;

    private final AtomicLong clock = new AtomicLong(1_000_000_000L);

    /** Pushes {@code FRAMES} frames through in bursts, returning the sequence numbers delivered. */
    private static List<Integer> run(ScriptedPort inner, FaultInjectingPort port) {
        List<Integer> out = new ArrayList<>(FRAMES + FRAMES / 10);
        PacketBuffer[] bufs = new PacketBuffer[64];
        for (int sent = 0; sent < FRAMES; sent += 32) {
            for (int i = 0; i < 32; i++) {
                inner.inject(0, sent + i, LEN);
            }
            drainInto(port, bufs, out);
        }
        return out;
    }

    private static void drainInto(FaultInjectingPort port, PacketBuffer[] bufs, List<Integer> out) {
        int n;
        while ((n = port.rxBurst(0, bufs, bufs.length)) > 0) {
            for (int i = 0; i < n; i++) {
                out.add(Frames.seq(bufs[i]));
            }
            port.free(bufs, n);
        }
    }

    private FaultInjectingPort port(ScriptedPort inner, TasFaultPlan plan) {
        return new FaultInjectingPort(inner, plan, clock::get);
    }

    @Test
    void lossRateMatchesTheSetting() {
        ScriptedPort inner = new ScriptedPort(1, 256);
        FaultInjectingPort port = port(inner, TasFaultPlan.builder().seed(1).loss(0.01).build());
        List<Integer> got = run(inner, port);
        assertThat(port.lost() / (double) FRAMES).isCloseTo(0.01, within(0.0015));
        assertThat(got).hasSize(FRAMES - (int) port.lost());
        assertThat(got).isSorted(); // loss alone never reorders
        assertThat(inner.pool.available()).isEqualTo(256); // lost frames were freed
    }

    @Test
    void duplicationRateMatchesTheSettingAndCopiesFollowTheirOriginal() {
        ScriptedPort inner = new ScriptedPort(1, 256);
        FaultInjectingPort port = port(inner, TasFaultPlan.builder().seed(2).duplicate(0.01).build());
        List<Integer> got = run(inner, port);
        assertThat(port.duplicated() / (double) FRAMES).isCloseTo(0.01, within(0.0015));
        assertThat(got).hasSize(FRAMES + (int) port.duplicated());
        int adjacentTwins = 0;
        for (int i = 1; i < got.size(); i++) {
            assertThat(got.get(i)).isGreaterThanOrEqualTo(got.get(i - 1));
            if (got.get(i).equals(got.get(i - 1))) {
                adjacentTwins++;
            }
        }
        assertThat(adjacentTwins).isEqualTo((int) port.duplicated());
        assertThat(inner.pool.available()).isEqualTo(256);
    }

    @Test
    void reorderRateMatchesTheSettingAndEachReorderIsOneSwap() {
        ScriptedPort inner = new ScriptedPort(1, 256);
        FaultInjectingPort port = port(inner, TasFaultPlan.builder().seed(3).reorder(0.01).build());
        List<Integer> got = new ArrayList<>(run(inner, port));
        clock.addAndGet(TasFaultPlan.DEFAULT_REORDER_HOLD_NANOS); // release a frame still held at the end
        drainInto(port, new PacketBuffer[64], got);

        int late = 0;
        for (int i = 1; i < got.size(); i++) {
            if (got.get(i) < got.get(i - 1)) {
                late++;
                assertThat(got.get(i)).isEqualTo(got.get(i - 1) - 1); // overtaken by its successor only
            }
        }
        assertThat(late).isEqualTo((int) port.reordered());
        // A successor is never itself held, so the observed rate is p / (1 + p).
        assertThat(late / (double) FRAMES).isCloseTo(0.01 / 1.01, within(0.0015));
        List<Integer> sorted = new ArrayList<>(got);
        sorted.sort(null);
        assertThat(sorted).hasSize(FRAMES).doesNotHaveDuplicates();
        assertThat(sorted.getLast()).isEqualTo(FRAMES - 1);
    }

    @Test
    void reorderedFrameIsDeliveredAfterTheHoldTimeWhenNoSuccessorComes() {
        ScriptedPort inner = new ScriptedPort(1, 16);
        FaultInjectingPort port = port(inner,
                TasFaultPlan.builder().seed(4).reorder(1.0).reorderHoldNanos(5_000).build());
        inner.inject(0, 42, LEN);
        PacketBuffer[] bufs = new PacketBuffer[4];
        assertThat(port.rxBurst(0, bufs, 4)).isZero();
        assertThat(port.held(0)).isEqualTo(1);
        port.awaitRx(0, 1_000_000_000L);
        assertThat(inner.lastAwaitTimeout).isEqualTo(5_000); // not past the hold deadline
        clock.addAndGet(4_999);
        assertThat(port.rxBurst(0, bufs, 4)).isZero();
        clock.addAndGet(1);
        assertThat(port.rxBurst(0, bufs, 4)).isEqualTo(1);
        assertThat(Frames.seq(bufs[0])).isEqualTo(42);
        assertThat(port.reordered()).isZero(); // it arrived late, but in order
        port.free(bufs[0]);
    }

    @Test
    void corruptionRateMatchesTheSettingAndFlipsExactlyOneBitAfterTheEthernetHeader() {
        ScriptedPort inner = new ScriptedPort(1, 256);
        FaultInjectingPort port = port(inner, TasFaultPlan.builder().seed(5).corrupt(0.01).build());
        PacketBuffer[] bufs = new PacketBuffer[64];
        int corrupted = 0;
        for (int sent = 0; sent < FRAMES; sent += 32) {
            byte[][] originals = new byte[32][];
            for (int i = 0; i < 32; i++) {
                originals[i] = Frames.bytes(inner.inject(0, sent + i, LEN));
            }
            int n = port.rxBurst(0, bufs, bufs.length);
            assertThat(n).isEqualTo(32);
            for (int i = 0; i < n; i++) {
                byte[] now = Frames.bytes(bufs[i]);
                int bitsDifferent = 0;
                for (int j = 0; j < now.length; j++) {
                    int diff = Integer.bitCount((now[j] ^ originals[i][j]) & 0xFF);
                    if (diff != 0) {
                        assertThat(j).isGreaterThanOrEqualTo(14);
                    }
                    bitsDifferent += diff;
                }
                assertThat(bitsDifferent).isIn(0, 1);
                corrupted += bitsDifferent;
            }
            port.free(bufs, n);
        }
        assertThat(corrupted).isEqualTo((int) port.corrupted());
        assertThat(corrupted / (double) FRAMES).isCloseTo(0.01, within(0.0015));
    }

    @Test
    void aDuplicatedDamagedFrameCountsAsTwoDamagedFrames() {
        // Tests compare the engine's checksum drops with corrupted(): every damaged frame the
        // caller receives must be counted, the duplicate of a damaged frame included.
        ScriptedPort inner = new ScriptedPort(1, 16);
        FaultInjectingPort port = port(inner, TasFaultPlan.builder().seed(9).corrupt(1.0).duplicate(1.0).build());
        for (int i = 0; i < 4; i++) {
            inner.inject(0, i, LEN);
        }
        PacketBuffer[] bufs = new PacketBuffer[16];
        int n = port.rxBurst(0, bufs, bufs.length);
        assertThat(n).isEqualTo(8);
        assertThat(port.duplicated()).isEqualTo(4);
        assertThat(port.corrupted()).isEqualTo(8);
        port.free(bufs, n);
    }

    @Test
    void corruptionClearsChecksumGoodFlags() {
        ScriptedPort inner = new ScriptedPort(1, 4);
        FaultInjectingPort port = port(inner, TasFaultPlan.builder().seed(6).corrupt(1.0).build());
        inner.inject(0, 1, LEN).flags = PacketBuffer.RX_IP_CSUM_GOOD | PacketBuffer.RX_L4_CSUM_GOOD;
        PacketBuffer[] bufs = new PacketBuffer[1];
        assertThat(port.rxBurst(0, bufs, 1)).isEqualTo(1);
        assertThat(bufs[0].flags & (PacketBuffer.RX_IP_CSUM_GOOD | PacketBuffer.RX_L4_CSUM_GOOD)).isZero();
    }

    @Test
    void sameSeedGivesTheSameFaultsAndAnotherSeedDoesNot() {
        TasFaultPlan plan = TasFaultPlan.builder().seed(99).loss(0.01).reorder(0.01).duplicate(0.001)
                .corrupt(0.001).build();
        List<Integer> first = runCombined(plan);
        List<Integer> second = runCombined(plan);
        List<Integer> other = runCombined(plan.toBuilder().seed(100).build());
        assertThat(second).isEqualTo(first);
        assertThat(other).isNotEqualTo(first);
    }

    private List<Integer> runCombined(TasFaultPlan plan) {
        ScriptedPort inner = new ScriptedPort(1, 256);
        try (FaultInjectingPort port = port(inner, plan)) {
            List<Integer> got = run(inner, port);
            got.add(-1);
            got.add((int) port.corrupted());
            return got;
        }
    }

    @Test
    void fixedDelayHoldsFramesUntilTheClockPassesTheirDueTime() {
        ScriptedPort inner = new ScriptedPort(1, 16);
        FaultInjectingPort port = port(inner, TasFaultPlan.builder().delayNanos(10_000_000).build());
        PacketBuffer[] bufs = new PacketBuffer[8];
        inner.inject(0, 1, LEN);
        inner.inject(0, 2, LEN);
        assertThat(port.rxBurst(0, bufs, 8)).isZero();
        clock.addAndGet(4_000_000);
        inner.inject(0, 3, LEN); // due 4 ms after the first two
        assertThat(port.rxBurst(0, bufs, 8)).isZero();
        assertThat(port.delayed()).isEqualTo(3);

        port.awaitRx(0, 1_000_000_000L);
        assertThat(inner.lastAwaitTimeout).isEqualTo(6_000_000); // wakes up when the first is due

        clock.addAndGet(5_999_999);
        assertThat(port.rxBurst(0, bufs, 8)).isZero();
        clock.addAndGet(1);
        assertThat(port.rxBurst(0, bufs, 8)).isEqualTo(2);
        assertThat(Frames.seq(bufs[0])).isEqualTo(1);
        assertThat(Frames.seq(bufs[1])).isEqualTo(2);
        port.free(bufs, 2);
        clock.addAndGet(4_000_000);
        assertThat(port.rxBurst(0, bufs, 8)).isEqualTo(1);
        assertThat(Frames.seq(bufs[0])).isEqualTo(3);
        port.free(bufs, 1);
    }

    @Test
    void awaitRxReturnsAtOnceWhenAHeldFrameIsDue() {
        ScriptedPort inner = new ScriptedPort(1, 16);
        FaultInjectingPort port = port(inner, TasFaultPlan.builder().delayNanos(1_000).build());
        inner.inject(0, 1, LEN);
        assertThat(port.rxBurst(0, new PacketBuffer[1], 1)).isZero();
        clock.addAndGet(1_000);
        port.awaitRx(0, 1_000_000_000L);
        assertThat(inner.lastAwaitTimeout).isEqualTo(-1); // did not block in the inner port at all
    }

    @Test
    void rateLimitPacesFramesQueuesTheExcessAndDropsBeyondTheQueue() {
        ScriptedPort inner = new ScriptedPort(1, 64);
        // 8 Mbit/s: a 1000-byte frame (8000 bits) every 1 ms; bucket of one frame; queue of 5.
        FaultInjectingPort port = port(inner, TasFaultPlan.builder().rateBitsPerSecond(8_000_000)
                .rateBurstBytes(1000).rateQueueFrames(5).build());
        PacketBuffer[] bufs = new PacketBuffer[16];
        for (int i = 0; i < 10; i++) {
            inner.inject(0, i, 1000);
        }
        assertThat(port.rxBurst(0, bufs, 16)).isEqualTo(1); // the full bucket lets one through
        assertThat(Frames.seq(bufs[0])).isEqualTo(0);
        port.free(bufs, 1);
        assertThat(port.rateQueued()).isEqualTo(5);
        assertThat(port.rateDropped()).isEqualTo(4);

        port.awaitRx(0, 1_000_000_000L);
        assertThat(inner.lastAwaitTimeout).isEqualTo(1_000_000); // next frame's tokens in 1 ms

        clock.addAndGet(999_999);
        assertThat(port.rxBurst(0, bufs, 16)).isZero();
        for (int expected = 1; expected <= 5; expected++) {
            clock.addAndGet(expected == 1 ? 1 : 1_000_000);
            assertThat(port.rxBurst(0, bufs, 16)).isEqualTo(1);
            assertThat(Frames.seq(bufs[0])).isEqualTo(expected);
            port.free(bufs, 1);
        }
        clock.addAndGet(10_000_000);
        assertThat(port.rxBurst(0, bufs, 16)).isZero();
        assertThat(inner.pool.available()).isEqualTo(64);
    }

    @Test
    void rateLimitLetsABurstThroughWhenTheBucketIsDeep() {
        ScriptedPort inner = new ScriptedPort(1, 64);
        FaultInjectingPort port = port(inner, TasFaultPlan.builder().rateBitsPerSecond(1_000_000)
                .rateBurstBytes(4 * 500).build());
        for (int i = 0; i < 6; i++) {
            inner.inject(0, i, 500);
        }
        PacketBuffer[] bufs = new PacketBuffer[16];
        assertThat(port.rxBurst(0, bufs, 16)).isEqualTo(4);
        port.free(bufs, 4);
        clock.addAndGet(4_000_000); // 4000 bits = one 500-byte frame at 1 Mbit/s
        assertThat(port.rxBurst(0, bufs, 16)).isEqualTo(1);
        port.free(bufs, 1);
    }

    @Test
    void closeFreesEveryHeldFrameAndClosesTheInnerPort() {
        ScriptedPort inner = new ScriptedPort(1, 32);
        FaultInjectingPort port = port(inner, TasFaultPlan.builder().delayNanos(1_000_000).reorder(0.5)
                .rateBitsPerSecond(1_000_000).rateBurstBytes(200).build());
        for (int i = 0; i < 20; i++) {
            inner.inject(0, i, 100);
        }
        port.rxBurst(0, new PacketBuffer[8], 8);
        clock.addAndGet(1_000_000);
        PacketBuffer[] bufs = new PacketBuffer[8];
        int n = port.rxBurst(0, bufs, 8);
        port.free(bufs, n);
        assertThat(port.held(0)).isPositive();
        port.close();
        assertThat(inner.closed).isTrue();
        assertThat(inner.pool.available()).isEqualTo(32);
    }

    @Test
    void framesPassUnchangedWithNoFaults() {
        ScriptedPort inner = new ScriptedPort(2, 64);
        FaultInjectingPort port = port(inner, TasFaultPlan.NONE);
        inner.inject(1, 7, LEN);
        PacketBuffer[] bufs = new PacketBuffer[4];
        assertThat(port.rxBurst(0, bufs, 4)).isZero();
        assertThat(port.rxBurst(1, bufs, 4)).isEqualTo(1);
        assertThat(Frames.seq(bufs[0])).isEqualTo(7);
        assertThat(port.queueCount()).isEqualTo(2);
        assertThat(port.name()).isEqualTo("faults(scripted)");
    }

    @Test
    void planValidationNamesTheBadSetting() {
        assertThatThrownBy(() -> TasFaultPlan.builder().loss(1.5).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("loss");
        assertThatThrownBy(() -> TasFaultPlan.builder().reorder(-0.1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reorder");
        assertThatThrownBy(() -> TasFaultPlan.builder().duplicate(Double.NaN).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("duplicate");
        assertThatThrownBy(() -> TasFaultPlan.builder().corrupt(2).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("corrupt");
        assertThatThrownBy(() -> TasFaultPlan.builder().delayNanos(-1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("delayNanos");
        assertThatThrownBy(() -> TasFaultPlan.builder().rateBitsPerSecond(-5).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rateBitsPerSecond");
        assertThat(TasFaultPlan.NONE.isNone()).isTrue();
        assertThat(TasFaultPlan.builder().loss(1).build().loss()).isEqualTo(1.0);
    }

    @Test
    void queuesDrawIndependentDeterministicSequences() {
        TasFaultPlan plan = TasFaultPlan.builder().seed(8).loss(0.3).build();
        int[][] outcomes = new int[2][];
        for (int run = 0; run < 2; run++) {
            ScriptedPort inner = new ScriptedPort(2, 64);
            FaultInjectingPort port = port(inner, plan);
            PacketBuffer[] bufs = new PacketBuffer[64];
            int[] counts = new int[2];
            // Interleave the queues differently in each run: per-queue results must not change.
            for (int q : run == 0 ? new int[] {0, 1} : new int[] {1, 0}) {
                for (int i = 0; i < 32; i++) {
                    inner.inject(q, i, LEN);
                }
                counts[q] = port.rxBurst(q, bufs, 64);
                port.free(bufs, counts[q]);
            }
            outcomes[run] = counts;
        }
        assertThat(Arrays.equals(outcomes[0], outcomes[1])).isTrue();
    }
}
