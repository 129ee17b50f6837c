package io.tasnetty.engine.port.dpdk;

import io.tasnetty.engine.TasEnginePair;
import io.tasnetty.engine.TasIdleCpu;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What idle costs on DPDK's {@code net_memif}, a port without receive interrupts (its fast-path
 * threads nap instead of sleeping): two engines of this JVM linked by a memif pair, {@code
 * connections} open connections that each carried a message, then silence; reports the process's
 * and the engine threads' CPU over {@code seconds} as a share of one core. Not a test (no
 * assertion). Root and DPDK. Run (after {@code ./mvnw -q -pl tas-engine -am test-compile} and
 * {@code ./mvnw -q -pl tas-engine dependency:build-classpath -Dmdep.outputFile=target/cp.txt}):
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp "tas-engine/target/test-classes:tas-engine/target/classes:\
 * native-shim/target/classes:$(cat tas-engine/target/cp.txt)" \
 * io.tasnetty.engine.port.dpdk.DpdkMemifIdleCpuMain [seconds=10] [connections=8]
 * </pre>
 */
public final class DpdkMemifIdleCpuMain {
    private DpdkMemifIdleCpuMain() {
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int connections = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        TasIdleCpu.Sample alone = TasIdleCpu.measure(Math.max(1, seconds / 2), "the JVM alone, before any engine");
        DpdkTestSupport.requireEal();
        Path sock = Path.of("/tmp", "tasidle-memif-" + DpdkTestSupport.PID + ".sock");
        Files.deleteIfExists(sock);
        try (DpdkPort server = DpdkPort.attach(DpdkTestSupport.EAL, "net_memif1,role=server,id=0,socket=" + sock,
                1, 0, false, false, 4095);
             DpdkPort client = DpdkPort.attach(DpdkTestSupport.EAL, "net_memif2,role=client,id=0,socket=" + sock,
                1, 0, false, false, 4095);
             TasEnginePair pair = new TasEnginePair(c -> c, w -> server, w -> client)) {
            List<TasEnginePair.Link> links = pair.connect(7100, connections, 30_000);
            byte[] hello = TasEnginePair.pattern(100, 1);
            for (TasEnginePair.Link l : links) {
                pair.exchange(l, hello, hello, 10_000); // every connection carried data, then falls silent
            }
            Thread.sleep(2_000); // past the poll intervals, delayed ACKs and the JIT's first wave
            TasIdleCpu.Sample idle = TasIdleCpu.measure(seconds, connections + " idle connections, two engines on memif");
            System.out.printf("%nidle CPU on net_memif: %.2f%% of one core for the process (%.2f%% for the JVM alone),"
                + " %.2f%% in engine threads (two engines)%n", idle.processPercent(), alone.processPercent(),
                idle.enginePercent());
        } finally {
            Files.deleteIfExists(sock);
        }
    }
}
