package io.tasnetty.engine.wire;

import static io.tasnetty.engine.wire.Layouts.BYTE;
import static io.tasnetty.engine.wire.Layouts.INT_BE;
import static io.tasnetty.engine.wire.Layouts.LONG_BE;
import static io.tasnetty.engine.wire.Layouts.SHORT_BE;

import java.lang.foreign.MemorySegment;

/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of
 * the data taken as big-endian 16-bit words, plus incremental update (RFC 1624).
 *
 * <p>Three steps, so that partial sums over several ranges (a pseudo-header, a header, a payload)
 * can be chained: {@link #sum} accumulates, {@link #fold} reduces to 16 bits, {@link #finish}
 * complements. The value to store in a checksum field is {@code finish(sum(...))}, computed with
 * the field itself counted as zero; a received header is intact when {@code fold(sum(...))} over
 * all of it, checksum field included, is {@code 0xFFFF}.
 *
 * <p>Nothing here allocates or slices: data is read in place from {@code (segment, offset)}.
 */
public final class Checksums {
    private static final long LOW32 = 0xFFFF_FFFFL;

    private Checksums() {
    }

    /**
     * Adds the big-endian 16-bit words of {@code [off, off + len)} to {@code initial}
     * (RFC 1071 section 4.1). An odd trailing byte counts as the high byte of a last word padded
     * with zero. Any alignment and any length (including 0) is fine.
     *
     * <p>The data is read 8 bytes at a time; each 64-bit word is split into two 32-bit halves that
     * are added into a 64-bit accumulator, which cannot overflow for any {@code int} length, and
     * the end-around carries are folded once at the end (RFC 1071 section 2 (B), (C)).
     *
     * @param initial a partial sum to continue from (treated as unsigned 32 bits), e.g. a
     *                pseudo-header sum or the result of an earlier {@code sum}; 0 to start
     * @return the partial sum with carries folded, in {@code 0..0xFFFF}; callers may pass it as
     *         {@code initial} of another {@code sum}, add a few of them in an {@code int}, then
     *         {@link #fold}/{@link #finish}
     */
    public static int sum(MemorySegment s, long off, int len, int initial) {
        long acc = initial & LOW32;
        long i = off;
        final long end8 = off + (len & ~7L);
        for (; i < end8; i += 8) {
            final long w = s.get(LONG_BE, i);
            // Two 32-bit halves of big-endian words: each half is hi16 << 16 | lo16, so summing
            // halves and folding later equals summing the 16-bit words (2^16 == 1 mod 0xFFFF).
            acc += (w >>> 32) + (w & LOW32);
        }
        final int rem = len & 7;
        if ((rem & 4) != 0) {
            acc += s.get(INT_BE, i) & LOW32;
            i += 4;
        }
        if ((rem & 2) != 0) {
            acc += s.get(SHORT_BE, i) & 0xFFFF;
            i += 2;
        }
        if ((rem & 1) != 0) {
            acc += (s.get(BYTE, i) & 0xFF) << 8;
        }
        // 64 -> 32 bits: after the first step acc <= 0x1_FFFF_FFFE, after the second <= 0xFFFF_FFFF.
        acc = (acc & LOW32) + (acc >>> 32);
        acc = (acc & LOW32) + (acc >>> 32);
        return fold((int) acc);
    }

    /**
     * Folds a partial sum (treated as unsigned 32 bits) to 16 bits by adding the carries back in
     * (end-around carry, RFC 1071 section 2 (B)). The result is in {@code 0..0xFFFF}; it is 0 only
     * when the input is 0.
     */
    public static int fold(int sum) {
        // Two rounds are enough: 0xFFFF_FFFF -> 0x1FFFE -> 0xFFFF.
        int x = (sum >>> 16) + (sum & 0xFFFF);
        return (x >>> 16) + (x & 0xFFFF);
    }

    /** The checksum to store: the one's complement of the folded sum, {@code ~fold(sum) & 0xFFFF}. */
    public static int finish(int sum) {
        return ~fold(sum) & 0xFFFF;
    }

    /**
     * Incrementally updates a stored checksum after one 16-bit word of the covered data changed
     * from {@code oldWord} to {@code newWord}: RFC 1624 eqn. 3, {@code HC' = ~(~HC + ~m + m')},
     * which (unlike eqn. 2 of RFC 1141) never produces a wrong {@code -0}.
     */
    public static int update16(int checksum, int oldWord, int newWord) {
        final int sum = (~checksum & 0xFFFF) + (~oldWord & 0xFFFF) + (newWord & 0xFFFF);
        return ~fold(sum) & 0xFFFF;
    }

    /**
     * Incrementally updates a stored checksum after a 32-bit field at an even offset (an IPv4
     * address, a sequence number) changed: RFC 1624 eqn. 3 applied to both 16-bit halves at once.
     */
    public static int update32(int checksum, int oldValue, int newValue) {
        final int sum = (~checksum & 0xFFFF)
                + (~oldValue >>> 16) + (~oldValue & 0xFFFF)
                + (newValue >>> 16) + (newValue & 0xFFFF);
        return ~fold(sum) & 0xFFFF;
    }
}
