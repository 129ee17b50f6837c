package io.tasnetty.engine.flow;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class TasFlowTableTest {
    private record Key(int li, int lp, int ri, int rp) {
    }

    @Test
    void shouldAgreeWithHashMapUnderRandomInsertsAndRemovals() {
        TasFlowTable<Key> table = new TasFlowTable<>(16);
        Map<Key, Key> ref = new HashMap<>();
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 200_000; i++) {
            // A small key space forces collisions, probe chains and backward-shift deletions.
            Key k = new Key(0x0A000001, r.nextInt(64), 0x0A000000 | r.nextInt(32), r.nextInt(64));
            switch (r.nextInt(3)) {
                case 0 -> assertThat(table.put(k.li, k.lp, k.ri, k.rp, k)).isEqualTo(ref.put(k, k));
                case 1 -> assertThat(table.remove(k.li, k.lp, k.ri, k.rp)).isEqualTo(ref.remove(k));
                default -> assertThat(table.get(k.li, k.lp, k.ri, k.rp)).isEqualTo(ref.get(k));
            }
            assertThat(table.size()).isEqualTo(ref.size());
        }
        for (Key k : ref.keySet()) {
            assertThat(table.get(k.li, k.lp, k.ri, k.rp)).isSameAs(ref.get(k));
        }
    }

    @Test
    void shouldHoldHundredsOfThousandsOfFlows() {
        TasFlowTable<Integer> table = new TasFlowTable<>(1024);
        for (int i = 0; i < 300_000; i++) {
            table.put(0x0A000001, 80, 0x0B000000 + (i >>> 16), i & 0xFFFF, i);
        }
        assertThat(table.size()).isEqualTo(300_000);
        for (int i = 0; i < 300_000; i += 997) {
            assertThat(table.get(0x0A000001, 80, 0x0B000000 + (i >>> 16), i & 0xFFFF)).isEqualTo(i);
        }
        assertThat(table.get(0x0A000001, 81, 0x0B000000, 1)).isNull();
    }
}
