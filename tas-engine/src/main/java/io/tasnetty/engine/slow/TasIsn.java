package io.tasnetty.engine.slow;

/**
 * Initial sequence numbers per RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), with M a 4-microsecond clock and F a keyed hash (SipHash-2-4 here), so sequence
 * numbers are unpredictable to off-path attackers yet advance for a reused tuple.
 */
final class TasIsn {
    private final TasSipHash f;

    TasIsn(long k0, long k1) {
        this.f = new TasSipHash(k0, k1);
    }

    int isn(int localIp, int localPort, int remoteIp, int remotePort, long nowNanos) {
        long m = ((long) localIp << 32) | (remoteIp & 0xFFFFFFFFL);
        long p = ((long) (localPort & 0xFFFF) << 16) | (remotePort & 0xFFFF);
        return (int) f.hash(m, p) + (int) (nowNanos / 4000);
    }
}
