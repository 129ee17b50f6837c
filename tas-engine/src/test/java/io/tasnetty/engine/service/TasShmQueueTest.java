package io.tasnetty.engine.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;

class TasShmQueueTest {
    private static final int CAPACITY = 64;

    private static MemorySegment queueMemory(Arena a) {
        MemorySegment m = a.allocate(TasServiceLayout.queueBytes(CAPACITY), 64);
        TasShmQueue.init(m, CAPACITY);
        return m;
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldDeliverEveryEntryOfSeveralProducersExactlyOnceAcrossManyWraps() throws Exception {
        try (Arena a = Arena.ofShared()) {
            MemorySegment m = queueMemory(a);
            int perProducer = 100_000;
            Thread[] producers = new Thread[2];
            for (int p = 0; p < producers.length; p++) {
                int base = p * perProducer;
                producers[p] = Thread.ofPlatform().start(() -> {
                    TasShmQueue q = new TasShmQueue(m, CAPACITY);
                    for (int i = 0; i < perProducer; i++) {
                        long e;
                        while ((e = q.claim()) < 0) {
                            Thread.onSpinWait(); // full: the consumer frees slots
                        }
                        m.set(JAVA_INT, e + TasServiceLayout.ID, base + i);
                        q.publish(e);
                    }
                });
            }
            TasShmQueue consumer = new TasShmQueue(m, CAPACITY);
            BitSet seen = new BitSet();
            int received = 0;
            while (received < 2 * perProducer) {
                long e = consumer.peek();
                if (e < 0) {
                    Thread.onSpinWait();
                    continue;
                }
                int id = m.get(JAVA_INT, e + TasServiceLayout.ID);
                assertThat(seen.get(id)).as("entry %d twice", id).isFalse();
                seen.set(id);
                consumer.advance();
                received++;
            }
            for (Thread t : producers) {
                t.join();
            }
            assertThat(seen.cardinality()).isEqualTo(2 * perProducer);
            assertThat(consumer.isEmpty()).isTrue();
        }
    }

    @Test
    void shouldTreatAScribbledSlotAsFullInsteadOfSpinningOrWritingElsewhere() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = queueMemory(a);
            TasShmQueue producer = new TasShmQueue(m, CAPACITY);
            long e = producer.claimSingle();
            assertThat(e).isEqualTo(TasServiceLayout.QUEUE_CONTROL);
            producer.publishSingle(e);
            // The other process (the consumer) writes garbage into the next slot's sequence and the tail.
            m.set(JAVA_LONG, TasServiceLayout.QUEUE_CONTROL + TasServiceLayout.ENTRY_BYTES + TasServiceLayout.SEQ, 1L << 40);
            m.set(JAVA_LONG, TasServiceLayout.QUEUE_TAIL, 12345);
            assertThat(producer.claimSingle()).isEqualTo(-1);
        }
    }
}
