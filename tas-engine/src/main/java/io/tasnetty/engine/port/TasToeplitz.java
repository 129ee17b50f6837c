package io.tasnetty.engine.port;

/**
 * The Toeplitz hash that NICs use for receive-side scaling (Microsoft's RSS specification, "RSS
 * hashing functions"; DPDK's {@code rte_softrss}), so the engine can compute in software the hash
 * a device will compute for a flow's packets.
 *
 * <p>Definition: for every bit of the input, most significant bit of the first byte first, if the
 * bit is set the result is XORed with the 32 bits of the key that start at that bit's position.
 * The key must therefore be at least 4 bytes longer than the input; devices use 40 (or 52) bytes.
 *
 * <p>Input for IPv4 with TCP ports, in network byte order, of the packet AS RECEIVED:
 * <pre>
 *   0               4               8       10      12
 *  +---------------+---------------+-------+-------+
 *  |  source IPv4  |   dest IPv4   | sport | dport |
 *  +---------------+---------------+-------+-------+
 * </pre>
 * so for a flow of the engine (it receives from the peer) that is remote address, local address,
 * remote port, local port. Devices that hash IPv4/TCP without the ports use the first 8 bytes.
 *
 * <p>Cost: the key is expanded once into one 256-entry table per input byte (byte value to the XOR
 * of the key windows its set bits select), so a 12-byte hash is twelve table loads and XORs;
 * nothing is allocated per hash.
 *
 * <p>With a key whose 16-bit pattern repeats (e.g. {@code 0x6d5a} repeated) the hash is symmetric:
 * swapping source and destination (addresses and ports together) gives the same value, because
 * every input byte then meets the same key windows as its swapped counterpart.
 */
public final class TasToeplitz {
    /** Input bytes of an IPv4 + TCP ports hash. */
    public static final int IPV4_TCP_INPUT = 12;
    /** Input bytes of an IPv4 addresses-only hash. */
    public static final int IPV4_INPUT = 8;
    /** Shortest key this class accepts: enough for the 12-byte IPv4/TCP input. */
    public static final int MIN_KEY_LENGTH = IPV4_TCP_INPUT + 4;

    private final byte[] key;
    /** {@code table[i * 256 + v]}: the hash contribution of value v at input byte i. */
    private final int[] table;

    /**
     * Expands {@code key} (copied) for inputs of up to {@value #IPV4_TCP_INPUT} bytes.
     *
     * @throws IllegalArgumentException when the key is shorter than {@value #MIN_KEY_LENGTH} bytes
     */
    public TasToeplitz(byte[] key) {
        if (key.length < MIN_KEY_LENGTH) {
            throw new IllegalArgumentException("a Toeplitz key for IPv4/TCP needs at least " + MIN_KEY_LENGTH
                + " bytes, got " + key.length);
        }
        this.key = key.clone();
        this.table = new int[IPV4_TCP_INPUT * 256];
        for (int i = 0; i < IPV4_TCP_INPUT; i++) {
            int[] window = new int[8]; // window[j]: key bits [8i + j, 8i + j + 32)
            for (int j = 0; j < 8; j++) {
                window[j] = window(this.key, 8 * i + j);
            }
            for (int v = 0; v < 256; v++) {
                int h = 0;
                for (int j = 0; j < 8; j++) {
                    if ((v & (0x80 >>> j)) != 0) {
                        h ^= window[j];
                    }
                }
                table[i * 256 + v] = h;
            }
        }
    }

    /** The key this hash was built from (a copy). */
    public byte[] key() {
        return key.clone();
    }

    /**
     * Hash of a received IPv4/TCP packet from {@code srcIp:srcPort} to {@code dstIp:dstPort}
     * (addresses as big-endian ints, ports in the low 16 bits).
     */
    public int hash(int srcIp, int dstIp, int srcPort, int dstPort) {
        int[] t = table;
        return t[(srcIp >>> 24)]
            ^ t[256 + ((srcIp >>> 16) & 0xFF)]
            ^ t[2 * 256 + ((srcIp >>> 8) & 0xFF)]
            ^ t[3 * 256 + (srcIp & 0xFF)]
            ^ t[4 * 256 + (dstIp >>> 24)]
            ^ t[5 * 256 + ((dstIp >>> 16) & 0xFF)]
            ^ t[6 * 256 + ((dstIp >>> 8) & 0xFF)]
            ^ t[7 * 256 + (dstIp & 0xFF)]
            ^ t[8 * 256 + ((srcPort >>> 8) & 0xFF)]
            ^ t[9 * 256 + (srcPort & 0xFF)]
            ^ t[10 * 256 + ((dstPort >>> 8) & 0xFF)]
            ^ t[11 * 256 + (dstPort & 0xFF)];
    }

    /** Hash of the IPv4 addresses alone (devices that do not hash TCP ports). */
    public int hash(int srcIp, int dstIp) {
        int[] t = table;
        return t[(srcIp >>> 24)]
            ^ t[256 + ((srcIp >>> 16) & 0xFF)]
            ^ t[2 * 256 + ((srcIp >>> 8) & 0xFF)]
            ^ t[3 * 256 + (srcIp & 0xFF)]
            ^ t[4 * 256 + (dstIp >>> 24)]
            ^ t[5 * 256 + ((dstIp >>> 16) & 0xFF)]
            ^ t[6 * 256 + ((dstIp >>> 8) & 0xFF)]
            ^ t[7 * 256 + (dstIp & 0xFF)];
    }

    /**
     * The Toeplitz hash of {@code input} under {@code key} straight from the definition, one bit
     * at a time (slow; for checking and for inputs of other lengths). The key must be at least
     * {@code input.length + 4} bytes.
     */
    public static int hashBitwise(byte[] key, byte[] input) {
        if (key.length < input.length + 4) {
            throw new IllegalArgumentException("key of " + key.length + " bytes is too short for "
                + input.length + " input bytes");
        }
        int h = 0;
        for (int bit = 0; bit < 8 * input.length; bit++) {
            if ((input[bit >>> 3] & (0x80 >>> (bit & 7))) != 0) {
                h ^= window(key, bit);
            }
        }
        return h;
    }

    /** The 32 key bits starting at bit {@code bit} (bits past the key's end read as 0). */
    private static int window(byte[] key, int bit) {
        int b = bit >>> 3;
        long w = 0;
        for (int k = 0; k < 5; k++) {
            w = (w << 8) | (b + k < key.length ? key[b + k] & 0xFF : 0);
        }
        return (int) (w >>> (8 - (bit & 7)));
    }
}
