package io.tasnetty.engine.flow;

/**
 * Sequence-number arithmetic modulo 2^32 (RFC 9293 3.4): sequence numbers are plain {@code int}s
 * and every comparison goes through these helpers so that wrap-around is handled in one place.
 */
public final class TasSeq {
    private TasSeq() {
    }

    /** {@code a < b} in sequence space. */
    public static boolean lt(int a, int b) {
        return a - b < 0;
    }

    /** {@code a <= b} in sequence space. */
    public static boolean le(int a, int b) {
        return a - b <= 0;
    }

    /** {@code a > b} in sequence space. */
    public static boolean gt(int a, int b) {
        return a - b > 0;
    }

    /** {@code a >= b} in sequence space. */
    public static boolean ge(int a, int b) {
        return a - b >= 0;
    }

    /** The later of two sequence numbers. */
    public static int max(int a, int b) {
        return gt(a, b) ? a : b;
    }

    /** The earlier of two sequence numbers. */
    public static int min(int a, int b) {
        return lt(a, b) ? a : b;
    }

    /** {@code lo <= x < hi} in sequence space. */
    public static boolean inRange(int x, int lo, int hi) {
        return x - lo >= 0 && x - hi < 0;
    }
}
