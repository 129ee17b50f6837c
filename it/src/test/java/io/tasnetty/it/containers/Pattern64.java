package io.tasnetty.it.containers;

import io.netty.buffer.ByteBuf;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Deterministic test bytes that do not repeat with a short period (so a misplaced or duplicated
 * segment changes the SHA-256): byte i is byte {@code i % 8} of splitmix64({@code i / 8}).
 */
final class Pattern64 {
    private Pattern64() {
    }

    static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static byte at(long i) {
        return (byte) (mix(i >>> 3) >>> ((i & 7) * 8));
    }

    /** Writes bytes [from, from + len) of the pattern into {@code buf}. */
    static void write(ByteBuf buf, long from, int len) {
        long i = from;
        long end = from + len;
        while (i < end && (i & 7) != 0) {
            buf.writeByte(at(i++));
        }
        while (end - i >= 8) {
            buf.writeLongLE(mix(i >>> 3));
            i += 8;
        }
        while (i < end) {
            buf.writeByte(at(i++));
        }
    }

    /** SHA-256 (hex) of the first {@code n} bytes. */
    static String sha256(long n) {
        MessageDigest md = sha256();
        byte[] block = new byte[1 << 16];
        for (long off = 0; off < n; off += block.length) {
            int len = (int) Math.min(block.length, n - off);
            for (int k = 0; k < len; k++) {
                block[k] = at(off + k);
            }
            md.update(block, 0, len);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
