package io.tasnetty.engine.cc;

import io.tasnetty.engine.flow.TasFlow;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** TIMELY's rate decisions, one control interval at a time, on a standalone flow. */
class TasTimelyTest {
    private static final long MBPS = 1_000_000L / 8;
    private static final long INIT = 1_000 * MBPS;
    private static final long STEP = 10 * MBPS;
    private static final long T_LOW = 30_000;
    private static final long T_HIGH = 150_000;
    private static final long INTERVAL = 1_000_000; // far above the 20 µs floor and 2 RTTs

    private final TasTimely timely = new TasTimely(INIT, STEP, 10 * MBPS, 10_000 * MBPS, T_LOW, T_HIGH, 0.5, 0.8, 2, 50_000);
    private TasFlow f;
    private long now;

    @BeforeEach
    void establish() {
        f = new TasFlow();
        f.mss(1448);
        now = 1_000_000_000L;
        timely.init(f, now);
        f.srttNanos(50_000);
    }

    /** Ends one control interval whose newest RTT sample was {@code rtt}; returns the new rate. */
    private long interval(long rtt) {
        f.rttLastNanos(rtt);
        if (f.rttMinNanos() == 0 || rtt < f.rttMinNanos()) {
            f.rttMinNanos(rtt);
        }
        now += INTERVAL;
        timely.onAck(f, 1448, false, now);
        return f.rateBytesPerSec();
    }

    @Test
    void startsAtTheInitialRateUnlimitedByAWindow() {
        assertThat(f.rateBytesPerSec()).isEqualTo(INIT);
        assertThat(f.cwnd()).isEqualTo(TasCcAlgorithm.UNLIMITED_WINDOW);
    }

    @Test
    void waitsForTwoSamplesBeforeActing() {
        now += INTERVAL;
        timely.onAck(f, 1448, false, now);
        assertThat(f.rateBytesPerSec()).as("no RTT sample yet").isEqualTo(INIT);
        assertThat(interval(100_000)).as("one sample, no gradient").isEqualTo(INIT);
    }

    @Test
    void growsByOneStepBelowTLow() {
        interval(20_000);
        assertThat(interval(25_000)).isEqualTo(INIT + STEP);
        assertThat(interval(28_000)).as("below T_low the trend does not matter").isEqualTo(INIT + 2 * STEP);
    }

    @Test
    void shrinksInProportionAboveTHigh() {
        interval(100_000);
        long before = f.rateBytesPerSec();
        long after = interval(300_000);
        // 1 - beta * (1 - T_high / rtt) = 1 - 0.8 * 0.5 = 0.6
        assertThat((double) after / before).isCloseTo(0.6, within(1e-6));
    }

    @Test
    void followsTheGradientBetweenTheThresholds() {
        interval(50_000);
        long before = f.rateBytesPerSec();
        long after = interval(60_000); // rtt_diff = 0.5 * 10 µs = 5 µs; gradient = 5 / 50 = 0.1
        assertThat((double) after / before).isCloseTo(1 - 0.8 * 0.1, within(1e-6));
        // Falling RTTs: a non-positive gradient adds one step per interval...
        long r = interval(40_000);
        for (int i = 0; i < 3; i++) {
            r = interval(40_000 - i * 1_000);
        }
        long r4 = r;
        // ...and five steps once it has lasted HAI_THRESHOLD intervals (hyperactive increase).
        long r5 = interval(36_000);
        assertThat(r5 - r4).isEqualTo(TasTimely.HAI_THRESHOLD * STEP);
    }

    @Test
    void neverTakesMoreThanHalfAtOnceAndStaysWithinBounds() {
        interval(50_000);
        long before = f.rateBytesPerSec();
        long after = interval(140_000); // a steep gradient: 1 - 0.8 * (45 / 50) would be 0.28
        assertThat(after).isEqualTo(before / 2);
        for (int i = 0; i < 100; i++) {
            interval(10_000_000);
        }
        assertThat(f.rateBytesPerSec()).isEqualTo(10 * MBPS);
    }

    @Test
    void halvesOnLoss() {
        interval(50_000);
        timely.onFastRetransmit(f, now);
        long before = f.rateBytesPerSec();
        assertThat(interval(20_000)).as("loss beats a short RTT").isEqualTo(before / 2);
        timely.onTimeout(f, now + 1);
        assertThat(f.rateBytesPerSec()).isEqualTo(before / 4);
    }
}
