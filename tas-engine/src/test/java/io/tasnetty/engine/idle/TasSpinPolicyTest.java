package io.tasnetty.engine.idle;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TasSpinPolicyTest {
    private static final long MAX = 100_000;
    private static final long WORTH = 20_000;

    @Test
    void startsByBlockingAtOnce() {
        assertThat(new TasSpinPolicy(MAX, WORTH, 16).spinBudget()).isZero();
    }

    @Test
    void shortGapsMakeItPollForTwiceTheAverageGap() {
        TasSpinPolicy p = new TasSpinPolicy(MAX, WORTH, 0);
        for (int i = 0; i < 100; i++) {
            p.workArrived(4_000, false);
        }
        assertThat(p.averageGapNanos()).isBetween(3_900L, 4_100L);
        assertThat(p.spinBudget()).isBetween(7_800L, 8_200L);
    }

    @Test
    void thePollIsBoundedByTheMaximum() {
        TasSpinPolicy p = new TasSpinPolicy(10_000, WORTH, 0);
        for (int i = 0; i < 100; i++) {
            p.workArrived(15_000, false);
        }
        assertThat(p.spinBudget()).isEqualTo(10_000);
    }

    @Test
    void longGapsMakeItBlockAgain() {
        TasSpinPolicy p = new TasSpinPolicy(MAX, WORTH, 0);
        for (int i = 0; i < 100; i++) {
            p.workArrived(4_000, false);
        }
        for (int i = 0; i < 30; i++) {
            p.workArrived(500_000, true); // an open loop at low rate: an event every half millisecond
        }
        assertThat(p.spinBudget()).isZero();
    }

    @Test
    void oneVeryLongGapDoesNotTakeTheAverageFarAway() {
        TasSpinPolicy p = new TasSpinPolicy(MAX, WORTH, 0);
        for (int i = 0; i < 100; i++) {
            p.workArrived(4_000, false);
        }
        p.workArrived(10_000_000_000L, true); // ten quiet seconds
        for (int i = 0; i < 20; i++) {
            p.workArrived(4_000, false);
        }
        assertThat(p.spinBudget()).isPositive();
    }

    @Test
    void unknownGapsAreIgnored() {
        TasSpinPolicy p = new TasSpinPolicy(MAX, WORTH, 0);
        long before = p.averageGapNanos();
        p.workArrived(-1, false);
        assertThat(p.averageGapNanos()).isEqualTo(before);
    }

    @Test
    void everyNthWakeUpProbesWithTheMaximumOnce() {
        TasSpinPolicy p = new TasSpinPolicy(MAX, WORTH, 4);
        for (int i = 0; i < 3; i++) {
            p.workArrived(500_000, true);
            assertThat(p.spinBudget()).isZero();
        }
        p.workArrived(500_000, true);
        assertThat(p.spinBudget()).isEqualTo(MAX); // the probe
        p.workArrived(500_000, false);
        assertThat(p.spinBudget()).isZero(); // only once
    }

    @Test
    void aProbeThatCatchesShortGapsTurnsPollingOn() {
        // Two threads that wake each other: each sees the other's wake-up latency as its gap and
        // blocks; a probe lets one answer at once, and the short gaps that follow keep both polling.
        TasSpinPolicy p = new TasSpinPolicy(MAX, WORTH, 1);
        p.workArrived(60_000, true); // the next idle period is a probe
        assertThat(p.spinBudget()).isEqualTo(MAX);
        for (int i = 0; i < 40; i++) {
            p.workArrived(3_000, false);
        }
        assertThat(p.spinBudget()).isBetween(1L, 10_000L);
    }

    @Test
    void aContendedCpuTurnsPollingOffForAWhile() {
        TasSpinPolicy p = new TasSpinPolicy(MAX, WORTH, 0);
        for (int i = 0; i < 100; i++) {
            p.workArrived(4_000, false);
        }
        p.contended();
        for (int i = 0; i < TasSpinPolicy.CONTENDED_PERIODS; i++) {
            assertThat(p.spinBudget()).isZero();
            p.workArrived(4_000, false);
        }
        assertThat(p.spinBudget()).isPositive();
    }

    @Test
    void oneLateYieldAmongPromptOnesKeepsPolling() {
        // Two loops feeding each other on two cores: now and then a yield comes back late (a
        // fast-path thread woken for a moment, the JIT, a timer tick). Blocking for each made the
        // loops block and wake each other thousands of times a second.
        TasSpinPolicy p = new TasSpinPolicy(MAX, WORTH, 0);
        for (int i = 0; i < 100; i++) {
            p.workArrived(4_000, false);
        }
        for (int i = 0; i < 1_000; i++) {
            p.yielded(i % 4 == 0); // a quarter of them late
            assertThat(p.spinBudget()).as("yield " + i).isPositive();
            p.workArrived(4_000, false);
        }
    }

    @Test
    void mostYieldsLateTurnPollingOffForAWhile() {
        // A thread with work shares this core: nearly every yield lets it run.
        TasSpinPolicy p = new TasSpinPolicy(MAX, WORTH, 0);
        for (int i = 0; i < 100; i++) {
            p.workArrived(4_000, false);
        }
        int yields = 0;
        while (p.spinBudget() > 0) {
            p.yielded(true);
            p.workArrived(4_000, false);
            yields++;
            assertThat(yields).as("late yields before polling stops").isLessThan(20);
        }
        for (int i = 1; i < TasSpinPolicy.CONTENDED_PERIODS; i++) {
            p.workArrived(4_000, false);
            assertThat(p.spinBudget()).isZero();
        }
        p.workArrived(4_000, false);
        assertThat(p.spinBudget()).as("polling again after the contended periods").isPositive();
        p.yielded(true);
        assertThat(p.spinBudget()).as("one late yield after the pause: measured afresh").isPositive();
    }

    @Test
    void zeroMaximumNeverPolls() {
        TasSpinPolicy p = new TasSpinPolicy(0, WORTH, 1);
        for (int i = 0; i < 100; i++) {
            p.workArrived(1_000, true);
        }
        assertThat(p.spinBudget()).isZero();
    }

    @Test
    void aYieldThatLostAWholeSliceMakesItBlockAtOnceForTheBackOffThenPollAgain() {
        TasSpinPolicy p = new TasSpinPolicy(MAX, WORTH, 0);
        for (int i = 0; i < 100; i++) {
            p.workArrived(4_000, false);
        }
        long now = 1_000_000_000L;
        assertThat(p.spinBudget(now)).isPositive();
        // A yield late by less than a slice is the peer loop or a timer tick: polling goes on.
        assertThat(p.starved(TasSpinPolicy.STARVED_YIELD_NANOS - 1, now)).isFalse();
        assertThat(p.spinBudget(now)).isPositive();
        // A whole slice (a batch job ran its ~3 ms): block at once until the back-off has passed.
        assertThat(p.starved(3_000_000, now)).isTrue();
        assertThat(p.spinBudget(now + 1)).isZero();
        assertThat(p.spinBudget(now + TasSpinPolicy.STARVED_BACKOFF_NANOS - 1)).isZero();
        assertThat(p.spinBudget(now + TasSpinPolicy.STARVED_BACKOFF_NANOS)).isBetween(7_800L, 8_200L);
    }

    @Test
    void refusesNegativeArguments() {
        assertThatThrownBy(() -> new TasSpinPolicy(-1, WORTH, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
