package io.tasnetty.engine.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class TcpOptionsTest {
    private static final int OFF = 37;
    private final TcpOptions opts = new TcpOptions();

    /** Parses {@code hex} placed at offset 37 of a segment that ends right after it. */
    private boolean parse(String hex) {
        final byte[] bytes = NaiveChecksum.hex(hex);
        final byte[] buf = new byte[OFF + bytes.length];
        System.arraycopy(bytes, 0, buf, OFF, bytes.length);
        return opts.parse(MemorySegment.ofArray(buf), OFF, bytes.length);
    }

    @Test
    void shouldParseEverySynOptionCombinationTheWriterProduces() {
        final MemorySegment s = MemorySegment.ofArray(new byte[OFF + 40 + 8]);
        final int[] scales = {-1, 0, 7, 14};
        for (int mss : new int[] {0, 536, 1460, 65535}) {
            for (int ws : scales) {
                for (boolean sack : new boolean[] {false, true}) {
                    for (boolean ts : new boolean[] {false, true}) {
                        s.fill((byte) 0x55); // garbage after the options must not be read
                        final int n = TcpOptions.writeSynOptions(s, OFF, mss, ws, sack, ts, 0xDEAD_BEEF, 7);
                        final String what = "mss " + mss + " ws " + ws + " sack " + sack + " ts " + ts;
                        assertThat(n).as(what).isEqualTo(TcpOptions.synOptionsLength(ws, sack, ts));
                        assertThat(n % 4).as(what).isZero();
                        assertThat(n).as(what).isLessThanOrEqualTo(TcpOptions.MAX_OPTIONS_LENGTH);
                        assertThat(opts.parse(s, OFF, n)).as(what).isTrue();
                        assertThat(opts.mss).as(what).isEqualTo(mss);
                        assertThat(opts.windowScale).as(what).isEqualTo(ws);
                        assertThat(opts.sackPermitted).as(what).isEqualTo(sack);
                        assertThat(opts.hasTimestamp).as(what).isEqualTo(ts);
                        if (ts) {
                            assertThat(opts.tsVal).isEqualTo(0xDEAD_BEEF);
                            assertThat(opts.tsEcr).isEqualTo(7);
                        }
                        assertThat(opts.sackBlocks).isZero();
                    }
                }
            }
        }
    }

    @Test
    void shouldWriteSynOptionsLikeLinux() {
        final MemorySegment s = MemorySegment.ofArray(new byte[20]);
        final int n = TcpOptions.writeSynOptions(s, 0, 1460, 7, true, true, 0x0102_0304, 0);
        assertThat(s.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(NaiveChecksum.hex(
                "020405b4 0402080a 01020304 00000000 01030307"));
    }

    @Test
    void shouldParseEveryAckOptionCombinationTheWriterProduces() {
        final MemorySegment s = MemorySegment.ofArray(new byte[OFF + 40 + 8]);
        final int[] left = {100, -200, 0x7FFF_FFFF, 4, 5};
        final int[] right = {150, -100, 0x8000_0010, 44, 55};
        for (boolean ts : new boolean[] {false, true}) {
            for (int blocks = 0; blocks <= 5; blocks++) {
                s.fill((byte) 0x55);
                final int n = TcpOptions.writeAckOptions(s, OFF, ts, 11, 22, left, right, blocks);
                final int expectedBlocks = Math.min(blocks, ts ? 3 : 4);
                final String what = "ts " + ts + " blocks " + blocks;
                assertThat(n).as(what).isEqualTo(TcpOptions.ackOptionsLength(ts, blocks));
                assertThat(n % 4).as(what).isZero();
                assertThat(n).as(what).isLessThanOrEqualTo(TcpOptions.MAX_OPTIONS_LENGTH);
                assertThat(opts.parse(s, OFF, n)).as(what).isTrue();
                assertThat(opts.hasTimestamp).as(what).isEqualTo(ts);
                if (ts) {
                    assertThat(opts.tsVal).isEqualTo(11);
                    assertThat(opts.tsEcr).isEqualTo(22);
                }
                assertThat(opts.sackBlocks).as(what).isEqualTo(expectedBlocks);
                for (int b = 0; b < expectedBlocks; b++) {
                    assertThat(opts.sackLeft[b]).isEqualTo(left[b]);
                    assertThat(opts.sackRight[b]).isEqualTo(right[b]);
                }
                assertThat(opts.mss).isEqualTo(-1);
                assertThat(opts.windowScale).isEqualTo(-1);
                assertThat(opts.sackPermitted).isFalse();
            }
        }
    }

    @Test
    void shouldWriteNothingForAckWithoutTimestampsOrSack() {
        final MemorySegment s = MemorySegment.ofArray(new byte[4]);
        assertThat(TcpOptions.writeAckOptions(s, 0, false, 0, 0, new int[0], new int[0], 0)).isZero();
        assertThat(TcpOptions.ackOptionsLength(false, 0)).isZero();
        assertThat(TcpOptions.ackOptionsLength(false, -1)).isZero();
        assertThat(opts.parse(s, 0, 0)).isTrue();
        assertThat(opts.mss).isEqualTo(-1);
    }

    @Test
    void shouldParseSackWithOneToFourBlocks() {
        for (int n = 1; n <= 4; n++) {
            final StringBuilder hex = new StringBuilder("0101 05").append(String.format("%02x", 2 + 8 * n));
            for (int b = 0; b < n; b++) {
                hex.append(String.format(" %08x %08x", 1000 * b, 1000 * b + 500));
            }
            assertThat(parse(hex.toString())).as("%d blocks", n).isTrue();
            assertThat(opts.sackBlocks).isEqualTo(n);
            for (int b = 0; b < n; b++) {
                assertThat(opts.sackLeft[b]).isEqualTo(1000 * b);
                assertThat(opts.sackRight[b]).isEqualTo(1000 * b + 500);
            }
        }
    }

    @Test
    void shouldClampWindowScaleAbove14To14() {
        assertThat(parse("01 03 03 0f")).isTrue();
        assertThat(opts.windowScale).isEqualTo(14);
        assertThat(parse("01 03 03 ff")).isTrue();
        assertThat(opts.windowScale).isEqualTo(14);
        assertThat(parse("01 03 03 0e")).isTrue();
        assertThat(opts.windowScale).isEqualTo(14);
        assertThat(parse("01 03 03 00")).isTrue();
        assertThat(opts.windowScale).isZero();
    }

    @Test
    void shouldSkipUnknownOptionByItsLength() {
        // kind 30 (MPTCP) length 6, kind 254 (experimental) length 2, then MSS
        assertThat(parse("1e 06 02 04 05 b4  fe 02  02 04 05 78")).isTrue();
        assertThat(opts.mss).isEqualTo(1400);
    }

    @Test
    void shouldStopAtEndOfOptionList() {
        assertThat(parse("02 04 05 b4 00 00 ff ff")).isTrue();
        assertThat(opts.mss).isEqualTo(1460);
        assertThat(parse("00 02 04 05 b4")).isTrue();
        assertThat(opts.mss).as("nothing after EOL").isEqualTo(-1);
    }

    @Test
    void shouldRejectOptionWithLengthZero() {
        assertThat(parse("1e 00 01 01")).isFalse();
    }

    @Test
    void shouldRejectOptionWithLengthOne() {
        assertThat(parse("1e 01 01 01")).isFalse();
    }

    @Test
    void shouldRejectOptionWithoutRoomForItsLengthByte() {
        assertThat(parse("01 01 01 02")).isFalse();
    }

    @Test
    void shouldRejectTruncatedMss() {
        assertThat(parse("02 04 05")).isFalse();
    }

    @Test
    void shouldRejectUnknownOptionRunningPastTheEnd() {
        assertThat(parse("01 1e 08 00 00 00 00")).isFalse();
    }

    @Test
    void shouldIgnoreKnownKindsWithWrongLengthAsLinuxDoesAndKeepTheRest() {
        // Linux's tcp_parse_options skips such an option; dropping the segment would let one bad
        // option cost a whole segment (and a peer that sends it, its connection).
        assertThat(parse("02 03 05 00")).as("MSS len 3").isTrue();
        assertThat(opts.mss).as("not taken").isEqualTo(-1);
        assertThat(parse("02 05 05 b4 00 02 04 05 b4")).as("MSS len 5, then a good one").isTrue();
        assertThat(opts.mss).isEqualTo(1460);
        assertThat(parse("03 04 07 00")).as("window scale len 4").isTrue();
        assertThat(opts.windowScale).isEqualTo(-1);
        assertThat(parse("03 02 01 01")).as("window scale len 2").isTrue();
        assertThat(parse("04 03 00 01")).as("SACK-permitted len 3").isTrue();
        assertThat(opts.sackPermitted).isFalse();
        assertThat(parse("08 08 00 00 00 01 00 00")).as("timestamps len 8").isTrue();
        assertThat(opts.hasTimestamp).isFalse();
        assertThat(parse("05 02 01 01")).as("SACK without blocks").isTrue();
        assertThat(parse("05 09 00000001 000002 01")).as("SACK len 9").isTrue();
        assertThat(parse("05 0b 00000001 00000002 00")).as("SACK len 11").isTrue();
        assertThat(parse("05 2a " + "00000001 ".repeat(10))).as("SACK with 5 blocks").isTrue();
        assertThat(opts.sackBlocks).isZero();
    }

    @Test
    void shouldForgetPreviousResultsWhenParsingAgain() {
        assertThat(parse("02 04 05 b4 04 02 08 0a 00000001 00000002 01 03 03 07 01 01 05 0a 00000010 00000020"))
                .isTrue();
        assertThat(opts.mss).isEqualTo(1460);
        assertThat(opts.sackPermitted).isTrue();
        assertThat(opts.hasTimestamp).isTrue();
        assertThat(opts.windowScale).isEqualTo(7);
        assertThat(opts.sackBlocks).isEqualTo(1);
        assertThat(parse("01 01 01 01")).isTrue();
        assertThat(opts.mss).isEqualTo(-1);
        assertThat(opts.windowScale).isEqualTo(-1);
        assertThat(opts.sackPermitted).isFalse();
        assertThat(opts.hasTimestamp).isFalse();
        assertThat(opts.tsVal).isZero();
        assertThat(opts.sackBlocks).isZero();
    }
}
