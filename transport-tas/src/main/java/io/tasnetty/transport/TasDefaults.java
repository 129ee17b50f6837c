package io.tasnetty.transport;

import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.flow.TasByteRing;

/** Ring sizes a channel reports before it has a connection (the engine's configured defaults). */
final class TasDefaults {
    private static volatile TasConfig systemConfig;

    private TasDefaults() {
    }

    private static TasConfig config(TasEngine engine) {
        if (engine != null) {
            return engine.config();
        }
        TasConfig c = systemConfig;
        if (c == null) {
            c = TasConfig.fromSystemProperties();
            systemConfig = c;
        }
        return c;
    }

    static int rxBufLen(TasEngine engine) {
        return TasByteRing.roundUp(config(engine).tcpRxbufLen());
    }

    static int txBufLen(TasEngine engine) {
        return TasByteRing.roundUp(config(engine).tcpTxbufLen());
    }
}
