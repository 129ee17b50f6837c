package io.tasnetty.transport;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;

import java.util.function.BooleanSupplier;

/** Engines for the transport's tests: the in-JVM wire, no TIME_WAIT (so reclamation is observable at once). */
final class TasTestEngine {
    private TasTestEngine() {
    }

    static TasEngine start() {
        return start(TasConfig.builder());
    }

    static TasEngine start(TasConfig.Builder config) {
        return TasEngine.start(config.set("tcp-time-wait", "0").set("fp-poll-interval-tas", "0")
            .set("fp-poll-interval-app", "0").build());
    }

    /** Waits up to {@code millis} for {@code condition}; returns whether it came true. */
    static boolean eventually(long millis, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }
}
