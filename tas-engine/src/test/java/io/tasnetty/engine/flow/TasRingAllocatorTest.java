package io.tasnetty.engine.flow;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class TasRingAllocatorTest {
    @Test
    void shouldReuseReleasedBlocksAndRespectTheLimit() {
        try (TasRingAllocator a = new TasRingAllocator(1 << 20)) {
            List<MemorySegment> held = new ArrayList<>();
            MemorySegment s;
            while ((s = a.allocate(64 * 1024)) != null) {
                held.add(s);
            }
            assertThat(held).hasSize(16);
            assertThat(a.bytesInUse()).isEqualTo(1 << 20);
            held.forEach(a::release);
            assertThat(a.bytesInUse()).isZero();
            for (int i = 0; i < 1000; i++) {
                MemorySegment x = a.allocate(64 * 1024);
                assertThat(x).isNotNull();
                a.release(x);
            }
            assertThat(a.bytesReserved()).as("no growth from reuse").isEqualTo(1 << 20);
        }
    }
}
