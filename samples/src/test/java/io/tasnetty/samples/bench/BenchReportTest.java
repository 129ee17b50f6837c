package io.tasnetty.samples.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;

import static org.assertj.core.api.Assertions.assertThat;

/** The runner's report: Markdown with ratios to epoll, a well-formed SVG, the raw lines. */
class BenchReportTest {

    private static BenchResult rpc(String t, int conns, long requests, long p99, long cpu) {
        return new BenchResult(t, "rpc", 64, conns, 1, 2.0, requests, requests * 64, p99 / 2, p99, p99 * 2, p99 * 3,
            p99 / 2.0, cpu, cpu / 3, cpu / 3, t.equals("tas") ? cpu / 4 : 0, 0, 0, "test");
    }

    /** An open-loop (rate > 0) or blocking-caller (rate 0) result: 2 s, requests at {@code rps}, CPU at {@code cores}. */
    private static BenchResult load(String t, int conns, long rate, long rps, double cores, long p99) {
        long cpu = (long) (cores * 2e9);
        return new BenchResult(t, rate > 0 ? "open" : "blocking", 64, conns, 1, 2.0, rps * 2, rps * 2 * 64, p99 / 2,
            p99, p99 * 2, p99 * 3, p99 / 2.0, cpu, cpu / 4, cpu / 4, t.equals("tas") ? cpu / 4 : 0, 0, 0, "test",
            Double.NaN, rate, cpu / 8, rate > 0 ? 5_000 : 0);
    }

    @Test
    void openLoopAndBlockingCallersGetTheirOwnTablesTargetsAndPanels(@TempDir Path dir) throws Exception {
        List<BenchReport.Run> runs = new ArrayList<>();
        BenchReport.Scenario low = new BenchReport.Scenario("open", 64, 8, 1, 1_460);
        BenchReport.Scenario high = new BenchReport.Scenario("open", 64, 8, 1, 131_000);
        runs.add(new BenchReport.Run(low, "tas", load("tas", 8, 1_460, 1_460, 2.0, 1_000_000), null));
        runs.add(new BenchReport.Run(low, "epoll", load("epoll", 8, 1_460, 1_460, 0.25, 250_000), null));
        runs.add(new BenchReport.Run(high, "tas", null, "exit code 1: boom"));
        runs.add(new BenchReport.Run(high, "epoll", load("epoll", 8, 131_000, 90_000, 1.9, 900_000_000), null));
        BenchReport.Scenario one = new BenchReport.Scenario("blocking", 64, 1, 1);
        runs.add(new BenchReport.Run(one, "tas", load("tas", 1, 0, 30_000, 2.0, 80_000), null));
        runs.add(new BenchReport.Run(one, "epoll", load("epoll", 1, 0, 15_000, 0.5, 120_000), null));
        BenchReport r = new BenchReport(List.of("tas", "epoll"), runs, "cmd", "method", List.of(), ZonedDateTime.now());
        r.write(dir, "z");

        String md = Files.readString(dir.resolve("z.md"));
        assertThat(md).contains("## Open loop (64 B requests at a fixed rate from one application thread, 8 connections)")
            .contains("| open loop, 1,460 req/s, 8 conn | **tas** | 1,460 | 2.00 (8.00×) | 500.0 (4.00×) | 1000.0 (4.00×)")
            .contains("| open loop, 131,000 req/s, 8 conn | tas | exit code 1: boom |")
            .contains("| 0.50 · 0.50 · 0.50 · 0.25 · 0.25 | 5.0 |")
            .contains("open loop, 1,460 req/s, 8 conn: cores used 8.00× epoll's (target ≤ 1×: missed, 700% higher); "
                + "p99 4.00× epoll's (target ≤ 1×: missed, 300% higher)")
            .contains("## Blocking callers (each thread sends 64 B on its own connection and waits for the echo)")
            .contains("| blocking, 1 caller | **tas** | 30,000 (2.00×) | 40.0 (0.67×) | 80.0 (0.67×) | 160.0 (0.67×) "
                + "| 2.00 | 66.67 (2.00×) | 0.50× |")
            .contains("blocking, 1 caller: requests/s 2.00× epoll's (target ≥ 1×: met); CPU per request 2.00× epoll's "
                + "(target ≤ 1×: missed, 100% higher)");
        String svg = Files.readString(dir.resolve("z.svg"));
        assertThat(svg).contains("Open loop: p99 latency, µs, log scale").contains("Blocking callers: requests/s");
        DocumentBuilderFactory.newInstance().newDocumentBuilder()
            .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
        // The results file keeps the rates, also of a failed open-loop cell.
        assertThat(Files.readString(dir.resolve("z.results.txt"))).contains("# failed tas round=1 open 64 8 1 rate=131000 "
            + "exit code 1: boom");
        BenchReport again = BenchReport.fromRaw(dir.resolve("z.results.txt"));
        assertThat(again.tables()).isEqualTo(r.tables());
        assertThat(again.targets()).isEqualTo(r.targets());
    }

