package io.tasnetty.engine.flow;

import java.lang.foreign.MemoryLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The off-heap per-flow records: layout, reuse, and what a reclaimed flow keeps. */
class TasTcbSlabTest {

    @Test
    void recordIsWholeCacheLinesWithPerSegmentStateInTheFirstTwo() {
        assertThat(TasFlow.TCB.byteSize()).isEqualTo(TasFlow.TCB_BYTES);
        assertThat(TasFlow.TCB_BYTES % 64).isZero();
        for (String hot : List.of("rcvNxt", "sndUna", "sndNxt", "sndMax", "sndWnd", "cwnd", "flags", "state",
                "rcvWscale", "sndWscale", "optLen", "mss", "tsRecent", "dupAcks", "sndWl1",
                "sndWl2", "oooCount", "oooStart", "oooEnd", "rateBytesPerSec", "paceTokens")) {
            long off = TasFlow.TCB.byteOffset(MemoryLayout.PathElement.groupElement(hot));
            long size = TasFlow.TCB.select(MemoryLayout.PathElement.groupElement(hot)).byteSize();
            assertThat(off + size).as(hot).isLessThanOrEqualTo(128);
        }
    }

    @Test
    void recordsAreCacheLineAlignedAndDistinct() {
        TasTcbSlab slab = new TasTcbSlab();
        Set<Long> addresses = new HashSet<>();
        for (int i = 0; i < TasTcbSlab.CHUNK_RECORDS * 2 + 10; i++) {
            TasFlow f = slab.allocate();
            long a = f.record().address();
            assertThat(a % 64).isZero();
            assertThat(addresses.add(a)).isTrue();
        }
        assertThat(slab.inUse()).isEqualTo(TasTcbSlab.CHUNK_RECORDS * 2 + 10);
        assertThat(slab.bytesReserved()).isEqualTo(3L * TasTcbSlab.CHUNK_RECORDS * TasFlow.TCB_BYTES);
    }

    @Test
    void everyFieldKeepsItsOwnValue() {
        TasFlow f = new TasTcbSlab().allocate();
        f.rcvNxt(-1);
        f.sndUna(0x7FFF_FFFF);
        f.sndNxt(0x8000_0000);
        f.state(TcpState.FIN_WAIT_2);
        f.rcvWscale(14);
        f.sndWscale(7);
        f.optLen(12);
        f.mss(65_495);
        f.srttNanos(Long.MAX_VALUE);
        f.rtoDeadline(-5);
        f.dctcpAlpha(0.0625);
        f.oooStart(0, 11);
        f.oooStart(3, 44);
        f.oooEnd(3, -44);
        f.tsOn(true);
        f.inRecovery(true);
        f.ecnOn(true);
        f.tsOn(false);

        assertThat(f.rcvNxt()).isEqualTo(-1);
        assertThat(f.sndUna()).isEqualTo(0x7FFF_FFFF);
        assertThat(f.sndNxt()).isEqualTo(0x8000_0000);
        assertThat(f.state()).isEqualTo(TcpState.FIN_WAIT_2);
        assertThat(f.publishedState()).isEqualTo(TcpState.FIN_WAIT_2);
        assertThat(f.rcvWscale()).isEqualTo(14);
        assertThat(f.sndWscale()).isEqualTo(7);
        assertThat(f.optLen()).isEqualTo(12);
        assertThat(f.mss()).isEqualTo(65_495);
        assertThat(f.appMss()).isEqualTo(65_495);
        assertThat(f.appRcvWscale()).isEqualTo(14);
        assertThat(f.srttNanos()).isEqualTo(Long.MAX_VALUE);
        assertThat(f.rtoDeadline()).isEqualTo(-5);
        assertThat(f.dctcpAlpha()).isEqualTo(0.0625);
        assertThat(f.oooStart(0)).isEqualTo(11);
        assertThat(f.oooStart(3)).isEqualTo(44);
        assertThat(f.oooEnd(3)).isEqualTo(-44);
        assertThat(f.oooEnd(0)).isZero();
        assertThat(f.tsOn()).isFalse();
        assertThat(f.inRecovery()).isTrue();
        assertThat(f.ecnOn()).isTrue();
        assertThat(f.sackOn()).isFalse();
        assertThat(f.ackPending()).isFalse();
    }

    @Test
    void aReusedSlotStartsCleanAndTheOldFlowKeepsItsLastState() {
        TasTcbSlab slab = new TasTcbSlab();
        TasFlow old = slab.allocate();
        int slot = old.slot();
        old.state(TcpState.TIME_WAIT);
        old.sndNxt(1234);
        old.timerSlot(17);
        old.peerWscale(3);
        old.finSent(true);
        slab.free(old);
        assertThat(old.slot()).isEqualTo(-1);
        assertThat(slab.inUse()).isZero();

        TasFlow reuse = slab.allocate();
        assertThat(reuse.slot()).as("most recently freed slot first").isEqualTo(slot);
        assertThat(reuse.state()).isEqualTo(TcpState.CLOSED);
        assertThat(reuse.sndNxt()).isZero();
        assertThat(reuse.timerSlot()).isEqualTo(-1);
        assertThat(reuse.peerWscale()).isEqualTo(-1);
        assertThat(reuse.finSent()).isFalse();

        // A late write through the old flow reaches its private copy, never the new owner.
        assertThat(old.state()).isEqualTo(TcpState.TIME_WAIT);
        assertThat(old.sndNxt()).isEqualTo(1234);
        old.sndNxt(99);
        old.ackPending(true);
        assertThat(reuse.sndNxt()).isZero();
        assertThat(reuse.ackPending()).isFalse();

        slab.free(old); // already freed: harmless
        assertThat(slab.inUse()).isEqualTo(1);
    }

    @Test
    void negotiatedOptionsArePublishedWhenEstablished() {
        TasFlow f = new TasFlow();
        f.mss(1448);
        f.rcvWscale(9);
        f.sndWscale(7);
        f.tsOn(true);
        f.sackOn(true);
        f.state(TcpState.SYN_SENT);
        assertThat(f.negotiated()).isNull();
        f.state(TcpState.ESTABLISHED);
        assertThat(f.negotiated()).isEqualTo(new TasFlow.Negotiated(1448, 7, 9, true, true, false));
    }

    @Test
    void threadsNeverShareASlot() throws InterruptedException {
        TasTcbSlab slab = new TasTcbSlab();
        Set<Integer> live = ConcurrentHashMap.newKeySet();
        List<Thread> threads = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Throwable> failures = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    List<TasFlow> mine = new ArrayList<>();
                    for (int i = 0; i < 20_000; i++) {
                        TasFlow f = slab.allocate();
                        if (!live.add(f.slot())) {
                            throw new AssertionError("slot " + f.slot() + " handed out twice");
                        }
                        mine.add(f);
                        if (mine.size() > 300) {
                            TasFlow g = mine.remove(0);
                            live.remove(g.slot());
                            slab.free(g);
                        }
                    }
                    for (TasFlow g : mine) {
                        live.remove(g.slot());
                        slab.free(g);
                    }
                } catch (Throwable e) {
                    synchronized (failures) {
                        failures.add(e);
                    }
                }
            });
            threads.add(th);
            th.start();
        }
        start.countDown();
        for (Thread th : threads) {
            th.join();
        }
        assertThat(failures).isEmpty();
        assertThat(slab.inUse()).isZero();
        assertThat(slab.bytesReserved()).as("at most ~1,200 live at once: two chunks")
            .isLessThanOrEqualTo(2L * TasTcbSlab.CHUNK_RECORDS * TasFlow.TCB_BYTES);
    }
}
