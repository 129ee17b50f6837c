package io.tasnetty.engine.service;

/**
 * One attached application's figures in the service. The service keeps them and, each duty
 * cycle of that application's proxy, copies them into the application's region header
 * ({@link TasServiceLayout#APP_COUNTERS_OFFSET}, one long each, in this order), where the
 * application's Micrometer binder reads them; {@code TAS-STATS} (and {@link TasStat}) print the
 * service's own copy, which the application cannot touch.
 */
public enum TasServiceAppCounter {
    SOCKETS("sockets", false, "listeners and connections the application holds in the service"),
    SOCKETS_LIMIT("sockets.limit", false, "most listeners and connections it may hold (service-app-max-conns)"),
    RING_BYTES("ring.bytes", false, "ring memory its connections hold, bytes"),
    RING_BYTES_RESERVED("ring.bytes.reserved", false, "ring memory carved from its region so far (the high-water mark), bytes"),
    RING_BYTES_LIMIT("ring.bytes.limit", false, "ring memory it may hold (service-app-len), bytes"),
    CONNECTIONS("connections", true, "connections opened or accepted"),
    COMMANDS("commands", true, "commands the service took from its queue"),
    EVENTS("events", true, "events the service put in its queue"),
    REFUSED_SOCKET_LIMIT("refused.socket.limit", true,
        "listens, connects and accepted connections refused for service-app-max-conns"),
    REFUSED_RING_MEMORY("refused.ring.memory", true,
        "connections refused for lack of ring memory in its region (service-app-len)"),
    REFUSED_FOREIGN("refused.foreign", true,
        "commands naming a socket that is not the application's (dropped)"),
    SPACE_REPORTS("space.reports", true, "freed transmit space reported by the proxy's own check, not a WRITABLE event"),
    EVENT_QUEUE_FULL("event.queue.full", true, "times the service waited for room in its event queue"),
    CONTEXT_QUEUE_FULL("context.queue.full", true,
        "events that went to the session's queue because their event loop's queue was full"),
    CONTEXT_BELLS("context.bells", true,
        "times the service rang the session thread for an event loop blocked in a selector (kernel sockets)"),
    PROXY_SLEEPS("proxy.sleeps", true,
        "times the service's thread for the application slept on its futex word (each woken cost a wake-up)"),
    PROXY_SLEEPS_TIMED_OUT("proxy.sleeps.timed.out", true,
        "of those, sleeps that lasted their whole 100 ms without a wake-up (the application was idle)");

    private final String metricName;
    private final boolean monotonic;
    private final String description;

    TasServiceAppCounter(String metricName, boolean monotonic, String description) {
        this.metricName = metricName;
        this.monotonic = monotonic;
        this.description = description;
    }

    /** Dotted name for metrics ({@code tas.service.<name>}); TAS-STATS uses it with underscores. */
    public String metricName() {
        return metricName;
    }

    /** The name in TAS-STATS and TasStat: the metric name with underscores. */
    public String statName() {
        return metricName.replace('.', '_');
    }

    /** A count that only grows (a counter), or a level (a gauge). */
    public boolean monotonic() {
        return monotonic;
    }

    public String description() {
        return description;
    }
}
