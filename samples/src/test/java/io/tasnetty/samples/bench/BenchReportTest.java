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
