package io.tasnetty.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class WarmupTest {
    @Test
    void withoutTimeItSendsExactlyTheMinimum() {
        // 1 us per request, the JIT busy throughout: only the count ends it.
        long[] now = {0};
        Warmup w = new Warmup(2_500, 0, () -> now[0], () -> now[0] / 1_000_000);
        int n = 0;
        while (w.more()) {
            now[0] += 1_000;
            n++;
        }
        assertThat(n).isEqualTo(2_500);
        assertThat(w.count()).isEqualTo(2_500);
        assertThat(w.more()).as("once over, it stays over").isFalse();
        assertThat(w.describe("GETs")).startsWith("2,500 untimed GETs in ").contains("no time given to the JIT");
    }

    @Test
    void itGoesOnUntilTwoRoundsPassWithTheJitQuiet() {
        // 100 us per request; the JIT compiles 30 ms in each of the first four rounds (30% of a
        // round), then 1 ms (1%), then nothing.
        long[] now = {0};
        long[] jit = {0};
        long[] jitPerRound = {30, 30, 30, 30, 1, 0, 0, 0};
        Warmup w = new Warmup(10, TimeUnit.SECONDS.toNanos(60), () -> now[0], () -> jit[0]);
        while (w.more()) {
            now[0] += 100_000;
            if (w.count() % Warmup.ROUND == 0) {
                jit[0] += jitPerRound[(int) Math.min(w.count() / Warmup.ROUND - 1, jitPerRound.length - 1)];
            }
        }
        assertThat(w.count()).as("rounds 5 and 6 are the first two quiet ones").isEqualTo(6L * Warmup.ROUND);
        assertThat(w.describe("calls")).contains("last 1,000 at 10,000/s; JIT done");
    }

    @Test
    void aJitThatKeepsCompilingStopsAtTheTimeLimit() {
        long[] now = {0};
        long[] jit = {0};
        Warmup w = new Warmup(0, TimeUnit.MILLISECONDS.toNanos(300), () -> now[0], () -> jit[0]);
        while (w.more()) {
            now[0] += 1_000;
            if (w.count() % Warmup.ROUND == 0) {
                jit[0] += 1; // 1 ms in every 1 ms round
            }
        }
        assertThat(now[0]).as("stops at the limit, not before").isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(300))
                .isLessThan(TimeUnit.MILLISECONDS.toNanos(300) + 2_000);
        assertThat(w.describe("GETs")).contains("JIT still compiling at the time limit");
    }

    @Test
    void badSecondsAreRefusedNamingTheOption() {
        assertThatThrownBy(() -> Warmup.nanos(-1)).hasMessageContaining("--warmup").hasMessageContaining("-1");
        assertThatThrownBy(() -> Warmup.nanos(Double.NaN)).hasMessageContaining("--warmup");
        assertThat(Warmup.nanos(1.5)).isEqualTo(1_500_000_000L);
    }
}
