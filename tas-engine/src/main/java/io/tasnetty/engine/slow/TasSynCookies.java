package io.tasnetty.engine.slow;

/**
 * SYN cookies (RFC 4987 3.6): when a listener's backlog is full, the SYN-ACK's initial sequence
 * number carries everything the engine needs to create the connection later, so the SYN leaves no
 * state behind; the client's final ACK (SEG.ACK - 1 is the cookie) brings it back.
 *
 * <pre>
 *  31                                                   3 2   0
 * +------------------------------------------------------+-----+
 * | MAC(local ip, local port, remote ip, remote port,    | MSS |
 * |     the client's ISN, T, MSS class, ts-bits): 29 bits|class|
 * +------------------------------------------------------+-----+
 * </pre>
 *
 * The MAC is SipHash-2-4 under a secret key. The class sits in clear (an MSS is no secret) but is
 * an input of the MAC, so a neighbouring number (a client's off-by-one ACK) is no valid cookie.
 *
 * T counts periods of 2^36 ns (about 69 s) of the engine's clock; a cookie is accepted in the
 * period it was made and the next, so it lives between 69 and 137 s (long enough for any
 * handshake, short enough that a captured cookie soon stops working). The client's ISN binds the
 * cookie to the SYN it answered. A forged ACK passes with probability 2 x 2^-29 per guess.
 *
 * <p>What the cookie cannot hold is the rest of the SYN's options. When the client sent
 * timestamps (RFC 7323), the low 6 bits of our SYN-ACK's TSval carry them and come back in the
 * final ACK's TSecr: the client's window scale (4 bits, 15 = none), SACK-permitted (RFC 2018) and
 * ECN (RFC 3168, both sides agreed). Those bits are an input of the MAC too, so a client cannot
 * alter them. Without timestamps the SYN-ACK offers neither window scaling nor SACK nor ECN, and
 * the connection runs without them (at most 64 KiB in flight), as on Linux.
 */
final class TasSynCookies {
    /**
     * The MSS classes a cookie can say (the largest not above the client's MSS is chosen): the
     * RFC 9293 default, a 1,280-byte tunnel MTU, common VPN and IPsec/GRE clamps, PPPoE, Ethernet,
     * 9,000-byte jumbo frames, and the engine's own loopback.
     */
    static final int[] MSS_CLASSES = {536, 1240, 1400, 1440, 1452, 1460, 8960, 65495};
    /** log2 of a cookie period in nanoseconds. */
    static final int PERIOD_SHIFT = 36;
    static final long PERIOD_NANOS = 1L << PERIOD_SHIFT;
    /** The TSval bits that carry options: window scale (0-3), SACK (4), ECN (5). */
    static final int TS_OPTION_BITS = 0x3F;
    private static final int WSCALE_NONE = 15;
    private static final int TS_SACK = 1 << 4;
    private static final int TS_ECN = 1 << 5;
    /** Set in the MAC input when the options came through timestamps (never on the wire). */
    private static final int TS_USED = 1 << 6;

    private final TasSipHash mac;
    /**
     * When the last cookie was sent (valid while {@link #sentAny}). Volatile: fast-path cores ask
     * {@link #mayValidate} before they pass the slow path an ACK a half-open connection refuses.
     */
    private volatile long lastSentNanos;
    private volatile boolean sentAny;

    /** The key is derived from the engine's secret (seed or SecureRandom), apart from the ISN key. */
    TasSynCookies(long k0, long k1) {
        TasSipHash derive = new TasSipHash(k0, k1);
        this.mac = new TasSipHash(derive.hash(0x5359_4E43_4F4F_4B30L, 0), derive.hash(0x5359_4E43_4F4F_4B31L, 1));
    }

