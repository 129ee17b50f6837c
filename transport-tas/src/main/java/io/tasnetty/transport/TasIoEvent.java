package io.tasnetty.transport;

import io.netty.channel.IoEvent;
import io.tasnetty.engine.context.TasEvents;

/**
 * The engine events of one socket, as {@link TasIoHandler} hands them to a {@link TasIoHandle}:
 * {@link TasEvents} bits. One instance per handler is reused, so it is valid only during
 * {@link TasIoHandle#handle}.
 */
public final class TasIoEvent implements IoEvent {
    private int events;

    TasIoEvent() {
    }

    void events(int events) {
        this.events = events;
    }

    /** The {@link TasEvents} bits. */
    public int events() {
        return events;
    }

    @Override
    public String toString() {
        return "TasIoEvent(" + TasEvents.toString(events) + ")";
    }
}
