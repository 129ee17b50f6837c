package io.tasnetty.engine.slow;

/**
 * SipHash-2-4 (Aumasson and Bernstein) of up to three 64-bit words under a 128-bit key: the keyed
 * hash behind initial sequence numbers ({@link TasIsn}, RFC 6528) and SYN cookies
 * ({@link TasSynCookies}, RFC 4987 3.6). Slow path only: not thread-safe, allocates nothing.
 */
final class TasSipHash {
    private final long k0;
    private final long k1;
    private long v0;
    private long v1;
    private long v2;
    private long v3;

    TasSipHash(long k0, long k1) {
        this.k0 = k0;
        this.k1 = k1;
    }

    long hash(long m0, long m1) {
        init();
        absorb(m0);
        absorb(m1);
        return finish(16);
    }

    long hash(long m0, long m1, long m2) {
        init();
        absorb(m0);
        absorb(m1);
        absorb(m2);
        return finish(24);
    }

    private void init() {
        v0 = k0 ^ 0x736f6d6570736575L;
        v1 = k1 ^ 0x646f72616e646f6dL;
        v2 = k0 ^ 0x6c7967656e657261L;
        v3 = k1 ^ 0x7465646279746573L;
    }

    private long finish(int lengthBytes) {
        absorb((long) lengthBytes << 56); // the final block: the message length in its top byte
        v2 ^= 0xff;
        for (int i = 0; i < 4; i++) {
            round();
        }
        return v0 ^ v1 ^ v2 ^ v3;
    }

    private void absorb(long m) {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }

    private void round() {
        v0 += v1;
        v1 = Long.rotateLeft(v1, 13);
        v1 ^= v0;
        v0 = Long.rotateLeft(v0, 32);
        v2 += v3;
        v3 = Long.rotateLeft(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = Long.rotateLeft(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = Long.rotateLeft(v1, 17);
        v1 ^= v2;
        v2 = Long.rotateLeft(v2, 32);
    }
}
