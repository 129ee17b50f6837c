package io.tasnetty.engine.port;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/** Settings of a kernel network interface through {@code ioctl} on a datagram socket (root or CAP_NET_ADMIN). */
public final class KernelInterfaces {
    private static final long SIOCSIFHWADDR = 0x8924L;
    private static final int AF_INET = 2;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final short ARPHRD_ETHER = 1;
    private static final long IFREQ_HWADDR = 16; // struct sockaddr ifr_hwaddr: sa_family, then sa_data

    private static final MethodHandle SOCKET = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("socket").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
            Linker.Option.captureCallState("errno"));

    private KernelInterfaces() {
    }

    /**
     * Sets the MAC address of interface {@code ifname} (a tap device accepts it while up).
     *
     * @throws IllegalStateException naming the errno when the kernel refuses
     */
    public static void setMacAddress(String ifname, long mac) {
        byte[] name = ifname.getBytes(StandardCharsets.US_ASCII);
        if (name.length == 0 || name.length >= LinuxNative.IFNAMSIZ) {
            throw new IllegalArgumentException("interface name must have 1 to 15 characters: " + ifname);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = LinuxNative.newCaptureState(arena);
            int fd;
            try {
                fd = (int) SOCKET.invokeExact(errno, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            if (fd < 0) {
                throw new IllegalStateException("socket(AF_INET, SOCK_DGRAM) failed: "
                        + LinuxNative.describe(LinuxNative.errno(errno)));
            }
            try {
                MemorySegment ifr = arena.allocate(LinuxNative.IFREQ_SIZE, 8);
                MemorySegment.copy(name, 0, ifr, ValueLayout.JAVA_BYTE, 0, name.length);
                ifr.set(ValueLayout.JAVA_SHORT, IFREQ_HWADDR, ARPHRD_ETHER);
                for (int i = 0; i < 6; i++) {
                    ifr.set(ValueLayout.JAVA_BYTE, IFREQ_HWADDR + 2 + i, (byte) (mac >>> (8 * (5 - i))));
                }
                if (LinuxNative.ioctl(errno, fd, SIOCSIFHWADDR, ifr) < 0) {
                    throw new IllegalStateException("cannot set the MAC of " + ifname + " to "
                            + WirePort.formatMac(mac) + " (ioctl SIOCSIFHWADDR): "
                            + LinuxNative.describe(LinuxNative.errno(errno)));
                }
            } finally {
                LinuxNative.close(fd);
            }
        }
    }
}