    @Test
    void attachedModeIsHeldToAtMostOneFifthMoreCpuPerRequestThanEmbedded(@TempDir Path dir) throws Exception {
        BenchReport.Scenario one = new BenchReport.Scenario("rpc", 64, 1, 1);
        BenchReport.Scenario many = new BenchReport.Scenario("rpc", 64, 64, 1);
        List<BenchReport.Run> runs = List.of(
            new BenchReport.Run(one, "tas", rpc("tas", 1, 200_000, 40_000, 2_000_000_000L), null),
            new BenchReport.Run(one, BenchRunner.ATTACHED, rpc(BenchRunner.ATTACHED, 1, 100_000, 80_000, 2_000_000_000L), null),
            new BenchReport.Run(many, "tas", rpc("tas", 64, 400_000, 400_000, 3_000_000_000L), null),
            new BenchReport.Run(many, BenchRunner.ATTACHED, rpc(BenchRunner.ATTACHED, 64, 400_000, 500_000, 3_300_000_000L),
                null));
        BenchReport r = new BenchReport(List.of("tas", BenchRunner.ATTACHED), runs, "cmd", "method", List.of(),
            ZonedDateTime.now());
        r.write(dir, "a");
        assertThat(r.targets())
            .contains("64 B RPC, 1 conn, attached (tas-svc) vs embedded: CPU per request 2.00× (target ≤ 1.2×: missed, "
                + "100% more); req/s 50000 vs 100000; p99 80 vs 40 µs")
            .contains("64 B RPC, 64 conn, attached (tas-svc) vs embedded: CPU per request 1.10× (target ≤ 1.2×: met)");
        assertThat(Files.readString(dir.resolve("a.md"))).contains("| **tas-svc** |");
    }

    @Test
    void resultLinesFromBeforeTheLoadScenariosStillParse() {
        BenchResult old = BenchResult.parse("RESULT transport=epoll mode=rpc size=64 connections=8 depth=1 "
            + "seconds=5.0 requests=700000 bytes=44800000 p50=53000 p99=110000 p999=156000 max=900000 mean=54000.0 "
            + "cpuProcess=9500000000 cpuServer=4700000000 cpuClient=4700000000 cpuEngine=0 cpuOtherJava=3000000 "
            + "gcCount=0 machineCores=1.900 note=x round=1");
        assertThat(old.offered()).isZero();
        assertThat(old.cpuApp()).isZero();
        assertThat(BenchReport.Scenario.of(old)).isEqualTo(new BenchReport.Scenario("rpc", 64, 8, 1));
    }

    @Test
    void openLoopRatesAreRoundedToThreeDigits() {
        assertThat(BenchRunner.threeDigits(145_883 * 0.01)).isEqualTo(1_460);
        assertThat(BenchRunner.threeDigits(145_883 * 0.9)).isEqualTo(131_000);
        assertThat(BenchRunner.threeDigits(42.4)).isEqualTo(42);
        assertThat(BenchRunner.threeDigits(0.2)).isEqualTo(1);
    }

