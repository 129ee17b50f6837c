package io.tasnetty.engine.cc;

import io.tasnetty.engine.flow.TasFlow;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** CUBIC's window decisions (RFC 9438) and HyStart's exit (RFC 9406), on a standalone flow. */
class TasCubicTest {
    private static final int MSS = 1000;
    private static final long RTT = 10_000_000; // 10 ms
    private final TasCubic cubic = new TasCubic();
    private TasFlow f;
    private long now;

    @BeforeEach
    void establish() {
        f = new TasFlow();
        f.mss(MSS);
        f.sndMax(1);
        now = 1_000_000_000L;
        cubic.init(f, now);
        f.srttNanos(RTT);
    }

    /** One RTT of ACKs, one per segment of the current window; returns the window after it. */
    private int roundTrip() {
        return roundTrip(RTT);
    }

    private int roundTrip(long rtt) {
        int segments = f.cwnd() / MSS;
        for (int i = 0; i < segments; i++) {
            now += rtt / segments;
            f.sndUna(f.sndUna() + MSS);
            f.sndMax(f.sndUna() + f.cwnd());
            cubic.onAck(f, MSS, false, now);
        }
        return f.cwnd();
    }

    @Test
    void startsWithTenSegmentsAndDoublesPerRoundTripInSlowStart() {
        assertThat(f.cwnd()).isEqualTo(10 * MSS);
        assertThat(roundTrip()).isEqualTo(20 * MSS);
        assertThat(roundTrip()).isEqualTo(40 * MSS);
    }

    @Test
    void aLossCutsTheWindowToSevenTenthsAndRemembersWhereItCame() {
        f.cwnd(100 * MSS);
        f.ssthresh(100 * MSS);
        cubic.onFastRetransmit(f, now);
        assertThat(f.cwnd()).isEqualTo(70 * MSS);
        assertThat(f.ssthresh()).isEqualTo(70 * MSS);
        assertThat(f.cubicWmax()).isEqualTo(100 * MSS);
        // RFC 9438 4.7 fast convergence: a second loss below W_max releases more.
        cubic.onFastRetransmit(f, now);
        assertThat(f.cubicWmax()).isEqualTo((int) (70 * MSS * 1.7 / 2));
    }

    @Test
    void theWindowClimbsBackToWmaxInKSecondsThenProbesBeyond() {
        // A long fat path (1,000 segments at 100 ms), where the cubic curve, not Reno, leads.
        f.srttNanos(100 * RTT / 10);
        f.cwnd(1000 * MSS);
        f.ssthresh(1000 * MSS);
        cubic.onFastRetransmit(f, now);
        // K = cbrt(W_max (1 - beta) / C) = cbrt(1000 * 0.3 / 0.4) = 9.09 s
        double k = Math.cbrt(1000 * 0.3 / 0.4);
        long start = now;
        int w = f.cwnd();
        int half = -1;
        while (now - start < (long) (k * 1e9)) {
            w = roundTrip(100 * RTT / 10);
            if (half < 0 && now - start >= (long) (k * 1e9 / 2)) {
                half = w;
            }
        }
        assertThat(f.cubicKNanos() / 1e9).isCloseTo(k, within(0.01));
        assertThat((double) w).as("at K the window is back near W_max").isCloseTo(1000.0 * MSS, within(30.0 * MSS));
        assertThat(half - 700 * MSS).as("concave: most of the way back in the first half")
            .isGreaterThan(1000 * MSS - half);
        for (int i = 0; i < 100; i++) { // 10 s past K: W = C 10^3 + W_max = 1,400 segments
            roundTrip(100 * RTT / 10);
        }
        assertThat(f.cwnd()).as("then convex, probing for more").isGreaterThan(1300 * MSS);
    }

    @Test
    void neverGrowsSlowerThanRenoWould() {
        // A short RTT makes the cubic curve flat (t is small): the Reno-friendly estimate leads.
        f.srttNanos(100_000);
        f.cwnd(100 * MSS);
        f.ssthresh(100 * MSS);
        cubic.onFastRetransmit(f, now);
        int before = f.cwnd();
        for (int round = 0; round < 20; round++) {
            int segments = f.cwnd() / MSS;
            for (int i = 0; i < segments; i++) {
                now += 100_000 / segments;
                cubic.onAck(f, MSS, false, now);
            }
        }
        // Reno-friendly: ALPHA = 0.53 segments per round trip at least.
        assertThat(f.cwnd() - before).isGreaterThanOrEqualTo((int) (20 * TasCubic.ALPHA * MSS) - MSS);
    }

    @Test
    void aTimeoutRestartsSlowStartFromOneSegment() {
        f.cwnd(50 * MSS);
        f.ssthresh(50 * MSS);
        cubic.onTimeout(f, now);
        assertThat(f.cwnd()).isEqualTo(MSS);
        assertThat(f.ssthresh()).isEqualTo(35 * MSS);
    }

    @Test
    void anEcnEchoReducesLikeALoss() {
        f.cwnd(40 * MSS);
        f.ssthresh(40 * MSS);
        cubic.onEcnEcho(f, now);
        assertThat(f.cwnd()).isEqualTo(28 * MSS);
    }

    @Test
    void noGrowthDuringFastRecovery() {
        f.cwnd(40 * MSS);
        f.inRecovery(true);
        cubic.onAck(f, MSS, false, now);
        assertThat(f.cwnd()).isEqualTo(40 * MSS);
    }

    @Test
    void hystartEndsSlowStartWhenARoundsRttRisesByAnEighth() {
        f.rttLastNanos(RTT);
        while (f.cwnd() < 32 * MSS) {
            roundTrip();
        }
        assertThat(f.ssthresh()).as("still in slow start").isEqualTo(TasCcAlgorithm.UNLIMITED_WINDOW);
        f.rttLastNanos(RTT + RTT / 8 + 4_000_000); // the bottleneck queue starts to fill
        roundTrip();
        roundTrip();
        assertThat(f.ssthresh()).as("slow start ended before any loss").isLessThan(TasCcAlgorithm.UNLIMITED_WINDOW);
        assertThat(f.cwnd()).isGreaterThanOrEqualTo(32 * MSS);
    }

    @Test
    void hystartIgnoresRttJitterBelowFourMilliseconds() {
        f.rttLastNanos(RTT);
        while (f.cwnd() < 64 * MSS) {
            f.rttLastNanos(RTT + (f.cwnd() / MSS % 2) * 3_000_000);
            roundTrip();
        }
        assertThat(f.ssthresh()).isEqualTo(TasCcAlgorithm.UNLIMITED_WINDOW);
    }
}
