package io.tasnetty.engine.context;

/** Why a connection failed or ended abnormally. */
public enum TasError {
    NONE("no error"),
    REFUSED("connection refused: the peer answered the SYN with RST"),
    TIMED_OUT("connection timed out: no answer after all retransmissions or probes, or past TCP_USER_TIMEOUT"),
    UNREACHABLE("host unreachable: ARP resolution failed or no route"),
    RESET("connection reset by peer"),
    ABORTED("connection aborted locally"),
    NO_RESOURCES("no resources: flow table or ring memory exhausted"),
    SERVICE_GONE("the TAS service this application attached to (tas.service) stopped or closed the attachment");

    private final String message;

    TasError(String message) {
        this.message = message;
    }

    public String message() {
        return message;
    }
}
