package io.tasnetty.engine.fast;

import io.tasnetty.engine.flow.TasFlow;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class TasTimerWheelTest {
    private static final long MS = 1_000_000L;

    @Test
    void shouldFireOnTheFirstAdvanceAtOrAfterTheDeadline() {
        TasTimerWheel wheel = new TasTimerWheel(MS, 0);
        SplittableRandom r = new SplittableRandom(9);
        List<TasFlow> flows = new ArrayList<>();
        long[] fired = new long[500];
        for (int i = 0; i < fired.length; i++) {
            TasFlow f = new TasFlow();
            f.localPort = i;
            flows.add(f);
            wheel.schedule(f, 1 + r.nextLong(5000 * MS)); // beyond one revolution too
        }
        long[] deadlines = flows.stream().mapToLong(f -> f.timerDeadline()).toArray();
        for (long now = 0; now <= 5002 * MS; now += MS / 3) {
            long t = now;
            wheel.advance(now, (f, n) -> fired[f.localPort] = t);
        }
        for (int i = 0; i < fired.length; i++) {
            assertThat(fired[i]).isGreaterThanOrEqualTo(deadlines[i]);
            assertThat(fired[i] - deadlines[i]).as("fires on the first advance after its deadline").isLessThan(MS / 3 + 1);
        }
        assertThat(wheel.size()).isZero();
    }

    @Test
    void shouldReportTheNearestDeadlineAndHonourCancel() {
        TasTimerWheel wheel = new TasTimerWheel(MS, 0);
        TasFlow a = new TasFlow();
        TasFlow b = new TasFlow();
        wheel.schedule(a, 3000 * MS); // later revolution, same slot region
        wheel.schedule(b, 7 * MS);
        assertThat(wheel.nanosToNext(0)).isEqualTo(7 * MS);
        wheel.cancel(b);
        assertThat(wheel.nanosToNext(0)).isEqualTo(3000 * MS);
        wheel.cancel(a);
        assertThat(wheel.nanosToNext(0)).isEqualTo(-1);
        List<TasFlow> fired = new ArrayList<>();
        wheel.advance(4000 * MS, (f, n) -> fired.add(f));
        assertThat(fired).isEmpty();
    }

    @Test
    void lazyDeadlinesSetTheSleepNoSoonerThanTheSlack() {
        TasTimerWheel wheel = new TasTimerWheel(MS, 0);
        TasFlow delack = new TasFlow();
        TasFlow rto = new TasFlow();
        wheel.schedule(delack, MS, true); // a looped connection's delayed ACK
        assertThat(wheel.nanosToWake(0, 10 * MS)).as("only a lazy deadline: the slack").isEqualTo(10 * MS);
        assertThat(wheel.nanosToWake(0, MS / 2)).as("a slack shorter than the deadline").isEqualTo(MS);
        wheel.schedule(rto, 4 * MS);
        assertThat(wheel.nanosToWake(0, 10 * MS)).as("an eager deadline before the slack").isEqualTo(4 * MS);
        wheel.schedule(rto, 30 * MS);
        assertThat(wheel.nanosToWake(0, 10 * MS)).as("an eager deadline after the slack").isEqualTo(10 * MS);
        assertThat(wheel.nanosToNext(0)).as("the earliest deadline, lazy or not").isEqualTo(MS);
        wheel.schedule(delack, 2 * MS, false); // rescheduled eagerly
        assertThat(wheel.nanosToWake(0, 10 * MS)).isEqualTo(2 * MS);
        List<TasFlow> fired = new ArrayList<>();
        wheel.advance(MS, (f, n) -> fired.add(f));
        assertThat(fired).isEmpty();
        wheel.advance(30 * MS, (f, n) -> fired.add(f));
        assertThat(fired).containsExactlyInAnyOrder(delack, rto);
        assertThat(wheel.nanosToWake(30 * MS, 10 * MS)).isEqualTo(-1);
    }
}
