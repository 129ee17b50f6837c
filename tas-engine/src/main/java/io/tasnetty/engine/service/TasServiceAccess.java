package io.tasnetty.engine.service;

import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.flow.TasFlow;

/**
 * What an attached application's engine access ({@link TasServiceClient}, one session, and
 * {@link TasServiceAttachment}, every session in a directory) does alike: the service owns the
 * rings and keeps nothing per context, so freeing a flow or closing a context asks nothing of it.
 */
abstract class TasServiceAccess implements TasContext.EngineAccess {

    /** The service's configuration (its address, ring sizes, limits). */
    public abstract TasConfig config();

    @Override
    public void released(TasFlow flow) {
        // The rings are the service's to free (it got our CLOSE or ABORT just before).
    }

    @Override
    public void discard(TasFlow flow) {
        // A refused connect: the service kept nothing.
    }

    @Override
    public int maxBacklog() {
        return config().tcpListenBacklogMax();
    }

    @Override
    public void contextClosed(TasContext ctx) {
        // Its sockets were closed one by one (commands); the service keeps nothing per context.
    }
}
