package io.tasnetty.it.linux;

/**
 * The engine on DPDK's {@code net_af_packet} PMD on the root-namespace end of a veth pair; Linux
 * on the other end in its own namespace. (af_packet has no rx interrupts: idle fast-path threads
 * nap {@code DpdkPort.PARK_NANOS} at a time; checksums in software.)
 */
class AfPacketLinuxInteropTest extends LinuxInteropTestBase {
    @Override
    LinuxLink.Kind kind() {
        return LinuxLink.Kind.AF_PACKET;
    }
}
