package io.tasnetty.engine.service;

import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Prints a running service's counters (as Aeron's {@code AeronStat} prints a media driver's):
 *
 * <pre>
 * java -cp tas-engine.jar io.tasnetty.engine.service.TasStat DIR [--watch[=SECONDS]] [--count=N] [--raw]
 * </pre>
 *
 * It asks the service for {@code TAS-STATS} on {@code DIR/control} (so it needs no more rights
 * than attaching does; a user other than root or the service's sees only its own applications)
 * and prints a table: the engine's figures, one row per attached application, and the engine's
 * non-zero counters. {@code --watch} repeats every SECONDS (default 1) with rates per second
 * since the previous sample; {@code --count} stops after N samples; {@code --raw} prints the
 * service's lines as they are.
 */
public final class TasStat {
    private TasStat() {
    }

    /** One {@code TAS-STATS} answer, parsed. */
    record Snapshot(Map<String, String> engine, List<App> apps, Map<String, Long> counters, int connections,
                    long takenNanos) {
        long app(int id, String field) {
            for (App a : apps) {
                if (a.id == id) {
                    return a.fields.getOrDefault(field, 0L);
                }
            }
            return -1;
        }
    }

    record App(int id, String user, long pid, Map<String, Long> fields, boolean reclaiming) {
    }

    public static void main(String[] args) throws InterruptedException {
        Path dir = null;
        double watch = 0;
        long count = Long.MAX_VALUE;
        boolean raw = false;
        for (String a : args) {
            if (a.equals("--watch")) {
                watch = 1;
            } else if (a.startsWith("--watch=")) {
                watch = positive(a, a.substring(8));
            } else if (a.startsWith("--count=")) {
                count = (long) positive(a, a.substring(8));
            } else if (a.equals("--raw")) {
                raw = true;
            } else if (a.equals("--help") || a.equals("-h")) {
                System.out.println(usage());
                return;
            } else if (a.startsWith("--service=")) {
                dir = Path.of(a.substring(10));
            } else if (!a.startsWith("-") && dir == null) {
                dir = Path.of(a);
            } else {
                System.err.println("TasStat: unknown argument " + a + "\n" + usage());
                System.exit(2);
            }
        }
        if (dir == null) {
            System.err.println("TasStat: give the service directory\n" + usage());
            System.exit(2);
        }
        if (watch == 0) {
            count = 1;
        }
        int status = run(dir, watch, count, raw, System.out);
        System.exit(status);
    }

    private static double positive(String arg, String v) {
        try {
            double d = Double.parseDouble(v);
            if (d > 0) {
                return d;
            }
        } catch (NumberFormatException ignored) {
            // below
        }
        System.err.println("TasStat: " + arg + ": expected a positive number\n" + usage());
        System.exit(2);
        return 0;
    }

    static String usage() {
        return "usage: java -cp tas-engine.jar io.tasnetty.engine.service.TasStat DIR [--watch[=SECONDS]] [--count=N] [--raw]";
    }

    /** Samples {@code count} times; 0 on success, 1 when the service cannot be reached. */
    static int run(Path dir, double watchSeconds, long count, boolean raw, PrintStream out) throws InterruptedException {
        Snapshot before = null;
        boolean clear = System.console() != null && watchSeconds > 0 && !raw;
        for (long i = 0; i < count; i++) {
            if (i > 0) {
                Thread.sleep((long) (watchSeconds * 1000));
            }
            String text;
            try {
                text = query(dir);
            } catch (IOException e) {
                out.println("TasStat: no TAS service answers at " + dir.resolve(TasService.CONTROL) + ": " + e.getMessage());
                return 1;
            }
            if (raw) {
                out.print(text);
                out.println();
                continue;
            }
            Snapshot now = parse(text, System.nanoTime());
            out.print((clear ? "\033[H\033[2J" : "") + render(dir, now, before));
            out.flush();
            before = now;
        }
        return 0;
    }

    /** Asks the service in {@code dir} for its counters. */
    static String query(Path dir) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(dir.resolve(TasService.CONTROL)));
            TasService.write(ch, "TAS-STATS\n");
            ByteBuffer b = ByteBuffer.allocate(64 << 10);
            StringBuilder sb = new StringBuilder();
            while (ch.read(b.clear()) >= 0) {
                sb.append(StandardCharsets.UTF_8.decode(b.flip()));
            }
            return sb.toString();
        }
    }

    static Snapshot parse(String text, long takenNanos) {
        Map<String, String> engine = new LinkedHashMap<>();
        List<App> apps = new ArrayList<>();
        Map<String, Long> counters = new LinkedHashMap<>();
        int conns = 0;
        for (String line : text.split("\n")) {
            String[] w = line.trim().split(" ");
            if (w.length < 2) {
                continue;
            }
            switch (w[0]) {
                case "app" -> {
                    Map<String, Long> f = new LinkedHashMap<>();
                    String user = "?";
                    long pid = -1;
                    boolean reclaiming = false;
                    for (int i = 2; i < w.length; i++) {
                        int eq = w[i].indexOf('=');
                        if (eq < 0) {
                            reclaiming |= w[i].equals("reclaiming");
                        } else if (w[i].startsWith("user=")) {
                            user = w[i].substring(5);
                        } else if (w[i].startsWith("pid=")) {
                            pid = number(w[i].substring(4));
                        } else {
                            f.put(w[i].substring(0, eq), number(w[i].substring(eq + 1)));
                        }
                    }
                    apps.add(new App((int) number(w[1]), user, pid, f, reclaiming));
                }
                case "conn" -> conns++;
                case "counter" -> {
                    if (w.length >= 3) {
                        counters.put(w[1], number(w[2]));
                    }
                }
                default -> engine.put(w[0], w[1]);
            }
        }
        return new Snapshot(engine, apps, counters, conns, takenNanos);
    }

    private static long number(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The table for one sample; with {@code before}, rates per second since it. */
    static String render(Path dir, Snapshot now, Snapshot before) {
        double secs = before == null ? 0 : (now.takenNanos() - before.takenNanos()) / 1e9;
        StringBuilder sb = new StringBuilder();
        Map<String, String> e = now.engine();
        sb.append("TAS service at ").append(dir).append(" (protocol ").append(e.getOrDefault("version", "?"))
          .append(", up ").append(duration(number(e.getOrDefault("uptime_ms", "0")))).append(") at ")
          .append(Instant.now()).append('\n');
        sb.append(String.format(Locale.ROOT, "engine: %s applications (%s attached, %s reclaimed), %s flows,"
                + " %s listeners, %s of rings held by applications, %d connections listed%n",
            e.getOrDefault("applications", "?"), e.getOrDefault("applications_attached_total", "?"),
            e.getOrDefault("applications_reclaimed_total", "?"), e.getOrDefault("flows", "?"),
            e.getOrDefault("listeners", "?"), bytes(number(e.getOrDefault("app_ring_bytes", "0"))),
            now.connections()));
        sb.append('\n');
        sb.append(String.format(Locale.ROOT, "%4s %-10s %8s %15s %21s %9s %11s %11s %9s %9s %9s %7s%n",
            "APP", "USER", "PID", "SOCKETS/LIMIT", "RINGS/LIMIT", "CONNS", "COMMANDS", "EVENTS",
            "REF-LIM", "REF-RING", "REF-FOR", "SPACE"));
        for (App a : now.apps()) {
            Map<String, Long> f = a.fields();
            sb.append(String.format(Locale.ROOT, "%4d %-10s %8d %15s %21s %9s %11s %11s %9d %9d %9d %7d%s%n",
                a.id(), a.user(), a.pid(),
                f.getOrDefault("sockets", 0L) + "/" + f.getOrDefault("sockets_limit", 0L),
                bytes(f.getOrDefault("ring_bytes", 0L)) + "/" + bytes(f.getOrDefault("ring_bytes_limit", 0L)),
                withRate(a, before, "connections", secs), withRate(a, before, "commands", secs),
                withRate(a, before, "events", secs),
                f.getOrDefault("refused_socket_limit", 0L), f.getOrDefault("refused_ring_memory", 0L),
                f.getOrDefault("refused_foreign", 0L), f.getOrDefault("space_reports", 0L),
                a.reclaiming() ? "  reclaiming" : ""));
        }
        if (now.apps().isEmpty()) {
            sb.append("  (no application of yours is attached)\n");
        }
        sb.append('\n');
        sb.append(String.format(Locale.ROOT, "%-40s %16s%s%n", "COUNTER", "VALUE", before == null ? "" : String.format("%14s", "PER SECOND")));
        for (Map.Entry<String, Long> c : now.counters().entrySet()) {
            sb.append(String.format(Locale.ROOT, "%-40s %16d", c.getKey(), c.getValue()));
            if (before != null && secs > 0) {
                long was = before.counters().getOrDefault(c.getKey(), 0L);
                sb.append(String.format(Locale.ROOT, "%14.1f", (c.getValue() - was) / secs));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static String withRate(App a, Snapshot before, String field, double secs) {
        long v = a.fields().getOrDefault(field, 0L);
        if (before == null || secs <= 0) {
            return Long.toString(v);
        }
        long was = before.app(a.id(), field);
        return was < 0 ? Long.toString(v) : String.format(Locale.ROOT, "%d/s", Math.round((v - was) / secs));
    }

    static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        if (b < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        }
        if (b < 1024L * 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f MiB", b / (1024.0 * 1024));
        }
        return String.format(Locale.ROOT, "%.1f GiB", b / (1024.0 * 1024 * 1024));
    }

    private static String duration(long ms) {
        long s = ms / 1000;
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return (s / 60) + "m" + (s % 60) + "s";
        }
        return (s / 3600) + "h" + (s % 3600 / 60) + "m";
    }
}
