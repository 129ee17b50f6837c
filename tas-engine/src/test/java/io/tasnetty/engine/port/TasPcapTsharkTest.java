package io.tasnetty.engine.port;

import io.tasnetty.engine.TasEnginePair;
import io.tasnetty.engine.TasEnginePair.Link;
import io.tasnetty.engine.TasTestEnvironment;
import io.tasnetty.engine.stats.TasCounter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A lossy, reordering transfer between two engines, recorded on both and judged by {@code tshark}:
 * no malformed frame, no bad IPv4 or TCP checksum, no expert error, and the retransmissions the
 * losses forced are visible (so the capture is the real traffic, not an empty file).
 *
 * <p>Where the recorder sits matters. {@link FaultInjectingPort} damages frames on receive, so each
 * engine's port is {@code pcap(faults(wire))}: transmitted frames are recorded exactly as the
 * engine sent them, received ones as the engine saw them after loss and reordering. No corruption
 * is configured (a corrupted frame would be recorded, after the injector, with a bad checksum).
 */
class TasPcapTsharkTest {
    private static final double LOSS = 0.015;
    private static final double REORDER = 0.01;
    private static final int PORT = 47001;

    @TempDir
    Path dir;

    @Test
    void shouldRecordALossyTransferThatTsharkFindsCleanAndRetransmitted() throws Exception {
        TasTestEnvironment.require(TasTestEnvironment.hasCommand("tshark"), "tshark (apt-get install -y tshark)");
        // -Dtas.pcap.dir=DIR keeps the captures for a look with Wireshark.
        Path out = System.getProperty("tas.pcap.dir") != null ? Path.of(System.getProperty("tas.pcap.dir")) : dir;
        Path fileA = out.resolve("a.pcap");
        Path fileB = out.resolve("b.pcap");
        PcapRecordingPort[] pcaps = new PcapRecordingPort[2];
        FaultInjectingPort[] faults = new FaultInjectingPort[2];
        long bytes = 2L << 20;
        try (TasEnginePair pair = new TasEnginePair(
            // A short minimum RTO keeps the tail losses (recovered only by timeout) cheap in time;
            // idle fast paths block at once, leaving the two cores to the busy ones.
            c -> c.set("tcp-rto-min", "20000").set("fp-poll-interval-tas", "0"),
            w -> pcaps[0] = new PcapRecordingPort(faults[0] = new FaultInjectingPort(w, plan(11)), fileA),
            w -> pcaps[1] = new PcapRecordingPort(faults[1] = new FaultInjectingPort(w, plan(12)), fileB))) {
            List<Link> links = pair.connect(PORT, 2, 20_000);
            for (int i = 0; i < links.size(); i++) {
                long t0 = System.nanoTime();
                pair.exchange(links.get(i), TasEnginePair.pattern((int) bytes, 100 + i),
                    TasEnginePair.pattern((int) bytes, 200 + i), 60_000);
                System.out.printf("pcap: link %d exchanged 2 x %d bytes in %d ms%n", i, bytes,
                    (System.nanoTime() - t0) / 1_000_000);
            }
            // B closes first (its side waits in TIME_WAIT), then A once it saw B's FIN (LAST_ACK, CLOSED).
            links.forEach(l -> l.atB().close());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!links.stream().allMatch(l -> l.atA().isInputClosed()) && System.nanoTime() < deadline) {
                pair.pollEvents();
                Thread.sleep(1);
            }
            links.forEach(l -> l.atA().close());
            while ((pair.a.counter(TasCounter.CONN_CLOSED) < 2 || pair.b.counter(TasCounter.CONN_TIME_WAIT) < 2)
                && System.nanoTime() < deadline) {
                pair.pollEvents();
                Thread.sleep(1);
            }
            assertThat(pair.a.counter(TasCounter.CONN_CLOSED)).as("connections A closed").isEqualTo(2);
            assertThat(faults[0].lost() + faults[1].lost()).as("frames the injectors dropped").isPositive();
            assertThat(faults[0].reordered() + faults[1].reordered()).as("frames reordered").isPositive();
            assertThat(pair.a.counter(TasCounter.TCP_RETRANSMITTED_SEGMENTS)
                + pair.b.counter(TasCounter.TCP_RETRANSMITTED_SEGMENTS)).isPositive();
            System.out.printf("pcap: lost %d/%d, reordered %d/%d, retransmitted A %d B %d%n", faults[0].lost(),
                faults[1].lost(), faults[0].reordered(), faults[1].reordered(),
                pair.a.counter(TasCounter.TCP_RETRANSMITTED_SEGMENTS),
                pair.b.counter(TasCounter.TCP_RETRANSMITTED_SEGMENTS));
        } // closing the engines closes the recorders, which flush their files
        for (int i = 0; i < 2; i++) {
            Path f = i == 0 ? fileA : fileB;
            judge(f, pcaps[i].recorded());
        }
    }

    private static TasFaultPlan plan(long seed) {
        return TasFaultPlan.builder().seed(seed).loss(LOSS).reorder(REORDER).build();
    }

    /** Asks tshark about {@code file}: every frame there, clean, and some retransmissions seen. */
    private static void judge(Path file, long recorded) throws Exception {
        // Verify checksums; show our port's payload as plain data (random bytes otherwise tempt
        // heuristic dissectors, e.g. Thrift, into reporting "errors" in what is not their protocol).
        String[] check = {"-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
            "-o", "tcp.try_heuristic_first:FALSE", "-d", "tcp.port==" + PORT + ",data"};

        // One line per frame: number, IPv4 and TCP checksum status (0 bad, 1 good, 2 unverified;
        // empty for ARP) and whether TCP analysis flagged it a retransmission.
        List<String> frames = tshark(file, check, "-T", "fields", "-e", "frame.number", "-e", "ip.checksum.status",
            "-e", "tcp.checksum.status", "-e", "tcp.analysis.retransmission");
        assertThat((long) frames.size()).as("frames tshark reads from %s", file).isEqualTo(recorded);
        Map<String, Integer> statuses = new TreeMap<>();
        int tcpFrames = 0;
        int retransmissions = 0;
        for (String line : frames) {
            String[] f = line.split("\t", -1);
            if (!f[2].isEmpty()) {
                tcpFrames++;
                statuses.merge("ip=" + f[1] + " tcp=" + f[2], 1, Integer::sum);
            }
            if (f.length > 3 && !f[3].isEmpty()) {
                retransmissions++;
            }
        }
        assertThat(tcpFrames).isPositive();
        assertThat(statuses).as("IPv4/TCP checksum status of every TCP frame in %s", file)
            .containsOnlyKeys("ip=1 tcp=1");

        List<String> bad = tshark(file, check, "-Y", "_ws.malformed || _ws.expert.severity >= \"Error\"",
            "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message");
        assertThat(bad).as("malformed frames or expert errors in %s", file).isEmpty();

        List<String> expert = tshark(file, check, "-q", "-z", "expert");
        System.out.printf("%s: %d frames, %d TCP, %d retransmissions; tshark -z expert:%n%s%n", file.getFileName(),
            frames.size(), tcpFrames, retransmissions, String.join("\n", expert.stream()
                .filter(l -> !l.contains("Duplicate ACK (#")).toList()));
        assertThat(retransmissions).as("retransmissions tshark sees in %s", file).isPositive();
        assertThat(String.join("\n", expert)).as("tshark -z expert for %s", file)
            .doesNotContainIgnoringCase("Errors (").doesNotContainIgnoringCase("malformed");
    }

    private static List<String> tshark(Path file, String[] options, String... args) throws IOException,
        InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("tshark", "-n", "-r", file.toString()));
        cmd.addAll(List.of(options));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("tshark did not finish in 60 s: " + cmd);
        }
        assertThat(p.exitValue()).as("exit status of %s", cmd).isZero();
        return out.lines().filter(l -> !l.isEmpty()).toList();
    }
}
