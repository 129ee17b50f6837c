package io.tasnetty.samples.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** What machine a benchmark ran on, for the report. */
final class Machine {
    private Machine() {
    }

    static String describe() {
        return String.format(Locale.ROOT, "%s, Linux %s %s, %s, %d cores visible to the JVM, %s RAM; %s %s (%s)",
            osName(), System.getProperty("os.version"), System.getProperty("os.arch"), cpuModel(),
            Runtime.getRuntime().availableProcessors(), memory(), System.getProperty("java.vm.name"),
            System.getProperty("java.runtime.version"), System.getProperty("java.vm.vendor"));
    }

    static String shortDescription() {
        return String.format(Locale.ROOT, "%d cores, %s, JDK %s", Runtime.getRuntime().availableProcessors(),
            cpuModel(), Runtime.version().feature());
    }

    static String cpuModel() {
        for (String l : lines("/proc/cpuinfo")) {
            if (l.startsWith("model name")) {
                return l.substring(l.indexOf(':') + 1).trim().replaceAll("\\s+", " ");
            }
        }
        return "unknown CPU";
    }

    static String osName() {
        for (String l : lines("/etc/os-release")) {
            if (l.startsWith("PRETTY_NAME=")) {
                return l.substring(12).replace("\"", "");
            }
        }
        return System.getProperty("os.name");
    }

    static String memory() {
        for (String l : lines("/proc/meminfo")) {
            if (l.startsWith("MemTotal:")) {
                long kb = Long.parseLong(l.replaceAll("\\D+", ""));
                return String.format(Locale.ROOT, "%.0f GiB", kb / 1024.0 / 1024.0);
            }
        }
        return "? GiB";
    }

    private static List<String> lines(String file) {
        try {
            return Files.readAllLines(Path.of(file));
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }
}
