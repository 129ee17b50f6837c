package io.tasnetty.engine.port;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tasnetty.engine.TasTestEnvironment;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Talks to the Linux stack through a real TAP interface; needs root and /dev/net/tun. */
class TapPortTest {
    /** Per JVM: two builds on one host must not open the same device (EBUSY). */
    private static final String IFNAME = "tast" + ProcessHandle.current().pid();
    private static final long ENGINE_MAC = 0x02_54_41_53_00_02L; // 02:54:41:53:00:02, locally administered
    private static final int KERNEL_IP = Frames.ip(192, 168, 237, 1);
    private static final int ENGINE_IP = Frames.ip(192, 168, 237, 2);

    private TapPort port;

    private static void requireTap() {
        TasTestEnvironment.require(TasTestEnvironment.isRoot(), "root (TAP devices need CAP_NET_ADMIN)");
        TasTestEnvironment.require(Files.exists(Path.of("/dev/net/tun")), "/dev/net/tun");
        TasTestEnvironment.require(TasTestEnvironment.hasCommand("ip"), "the ip command (iproute2)");
    }

    private static void ip(String... args) throws IOException, InterruptedException {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "ip";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("ip %s: %s", String.join(" ", args), out).isZero();
    }

    private static void deleteInterfaceIfPresent() throws IOException, InterruptedException {
        if (Files.exists(Path.of("/sys/class/net", IFNAME))) {
            new ProcessBuilder("ip", "link", "del", IFNAME).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(30, TimeUnit.SECONDS);
        }
    }

    private void openConfiguredTap() throws IOException, InterruptedException {
        deleteInterfaceIfPresent(); // a leftover of an aborted run
        port = TapPort.open(IFNAME, ENGINE_MAC, 1500);
        port.start();
        // Only this private subnet, only on this interface: traffic stays on this machine.
        ip("addr", "add", "192.168.237.1/24", "dev", IFNAME);
        ip("link", "set", IFNAME, "up");
    }

    @AfterEach
    void cleanUp() throws IOException, InterruptedException {
        if (port != null) {
            port.close();
            port = null;
        }
        deleteInterfaceIfPresent();
    }

    @Test
    void kernelAnswersAnArpRequestWithTheTapInterfaceMac() throws Exception {
        requireTap();
        openConfiguredTap();
        assertThat(port.name()).isEqualTo("tap:" + IFNAME);
        assertThat(port.interfaceName()).isEqualTo(IFNAME);
        long kernelMac = parseMac(Files.readString(Path.of("/sys/class/net", IFNAME, "address")).trim());
        assertThat(kernelMac).isNotEqualTo(ENGINE_MAC);

        PacketBuffer[] bufs = new PacketBuffer[32];
        assertThat(port.alloc(bufs, 1)).isEqualTo(1);
        arpRequest(bufs[0]);
        assertThat(port.txBurst(0, bufs, 1)).isEqualTo(1);

        // The kernel also sends its own traffic (IPv6 router solicitations, MLD): skip it.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        boolean answered = false;
        while (!answered && System.nanoTime() < deadline) {
            port.awaitRx(0, TimeUnit.MILLISECONDS.toNanos(100));
            int n = port.rxBurst(0, bufs, bufs.length);
            for (int i = 0; i < n; i++) {
                PacketBuffer b = bufs[i];
                MemorySegment s = b.segment;
                long o = b.offset;
                if (b.length >= 42 && (s.get(Frames.BE_SHORT, o + 12) & 0xFFFF) == 0x0806
                        && s.get(Frames.BE_SHORT, o + 14 + 6) == 2) {
                    assertThat(Frames.getMac(s, o)).isEqualTo(ENGINE_MAC); // to us
                    assertThat(Frames.getMac(s, o + 6)).isEqualTo(kernelMac); // from the tap
                    assertThat(Frames.getMac(s, o + 14 + 8)).isEqualTo(kernelMac); // sender hardware address
                    assertThat(s.get(Frames.BE_INT, o + 14 + 14)).isEqualTo(KERNEL_IP); // sender protocol address
                    assertThat(Frames.getMac(s, o + 14 + 18)).isEqualTo(ENGINE_MAC); // target hardware address
                    assertThat(s.get(Frames.BE_INT, o + 14 + 24)).isEqualTo(ENGINE_IP);
                    answered = true;
                }
            }
            port.free(bufs, n);
        }
        assertThat(answered).as("ARP reply from the kernel within 5 s").isTrue();
        assertThat(port.stats().txPackets()).isEqualTo(1);
        assertThat(port.stats().rxPackets()).isPositive();
        assertThat(port.pool().invalidFrees()).isZero();
    }

