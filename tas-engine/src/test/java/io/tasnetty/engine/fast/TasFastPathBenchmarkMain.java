package io.tasnetty.engine.fast;

import java.util.ArrayList;
import java.util.List;

/**
 * Runs {@link TasFastPathBenchmark} with the GC profiler (which reports {@code gc.alloc.rate.norm},
 * bytes allocated per operation). Arguments are passed to JMH after the defaults, so they override
 * them, e.g. {@code -wi 1 -i 2}; a first argument that is not an option replaces the benchmark
 * pattern, e.g. {@code .*transmitSegment}. From the
 * repository root:
 * <pre>
 * mvn -o -q -pl tas-engine -am test-compile
 * java --enable-native-access=ALL-UNNAMED -cp tas-engine/target/test-classes:tas-engine/target/classes:\
 * native-shim/target/classes:$(ls ~/.m2/repository/org/jctools/jctools-core/4.0.5/*.jar):\
 * $(ls ~/.m2/repository/org/openjdk/jmh/jmh-core/1.37/*.jar):\
 * $(ls ~/.m2/repository/net/sf/jopt-simple/jopt-simple/5.0.4/*.jar):\
 * $(ls ~/.m2/repository/org/apache/commons/commons-math3/3.6.1/*.jar) \
 * io.tasnetty.engine.fast.TasFastPathBenchmarkMain
 * </pre>
 */
public final class TasFastPathBenchmarkMain {
    private TasFastPathBenchmarkMain() {
    }

    public static void main(String[] args) throws Exception {
        List<String> jmh = new ArrayList<>();
        if (args.length == 0 || args[0].startsWith("-")) {
            jmh.add("TasFastPathBenchmark"); // unless the first argument names the benchmarks to run
        }
        // Defaults, each dropped when the arguments give the same option (JMH refuses repeats).
        String[][] defaults = {{"-prof", "gc"}, {"-f", "1"}, {"-wi", "3"}, {"-i", "5"}};
        List<String> given = List.of(args);
        for (String[] d : defaults) {
            if (!given.contains(d[0])) {
                jmh.addAll(List.of(d));
            }
        }
        jmh.addAll(given);
        org.openjdk.jmh.Main.main(jmh.toArray(new String[0]));
    }
}