    /** The class index for a client's MSS ({@code peerMss} -1 when it sent none: RFC 9293 3.7.1's 536). */
    static int mssClass(int peerMss) {
        int mss = peerMss > 0 ? peerMss : 536;
        for (int i = MSS_CLASSES.length - 1; i > 0; i--) {
            if (MSS_CLASSES[i] <= mss) {
                return i;
            }
        }
        return 0; // below 536 too: 536 (RFC 1122 4.2.2.6 lets every host take that much)
    }

    /**
     * The bits a cookie SYN-ACK's TSval carries: the client's window scale ({@code -1} none),
     * whether SACK and ECN were agreed.
     */
    static int tsBits(int peerWscale, boolean sack, boolean ecn) {
        return (peerWscale < 0 ? WSCALE_NONE : peerWscale) | (sack ? TS_SACK : 0) | (ecn ? TS_ECN : 0);
    }

    static int wscaleOf(int tsBits) {
        int w = tsBits & 0xF;
        return w == WSCALE_NONE ? -1 : w;
    }

    static boolean sackOf(int tsBits) {
        return (tsBits & TS_SACK) != 0;
    }

    static boolean ecnOf(int tsBits) {
        return (tsBits & TS_ECN) != 0;
    }

    /**
     * Our SYN-ACK's TSval: the millisecond clock of our later segments with its low bits replaced
     * by {@code bits}, never ahead of that clock (the client's PAWS, RFC 7323 5, must accept our
     * next segments, whose TSval is that clock).
     */
    static int tsVal(int bits, long nowNanos) {
        int ms = (int) (nowNanos / 1_000_000L);
        int ts = (ms & ~TS_OPTION_BITS) | bits;
        return ts - ms > 0 ? ts - 64 : ts;
    }

    /**
     * The ISS for a SYN answered without state. {@code tsBits}: {@link #tsBits} when the SYN-ACK
     * carries timestamps, else -1.
     */
    int cookie(int localIp, int localPort, int remoteIp, int remotePort, int peerIsn, int mssClass, int tsBits,
               long nowNanos) {
        lastSentNanos = nowNanos;
        sentAny = true;
        return mac(localIp, localPort, remoteIp, remotePort, peerIsn, nowNanos >> PERIOD_SHIFT, mssClass, tsBits) & ~7
            | mssClass;
    }

    /**
     * The MSS class of a valid cookie, or -1: {@code iss} is the final ACK's SEG.ACK - 1,
     * {@code peerIsn} its SEG.SEQ - 1, {@code tsBits} the low bits of its TSecr (-1 without timestamps).
     */
    int check(int localIp, int localPort, int remoteIp, int remotePort, int peerIsn, int tsBits, int iss,
              long nowNanos) {
        long t = nowNanos >> PERIOD_SHIFT;
        int mssClass = iss & 7;
        for (long age = 0; age <= 1; age++) {
            int m = mac(localIp, localPort, remoteIp, remotePort, peerIsn, t - age, mssClass, tsBits);
            if (((m ^ iss) & ~7) == 0) {
                return mssClass;
            }
        }
        return -1;
    }

    /**
     * Whether a final ACK for no connection may carry a cookie: only while cookies sent lately can
     * still be valid (as Linux checks only after a recent overflow), so that stray ACKs at other
     * times cost no MAC and cannot be used to guess cookies.
     */
    boolean mayValidate(long nowNanos) {
        return sentAny && nowNanos - lastSentNanos < 2 * PERIOD_NANOS;
    }

    private int mac(int localIp, int localPort, int remoteIp, int remotePort, int peerIsn, long t, int mssClass,
                    int tsBits) {
        long m0 = ((long) localIp << 32) | (remoteIp & 0xFFFFFFFFL);
        long m1 = ((long) (localPort & 0xFFFF) << 48) | ((long) (remotePort & 0xFFFF) << 32) | (peerIsn & 0xFFFFFFFFL);
        long m2 = (t << 16) | ((long) mssClass << 8) | (tsBits < 0 ? 0 : TS_USED | tsBits);
        return (int) mac.hash(m0, m1, m2);
    }
}
