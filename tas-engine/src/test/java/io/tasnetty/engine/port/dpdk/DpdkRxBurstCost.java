package io.tasnetty.engine.port.dpdk;

import io.tasnetty.engine.port.PacketBuffer;
import java.util.List;

/**
 * Not a test: prints the cost of an empty {@link DpdkPort#rxBurst} (a critical downcall into
 * rte_eth_rx_burst on net_ring) and of an alloc/tx/rx/free round of 32 frames.
 * Run: java --enable-native-access=ALL-UNNAMED -cp ... io.tasnetty.engine.port.dpdk.DpdkRxBurstCost
 */
public final class DpdkRxBurstCost {
    private DpdkRxBurstCost() {
    }

    public static void main(String[] args) {
        long pid = ProcessHandle.current().pid();
        List<String> eal = List.of("--no-huge", "-m", "256", "--no-pci", "-l", "0", "--file-prefix=tascost" + pid,
                "--no-shconf", "--no-telemetry", "--vdev=net_ring0");
        try (DpdkPort port = DpdkPort.open(eal, -1, 1, 0, false, true, 4095)) {
            PacketBuffer[] bufs = new PacketBuffer[32];
            PacketBuffer[] rx = new PacketBuffer[32];
            long sink = 0;
            for (int round = 0; round < 5; round++) {
                int iters = 20_000_000;
                long t0 = System.nanoTime();
                for (int i = 0; i < iters; i++) {
                    sink += port.rxBurst(0, bufs, 32);
                }
                long t1 = System.nanoTime();
                int burstIters = 1_000_000;
                for (int i = 0; i < burstIters; i++) {
                    int n = port.alloc(bufs, 32);
                    for (int k = 0; k < n; k++) {
                        bufs[k].length = 64;
                    }
                    port.txBurst(0, bufs, n);
                    int got = port.rxBurst(0, rx, 32);
                    port.free(rx, got);
                    sink += got;
                }
                long t2 = System.nanoTime();
                System.out.printf("empty rxBurst: %.1f ns/call   alloc+tx+rx+free of 32: %.1f ns/round (%.1f ns/frame)%n",
                        (t1 - t0) / (double) iters, (t2 - t1) / (double) burstIters,
                        (t2 - t1) / (double) burstIters / 32);
            }
            System.out.println("(sink " + sink + ")");
        }
        try {
            java.nio.file.Files.deleteIfExists(java.nio.file.Path.of("/var/run/dpdk/tascost" + pid));
        } catch (java.io.IOException ignored) {
            // not empty: leave it
        }
    }
}
