package io.tasnetty.engine.cc;

import io.tasnetty.engine.flow.TasFlow;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * DCTCP on a rate (TAS's dctcp-rate): the control interval before the first RTT sample comes
 * from tcp-rtt-init, and ECN marks over fewer than cc-dctcp-minpkts segments wait for more.
 */
class TasDctcpRateTest {
    private static final long MBPS = 1_000_000L / 8;
    private static final long INIT = 10 * MBPS;
    private static final int MSS = 1000;

    private static TasDctcpRate dctcp(long rttInitNanos, int minPackets) {
        return new TasDctcpRate(INIT, 10 * MBPS, MBPS, 10_000 * MBPS, 1.0 / 16, 2, rttInitNanos, minPackets);
    }

    private static TasFlow flow(TasDctcpRate cc, long now) {
        TasFlow f = new TasFlow();
        f.mss(MSS);
        cc.init(f, now);
        return f;
    }

    @Test
    void shouldMeasureTheFirstControlIntervalInTheInitialRtt() {
        TasDctcpRate cc = dctcp(1_000_000, 0); // tcp-rtt-init = 1 ms: interval 2 ms without a sample
        long t0 = 1_000_000_000L;
        TasFlow f = flow(cc, t0);
        cc.onAck(f, MSS, false, t0 + 1_999_999);
        assertThat(f.rateBytesPerSec()).as("not before two initial RTTs").isEqualTo(INIT);
        cc.onAck(f, MSS, false, t0 + 2_000_000);
        assertThat(f.rateBytesPerSec()).as("slow start doubles").isEqualTo(2 * INIT);
    }

    @Test
    void shouldUseTheMeasuredRttOnceThereIsOne() {
        TasDctcpRate cc = dctcp(1_000_000, 0);
        long t0 = 1_000_000_000L;
        TasFlow f = flow(cc, t0);
        f.srttNanos(100_000);
        cc.onAck(f, MSS, false, t0 + 200_000);
        assertThat(f.rateBytesPerSec()).isEqualTo(2 * INIT);
    }

    @Test
    void shouldWaitForMinPacketsBeforeMarksCutTheRate() {
        TasDctcpRate cc = dctcp(50_000, 50);
        long t = 1_000_000_000L;
        TasFlow f = flow(cc, t);
        f.srttNanos(50_000);
        for (int i = 0; i < 10; i++) {
            cc.onAck(f, MSS, true, t += 200_000); // every interval ends, but only 10 marked segments
        }
        assertThat(f.rateBytesPerSec()).as("10 of 50 segments: no verdict yet").isEqualTo(INIT);
        assertThat(f.dctcpAlpha()).isZero();
        for (int i = 0; i < 40; i++) {
            cc.onAck(f, MSS, true, t += 200_000);
        }
        assertThat(f.dctcpAlpha()).as("all 50 marked, g = 1/16").isEqualTo(1.0 / 16);
        assertThat(f.rateBytesPerSec()).isEqualTo((long) (INIT * (1 - 1.0 / 32)));
    }

    @Test
    void shouldCutAtOnceWithoutAMinimum() {
        TasDctcpRate cc = dctcp(50_000, 0);
        long t = 1_000_000_000L;
        TasFlow f = flow(cc, t);
        f.srttNanos(50_000);
        cc.onAck(f, MSS, true, t + 200_000);
        assertThat(f.rateBytesPerSec()).isLessThan(INIT);
    }

    @Test
    void shouldHalveOnLossWhateverTheCount() {
        TasDctcpRate cc = dctcp(50_000, 50);
        long t = 1_000_000_000L;
        TasFlow f = flow(cc, t);
        f.srttNanos(50_000);
        cc.onFastRetransmit(f, t);
        cc.onAck(f, MSS, true, t + 200_000);
        assertThat(f.rateBytesPerSec()).isEqualTo(INIT / 2);
    }
}
