package io.tasnetty.engine.flow;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TasByteRingTest {
    @Test
    void shouldCarryBytesInOrderAcrossTheWrap() {
        try (Arena arena = Arena.ofConfined()) {
            TasByteRing ring = new TasByteRing(arena.allocate(1024));
            SplittableRandom r = new SplittableRandom(5);
            byte next = 0;
            byte expect = 0;
            for (int round = 0; round < 10_000; round++) {
                int w = Math.min(r.nextInt(700), ring.writable());
                next = produce(ring, next, w);
                int n = Math.min(r.nextInt(700), ring.readable());
                ByteBuffer dst = ByteBuffer.allocateDirect(n);
                long head = ring.headPlain();
                ring.copyOut(head, dst, n);
                ring.publishHead(head + n);
                dst.flip();
                while (dst.hasRemaining()) {
                    assertThat(dst.get()).isEqualTo(expect++);
                }
                assertThat(ring.readable() + ring.writable()).isEqualTo(1024);
            }
        }
    }

    @Test
    void shouldRefuseSizesThatAreNotPowersOfTwo() {
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> new TasByteRing(arena.allocate(1000)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("power of two");
        }
        assertThat(TasByteRing.roundUp(1000)).isEqualTo(1024);
        assertThat(TasByteRing.roundUp(1024)).isEqualTo(1024);
    }
    @Test
    void shouldGrowOnlyWhenEmptyAndKeepPositionsAndBytesAcrossTheMove() {
        try (Arena arena = Arena.ofConfined()) {
            TasByteRing ring = new TasByteRing(arena.allocate(1024));
            // Positions well past the first wrap, so the byte at p moves from p & 1023 to p & 4095.
            byte[] first = new byte[900];
            for (int i = 0; i < first.length; i++) {
                first[i] = (byte) i;
            }
            for (int round = 0; round < 3; round++) {
                long tail = ring.tailPlain();
                ring.copyIn(tail, ByteBuffer.wrap(first), first.length);
                ring.publishTail(tail + first.length);
                assertThat(ring.grow(arena.allocate(4096))).as("unread bytes: no move").isNull();
                ByteBuffer dst = ByteBuffer.allocate(first.length);
                ring.copyOut(ring.headPlain(), dst, first.length);
                ring.publishHead(ring.headPlain() + first.length);
                assertThat(dst.array()).isEqualTo(first);
            }
            long pos = ring.tailPlain();
            var bigger = arena.allocate(4096);
            var old = ring.grow(bigger);
            assertThat(old).isNotNull();
            assertThat(old.byteSize()).isEqualTo(1024);
            assertThat(ring.capacity()).isEqualTo(4096);
            assertThat(ring.memory()).isSameAs(bigger);
            assertThat(ring.tailPlain()).isEqualTo(pos);
            assertThat(ring.writable()).isEqualTo(4096);
            byte[] big = new byte[4000];
            for (int i = 0; i < big.length; i++) {
                big[i] = (byte) (i * 7);
            }
            ring.copyIn(pos, ByteBuffer.wrap(big), big.length);
            ring.publishTail(pos + big.length);
            ByteBuffer dst = ByteBuffer.allocate(big.length);
            ring.copyOut(ring.headPlain(), dst, big.length);
            assertThat(dst.array()).isEqualTo(big);
            assertThatThrownBy(() -> ring.grow(arena.allocate(2048))).isInstanceOf(IllegalArgumentException.class);
        }
    }

    /**
     * The transmit ring's move (send-buffer autotuning): the producer moves the ring, with the
     * bytes it holds, to larger memory while a consumer thread keeps reading; every byte arrives
     * once and in order, across the wrap of both sizes. The old memory stays valid (as the fast
     * path keeps it until told), so a consumer still reading it reads the same bytes.
     */
    @Test
    void shouldCarryBytesInOrderWhileTheProducerMovesTheRingWithItsBytes() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            TasByteRing ring = new TasByteRing(arena.allocate(1024));
            long total = 8L << 20;
            Thread consumer = new Thread(() -> {
                byte expect = 0;
                ByteBuffer dst = ByteBuffer.allocateDirect(3000);
                for (long read = 0; read < total; ) {
                    int n = Math.min(ring.readable(), dst.capacity());
                    if (n == 0) {
                        Thread.onSpinWait();
                        continue;
                    }
                    dst.clear();
                    long head = ring.headPlain();
                    ring.copyOut(head, dst, n);
                    ring.publishHead(head + n);
                    dst.flip();
                    while (dst.hasRemaining()) {
                        byte b = dst.get();
                        if (b != expect) {
                            throw new AssertionError("byte " + (read + dst.position() - 1) + ": " + b + ", expected " + expect);
                        }
                        expect++;
                    }
                    read += n;
                }
            });
            java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
            consumer.setUncaughtExceptionHandler((t, e) -> failed.set(e));
            consumer.start();
            SplittableRandom r = new SplittableRandom(7);
            byte next = 0;
            int moves = 0;
            for (long written = 0; written < total && failed.get() == null; ) {
                if (ring.capacity() < (64 << 10) && r.nextInt(2000) == 0) {
                    ring.growCopying(arena.allocate(ring.capacity() * 2L)); // the old memory stays valid
                    moves++;
                }
                int w = (int) Math.min(Math.min(r.nextInt(1500), ring.writable()), total - written);
                next = produce(ring, next, w);
                written += w;
            }
            consumer.join(60_000);
            assertThat(failed.get()).isNull();
            assertThat(consumer.isAlive()).isFalse();
            assertThat(moves).as("the ring moved").isPositive();
            assertThat(ring.capacity()).isGreaterThan(1024);
        }
    }

    /** Producer: writes {@code w} bytes counting up from {@code next} and publishes them; returns the next value. */
    private static byte produce(TasByteRing ring, byte next, int w) {
        ByteBuffer src = ByteBuffer.allocate(w);
        for (int i = 0; i < w; i++) {
            src.put(next++);
        }
        src.flip();
        long tail = ring.tailPlain();
        ring.copyIn(tail, src, w);
        ring.publishTail(tail + w);
        return next;
    }
}
