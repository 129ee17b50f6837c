package io.tasnetty.engine.port;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TasToeplitzTest {
    /** The 40-byte key of Microsoft's RSS verification suite (also the default of many NICs). */
    static final byte[] MS_KEY = HexFormat.of().parseHex(
        "6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa");

    /** A key of 0x6d5a repeated: the hash does not change when source and destination swap. */
    static byte[] symmetricKey(int length) {
        byte[] k = new byte[length];
        for (int i = 0; i < length; i++) {
            k[i] = (byte) ((i & 1) == 0 ? 0x6d : 0x5a);
        }
        return k;
    }

    static int ip(String dotted) {
        String[] p = dotted.split("\\.");
        return (Integer.parseInt(p[0]) << 24) | (Integer.parseInt(p[1]) << 16) | (Integer.parseInt(p[2]) << 8)
            | Integer.parseInt(p[3]);
    }

    /** Microsoft, "Verifying the RSS Hash Calculation", IPv4 table: destination, source, IPv4 hash, IPv4 with TCP hash. */
    @ParameterizedTest(name = "{2}:{3} -> {0}:{1}")
    @CsvSource({
        "161.142.100.80, 1766,  66.9.149.187,   2794,  323e8fc2, 51ccc178",
        "65.69.140.83,   4739,  199.92.111.2,   14230, d718262a, c626b0ea",
        "12.22.207.184,  38024, 24.19.198.95,   12898, d2d0a5de, 5c2b394a",
        "209.142.163.6,  2217,  38.27.205.30,   48228, 82989176, afc7327f",
        "202.188.127.2,  1303,  153.39.163.191, 44251, 5d1809c5, 10e828a2",
    })
    void shouldMatchTheMicrosoftVerificationVectors(String dst, int dstPort, String src, int srcPort, String ipv4,
                                                     String ipv4Tcp) {
        TasToeplitz t = new TasToeplitz(MS_KEY);
        assertThat(t.hash(ip(src), ip(dst), srcPort, dstPort)).as("IPv4 with TCP ports")
            .isEqualTo(Integer.parseUnsignedInt(ipv4Tcp, 16));
        assertThat(t.hash(ip(src), ip(dst))).as("IPv4 addresses only")
            .isEqualTo(Integer.parseUnsignedInt(ipv4, 16));
    }

    @Test
    void shouldAgreeWithTheBitByBitDefinitionForAnyKeyAndInput() {
        SplittableRandom r = new SplittableRandom(4);
        for (int k = 0; k < 50; k++) {
            byte[] key = new byte[TasToeplitz.MIN_KEY_LENGTH + r.nextInt(60)];
            r.nextBytes(key);
            TasToeplitz t = new TasToeplitz(key);
            for (int i = 0; i < 200; i++) {
                int src = r.nextInt();
                int dst = r.nextInt();
                int sp = r.nextInt(65536);
                int dp = r.nextInt(65536);
                byte[] in = {(byte) (src >>> 24), (byte) (src >>> 16), (byte) (src >>> 8), (byte) src,
                    (byte) (dst >>> 24), (byte) (dst >>> 16), (byte) (dst >>> 8), (byte) dst,
                    (byte) (sp >>> 8), (byte) sp, (byte) (dp >>> 8), (byte) dp};
                assertThat(t.hash(src, dst, sp, dp)).isEqualTo(TasToeplitz.hashBitwise(key, in));
                assertThat(t.hash(src, dst)).isEqualTo(TasToeplitz.hashBitwise(key, java.util.Arrays.copyOf(in, 8)));
            }
        }
    }

    @Test
    void shouldGiveTheSameHashForSwappedEndpointsWithARepeated6d5aKey() {
        TasToeplitz t = new TasToeplitz(symmetricKey(40));
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 10_000; i++) {
            int a = r.nextInt();
            int b = r.nextInt();
            int pa = r.nextInt(65536);
            int pb = r.nextInt(65536);
            assertThat(t.hash(b, a, pb, pa)).isEqualTo(t.hash(a, b, pa, pb));
            assertThat(t.hash(b, a)).isEqualTo(t.hash(a, b));
        }
        // The Microsoft key is not symmetric: the first vector reversed hashes differently.
        TasToeplitz ms = new TasToeplitz(MS_KEY);
        assertThat(ms.hash(ip("161.142.100.80"), ip("66.9.149.187"), 1766, 2794)).isNotEqualTo(0x51ccc178);
    }

    @Test
    void shouldRefuseAKeyTooShortForAnIpv4TcpInput() {
        assertThatThrownBy(() -> new TasToeplitz(new byte[15])).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("16");
        assertThat(new TasToeplitz(new byte[16]).hash(1, 2, 3, 4)).isZero();
    }

    @Test
    void shouldNotAllocatePerHash() {
        TasToeplitz t = new TasToeplitz(MS_KEY);
        int[] sink = new int[1];
        long bytes = Allocation.steadyState(() -> {
            for (int i = 0; i < 100_000; i++) {
                sink[0] ^= t.hash(i, ~i, i & 0xFFFF, 80);
            }
        }, 1024, 20);
        assertThat(bytes).isLessThan(1024);
    }
}
