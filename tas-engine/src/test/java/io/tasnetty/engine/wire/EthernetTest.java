package io.tasnetty.engine.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EthernetTest {
    private static final long MAC_A = 0x0200_0000_0001L;
    private static final long MAC_B = 0xA0B1_C2D3_E4F5L;

    @Test
    void shouldWriteHeaderInNetworkOrder() {
        final byte[] buf = new byte[40];
        final MemorySegment s = MemorySegment.ofArray(buf);
        Ethernet.write(s, 5, MAC_B, MAC_A, Ethernet.TYPE_IPV4);
        final byte[] header = new byte[Ethernet.HEADER_LENGTH];
        System.arraycopy(buf, 5, header, 0, header.length);
        assertThat(header).isEqualTo(NaiveChecksum.hex("a0b1c2d3e4f5 020000000001 0800"));
        assertThat(buf[4]).isZero();
        assertThat(buf[19]).isZero();
    }

    @Test
    void shouldRoundTripEveryField() {
        final MemorySegment s = MemorySegment.ofArray(new byte[64]);
        final long off = 37;
        Ethernet.dst(s, off, MAC_B);
        Ethernet.src(s, off, MAC_A);
        Ethernet.etherType(s, off, Ethernet.TYPE_ARP);
        assertThat(Ethernet.dst(s, off)).isEqualTo(MAC_B);
        assertThat(Ethernet.src(s, off)).isEqualTo(MAC_A);
        assertThat(Ethernet.etherType(s, off)).isEqualTo(Ethernet.TYPE_ARP);

        Ethernet.write(s, off, Ethernet.BROADCAST, MAC_B, 0xFFFF);
        assertThat(Ethernet.dst(s, off)).isEqualTo(Ethernet.BROADCAST);
        assertThat(Ethernet.src(s, off)).isEqualTo(MAC_B);
        assertThat(Ethernet.etherType(s, off)).isEqualTo(0xFFFF);
    }

    @Test
    void shouldIgnoreBitsAbove48WhenWritingMac() {
        final MemorySegment s = MemorySegment.ofArray(new byte[20]);
        Ethernet.write(s, 0, 0xFFFF_0000_0000_0001L, 0, Ethernet.TYPE_IPV4);
        assertThat(Ethernet.dst(s, 0)).isEqualTo(1L);
        assertThat(Ethernet.src(s, 0)).isZero();
        assertThat(Ethernet.etherType(s, 0)).isEqualTo(Ethernet.TYPE_IPV4);
    }

    @Test
    void shouldDetectMulticastByGroupBitOfFirstOctet() {
        assertThat(Ethernet.isMulticast(Ethernet.BROADCAST)).isTrue();
        assertThat(Ethernet.isMulticast(0x0100_5E00_0001L)).isTrue(); // 01:00:5e:00:00:01, IPv4 all-hosts
        assertThat(Ethernet.isMulticast(0x3333_0000_0001L)).isTrue(); // 33:33:..., IPv6 multicast
        assertThat(Ethernet.isMulticast(MAC_A)).isFalse();
        assertThat(Ethernet.isMulticast(0x0000_0000_0001L)).isFalse(); // last octet's low bit is not the I/G bit
    }

    @Test
    void shouldFormatMacAsLowerCaseColonSeparatedOctets() {
        assertThat(Ethernet.macToString(MAC_A)).isEqualTo("02:00:00:00:00:01");
        assertThat(Ethernet.macToString(MAC_B)).isEqualTo("a0:b1:c2:d3:e4:f5");
        assertThat(Ethernet.macToString(Ethernet.BROADCAST)).isEqualTo("ff:ff:ff:ff:ff:ff");
        assertThat(Ethernet.macToString(0)).isEqualTo("00:00:00:00:00:00");
    }

    @Test
    void shouldParseMacInEitherCaseAndSeparator() {
        assertThat(Ethernet.parseMac("02:00:00:00:00:01")).isEqualTo(MAC_A);
        assertThat(Ethernet.parseMac("A0:B1:C2:D3:E4:F5")).isEqualTo(MAC_B);
        assertThat(Ethernet.parseMac("a0-b1-c2-d3-e4-f5")).isEqualTo(MAC_B);
        assertThat(Ethernet.parseMac("ff:ff:ff:ff:ff:ff")).isEqualTo(Ethernet.BROADCAST);
        assertThat(Ethernet.parseMac(Ethernet.macToString(MAC_B))).isEqualTo(MAC_B);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "02:00:00:00:00", "02:00:00:00:00:01:02", "2:00:00:00:00:01", "02:00:00:00:00:0g",
        "02-00:00:00:00:01", "02:00:00:00:00-01", "02.00.00.00.00.01", "0200.0000.0001", " 02:00:00:00:00:01",
        "02:00:00:00:00:1 ", "\u0663\u0663:00:00:00:00:01"})
    void shouldRejectMalformedMacNamingTheText(String text) {
        assertThatThrownBy(() -> Ethernet.parseMac(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'" + text + "'");
    }

    @Test
    void shouldRejectNullMac() {
        assertThatThrownBy(() -> Ethernet.parseMac(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("null");
    }
}
