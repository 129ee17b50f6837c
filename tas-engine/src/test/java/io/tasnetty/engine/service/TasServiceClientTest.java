package io.tasnetty.engine.service;

import io.tasnetty.engine.flow.TasByteRing;
import io.tasnetty.engine.flow.TasFlow;
import io.tasnetty.engine.flow.TcpState;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.concurrent.CountDownLatch;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How the application applies the service's E_FLOW entries when two threads may apply entries of
 * one connection at once (its older ones from queue 0, its newer ones from its loop's queue).
 */
class TasServiceClientTest {

    private static long snapshot(int seq, int state, int mss) {
        return TasServiceClient.snapshot(seq, state, 0, TasServiceLayout.F_SACK, mss, 7 | 7 << 8);
    }

    @Test
    void shouldNotLetAnOlderSnapshotOverwriteANewerOne() {
        TasFlow f = new TasFlow();
        TasServiceClient.applySnapshot(f, snapshot(5, TcpState.CLOSE_WAIT, 1448));
        TasServiceClient.applySnapshot(f, snapshot(4, TcpState.ESTABLISHED, 536));
        assertThat(f.publishedState()).isEqualTo(TcpState.CLOSE_WAIT);
        assertThat(f.appMss()).isEqualTo(1448);
        assertThat(f.sackOn()).isTrue();
        assertThat(f.appRcvWscale()).isEqualTo(7);
    }

    @Test
    void shouldOrderSnapshotsAcrossTheWrapOfTheirSixteenBitSequence() {
        TasFlow f = new TasFlow();
        TasServiceClient.applySnapshot(f, snapshot(0xFFFF, TcpState.ESTABLISHED, 1000));
        TasServiceClient.applySnapshot(f, snapshot(1, TcpState.CLOSE_WAIT, 1001));
        assertThat(f.publishedState()).isEqualTo(TcpState.CLOSE_WAIT);
        TasServiceClient.applySnapshot(f, snapshot(0xFFFE, TcpState.ESTABLISHED, 999));
        assertThat(f.appMss()).isEqualTo(1001);
    }

    /**
     * Two threads apply interleaved sequences as fast as they can: whatever the interleaving, the
     * flow ends with the newest snapshot's fields, not a mix and not an older one written last.
     */
    @Test
    void shouldEndWithTheNewestSnapshotWhenTwoThreadsApplyAtOnce() throws Exception {
        for (int round = 0; round < 20; round++) {
            TasFlow f = new TasFlow();
            int last = 30_000;
            CountDownLatch go = new CountDownLatch(1);
            Thread odd = Thread.ofPlatform().start(() -> apply(f, go, 1, last));
            Thread even = Thread.ofPlatform().start(() -> apply(f, go, 2, last));
            go.countDown();
            odd.join();
            even.join();
            assertThat(f.appMss()).as("round " + round).isEqualTo(last);
            assertThat(f.publishedState()).isEqualTo(last % 10);
        }
    }

    private static void apply(TasFlow f, CountDownLatch go, int first, int last) {
        try {
            go.await();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        for (int seq = first; seq <= last; seq += 2) {
            TasServiceClient.applySnapshot(f, snapshot(seq, seq % 10, seq));
        }
    }

    @Test
    void shouldMoveRelayedRingPositionsOnlyForward() {
        TasByteRing r = new TasByteRing(Arena.ofAuto().allocate(4096, 64));
        r.advanceTailTo(100);
        r.advanceTailTo(50);
        r.advanceTailTo(-1); // an entry without a position
        assertThat(r.tail()).isEqualTo(100);
        assertThat(r.advanceHeadTo(60)).isTrue();
        assertThat(r.advanceHeadTo(40)).isFalse();
        assertThat(r.advanceHeadTo(60)).isFalse();
        assertThat(r.head()).isEqualTo(60);
    }
}
