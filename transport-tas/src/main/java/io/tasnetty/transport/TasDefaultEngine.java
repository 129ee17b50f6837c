package io.tasnetty.transport;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;

/**
 * The process-wide default engine: started from {@code -Dtas.*} ({@link TasConfig#fromSystemProperties()})
 * by the first event loop that needs it, stopped when the last one lets go. Each {@link TasIoHandler}
 * created without an explicit engine holds one reference for its lifetime.
 */
final class TasDefaultEngine {
    private static TasEngine engine;
    private static int users;

    private TasDefaultEngine() {
    }

    static synchronized TasEngine acquire() {
        Tas.ensureAvailability();
        if (engine == null || !engine.isRunning()) {
            engine = TasEngine.start(TasConfig.fromSystemProperties());
            users = 0;
        }
        users++;
        return engine;
    }

    static synchronized void release(TasEngine e) {
        if (e != engine) {
            return; // stopped already (by its owner or an earlier release)
        }
        if (--users == 0) {
            engine = null;
            e.close();
        }
    }

    static synchronized TasEngine current() {
        return engine;
    }
}
