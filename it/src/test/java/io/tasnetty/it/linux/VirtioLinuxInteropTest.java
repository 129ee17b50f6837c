package io.tasnetty.it.linux;

import io.tasnetty.engine.config.TasConfig;

/**
 * The virtio profile (TAS under QEMU): the engine on DPDK's virtio PMD ({@code net_virtio_user},
 * the driver a guest runs) with {@code fp-no-xsumoffload fp-no-ints fp-no-autoscale}, its vhost-user
 * peer in a second DPDK process that forwards to the Linux stack in the namespace
 * ({@link VhostForwarder}). The same Linux interop tests as on af_packet and tap.
 */
class VirtioLinuxInteropTest extends LinuxInteropTestBase {
    @Override
    LinuxLink.Kind kind() {
        return LinuxLink.Kind.VIRTIO_USER;
    }

    @Override
    boolean noXsumOffload() {
        return true;
    }

    @Override
    boolean noInts() {
        return true;
    }

    @Override
    TasConfig engineConfig() {
        return TasConfig.builder().set("ip-addr", PeerNet.ENGINE_IP + "/24")
                .set("tcp-time-wait", "1000000")
                .set("fp-no-xsumoffload", "true")
                .set("fp-no-ints", "true")
                .set("fp-no-autoscale", "true")
                .build();
    }
}
