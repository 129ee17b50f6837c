package io.tasnetty.engine;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What idle costs: two threaded engines on an in-JVM wire with 100 open, idle connections;
 * reports the process's CPU time over a measurement window as a percentage of one core, and the
 * engine threads' share. Not a test (no assertion; the number depends on the machine). Run:
 * <pre>
 * mvn -o -q -pl tas-engine -am test-compile
 * java --enable-native-access=ALL-UNNAMED -cp tas-engine/target/test-classes:tas-engine/target/classes:\
 * native-shim/target/classes:$(ls ~/.m2/repository/org/jctools/jctools-core/4.0.5/*.jar) \
 * io.tasnetty.engine.TasIdleCpuMain [seconds=10] [connections=100] [--name=value engine options...]
 * </pre>
 */
public final class TasIdleCpuMain {
    private TasIdleCpuMain() {
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 && !args[0].startsWith("--") ? Integer.parseInt(args[0]) : 10;
        int connections = args.length > 1 && !args[1].startsWith("--") ? Integer.parseInt(args[1]) : 100;
        Map<String, String> options = new LinkedHashMap<>();
        for (String a : args) {
            if (a.startsWith("--") && a.contains("=")) {
                options.put(a.substring(2, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
            }
        }

        TasIdleCpu.Sample jvmOnly = TasIdleCpu.measure(Math.max(1, seconds / 2), "the JVM alone, before any engine");
        try (TasEnginePair pair = new TasEnginePair(c -> {
            options.forEach(c::set);
            return c;
        }, p -> p, p -> p)) {
            List<TasEnginePair.Link> links = pair.connect(80, connections, 30_000);
            byte[] hello = TasEnginePair.pattern(100, 1);
            for (TasEnginePair.Link l : links) {
                pair.exchange(l, hello, hello, 10_000); // every connection carried data, then falls silent
            }
            Thread.sleep(2_000); // past the fast paths' poll interval, delayed ACKs and the JIT's first wave
            TasIdleCpu.Sample idle = TasIdleCpu.measure(seconds, connections + " idle connections on two engines");
            System.out.printf("%nidle CPU: %.2f%% of one core for the process (%.2f%% for the JVM alone),"
                    + " %.2f%% in engine threads%n", idle.processPercent(), jvmOnly.processPercent(),
                idle.enginePercent());
            System.out.printf("engine options: %s; flows A %d, B %d%n", options, pair.a.flowCount(),
                pair.b.flowCount());
        }
    }
}
