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
                ByteBuffer src = ByteBuffer.allocate(w);
                for (int i = 0; i < w; i++) {
                    src.put(next++);
                }
                src.flip();
                long tail = ring.tailPlain();
                ring.copyIn(tail, src, w);
                ring.publishTail(tail + w);
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
}
