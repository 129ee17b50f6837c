package io.tasnetty.engine.slow;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The cookie itself: what it encodes, how long it lives, what it refuses. */
class TasSynCookiesTest {
    private static final int LOCAL = 0x0A000001;
    private static final int REMOTE = 0x0A000002;
    private static final long T0 = 5 * TasSynCookies.PERIOD_NANOS + 1_000_000_000L;

    private final TasSynCookies cookies = new TasSynCookies(0x1234_5678_9ABC_DEF0L, 0x0FED_CBA9_8765_4321L);

    @Test
    void shouldGiveBackTheMssClassOfAValidCookie() {
        for (int cls = 0; cls < TasSynCookies.MSS_CLASSES.length; cls++) {
            int iss = cookies.cookie(LOCAL, 80, REMOTE, 40000, 777, cls, -1, T0);
            assertThat(cookies.check(LOCAL, 80, REMOTE, 40000, 777, -1, iss, T0)).isEqualTo(cls);
        }
    }

    @Test
    void shouldAcceptACookieInItsPeriodAndTheNextOnly() {
        long start = 5 * TasSynCookies.PERIOD_NANOS; // made at the very start of a period
        int iss = cookies.cookie(LOCAL, 80, REMOTE, 40000, 777, 3, -1, start);
        assertThat(cookies.check(LOCAL, 80, REMOTE, 40000, 777, -1, iss, start + 2 * TasSynCookies.PERIOD_NANOS - 1))
            .isEqualTo(3);
        assertThat(cookies.check(LOCAL, 80, REMOTE, 40000, 777, -1, iss, start + 2 * TasSynCookies.PERIOD_NANOS))
            .isEqualTo(-1);
        assertThat(cookies.check(LOCAL, 80, REMOTE, 40000, 777, -1, iss, start - 1)).as("not before it was made")
            .isEqualTo(-1);
    }

    @Test
    void shouldRefuseACookieForAnotherTupleIsnOrTimestampBits() {
        int bits = TasSynCookies.tsBits(7, true, false);
        int iss = cookies.cookie(LOCAL, 80, REMOTE, 40000, 777, 5, bits, T0);
        assertThat(cookies.check(LOCAL, 80, REMOTE, 40000, 777, bits, iss, T0)).isEqualTo(5);
        assertThat(cookies.check(LOCAL, 80, REMOTE, 40001, 777, bits, iss, T0)).isEqualTo(-1);
        assertThat(cookies.check(LOCAL, 81, REMOTE, 40000, 777, bits, iss, T0)).isEqualTo(-1);
        assertThat(cookies.check(LOCAL, 80, REMOTE + 1, 40000, 777, bits, iss, T0)).isEqualTo(-1);
        assertThat(cookies.check(LOCAL, 80, REMOTE, 40000, 778, bits, iss, T0)).as("another SYN").isEqualTo(-1);
        assertThat(cookies.check(LOCAL, 80, REMOTE, 40000, 777, TasSynCookies.tsBits(14, true, false), iss, T0))
            .as("window scale changed in the echoed timestamp").isEqualTo(-1);
        assertThat(cookies.check(LOCAL, 80, REMOTE, 40000, 777, -1, iss, T0)).as("timestamps dropped").isEqualTo(-1);
        assertThat(cookies.check(LOCAL, 80, REMOTE, 40000, 777, bits, iss ^ 0x100, T0)).isEqualTo(-1);
        assertThat(cookies.check(LOCAL, 80, REMOTE, 40000, 777, bits, iss + 1, T0)).as("off by one").isEqualTo(-1);
        assertThat(cookies.check(LOCAL, 80, REMOTE, 40000, 777, bits, iss - 1, T0)).as("off by one").isEqualTo(-1);
    }

    @Test
    void shouldRefuseRandomGuessesAlmostAlways() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        int passed = 0;
        for (int i = 0; i < 1_000_000; i++) {
            if (cookies.check(LOCAL, 80, REMOTE, 40000, 777, -1, r.nextInt(), T0) >= 0) {
                passed++;
            }
        }
        assertThat(passed).as("2 x 2^-29 per guess: about 0.004 in a million").isLessThanOrEqualTo(1);
    }

    @Test
    void shouldPickTheLargestMssClassNotAboveThePeers() {
        assertThat(TasSynCookies.MSS_CLASSES[TasSynCookies.mssClass(-1)]).isEqualTo(536);
        assertThat(TasSynCookies.MSS_CLASSES[TasSynCookies.mssClass(1460)]).isEqualTo(1460);
        assertThat(TasSynCookies.MSS_CLASSES[TasSynCookies.mssClass(1459)]).isEqualTo(1452);
        assertThat(TasSynCookies.MSS_CLASSES[TasSynCookies.mssClass(1300)]).isEqualTo(1240);
        assertThat(TasSynCookies.MSS_CLASSES[TasSynCookies.mssClass(9000)]).isEqualTo(8960);
        assertThat(TasSynCookies.MSS_CLASSES[TasSynCookies.mssClass(65495)]).isEqualTo(65495);
    }

    @Test
    void shouldEncodeOptionsInTimestampBitsNeverAheadOfTheClock() {
        for (int ws = -1; ws <= 14; ws++) {
            for (int flags = 0; flags < 4; flags++) {
                int bits = TasSynCookies.tsBits(ws, (flags & 1) != 0, (flags & 2) != 0);
                assertThat(TasSynCookies.wscaleOf(bits)).isEqualTo(ws);
                assertThat(TasSynCookies.sackOf(bits)).isEqualTo((flags & 1) != 0);
                assertThat(TasSynCookies.ecnOf(bits)).isEqualTo((flags & 2) != 0);
                for (long ms = 1000; ms < 1128; ms++) {
                    int ts = TasSynCookies.tsVal(bits, ms * 1_000_000L);
                    assertThat(ts & TasSynCookies.TS_OPTION_BITS).isEqualTo(bits);
                    assertThat((int) ms - ts).isBetween(0, 63);
                }
            }
        }
    }

    @Test
    void shouldValidateOnlyWhileCookiesSentLatelyCanStillBeValid() {
        assertThat(cookies.mayValidate(T0)).isFalse();
        cookies.cookie(LOCAL, 80, REMOTE, 40000, 777, 0, -1, T0);
        assertThat(cookies.mayValidate(T0 + 2 * TasSynCookies.PERIOD_NANOS - 1)).isTrue();
        assertThat(cookies.mayValidate(T0 + 2 * TasSynCookies.PERIOD_NANOS)).isFalse();
    }
}
