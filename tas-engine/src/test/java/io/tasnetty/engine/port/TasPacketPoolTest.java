package io.tasnetty.engine.port;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class TasPacketPoolTest {

    @Test
    void allocHandsOutEveryBufferOnceThenReturnsAShortCount() {
        try (TasPacketPool pool = new TasPacketPool(8, 2048)) {
            PacketBuffer[] bufs = new PacketBuffer[16];
            assertThat(pool.alloc(bufs, 5)).isEqualTo(5);
            assertThat(pool.available()).isEqualTo(3);
            PacketBuffer[] more = new PacketBuffer[16];
            assertThat(pool.alloc(more, 16)).isEqualTo(3);
            assertThat(pool.available()).isZero();
            assertThat(pool.alloc(new PacketBuffer[1], 1)).isZero();
            assertThat(pool.allocOne()).isNull();

            Set<Long> handles = new HashSet<>();
            for (int i = 0; i < 5; i++) {
                handles.add(bufs[i].handle);
            }
            for (int i = 0; i < 3; i++) {
                handles.add(more[i].handle);
            }
            assertThat(handles).hasSize(8);
        }
    }

    @Test
    void freedBuffersCanBeAllocatedAgain() {
        try (TasPacketPool pool = new TasPacketPool(4)) {
            PacketBuffer[] bufs = new PacketBuffer[4];
            assertThat(pool.alloc(bufs, 4)).isEqualTo(4);
            for (PacketBuffer b : bufs) {
                pool.free(b);
            }
            assertThat(pool.available()).isEqualTo(4);
            assertThat(pool.alloc(bufs, 4)).isEqualTo(4);
            assertThat(pool.invalidFrees()).isZero();
        }
    }

    @Test
    void allocResetsPerPacketFields() {
        try (TasPacketPool pool = new TasPacketPool(1)) {
            PacketBuffer b = pool.allocOne();
            b.length = 99;
            b.flags = PacketBuffer.RX_IP_CSUM_GOOD;
            b.l2Length = 14;
            b.l3Length = 20;
            pool.free(b);
            PacketBuffer again = pool.allocOne();
            assertThat(again).isSameAs(b);
            assertThat(again.length).isZero();
            assertThat(again.flags).isZero();
            assertThat(again.l2Length).isZero();
            assertThat(again.l3Length).isZero();
        }
    }

    @Test
    void buffersAreDisjointWindowsOfOneRegion() {
        try (TasPacketPool pool = new TasPacketPool(4, 1500)) {
            assertThat(pool.bufferSize()).isEqualTo(1536); // rounded up to 64
            PacketBuffer[] bufs = new PacketBuffer[4];
            pool.alloc(bufs, 4);
            for (PacketBuffer b : bufs) {
                assertThat(b.segment).isSameAs(pool.region());
                assertThat(b.capacity).isEqualTo(1536);
                assertThat(b.offset % 64).isZero();
                b.segment.set(ValueLayout.JAVA_BYTE, b.offset, (byte) b.handle);
                b.segment.set(ValueLayout.JAVA_BYTE, b.offset + b.capacity - 1, (byte) b.handle);
            }
            for (PacketBuffer b : bufs) {
                assertThat(b.segment.get(ValueLayout.JAVA_BYTE, b.offset)).isEqualTo((byte) b.handle);
                assertThat(b.segment.get(ValueLayout.JAVA_BYTE, b.offset + b.capacity - 1)).isEqualTo((byte) b.handle);
            }
        }
    }

    @Test
    void doubleFreeIsCountedAndDoesNotPutTheBufferOnTheFreeListTwice() {
        try (TasPacketPool pool = new TasPacketPool(4)) {
            PacketBuffer b = pool.allocOne();
            pool.free(b);
            pool.free(b);
            assertThat(pool.invalidFrees()).isEqualTo(1);
            assertThat(pool.available()).isEqualTo(4);
            PacketBuffer[] bufs = new PacketBuffer[8];
            assertThat(pool.alloc(bufs, 8)).isEqualTo(4);
            Set<PacketBuffer> distinct = new HashSet<>();
            for (int i = 0; i < 4; i++) {
                distinct.add(bufs[i]);
            }
            assertThat(distinct).hasSize(4);
        }
    }

    @Test
    void freeingAForeignBufferIsCountedAndIgnored() {
        try (TasPacketPool pool = new TasPacketPool(2); TasPacketPool other = new TasPacketPool(2)) {
            PacketBuffer foreign = other.allocOne();
            pool.free(foreign);
            pool.free(null);
            assertThat(pool.invalidFrees()).isEqualTo(2);
            assertThat(pool.available()).isEqualTo(2);
            assertThat(other.available()).isEqualTo(1);
        }
    }

    @Test
    void allocAfterCloseReturnsNothing() {
        TasPacketPool pool = new TasPacketPool(2);
        pool.close();
        assertThat(pool.alloc(new PacketBuffer[2], 2)).isZero();
        assertThat(pool.allocOne()).isNull();
        pool.close(); // idempotent
    }

    @Test
    void concurrentAllocAndFreeNeverLoseOrDuplicateBuffers() throws Exception {
        try (TasPacketPool pool = new TasPacketPool(64)) {
            int threads = 4;
            CountDownLatch start = new CountDownLatch(1);
            AtomicReference<Throwable> error = new AtomicReference<>();
            Thread[] ts = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                ts[t] = new Thread(() -> {
                    PacketBuffer[] bufs = new PacketBuffer[8];
                    try {
                        start.await();
                        for (int i = 0; i < 50_000; i++) {
                            int n = pool.alloc(bufs, 8);
                            for (int j = 0; j < n; j++) {
                                pool.free(bufs[j]);
                            }
                        }
                    } catch (Throwable e) {
                        error.set(e);
                    }
                });
                ts[t].start();
            }
            start.countDown();
            for (Thread t : ts) {
                t.join(30_000);
            }
            assertThat(error.get()).isNull();
            assertThat(pool.invalidFrees()).isZero();
            assertThat(pool.available()).isEqualTo(64);
        }
    }
}