    @Test
    void repeatedCellsShowTheMedianAndTheRange(@TempDir Path dir) throws Exception {
        BenchReport.Scenario s = new BenchReport.Scenario("rpc", 64, 1, 1);
        BenchReport.Run merged = BenchReport.Run.merge(List.of(
            new BenchReport.Run(s, "tas", rpc("tas", 1, 300_000, 1000, 1_000_000_000L), null),
            new BenchReport.Run(s, "tas", null, "crashed"),
            new BenchReport.Run(s, "tas", rpc("tas", 1, 100_000, 1000, 1_000_000_000L), null),
            new BenchReport.Run(s, "tas", rpc("tas", 1, 200_000, 1000, 1_000_000_000L), null)));
        assertThat(merged.result().requests()).isEqualTo(200_000);
        assertThat(merged.samples()).hasSize(3);
        BenchReport.Run epoll = new BenchReport.Run(s, "epoll", rpc("epoll", 1, 100_000, 1000, 1_000_000_000L), null);
        BenchReport r = new BenchReport(List.of("tas", "epoll"), List.of(merged, epoll), "cmd", "method", List.of(),
            ZonedDateTime.now());
        r.write(dir, "y");
        String md = Files.readString(dir.resolve("y.md"));
        assertThat(md).contains("| 64 B RPC, 1 conn | **tas** | 100,000 (2.00×)").contains("50,000 – 150,000 (3 runs)");
        assertThat(Files.readAllLines(dir.resolve("y.results.txt")).stream().filter(l -> l.startsWith("RESULT ")))
            .hasSize(4);
        // The results file renders the same report again.
        BenchReport again = BenchReport.fromRaw(dir.resolve("y.results.txt"));
        assertThat(again.tables()).isEqualTo(r.tables());
        assertThat(again.targets()).isEqualTo(r.targets()).contains("round by round (undisturbed pairs only): requests per CPU-second 3.00×");
        BenchReport.Run failed = BenchReport.Run.merge(List.of(new BenchReport.Run(s, "nio", null, "boom")));
        assertThat(failed.result()).isNull();
        assertThat(failed.failure()).isEqualTo("boom");
    }

    @Test
    void repeatedOpenLoopCellsCompareTheMedianCoresNotTheCoresOfTheMedianP99Run(@TempDir Path dir) throws Exception {
        BenchReport.Scenario s = new BenchReport.Scenario("open", 64, 8, 1, 13_000);
        // The run with the median p99 (200 us) used 0.50 cores; the median over the three runs is 0.60.
        BenchReport.Run tas = BenchReport.Run.merge(List.of(
            new BenchReport.Run(s, "tas", load("tas", 8, 13_000, 13_000, 2.0, 100_000), null),
            new BenchReport.Run(s, "tas", load("tas", 8, 13_000, 13_000, 0.5, 200_000), null),
            new BenchReport.Run(s, "tas", load("tas", 8, 13_000, 13_000, 0.6, 300_000), null)));
        assertThat(tas.result().cores()).isEqualTo(0.5);
        assertThat(tas.median(BenchResult::cores)).isEqualTo(0.6);
        BenchReport.Run epoll = new BenchReport.Run(s, "epoll", load("epoll", 8, 13_000, 13_000, 0.55, 250_000), null);
        BenchReport r = new BenchReport(List.of("tas", "epoll"), List.of(tas, epoll), "cmd", "method", List.of(),
            ZonedDateTime.now());
        r.write(dir, "o");
        String md = Files.readString(dir.resolve("o.md"));
        assertThat(md).contains("cores used, median of all runs").contains("| 0.60 (1.09×) | 100.0 – 300.0 (3 runs) |");
        assertThat(r.targets()).contains("cores used (medians of all runs) 1.09× epoll's (target ≤ 1×: missed, 9% higher)")
            .contains("p99 0.80× epoll's (target ≤ 1×: met)");
        assertThat(BenchReport.fromRaw(dir.resolve("o.results.txt")).targets()).isEqualTo(r.targets());
    }

