package io.tasnetty.engine.port.dpdk;

import static io.tasnetty.engine.port.dpdk.DpdkTestSupport.BE_INT;
import static io.tasnetty.engine.port.dpdk.DpdkTestSupport.BE_SHORT;
import static io.tasnetty.engine.port.dpdk.DpdkTestSupport.PID;
import static io.tasnetty.engine.port.dpdk.DpdkTestSupport.sh;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.port.PacketBuffer;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The DPDK port against the Linux stack in a network namespace that only this test creates
 * (addresses in 192.168.238.0/24 exist nowhere else): {@code net_af_packet} on a veth pair, and
 * {@code net_tap} (rx interrupts, software checksum offload) with its kernel side moved into the
 * namespace.
 */
class DpdkLinuxPeerTest {
    private static final int ENGINE_IP = DpdkTestSupport.ipv4(192, 168, 238, 1);
    private static final int LINUX_IP = DpdkTestSupport.ipv4(192, 168, 238, 2);
    private static final String NS_VETH = "tasdpdk-v" + PID;
    private static final String NS_TAP = "tasdpdk-t" + PID;
    private static final String VETH_ENGINE = "tdve" + PID % 1_000_000;
    private static final String VETH_LINUX = "tdvl" + PID % 1_000_000;
    private static final String TAP = "tdtp" + PID % 1_000_000;

    @BeforeAll
    static void requirements() {
        DpdkTestSupport.requireEal();
        DpdkTestSupport.requireRootNetworking();
    }

    @AfterAll
    static void cleanUp() {
        sh(true, "ip", "link", "del", VETH_ENGINE);
        sh(true, "ip", "netns", "del", NS_VETH);
        sh(true, "ip", "netns", "del", NS_TAP);
    }

    @Test
    void afPacketPortShouldGetAnArpReplyFromLinux() {
        DpdkTestSupport.vethIntoNamespace(NS_VETH, VETH_ENGINE, VETH_LINUX, "192.168.238.2/24");
        long linuxMac = DpdkTestSupport.macOf(NS_VETH, VETH_LINUX);

        try (DpdkPort port = DpdkPort.attach(DpdkTestSupport.EAL, "net_af_packet1,iface=" + VETH_ENGINE, 1, 0,
                false, false, 1023)) {
            assertThat(port.driverName()).isEqualTo("net_af_packet");
            assertThat(port.macAddress()).isEqualTo(DpdkTestSupport.macOf(null, VETH_ENGINE));
            int freeAtStart = port.availableMbufs();

            PacketBuffer[] one = new PacketBuffer[1];
            assertThat(port.alloc(one, 1)).isEqualTo(1);
            DpdkTestSupport.writeArpRequest(one[0], port.macAddress(), ENGINE_IP, LINUX_IP);
            assertThat(port.txBurst(0, one, 1)).isEqualTo(1);

            PacketBuffer reply = receive(port, 0, 5, b -> DpdkTestSupport.etherType(b) == 0x0806
                    && b.segment.get(BE_SHORT, b.offset + 20) == 2);
            assertThat(reply).as("ARP reply from Linux").isNotNull();
            MemorySegment s = reply.segment;
            assertThat(DpdkTestSupport.getMac(s, reply.offset)).isEqualTo(port.macAddress());
            assertThat(DpdkTestSupport.getMac(s, reply.offset + 22)).as("sender MAC").isEqualTo(linuxMac);
            assertThat(s.get(BE_INT, reply.offset + 28)).as("sender IP").isEqualTo(LINUX_IP);
            assertThat(s.get(BE_INT, reply.offset + 38)).as("target IP").isEqualTo(ENGINE_IP);
            port.free(reply);
            assertThat(port.availableMbufs()).isEqualTo(freeAtStart);
            assertThat(port.stats().txPackets()).isGreaterThanOrEqualTo(1);
        } finally {
            sh(true, "ip", "link", "del", VETH_ENGINE);
            sh(true, "ip", "netns", "del", NS_VETH);
        }
    }

