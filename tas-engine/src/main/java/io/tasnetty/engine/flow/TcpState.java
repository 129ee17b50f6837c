package io.tasnetty.engine.flow;

/** Connection states of RFC 9293 3.3.2 (LISTEN lives in the listener, not in a flow). */
public final class TcpState {
    public static final int CLOSED = 0;
    public static final int SYN_SENT = 1;
    public static final int SYN_RCVD = 2;
    public static final int ESTABLISHED = 3;
    public static final int FIN_WAIT_1 = 4;
    public static final int FIN_WAIT_2 = 5;
    public static final int CLOSE_WAIT = 6;
    public static final int CLOSING = 7;
    public static final int LAST_ACK = 8;
    public static final int TIME_WAIT = 9;

    private static final String[] NAMES = {"CLOSED", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1",
        "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"};

    private TcpState() {
    }

    public static String name(int state) {
        return state >= 0 && state < NAMES.length ? NAMES[state] : "?" + state;
    }

    /** States in which both sides have exchanged SYNs (RFC 9293 "synchronized states"). */
    public static boolean isSynchronized(int state) {
        return state >= ESTABLISHED;
    }
}
