package io.tasnetty.engine.slow;

/**
 * Initial sequence numbers per RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), with M a 4-microsecond clock and F a keyed hash (SipHash-2-4 here), so sequence
 * numbers are unpredictable to off-path attackers yet advance for a reused tuple.
 */
final class TasIsn {
    private final long k0;
    private final long k1;

    TasIsn(long k0, long k1) {
        this.k0 = k0;
        this.k1 = k1;
    }

    int isn(int localIp, int localPort, int remoteIp, int remotePort, long nowNanos) {
        long m = ((long) localIp << 32) | (remoteIp & 0xFFFFFFFFL);
        long p = ((long) (localPort & 0xFFFF) << 16) | (remotePort & 0xFFFF);
        int f = (int) sipHash(m, p);
        return f + (int) (nowNanos / 4000);
    }

    /** SipHash-2-4 of two 64-bit words. */
    private long sipHash(long m0, long m1) {
        long v0 = k0 ^ 0x736f6d6570736575L;
        long v1 = k1 ^ 0x646f72616e646f6dL;
        long v2 = k0 ^ 0x6c7967656e657261L;
        long v3 = k1 ^ 0x7465646279746573L;
        long[] v = {v0, v1, v2, v3};
        absorb(v, m0);
        absorb(v, m1);
        absorb(v, 16L << 56); // length block
        v[2] ^= 0xff;
        for (int i = 0; i < 4; i++) {
            round(v);
        }
        return v[0] ^ v[1] ^ v[2] ^ v[3];
    }

    private static void absorb(long[] v, long m) {
        v[3] ^= m;
        round(v);
        round(v);
        v[0] ^= m;
    }

    private static void round(long[] v) {
        v[0] += v[1];
        v[1] = Long.rotateLeft(v[1], 13);
        v[1] ^= v[0];
        v[0] = Long.rotateLeft(v[0], 32);
        v[2] += v[3];
        v[3] = Long.rotateLeft(v[3], 16);
        v[3] ^= v[2];
        v[0] += v[3];
        v[3] = Long.rotateLeft(v[3], 21);
        v[3] ^= v[0];
        v[2] += v[1];
        v[1] = Long.rotateLeft(v[1], 17);
        v[1] ^= v[2];
        v[2] = Long.rotateLeft(v[2], 32);
    }
}
