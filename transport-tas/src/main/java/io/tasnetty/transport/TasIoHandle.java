package io.tasnetty.transport;

import io.netty.channel.IoHandle;

/** An {@link IoHandle} that a {@link TasIoHandler} accepts: the unsafe of a TAS channel. */
public interface TasIoHandle extends IoHandle {
    /** Closes the channel (asynchronously, on its event loop); never throws. */
    @Override
    void close();
}
