package io.tasnetty.engine.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TcpTest {
    private static final int OFF = 37;
    private static final int SRC_IP = 0x0A00_0001;
    private static final int DST_IP = 0xC0A8_00C7;

    @Test
    void shouldWriteHeaderInNetworkOrder() {
        final MemorySegment s = MemorySegment.ofArray(new byte[OFF + 20]);
        Tcp.writeHeader(s, OFF, 0x1234, 80, 0x0102_0304, 0xA0B0_C0D0, 20, Tcp.SYN | Tcp.ACK, 0xFAF0);
        assertThat(s.asSlice(OFF).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(NaiveChecksum.hex(
                "1234 0050 01020304 a0b0c0d0 50 12 faf0 0000 0000"));
    }

    @Test
    void shouldRoundTripEveryField() {
        final MemorySegment s = MemorySegment.ofArray(new byte[OFF + 60]);
        Tcp.writeHeader(s, OFF, 65535, 1, -1, Integer.MIN_VALUE, 60, 0xFF, 65535);
        assertThat(Tcp.srcPort(s, OFF)).isEqualTo(65535);
        assertThat(Tcp.dstPort(s, OFF)).isEqualTo(1);
        assertThat(Tcp.seq(s, OFF)).isEqualTo(-1);
        assertThat(Tcp.ack(s, OFF)).isEqualTo(Integer.MIN_VALUE);
        assertThat(Tcp.headerLength(s, OFF)).isEqualTo(60);
        assertThat(Tcp.flags(s, OFF)).isEqualTo(0xFF);
        assertThat(Tcp.window(s, OFF)).isEqualTo(65535);
        assertThat(Tcp.checksum(s, OFF)).isZero();
        assertThat(Tcp.urgentPointer(s, OFF)).isZero();

        Tcp.srcPort(s, OFF, 443);
        Tcp.dstPort(s, OFF, 50_000);
        Tcp.seq(s, OFF, 0x7FFF_FFFF);
        Tcp.ack(s, OFF, 0x8000_0001);
        Tcp.headerLength(s, OFF, 32);
        Tcp.flags(s, OFF, Tcp.FIN | Tcp.ACK | Tcp.ECE);
        Tcp.window(s, OFF, 0);
        Tcp.checksum(s, OFF, 0xABCD);
        Tcp.urgentPointer(s, OFF, 0x8001);
        assertThat(Tcp.srcPort(s, OFF)).isEqualTo(443);
        assertThat(Tcp.dstPort(s, OFF)).isEqualTo(50_000);
        assertThat(Tcp.seq(s, OFF)).isEqualTo(0x7FFF_FFFF);
        assertThat(Tcp.ack(s, OFF)).isEqualTo(0x8000_0001);
        assertThat(Tcp.headerLength(s, OFF)).isEqualTo(32);
        assertThat(Tcp.flags(s, OFF)).isEqualTo(Tcp.FIN | Tcp.ACK | Tcp.ECE);
        assertThat(Tcp.window(s, OFF)).isZero();
        assertThat(Tcp.checksum(s, OFF)).isEqualTo(0xABCD);
        assertThat(Tcp.urgentPointer(s, OFF)).isEqualTo(0x8001);
    }

    @Test
    void shouldKeepReservedBitsWhenSettingHeaderLength() {
        final MemorySegment s = MemorySegment.ofArray(new byte[20]);
        s.set(ValueLayout.JAVA_BYTE, Tcp.DATA_OFFSET_OFFSET, (byte) 0x0F);
        Tcp.headerLength(s, 0, 44);
        assertThat(s.get(ValueLayout.JAVA_BYTE, Tcp.DATA_OFFSET_OFFSET)).isEqualTo((byte) 0xBF);
        assertThat(Tcp.headerLength(s, 0)).isEqualTo(44);
    }

    @Test
    void shouldValidateHeaderLengthAgainstSegment() {
        final MemorySegment s = MemorySegment.ofArray(new byte[OFF + 60]);
        Tcp.writeHeader(s, OFF, 1, 2, 0, 0, 20, Tcp.ACK, 100);
        assertThat(Tcp.validate(s, OFF, 20)).isEqualTo(20);
        assertThat(Tcp.validate(s, OFF, 60)).isEqualTo(20);
        Tcp.headerLength(s, OFF, 60);
        assertThat(Tcp.validate(s, OFF, 60)).isEqualTo(60);
    }

    @Test
    void shouldRejectTcpSegmentShorterThan20Bytes() {
        final MemorySegment s = MemorySegment.ofArray(new byte[20]);
        Tcp.writeHeader(s, 0, 1, 2, 0, 0, 20, Tcp.ACK, 100);
        assertThat(Tcp.validate(s, 0, 19)).isEqualTo(Tcp.ERR_TOO_SHORT);
        assertThat(Tcp.validate(s, 0, 0)).isEqualTo(Tcp.ERR_TOO_SHORT);
    }

    @Test
    void shouldRejectTcpDataOffsetBelowFive() {
        final MemorySegment s = MemorySegment.ofArray(new byte[60]);
        for (int doff = 0; doff < 5; doff++) {
            Tcp.writeHeader(s, 0, 1, 2, 0, 0, 4 * doff, Tcp.ACK, 100);
            assertThat(Tcp.validate(s, 0, 60)).as("doff %d", doff).isEqualTo(Tcp.ERR_DATA_OFFSET);
        }
    }

    @Test
    void shouldRejectTcpHeaderLongerThanSegment() {
        final MemorySegment s = MemorySegment.ofArray(new byte[60]);
        Tcp.writeHeader(s, 0, 1, 2, 0, 0, 24, Tcp.ACK, 100);
        assertThat(Tcp.validate(s, 0, 23)).isEqualTo(Tcp.ERR_DATA_OFFSET);
        assertThat(Tcp.validate(s, 0, 24)).isEqualTo(24);
    }

    @Test
    void shouldMatchNaiveChecksumWithPseudoHeaderForEveryLengthAndAlignment() {
        final Random random = new Random(9293);
        final byte[] buf = new byte[16 + 1500];
        final MemorySegment s = MemorySegment.ofArray(buf);
        for (int round = 0; round < 3000; round++) {
            random.nextBytes(buf);
            final int off = random.nextInt(16);
            final int len = 20 + (round < 1000 ? round % 200 : random.nextInt(1481));
            final int srcIp = random.nextInt();
            final int dstIp = random.nextInt();
            final int expected = NaiveChecksum.tcpChecksum(s, off, len, srcIp, dstIp);
            assertThat(Tcp.checksum(s, off, len, srcIp, dstIp)).as("round %d", round).isEqualTo(expected);
            Tcp.checksum(s, off, Tcp.checksum(s, off, len, srcIp, dstIp));
            assertThat(Tcp.isChecksumValid(s, off, len, srcIp, dstIp)).isTrue();
        }
    }

    @Test
    void shouldFailChecksumAfterFlippingAnySingleBit() {
        final Random random = new Random(1);
        final int len = 20 + 12 + 33; // header, options, odd payload
        final byte[] buf = new byte[OFF + len];
        random.nextBytes(buf);
        final MemorySegment s = MemorySegment.ofArray(buf);
        Tcp.writeHeader(s, OFF, 40_000, 443, random.nextInt(), random.nextInt(), 32, Tcp.ACK | Tcp.PSH, 512);
        Tcp.checksum(s, OFF, Tcp.checksum(s, OFF, len, SRC_IP, DST_IP));
        assertThat(Tcp.isChecksumValid(s, OFF, len, SRC_IP, DST_IP)).isTrue();
        for (int bit = 0; bit < 8 * len; bit++) {
            buf[OFF + bit / 8] ^= (byte) (1 << (bit % 8));
            assertThat(Tcp.isChecksumValid(s, OFF, len, SRC_IP, DST_IP)).as("bit %d flipped", bit).isFalse();
            buf[OFF + bit / 8] ^= (byte) (1 << (bit % 8));
        }
        for (int bit = 0; bit < 32; bit++) {
            assertThat(Tcp.isChecksumValid(s, OFF, len, SRC_IP ^ 1 << bit, DST_IP)).as("src bit %d", bit).isFalse();
            assertThat(Tcp.isChecksumValid(s, OFF, len, SRC_IP, DST_IP ^ 1 << bit)).as("dst bit %d", bit).isFalse();
        }
        assertThat(Tcp.isChecksumValid(s, OFF, len, SRC_IP, DST_IP)).isTrue();
    }

    @Test
    void shouldPrefillPseudoHeaderSumTheWayTxChecksumOffloadCompletesIt() {
        final Random random = new Random(2);
        final byte[] buf = new byte[OFF + 200];
        final MemorySegment s = MemorySegment.ofArray(buf);
        for (int round = 0; round < 1000; round++) {
            random.nextBytes(buf);
            final int len = 20 + random.nextInt(181);
            final int srcIp = random.nextInt();
            final int dstIp = random.nextInt();
            final int expected = Tcp.checksum(s, OFF, len, srcIp, dstIp);
            // What the NIC does: sum the segment as is (pseudo-header sum in the field), complement.
            Tcp.checksum(s, OFF, Tcp.pseudoHeaderChecksum(srcIp, dstIp, len));
            assertThat(Checksums.finish(Checksums.sum(s, OFF, len, 0))).isEqualTo(expected);
        }
    }

    @Test
    void shouldComputePseudoHeaderSumFolded() {
        // 10.0.0.1, 10.0.0.2, proto 6, length 20: 0a00 + 0001 + 0a00 + 0002 + 0006 + 0014
        assertThat(Tcp.pseudoHeaderChecksum(0x0A00_0001, 0x0A00_0002, 20)).isEqualTo(0x141D);
        // all-ones addresses carry: 4 * ffff + 6 + ffff = 0x5_0000 + 0x0004 -> fold
        assertThat(Tcp.pseudoHeaderChecksum(-1, -1, 0xFFFF)).isEqualTo(Checksums.fold(5 * 0xFFFF + 6));
    }

    @Test
    void shouldNameFlagsFromFinUp() {
        assertThat(Tcp.flagsToString(Tcp.SYN | Tcp.ACK)).isEqualTo("SYN|ACK");
        assertThat(Tcp.flagsToString(Tcp.FIN)).isEqualTo("FIN");
        assertThat(Tcp.flagsToString(0xFF)).isEqualTo("FIN|SYN|RST|PSH|ACK|URG|ECE|CWR");
        assertThat(Tcp.flagsToString(0)).isEqualTo("NONE");
    }
}
