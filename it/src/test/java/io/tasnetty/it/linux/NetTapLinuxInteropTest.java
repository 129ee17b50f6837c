package io.tasnetty.it.linux;

/**
 * The engine on DPDK's {@code net_tap} PMD, whose kernel interface is moved into the Linux peer's
 * namespace (rx interrupts, checksum offload done by the PMD in software).
 */
class NetTapLinuxInteropTest extends LinuxInteropTestBase {
    @Override
    LinuxLink.Kind kind() {
        return LinuxLink.Kind.NET_TAP;
    }
}
