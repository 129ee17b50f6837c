package io.tasnetty.engine.context;

/** Receives the events {@link TasContext#poll} drains; called on the context's thread. */
@FunctionalInterface
public interface TasEventHandler {
    /**
     * @param socket the listener or connection the events are about
     * @param events {@link TasEvents} bits
     */
    void onEvents(TasSocket socket, int events);
}
