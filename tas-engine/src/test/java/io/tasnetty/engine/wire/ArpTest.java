package io.tasnetty.engine.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class ArpTest {
    private static final long MAC_A = 0x0200_0000_0001L;
    private static final long MAC_B = 0x0200_0000_0002L;
    private static final int IP_A = 0x0A00_0001;
    private static final int IP_B = 0x0A00_0002;

    @Test
    void shouldWriteRequestMatchingCapturedBytes() {
        final byte[] buf = new byte[3 + Arp.LENGTH];
        final MemorySegment s = MemorySegment.ofArray(buf);
        Arp.write(s, 3, Arp.OP_REQUEST, MAC_A, IP_A, 0, IP_B);
        final byte[] arp = new byte[Arp.LENGTH];
        System.arraycopy(buf, 3, arp, 0, Arp.LENGTH);
        // who-has 10.0.0.2 tell 10.0.0.1, as tcpdump -xx shows it
        assertThat(arp).isEqualTo(NaiveChecksum.hex(
                "0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002"));
    }

    @Test
    void shouldRoundTripEveryField() {
        final MemorySegment s = MemorySegment.ofArray(new byte[100]);
        final long off = 37;
        Arp.write(s, off, Arp.OP_REPLY, MAC_B, IP_B, MAC_A, IP_A);
        assertThat(Arp.isEthernetIpv4(s, off, Arp.LENGTH)).isTrue();
        assertThat(Arp.hardwareType(s, off)).isEqualTo(Arp.HTYPE_ETHERNET);
        assertThat(Arp.protocolType(s, off)).isEqualTo(Ethernet.TYPE_IPV4);
        assertThat(Arp.hardwareLength(s, off)).isEqualTo(6);
        assertThat(Arp.protocolLength(s, off)).isEqualTo(4);
        assertThat(Arp.op(s, off)).isEqualTo(Arp.OP_REPLY);
        assertThat(Arp.senderMac(s, off)).isEqualTo(MAC_B);
        assertThat(Arp.senderIp(s, off)).isEqualTo(IP_B);
        assertThat(Arp.targetMac(s, off)).isEqualTo(MAC_A);
        assertThat(Arp.targetIp(s, off)).isEqualTo(IP_A);
    }

    @Test
    void shouldKeepHighBitAddresses() {
        final MemorySegment s = MemorySegment.ofArray(new byte[Arp.LENGTH]);
        Arp.write(s, 0, Arp.OP_REQUEST, 0xFEDC_BA98_7654L, 0xC0A8_00FF, Ethernet.BROADCAST, 0xFFFF_FFFF);
        assertThat(Arp.senderMac(s, 0)).isEqualTo(0xFEDC_BA98_7654L);
        assertThat(Arp.senderIp(s, 0)).isEqualTo(0xC0A8_00FF);
        assertThat(Arp.targetMac(s, 0)).isEqualTo(Ethernet.BROADCAST);
        assertThat(Arp.targetIp(s, 0)).isEqualTo(0xFFFF_FFFF);
    }

    @Test
    void shouldRejectArpShorterThan28Bytes() {
        final MemorySegment s = MemorySegment.ofArray(new byte[Arp.LENGTH]);
        Arp.write(s, 0, Arp.OP_REQUEST, MAC_A, IP_A, 0, IP_B);
        assertThat(Arp.isEthernetIpv4(s, 0, Arp.LENGTH - 1)).isFalse();
        assertThat(Arp.isEthernetIpv4(s, 0, 0)).isFalse();
    }

    @Test
    void shouldRejectArpForOtherHardwareOrProtocols() {
        final MemorySegment s = MemorySegment.ofArray(new byte[Arp.LENGTH]);
        final int[][] corruptions = {
            {Arp.HTYPE_OFFSET + 1, 6},      // IEEE 802 hardware type
            {Arp.PTYPE_OFFSET, 0x86},       // ptype 0x86dd
            {Arp.HLEN_OFFSET, 8},
            {Arp.PLEN_OFFSET, 16},
        };
        for (int[] c : corruptions) {
            Arp.write(s, 0, Arp.OP_REQUEST, MAC_A, IP_A, 0, IP_B);
            s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, c[0], (byte) c[1]);
            assertThat(Arp.isEthernetIpv4(s, 0, Arp.LENGTH)).as("byte %d = %d", c[0], c[1]).isFalse();
        }
    }
}
