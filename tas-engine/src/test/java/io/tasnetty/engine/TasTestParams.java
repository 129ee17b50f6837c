package io.tasnetty.engine;

import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.port.TasPort;

/** Test access to the parameters an engine derives from its configuration and port. */
public final class TasTestParams {
    private TasTestParams() {
    }

    /** What {@link TasEngine} would give its agents for {@code config} on {@code port}. */
    public static TasEngineParams of(TasConfig config, TasPort port) {
        return TasEngine.params(config, port);
    }
}
