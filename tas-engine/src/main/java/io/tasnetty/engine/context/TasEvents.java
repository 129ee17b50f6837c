package io.tasnetty.engine.context;

/**
 * Event bits delivered to {@link TasEventHandler#onEvents}. Several may arrive at once; each is
 * level information about the socket ("has become readable"), so a handler that reads until
 * {@link TasConnection#read} returns 0 never misses data.
 */
public final class TasEvents {
    /** A listener has at least one established connection to {@link TasContext#accept}. */
    public static final int ACCEPTABLE = 1;
    /** An active open completed: the connection is established. */
    public static final int CONNECTED = 1 << 1;
    /** An active open failed: see {@link TasConnection#error()} (refused, timed out, unreachable). */
    public static final int CONNECT_FAILED = 1 << 2;
    /** Received bytes wait in the receive ring. */
    public static final int READABLE = 1 << 3;
    /** Space opened in the transmit ring after a write came up short. */
    public static final int WRITABLE = 1 << 4;
    /** The peer sent FIN: once the ring is drained, reads return -1. */
    public static final int INPUT_CLOSED = 1 << 5;
    /** The peer reset the connection, or it was aborted by a timeout. */
    public static final int RESET = 1 << 6;
    /** The connection is fully closed; the engine no longer sends or receives on it. */
    public static final int CLOSED = 1 << 7;
    /** All data including our FIN was acknowledged after {@link TasConnection#shutdownOutput()}. */
    public static final int OUTPUT_CLOSED = 1 << 8;

    private TasEvents() {
    }

    public static String toString(int events) {
        StringBuilder sb = new StringBuilder();
        String[] names = {"ACCEPTABLE", "CONNECTED", "CONNECT_FAILED", "READABLE", "WRITABLE", "INPUT_CLOSED",
            "RESET", "CLOSED", "OUTPUT_CLOSED"};
        for (int i = 0; i < names.length; i++) {
            if ((events & (1 << i)) != 0) {
                if (!sb.isEmpty()) {
                    sb.append('|');
                }
                sb.append(names[i]);
            }
        }
        return sb.toString();
    }
}
