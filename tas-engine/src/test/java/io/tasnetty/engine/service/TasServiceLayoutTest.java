package io.tasnetty.engine.service;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static io.tasnetty.engine.service.TasServiceLayout.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;

/** The sleeping flags' protocol: who rings a doorbell, and who stamps an idle consumer's first arrival. */
class TasServiceLayoutTest {

    private static MemorySegment header(Arena a) {
        return a.allocate(HEADER_BYTES, 64);
    }

    @Test
    void flagsAndArrivalStampsShareOneCacheLinePerSideAndFitBeforeTheCounters() {
        assertThat(SERVICE_SLEEPING_OFFSET / 64).isEqualTo((SERVICE_SLEEPING_OFFSET + ARRIVAL) / 64);
        assertThat(APP_SLEEPING_OFFSET / 64).isEqualTo((APP_SLEEPING_OFFSET + ARRIVAL + 7) / 64);
        assertThat(APP_SLEEPING_OFFSET / 64).isNotEqualTo(SERVICE_SLEEPING_OFFSET / 64);
        assertThat(HEADER.byteSize()).isLessThanOrEqualTo(APP_COUNTERS_OFFSET);
    }

    @Test
    void aConsumerWithWorkInHandCostsTheProducerNeitherDoorbellNorStamp() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = header(a);
            setSleeping(h, APP_SLEEPING_OFFSET, AWAKE);
            assertThat(takeDoorbell(h, APP_SLEEPING_OFFSET)).isFalse();
            assertThat(endIdle(h, APP_SLEEPING_OFFSET, System.nanoTime())).isEqualTo(-1);
        }
    }

    @Test
    void aPollingConsumerGetsNoDoorbellButLearnsWhenTheFirstEntryCame() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = header(a);
            long idleSince = System.nanoTime();
            beginIdle(h, SERVICE_SLEEPING_OFFSET);
            long before = System.nanoTime();
            assertThat(takeDoorbell(h, SERVICE_SLEEPING_OFFSET)).isFalse();
            long after = System.nanoTime();
            assertThat(takeDoorbell(h, SERVICE_SLEEPING_OFFSET)).isFalse(); // a second entry: still none
            long gap = endIdle(h, SERVICE_SLEEPING_OFFSET, idleSince);
            assertThat(gap).isBetween(before - idleSince, after - idleSince); // the first producer's stamp
            assertThat(h.get(JAVA_INT, SERVICE_SLEEPING_OFFSET)).isEqualTo(AWAKE);
            // The other side's flag is untouched.
            assertThat(h.get(JAVA_INT, APP_SLEEPING_OFFSET)).isEqualTo(AWAKE);
        }
    }

    @Test
    void aSleepingConsumerGetsExactlyOneDoorbellPerSleep() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = header(a);
            long idleSince = System.nanoTime();
            beginIdle(h, APP_SLEEPING_OFFSET);
            setSleeping(h, APP_SLEEPING_OFFSET, SLEEPING);
            assertThat(takeDoorbell(h, APP_SLEEPING_OFFSET)).isTrue();
            assertThat(h.get(JAVA_INT, APP_SLEEPING_OFFSET)).isEqualTo(RUNG);
            assertThat(takeDoorbell(h, APP_SLEEPING_OFFSET)).isFalse();
            // Woken, still idle: polling again, producers ring no more.
            setSleeping(h, APP_SLEEPING_OFFSET, POLLING);
            assertThat(takeDoorbell(h, APP_SLEEPING_OFFSET)).isFalse();
            assertThat(endIdle(h, APP_SLEEPING_OFFSET, idleSince)).isGreaterThanOrEqualTo(0);
            // A new idle period forgets the old stamp.
            beginIdle(h, APP_SLEEPING_OFFSET);
            assertThat(endIdle(h, APP_SLEEPING_OFFSET, System.nanoTime())).isEqualTo(-1);
        }
    }
}
