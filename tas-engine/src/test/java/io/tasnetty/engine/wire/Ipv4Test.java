package io.tasnetty.engine.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Ipv4Test {
    /** A captured UDP/IPv4 header, 192.168.0.1 -> 192.168.0.199, whose checksum is b861. */
    private static final String CAPTURED = "45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7";
    private static final int OFF = 37;

    private static MemorySegment at(int off, byte[] bytes, int extra) {
        final byte[] buf = new byte[off + bytes.length + extra];
        System.arraycopy(bytes, 0, buf, off, bytes.length);
        return MemorySegment.ofArray(buf);
    }

    @Test
    void shouldComputeChecksumOfCapturedHeader() {
        final byte[] header = NaiveChecksum.hex(CAPTURED);
        for (int off = 0; off < 16; off++) {
            final MemorySegment s = at(off, header, 0);
            assertThat(Ipv4.isHeaderChecksumValid(s, off, 20)).isTrue();
            // the stored field is ignored: same result whether it holds b861 or 0
            assertThat(Ipv4.computeHeaderChecksum(s, off, 20)).isEqualTo(0xb861);
            Ipv4.headerChecksum(s, off, 0);
            assertThat(Ipv4.isHeaderChecksumValid(s, off, 20)).isFalse();
            assertThat(Ipv4.computeHeaderChecksum(s, off, 20)).isEqualTo(0xb861);
            Ipv4.headerChecksum(s, off, 0x1234);
            assertThat(Ipv4.computeHeaderChecksum(s, off, 20)).isEqualTo(0xb861);
        }
    }

    @Test
    void shouldReadEveryFieldOfCapturedHeader() {
        final MemorySegment s = at(OFF, NaiveChecksum.hex(CAPTURED), 0x73);
        assertThat(Ipv4.validate(s, OFF, 20 + 0x73)).isEqualTo(20);
        assertThat(Ipv4.version(s, OFF)).isEqualTo(4);
        assertThat(Ipv4.headerLength(s, OFF)).isEqualTo(20);
        assertThat(Ipv4.tos(s, OFF)).isZero();
        assertThat(Ipv4.ecn(s, OFF)).isEqualTo(Ipv4.ECN_NOT_ECT);
        assertThat(Ipv4.totalLength(s, OFF)).isEqualTo(0x73);
        assertThat(Ipv4.identification(s, OFF)).isZero();
        assertThat(Ipv4.dontFragment(s, OFF)).isTrue();
        assertThat(Ipv4.isFragment(s, OFF)).isFalse();
        assertThat(Ipv4.ttl(s, OFF)).isEqualTo(64);
        assertThat(Ipv4.protocol(s, OFF)).isEqualTo(17);
        assertThat(Ipv4.headerChecksum(s, OFF)).isEqualTo(0xb861);
        assertThat(Ipv4.src(s, OFF)).isEqualTo(Ipv4.parse("192.168.0.1"));
        assertThat(Ipv4.dst(s, OFF)).isEqualTo(Ipv4.parse("192.168.0.199"));
    }

    @Test
    void shouldWriteHeaderLikeCapturedOneWhenFieldsMatch() {
        final MemorySegment s = MemorySegment.ofArray(new byte[OFF + 20]);
        Ipv4.writeHeader(s, OFF, 0x73, 0, Ipv4.ECN_NOT_ECT, 64, 17, 0xC0A8_0001, 0xC0A8_00C7);
        assertThat(Ipv4.headerChecksum(s, OFF)).isZero();
        Ipv4.headerChecksum(s, OFF, Ipv4.computeHeaderChecksum(s, OFF, 20));
        assertThat(s.asSlice(OFF).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(NaiveChecksum.hex(CAPTURED));
    }

    @Test
    void shouldRoundTripEveryField() {
        final MemorySegment s = MemorySegment.ofArray(new byte[OFF + 60]);
        Ipv4.writeHeader(s, OFF, 1500, 0xBEEF, Ipv4.ECN_ECT0, 255, Ipv4.PROTO_TCP, 0xFFFF_FFFE, 0x0A00_0001);
        assertThat(Ipv4.version(s, OFF)).isEqualTo(4);
        assertThat(Ipv4.headerLength(s, OFF)).isEqualTo(20);
        assertThat(Ipv4.totalLength(s, OFF)).isEqualTo(1500);
        assertThat(Ipv4.identification(s, OFF)).isEqualTo(0xBEEF);
        assertThat(Ipv4.ecn(s, OFF)).isEqualTo(Ipv4.ECN_ECT0);
        assertThat(Ipv4.tos(s, OFF)).isEqualTo(Ipv4.ECN_ECT0);
        assertThat(Ipv4.ttl(s, OFF)).isEqualTo(255);
        assertThat(Ipv4.protocol(s, OFF)).isEqualTo(Ipv4.PROTO_TCP);
        assertThat(Ipv4.flagsAndFragmentOffset(s, OFF)).isEqualTo(Ipv4.FLAG_DF);
        assertThat(Ipv4.src(s, OFF)).isEqualTo(0xFFFF_FFFE);
        assertThat(Ipv4.dst(s, OFF)).isEqualTo(0x0A00_0001);

        Ipv4.tos(s, OFF, 0xB8 | Ipv4.ECN_ECT1); // DSCP EF
        Ipv4.ecn(s, OFF, Ipv4.ECN_CE);
        assertThat(Ipv4.tos(s, OFF)).as("ECN setter keeps DSCP").isEqualTo(0xB8 | Ipv4.ECN_CE);
        assertThat(Ipv4.ecn(s, OFF)).isEqualTo(Ipv4.ECN_CE);
        Ipv4.totalLength(s, OFF, 65535);
        Ipv4.identification(s, OFF, 1);
        Ipv4.ttl(s, OFF, 1);
        Ipv4.protocol(s, OFF, 17);
        Ipv4.headerChecksum(s, OFF, 0xFFFF);
        Ipv4.src(s, OFF, 0x7F00_0001);
        Ipv4.dst(s, OFF, 0xE000_0001);
        Ipv4.headerLength(s, OFF, 60);
        assertThat(Ipv4.totalLength(s, OFF)).isEqualTo(65535);
        assertThat(Ipv4.identification(s, OFF)).isEqualTo(1);
        assertThat(Ipv4.ttl(s, OFF)).isEqualTo(1);
        assertThat(Ipv4.protocol(s, OFF)).isEqualTo(17);
        assertThat(Ipv4.headerChecksum(s, OFF)).isEqualTo(0xFFFF);
        assertThat(Ipv4.src(s, OFF)).isEqualTo(0x7F00_0001);
        assertThat(Ipv4.dst(s, OFF)).isEqualTo(0xE000_0001);
        assertThat(Ipv4.headerLength(s, OFF)).isEqualTo(60);
        assertThat(Ipv4.version(s, OFF)).isEqualTo(4);
        assertThat(Ipv4.tos(s, OFF)).isEqualTo(0xB8 | Ipv4.ECN_CE);
    }

    @Test
    void shouldValidateHeaderWithOptionsAndEthernetPadding() {
        final MemorySegment s = MemorySegment.ofArray(new byte[OFF + 64]);
        Ipv4.writeHeader(s, OFF, 24, 0, 0, 64, Ipv4.PROTO_TCP, 1, 2);
        Ipv4.headerLength(s, OFF, 24);
        assertThat(Ipv4.validate(s, OFF, 64)).isEqualTo(24);
        assertThat(Ipv4.validate(s, OFF, 24)).isEqualTo(24);
    }

    @Test
    void shouldRejectIpv4HeaderShorterThan20Bytes() {
        final MemorySegment s = MemorySegment.ofArray(new byte[OFF + 20]);
        Ipv4.writeHeader(s, OFF, 20, 0, 0, 64, Ipv4.PROTO_TCP, 1, 2);
        assertThat(Ipv4.validate(s, OFF, 19)).isEqualTo(Ipv4.ERR_TOO_SHORT);
        assertThat(Ipv4.validate(s, OFF, 0)).isEqualTo(Ipv4.ERR_TOO_SHORT);
    }

    @Test
    void shouldRejectIpv4HeaderWithOtherVersion() {
        final MemorySegment s = MemorySegment.ofArray(new byte[OFF + 40]);
        Ipv4.writeHeader(s, OFF, 40, 0, 0, 64, Ipv4.PROTO_TCP, 1, 2);
        s.set(ValueLayout.JAVA_BYTE, OFF, (byte) 0x65);
        assertThat(Ipv4.validate(s, OFF, 40)).isEqualTo(Ipv4.ERR_VERSION);
    }

    @Test
    void shouldRejectIpv4HeaderWithIhlBelowFive() {
        final MemorySegment s = MemorySegment.ofArray(new byte[OFF + 40]);
        Ipv4.writeHeader(s, OFF, 40, 0, 0, 64, Ipv4.PROTO_TCP, 1, 2);
        s.set(ValueLayout.JAVA_BYTE, OFF, (byte) 0x44);
        assertThat(Ipv4.validate(s, OFF, 40)).isEqualTo(Ipv4.ERR_HEADER_LENGTH);
    }

    @Test
    void shouldRejectIpv4HeaderLongerThanTotalLength() {
        final MemorySegment s = MemorySegment.ofArray(new byte[OFF + 60]);
        Ipv4.writeHeader(s, OFF, 20, 0, 0, 64, Ipv4.PROTO_TCP, 1, 2);
        Ipv4.headerLength(s, OFF, 24);
        assertThat(Ipv4.validate(s, OFF, 60)).isEqualTo(Ipv4.ERR_HEADER_LENGTH);
    }

    @Test
    void shouldRejectIpv4HeaderWhoseTotalLengthExceedsFrame() {
        final MemorySegment s = MemorySegment.ofArray(new byte[OFF + 60]);
        Ipv4.writeHeader(s, OFF, 61, 0, 0, 64, Ipv4.PROTO_TCP, 1, 2);
        assertThat(Ipv4.validate(s, OFF, 60)).isEqualTo(Ipv4.ERR_TOTAL_LENGTH);
        Ipv4.totalLength(s, OFF, 60);
        assertThat(Ipv4.validate(s, OFF, 60)).isEqualTo(20);
    }

    @Test
    void shouldDetectFragmentsByMoreFragmentsOrOffset() {
        final MemorySegment s = MemorySegment.ofArray(new byte[20]);
        Ipv4.writeHeader(s, 0, 20, 0, 0, 64, Ipv4.PROTO_TCP, 1, 2);
        assertThat(Ipv4.isFragment(s, 0)).as("DF only").isFalse();
        Ipv4.flagsAndFragmentOffset(s, 0, Ipv4.FLAG_MF);
        assertThat(Ipv4.isFragment(s, 0)).as("first fragment").isTrue();
        Ipv4.flagsAndFragmentOffset(s, 0, 185);
        assertThat(Ipv4.isFragment(s, 0)).as("last fragment").isTrue();
        assertThat(Ipv4.fragmentOffset(s, 0)).isEqualTo(1480);
        Ipv4.flagsAndFragmentOffset(s, 0, 0);
        assertThat(Ipv4.isFragment(s, 0)).isFalse();
        assertThat(Ipv4.dontFragment(s, 0)).isFalse();
    }

    @Test
    void shouldKeepChecksumValidWhenTtlDecrementIsUpdatedIncrementally() {
        final MemorySegment s = MemorySegment.ofArray(new byte[OFF + 20]);
        final Random random = new Random(791);
        for (int i = 0; i < 1000; i++) {
            Ipv4.writeHeader(s, OFF, 20 + random.nextInt(1480), random.nextInt(0x10000), random.nextInt(4),
                    1 + random.nextInt(255), Ipv4.PROTO_TCP, random.nextInt(), random.nextInt());
            Ipv4.headerChecksum(s, OFF, Ipv4.computeHeaderChecksum(s, OFF, 20));
            final int oldWord = s.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN),
                    OFF + Ipv4.TTL_OFFSET) & 0xFFFF;
            Ipv4.ttl(s, OFF, Ipv4.ttl(s, OFF) - 1);
            Ipv4.headerChecksum(s, OFF, Checksums.update16(Ipv4.headerChecksum(s, OFF), oldWord, oldWord - 0x100));
            assertThat(Ipv4.isHeaderChecksumValid(s, OFF, 20)).isTrue();
            assertThat(Ipv4.headerChecksum(s, OFF)).isEqualTo(Ipv4.computeHeaderChecksum(s, OFF, 20));
        }
    }

    @Test
    void shouldFormatAndParseDottedQuads() {
        assertThat(Ipv4.toString(0x0A00_0001)).isEqualTo("10.0.0.1");
        assertThat(Ipv4.toString(0xFFFF_FFFF)).isEqualTo("255.255.255.255");
        assertThat(Ipv4.toString(0)).isEqualTo("0.0.0.0");
        assertThat(Ipv4.toString(0xC0A8_00C7)).isEqualTo("192.168.0.199");
        assertThat(Ipv4.parse("10.0.0.1")).isEqualTo(0x0A00_0001);
        assertThat(Ipv4.parse("255.255.255.255")).isEqualTo(0xFFFF_FFFF);
        assertThat(Ipv4.parse("0.0.0.0")).isZero();
        assertThat(Ipv4.parse("127.0.0.1")).isEqualTo(0x7F00_0001);
        final Random random = new Random(4);
        for (int i = 0; i < 1000; i++) {
            final int ip = random.nextInt();
            assertThat(Ipv4.parse(Ipv4.toString(ip))).isEqualTo(ip);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "10", "10.0.0", "10.0.0.1.", "10.0.0.1.2", "10..0.1", ".10.0.0.1", "256.0.0.1",
        "10.0.0.256", "010.0.0.1", "10.0.0.01", "1000.0.0.1", "10.0.0.-1", "+10.0.0.1", " 10.0.0.1", "10.0.0.1 ",
        "a.b.c.d", "0x0A.0.0.1", "10.0.0.1/24", "\u0661.0.0.1"})
    void shouldRejectMalformedDottedQuadNamingTheText(String text) {
        assertThatThrownBy(() -> Ipv4.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'" + text + "'");
    }

    @Test
    void shouldRejectNullAddress() {
        assertThatThrownBy(() -> Ipv4.parse(null)).isInstanceOf(IllegalArgumentException.class);
    }
}