    @Test
    void tapPortShouldSleepOnRxInterruptsAndOffloadChecksums() throws Exception {
        DpdkTestSupport.createNamespace(NS_TAP);
        try (DpdkPort port = DpdkPort.attach(DpdkTestSupport.EAL, "net_tap1,iface=" + TAP, 1, 0, false, false, 4095)) {
            assertThat(port.driverName()).isEqualTo("net_tap");
            assertThat(port.capabilities().rxInterrupts()).as("net_tap has rx interrupts").isTrue();
            assertThat(port.rxFromAnyThread()).as("only the queue's fast-path thread receives (SIGIO trigger)").isFalse();
            assertThat(port.capabilities().txChecksumOffload()).isTrue();
            assertThat(port.capabilities().rxChecksumOffload()).isTrue();

            // The kernel end of the tap lives in the namespace, where it knows the engine statically.
            sh("ip", "link", "set", TAP, "netns", NS_TAP);
            sh("ip", "-n", NS_TAP, "addr", "add", "192.168.238.2/24", "dev", TAP);
            sh("ip", "-n", NS_TAP, "link", "set", TAP, "up");
            sh("ip", "-n", NS_TAP, "neigh", "replace", "192.168.238.1", "lladdr",
                    DpdkTestSupport.macString(port.macAddress()), "dev", TAP, "nud", "permanent");
            long linuxMac = DpdkTestSupport.macOf(NS_TAP, TAP);
            drain(port);

            // Nothing to receive: awaitRx sleeps until its timeout (epoll, no spinning) ...
            long t0 = System.nanoTime();
            port.awaitRx(0, 200_000_000L);
            long slept = System.nanoTime() - t0;
            assertThat(slept).as("idle awaitRx sleeps").isGreaterThan(150_000_000L).isLessThan(2_000_000_000L);

            // ... and wakeup() from another thread ends the sleep early ...
            Thread sleeper = Thread.ofPlatform().start(() -> port.awaitRx(0, 20_000_000_000L));
            Thread.sleep(100);
            t0 = System.nanoTime();
            port.wakeup(0);
            sleeper.join(TimeUnit.SECONDS.toMillis(5));
            assertThat(sleeper.isAlive()).as("woken").isFalse();
            assertThat(System.nanoTime() - t0).isLessThan(2_000_000_000L);

            // ... and a wakeup() before the wait is not lost.
            port.wakeup(0);
            t0 = System.nanoTime();
            port.awaitRx(0, 10_000_000_000L);
            assertThat(System.nanoTime() - t0).isLessThan(2_000_000_000L);

            // ICMP echo with the IPv4 checksum left to the port: Linux answers only if it is right.
            PacketBuffer[] one = new PacketBuffer[1];
            assertThat(port.alloc(one, 1)).isEqualTo(1);
            PacketBuffer ping = one[0];
            int icmpLen = 8 + 32;
            DpdkTestSupport.writeIpv4(ping, port.macAddress(), linuxMac, 1, ENGINE_IP, LINUX_IP, icmpLen);
            long icmp = ping.offset + 34;
            ping.segment.set(JAVA_BYTE, icmp, (byte) 8);
            ping.segment.set(JAVA_BYTE, icmp + 1, (byte) 0);
            ping.segment.set(BE_SHORT, icmp + 2, (short) 0);
            ping.segment.set(BE_SHORT, icmp + 4, (short) 0x7a5);
            ping.segment.set(BE_SHORT, icmp + 6, (short) 1);
            for (int i = 8; i < icmpLen; i++) {
                ping.segment.set(JAVA_BYTE, icmp + i, (byte) i);
            }
            ping.segment.set(BE_SHORT, icmp + 2, (short) ~DpdkTestSupport.sum16(ping.segment, icmp, icmpLen, 0));
            ping.flags = PacketBuffer.TX_IP_CSUM;
            assertThat(port.txBurst(0, one, 1)).isEqualTo(1);

            t0 = System.nanoTime();
            port.awaitRx(0, 10_000_000_000L);
            assertThat(System.nanoTime() - t0).as("the reply's interrupt ends the sleep").isLessThan(5_000_000_000L);
            PacketBuffer echo = receive(port, 0, 5, b -> DpdkTestSupport.etherType(b) == 0x0800
                    && b.segment.get(JAVA_BYTE, b.offset + 23) == 1
                    && b.segment.get(JAVA_BYTE, b.offset + 34) == 0);
            assertThat(echo).as("ICMP echo reply").isNotNull();
            assertThat(echo.segment.get(BE_INT, echo.offset + 26)).isEqualTo(LINUX_IP);
            assertThat(echo.segment.get(BE_SHORT, echo.offset + 38)).isEqualTo((short) 0x7a5);
            assertThat(echo.flags & PacketBuffer.RX_IP_CSUM_GOOD).as("rx IP checksum verified").isNotZero();
            port.free(echo);

            // TCP SYN to a closed port, both checksums by offload: Linux answers RST+ACK only if they are right.
            assertThat(port.alloc(one, 1)).isEqualTo(1);
            PacketBuffer syn = one[0];
            DpdkTestSupport.writeIpv4(syn, port.macAddress(), linuxMac, 6, ENGINE_IP, LINUX_IP, 20);
            long tcp = syn.offset + 34;
            MemorySegment s = syn.segment;
            s.set(BE_SHORT, tcp, (short) 40000);
            s.set(BE_SHORT, tcp + 2, (short) 9);
            s.set(BE_INT, tcp + 4, 0x01020304);
            s.set(BE_INT, tcp + 8, 0);
            s.set(JAVA_BYTE, tcp + 12, (byte) 0x50);
            s.set(JAVA_BYTE, tcp + 13, (byte) 0x02);
            s.set(BE_SHORT, tcp + 14, (short) 0xffff);
            s.set(BE_SHORT, tcp + 16, (short) DpdkTestSupport.tcpPseudoHeaderSum(ENGINE_IP, LINUX_IP, 20));
            s.set(BE_SHORT, tcp + 18, (short) 0);
            syn.flags = PacketBuffer.TX_IP_CSUM | PacketBuffer.TX_TCP_CSUM;
            assertThat(port.txBurst(0, one, 1)).isEqualTo(1);

            PacketBuffer rst = receive(port, 0, 5, b -> DpdkTestSupport.etherType(b) == 0x0800
                    && b.segment.get(JAVA_BYTE, b.offset + 23) == 6);
            assertThat(rst).as("TCP RST from Linux").isNotNull();
            long rt = rst.offset + 34;
            assertThat(rst.segment.get(BE_SHORT, rt) & 0xffff).isEqualTo(9);
            assertThat(rst.segment.get(BE_SHORT, rt + 2) & 0xffff).isEqualTo(40000);
            assertThat(rst.segment.get(JAVA_BYTE, rt + 13) & 0x14).as("RST+ACK").isEqualTo(0x14);
            assertThat(rst.segment.get(BE_INT, rt + 8)).as("acknowledges the SYN").isEqualTo(0x01020305);
            assertThat(DpdkTestSupport.ipChecksumValid(rst)).isTrue();
            assertThat(rst.flags).as("rx checksums verified by the port")
                    .isEqualTo(PacketBuffer.RX_IP_CSUM_GOOD | PacketBuffer.RX_L4_CSUM_GOOD);
            port.free(rst);
        } finally {
            sh(true, "ip", "netns", "del", NS_TAP);
        }
    }

    /** Receives until a frame matches (others are freed), sleeping in awaitRx between bursts. */
    private static PacketBuffer receive(DpdkPort port, int queue, int seconds, Predicate<PacketBuffer> wanted) {
        PacketBuffer[] bufs = new PacketBuffer[32];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            int n = port.rxBurst(queue, bufs, bufs.length);
            PacketBuffer found = null;
            for (int i = 0; i < n; i++) {
                if (found == null && wanted.test(bufs[i])) {
                    found = bufs[i];
                } else {
                    port.free(bufs[i]);
                }
            }
            if (found != null) {
                return found;
            }
            port.awaitRx(queue, 10_000_000L);
        }
        return null;
    }

    private static void drain(DpdkPort port) {
        PacketBuffer[] bufs = new PacketBuffer[32];
        int n;
        while ((n = port.rxBurst(0, bufs, bufs.length)) > 0) {
            port.free(bufs, n);
        }
    }
}