    @Test
    void transmitAndEmptyReceivePollsAllocateNothing() throws Exception {
        requireTap();
        openConfiguredTap();
        PacketBuffer[] bufs = new PacketBuffer[8];
        Runnable round = () -> {
            for (int i = 0; i < 2000; i++) {
                int n = port.alloc(bufs, 1);
                if (n == 1) {
                    arpRequest(bufs[0]); // the kernel answers some: the receive path runs too
                    port.txBurst(0, bufs, 1);
                }
                int m = port.rxBurst(0, bufs, bufs.length);
                port.free(bufs, m);
                port.wakeup(0);
                port.awaitRx(0, 1_000); // the wakeup makes it return at once
            }
        };
        long allocated = Allocation.steadyState(round, 1024, 100);
        assertThat(allocated).as("bytes allocated for 2,000 transmit/receive rounds, once compiled")
                .isLessThan(1024);
        assertThat(port.stats().txDropped()).isZero();
        assertThat(port.stats().txPackets()).isGreaterThanOrEqualTo(2000);
    }

    @Test
    void wakeupFromAnotherThreadEndsAwaitRx() throws Exception {
        requireTap();
        deleteInterfaceIfPresent();
        port = TapPort.open(IFNAME, ENGINE_MAC, 1500); // interface down: nothing arrives
        CountDownLatch ready = new CountDownLatch(1);
        TapPort p = port;
        Thread waker = new Thread(() -> {
            try {
                ready.await();
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
            p.wakeup(0);
        });
        waker.start();
        long t0 = System.nanoTime();
        ready.countDown();
        port.awaitRx(0, TimeUnit.SECONDS.toNanos(30));
        assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(5));
        waker.join(5_000);

        // The wakeup was consumed: the next wait runs to its (short) timeout.
        long t1 = System.nanoTime();
        port.awaitRx(0, TimeUnit.MILLISECONDS.toNanos(20));
        assertThat(System.nanoTime() - t1).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(15));
        assertThat(port.rxBurst(0, new PacketBuffer[4], 4)).isZero();
    }

    @Test
    void closingRemovesTheNonPersistentInterface() throws Exception {
        requireTap();
        deleteInterfaceIfPresent();
        port = TapPort.open(IFNAME, ENGINE_MAC, 1500);
        assertThat(Path.of("/sys/class/net", IFNAME)).exists();
        port.close();
        port = null;
        assertThat(Path.of("/sys/class/net", IFNAME)).doesNotExist();
    }

    @Test
    void openRejectsAnInvalidInterfaceNameBeforeTouchingTheKernel() {
        assertThatThrownBy(() -> TapPort.open("this-name-is-too-long", ENGINE_MAC, 1500))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 to 15");
        assertThatThrownBy(() -> TapPort.open("a/b", ENGINE_MAC, 1500))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TapPort.open("tas0", Frames.BROADCAST, 1500))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unicast");
    }

    /** who-has 192.168.237.1 tell 192.168.237.2, from the engine's MAC, padded to 60 bytes. */
    private static void arpRequest(PacketBuffer b) {
        MemorySegment s = b.segment;
        long o = b.offset;
        for (int i = 0; i < 60; i++) {
            s.set(ValueLayout.JAVA_BYTE, o + i, (byte) 0);
        }
        Frames.putMac(s, o, Frames.BROADCAST);
        Frames.putMac(s, o + 6, ENGINE_MAC);
        s.set(Frames.BE_SHORT, o + 12, (short) 0x0806);
        long a = o + 14;
        s.set(Frames.BE_SHORT, a, (short) 1); // htype Ethernet
        s.set(Frames.BE_SHORT, a + 2, (short) 0x0800); // ptype IPv4
        s.set(ValueLayout.JAVA_BYTE, a + 4, (byte) 6);
        s.set(ValueLayout.JAVA_BYTE, a + 5, (byte) 4);
        s.set(Frames.BE_SHORT, a + 6, (short) 1); // request
        Frames.putMac(s, a + 8, ENGINE_MAC);
        s.set(Frames.BE_INT, a + 14, ENGINE_IP);
        Frames.putMac(s, a + 18, 0);
        s.set(Frames.BE_INT, a + 24, KERNEL_IP);
        b.length = 60;
    }

    private static long parseMac(String text) {
        long mac = 0;
        for (String octet : text.split(":")) {
            mac = (mac << 8) | Integer.parseInt(octet, 16);
        }
        return mac;
    }
}