    @Test
    void disturbedRunsAreNotTheMedianWhenQuietOnesExist() {
        BenchReport.Scenario s = new BenchReport.Scenario("rpc", 64, 1, 1);
        BenchResult quietLow = rpc("epoll", 1, 100_000, 1000, 1_000_000_000L).withMachineCores(0.5);
        BenchResult quietHigh = rpc("epoll", 1, 120_000, 1000, 1_000_000_000L).withMachineCores(0.5);
        BenchResult busy = rpc("epoll", 1, 300_000, 1000, 1_000_000_000L).withMachineCores(2.0);
        assertThat(busy.disturbed()).isTrue();
        assertThat(quietLow.disturbed()).isFalse();
        BenchReport.Run merged = BenchReport.Run.merge(List.of(new BenchReport.Run(s, "epoll", busy, null),
            new BenchReport.Run(s, "epoll", quietHigh, null), new BenchReport.Run(s, "epoll", quietLow, null)));
        assertThat(merged.result()).isSameAs(quietLow);
        assertThat(BenchResult.parse(busy.toLine()).machineCores()).isEqualTo(2.0);
    }

    @Test
    void writesTablesRatiosAndChart(@TempDir Path dir) throws Exception {
        List<BenchReport.Run> runs = new ArrayList<>();
        for (int c : new int[] {1, 8}) {
            BenchReport.Scenario s = new BenchReport.Scenario("rpc", 64, c, 1);
            runs.add(new BenchReport.Run(s, "tas", rpc("tas", c, 400_000, 50_000, 1_000_000_000L), null));
            runs.add(new BenchReport.Run(s, "epoll", rpc("epoll", c, 200_000, 100_000, 2_000_000_000L), null));
            runs.add(new BenchReport.Run(s, "nio", null, "exit code 1: boom"));
        }
        BenchReport.Scenario bulk = new BenchReport.Scenario("bulk", 65536, 1, 1);
        runs.add(new BenchReport.Run(bulk, "tas", new BenchResult("tas", "bulk", 65536, 1, 1, 2.0, 0, 4L << 30, 0, 0, 0,
            0, 0, 1_000_000_000L, 1, 1, 1, 0, 0, "test"), null));
        runs.add(new BenchReport.Run(bulk, "epoll", new BenchResult("epoll", "bulk", 65536, 1, 1, 2.0, 0, 2L << 30, 0,
            0, 0, 0, 0, 1_000_000_000L, 1, 1, 0, 0, 0, "test"), null));
        BenchReport r = new BenchReport(List.of("tas", "nio", "epoll"), runs, "cmd", "method", List.of("a note"),
            ZonedDateTime.now());
        r.write(dir, "x");

        String md = Files.readString(dir.resolve("x.md"));
        assertThat(md).contains("| 64 B RPC, 1 conn | **tas** | 200,000 (2.00×)")
            .contains("| 64 B RPC, 8 conn | nio | exit code 1: boom |")
            .contains("requests per CPU-second 4.00× epoll (target ≥ 2×: met)")
            .contains("p99 0.50× epoll's (target ≤ 1×: met)")
            .contains("GiB per CPU-second 2.00× epoll")
            .contains("a note")
            .contains("![chart](x.svg)");
        String svg = Files.readString(dir.resolve("x.svg"));
        Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder()
            .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
        assertThat(d.getDocumentElement().getTagName()).isEqualTo("svg");
        assertThat(d.getElementsByTagName("rect").getLength()).isGreaterThan(10);
        assertThat(Files.readAllLines(dir.resolve("x.results.txt")).stream().filter(l -> l.startsWith("RESULT ")))
            .hasSize(6);
        assertThat(md).contains("## Failed runs").contains("nio, 64 B RPC, 8 conn: exit code 1: boom");
    }
}
