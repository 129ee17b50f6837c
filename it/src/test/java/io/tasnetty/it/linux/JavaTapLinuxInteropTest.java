package io.tasnetty.it.linux;

/** The engine on its pure-Java TAP port (no DPDK), the tap's kernel side in the Linux peer's namespace. */
class JavaTapLinuxInteropTest extends LinuxInteropTestBase {
    @Override
    LinuxLink.Kind kind() {
        return LinuxLink.Kind.JAVA_TAP;
    }
}
