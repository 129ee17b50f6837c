package io.tasnetty.it.linux;

import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.TasTestEnvironment;
import io.tasnetty.engine.config.TasConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Differential tests: the same scapy script (tcpdiff.py) plays a scenario against the engine and
 * against the Linux stack, and the test compares what each answered, after normalising what may
 * legitimately differ (ISNs, timestamps, window values, option order, segment sizes).
 *
 * <pre>
 *   scapy namespace (raw peer, kernel RSTs dropped by iptables)
 *     tap   192.168.239.2, .20+i  &lt;--&gt; engine 192.168.239.1 (its Java TAP port), command server on 9000
 *     veth  192.168.238.2, .20+i  &lt;--&gt; Linux  192.168.238.1 (own namespace), tcpdiff.py server on 9000
 * </pre>
 *
 * Each scenario uses its own source address (20 + its index) on both sides, so no state of one
 * (TIME_WAIT, a cached path MTU) leaks into another. Where the engine answers differently from
 * Linux and both are correct, the difference is listed with its RFC reason in the scenario.
 */
class TcpDifferentialLinuxTest {
    private static final String PYTHON = "/usr/bin/python3";
    private static final int PORT = 9000;
    private static final String LINUX_NET = "192.168.238";
    private static final String LINUX_TARGET = LINUX_NET + ".1";

    private static EngineFixture f;
    private static String targetNs;
    private static String scapyVeth;
    private static String targetVeth;
    private static Sh.Background linuxServer;
    private static Path script;

    @BeforeAll
    static void setUp() throws Exception {
        ItDpdk.requireRootNetworking();
        ItDpdk.requireTools("iptables", "ethtool", "nstat");
        TasTestEnvironment.require(Files.isExecutable(Path.of(PYTHON))
                && Sh.run(true, 60, PYTHON, "-c", "import scapy.all; print('scapy-ok')").contains("scapy-ok"),
                "scapy for " + PYTHON + " (Debian's python3-scapy; .ci/run installs it)");
        f = new EngineFixture(LinuxLink.open(LinuxLink.Kind.JAVA_TAP, "dq", false, false),
                TasConfig.builder().set("ip-addr", PeerNet.ENGINE_IP + "/24").build());
        String scapyNs = f.link.net.ns;
        // The Linux target: its own namespace, a veth from the scapy namespace, software checksums
        // and no segmentation offloads, so what the raw peer sees is what a wire would carry.
        targetNs = PeerNet.nsName("dt");
        scapyVeth = PeerNet.ifname("dts");
        targetVeth = PeerNet.ifname("dtt");
        Sh.runQuietly("ip", "netns", "del", targetNs);
        Sh.run("ip", "netns", "add", targetNs);
        Sh.run("ip", "-n", targetNs, "link", "set", "lo", "up");
        Sh.run("ip", "-n", scapyNs, "link", "add", scapyVeth, "type", "veth", "peer", "name", targetVeth,
                "netns", targetNs);
        Sh.run("ip", "-n", scapyNs, "addr", "add", LINUX_NET + ".2/24", "dev", scapyVeth);
        Sh.run("ip", "-n", targetNs, "addr", "add", LINUX_TARGET + "/24", "dev", targetVeth);
        for (int i = 0; i < 10; i++) {
            Sh.run("ip", "-n", scapyNs, "addr", "add", LINUX_NET + "." + (20 + i) + "/24", "dev", scapyVeth);
            Sh.run("ip", "-n", scapyNs, "addr", "add", PeerNet.SUBNET + "." + (20 + i) + "/24", "dev", f.link.net.linuxIf);
        }
        Sh.run("ip", "-n", scapyNs, "link", "set", scapyVeth, "up");
        Sh.run("ip", "-n", targetNs, "link", "set", targetVeth, "up");
        Sh.inNs(targetNs, "ethtool", "-K", targetVeth, "tx", "off", "tso", "off", "gso", "off");
        Sh.inNs(scapyNs, "ethtool", "-K", scapyVeth, "tx", "off", "tso", "off", "gso", "off", "gro", "off");
        // The scapy namespace's kernel has no socket for the raw peer's connections and would
        // answer the targets with RST; the raw peer sends through AF_PACKET, past this rule.
        Sh.inNs(scapyNs, "iptables", "-A", "OUTPUT", "-p", "tcp", "--tcp-flags", "RST", "RST", "-j", "DROP");

        script = f.scratch.path("tcpdiff.py");
        try (InputStream s = TcpDifferentialLinuxTest.class.getResourceAsStream("tcpdiff.py")) {
            Files.copy(s, script);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        linuxServer = Sh.start(f.scratch.path("linux-server.log"),
                Sh.nsCommand(targetNs, PYTHON, script.toString(), "server", String.valueOf(PORT)));
        f.awaitListening(targetNs, "-ltnH", PORT);
        f.loop.listen(PORT, 64, DiffCommandServer::new);
    }

    @AfterAll
    static void tearDown() {
        try {
            if (linuxServer != null) {
                linuxServer.close();
            }
        } finally {
            try {
                if (targetNs != null) {
                    Sh.runQuietly("ip", "netns", "del", targetNs);
                }
            } finally {
                if (f != null) {
                    f.close();
                }
            }
        }
    }

    // ------------------------------------------------------------------ scenarios

    /**
     * RFC 6191 / RFC 9293 3.6.1: the target closed first and holds TIME_WAIT. A SYN of an old
     * incarnation (lower sequence number, timestamp not newer) is answered with an ACK; a SYN with
     * a higher sequence number, or with a newer timestamp only, opens a new connection at once.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void timeWaitReuse() {
        expectOnly(run("time-wait", 0),
                "close.last_ack", "A",
                "tw.old_syn", "A/ack=8",
                "tw.new_syn", "SA",
                "tw.new_conn_data", "10",
                "tw.oldseq_newts_syn", "SA");
    }

    /** RFC 5961 3.2, 4.2, 5.2: blind RST, SYN and ACK injection. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void blindResetSynAndAckInjection() {
        expectOnly(run("rfc5961", 1),
                "rst_in_window", "A/ack=9",
                "rst_out_of_window", "none",
                "syn_in_window", "A/ack=9",
                "ack_too_old", "A/ack=9",
                "alive_after_blind", "10",
                "rst_exact", "none",
                "after_rst_exact", "R");
    }

    /** RFC 3168 6.1: negotiation, ECE latched until CWR, one CWR after ECE, ECT on new data only. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void ecnNegotiationAndSignals() {
        expectOnly(run("ecn", 2),
                "synack_flags", "SAE",
                "synack_ip", "not-ect",
                "data_ip", "ect0",
                "reply_to_ce_ece", "True",
                "ece_latched", "True",
                "ece_after_cwr", "False",
                "cwr_after_ece", "True",
                "cwr_count", "1",
                "pure_ack_ip", "not-ect");
    }

    /** RFC 6675 / RFC 8985: three holes in one flight are resent, and nothing that was SACKed. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void sackRecoveryOfSeveralHoles() {
        expectOnly(run("sack", 3),
                "complete", "True",
                "holes_retransmitted", "1,4,7",
                "spurious", "none");
    }

    /** RFC 8985 7: a lost tail is probed by resending the last segment, before an RTO would resend the first. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void tailLossProbe() {
        expectOnly(run("tlp", 4),
                "complete", "True",
                "first_resent", "last");
    }

    /**
     * RFC 9293 3.8.6.1: the sender keeps to a zero window, probes it, and resumes when it opens.
     * Both probe as Linux's tcp_xmit_probe_skb does, with an old sequence number and no data (the
     * script would also accept RFC 9293's one octet of new data); both elicit the ACK that
     * carries the window.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void zeroWindow() {
        expectOnly(run("zero-window", 5),
                "probes_sent", "True",
                "window_violations", "0",
                "resumed_complete", "True");
    }

    /**
     * A known option with a wrong length is ignored and the rest of the segment is taken (Linux's
     * tcp_parse_options skips it by its length).
     *
     * <p>A malformed length (below 2, or past the end of the header) is another matter. The engine
     * drops the segment, always. Linux stops parsing there and takes the segment, unless at least
     * 18 bytes of options remain from the bad one (the length of an MD5 option): then its
     * TCP-MD5/AO option walk (tcp_inbound_hash) finds the error first and drops the segment. The
     * SYNs here have 18 bytes left, so both drop them; the established segment's truncated last
     * option leaves fewer, so Linux takes it. Accepted difference: RFC 9293 3.1 (MUST-7) only asks
     * that an illegal length be handled without crashing and suggests giving up on the
     * connection; a header that cannot be parsed is not trusted (the sender retransmits).
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void badOptionLengths() {
        Obs o = run("bad-options", 6);
        o.expectBoth("syn.mss_len3", "SA opts=2,4,8");
        o.expectBoth("syn.wscale_len4", "SA opts=2,4,8");
        o.expectBoth("syn.sackok_len3", "SA opts=2,8");
        o.expectBoth("syn.ts_len8", "SA opts=2,4");
        o.expectBoth("syn.len0_in_middle", "none");
        o.expectBoth("syn.len_past_end_in_middle", "none");
        o.expectBoth("established.ts_len6_data_answered", "10");
        assertThat(o.linux.get("established.truncated_option_data_answered")).isEqualTo("10");
        assertThat(o.engine.get("established.truncated_option_data_answered")).isEqualTo("0");
        o.assertNoOtherDifferences("established.truncated_option_data_answered");
    }

    /** RFC 1191 / RFC 5927: fragmentation needed for a segment in flight; a forged one is ignored. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void icmpFragmentationNeeded() {
        expectOnly(run("icmp-frag-needed", 7),
                "flight_df", "True",
                "complete", "True",
                "oversized_after_reaction", "0",
                "largest_fitting", "1000");
    }

    /** RFC 2883 4.1: a segment that arrives twice is reported to the sender in a D-SACK block. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void duplicateSegmentIsReportedWithDsack() {
        expectOnly(run("dsack", 8),
                "acked", "True",
                "dup_answer", "A/ack=7",
                "dup_sack_blocks", "1-7");
    }

    /**
     * RFC 2883 / RFC 3708: a segment only delayed (reordered) is resent on SACK evidence, which
     * cuts the window; the D-SACK for the needless copy undoes the cut. Read from the counters:
     * Linux's TcpExtTCPDSACKUndo, the engine's TCP_SPURIOUS_RETRANSMIT_UNDOS.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void spuriousRetransmissionIsUndoneOnDsack() {
        long linuxBefore = linuxCounter("TcpExtTCPDSACKUndo");
        long engineBefore = f.engine.counter(io.tasnetty.engine.stats.TasCounter.TCP_SPURIOUS_RETRANSMIT_UNDOS);
        Obs o = run("reorder", 9);
        o.linux.put("undone", String.valueOf(linuxCounter("TcpExtTCPDSACKUndo") - linuxBefore));
        o.engine.put("undone", String.valueOf(
                f.engine.counter(io.tasnetty.engine.stats.TasCounter.TCP_SPURIOUS_RETRANSMIT_UNDOS) - engineBefore));
        System.out.printf("  undone: engine=%s linux=%s%n", o.engine.get("undone"), o.linux.get("undone"));
        o.expectBoth("delayed_segment_resent", "True");
        o.expectBoth("undone", "1");
        o.assertNoOtherDifferences();
    }

    /** Both stacks answered each key with its value ({@code key, value, key, value, ...}), and agreed on all else. */
    private static void expectOnly(Obs o, String... keysAndValues) {
        for (int i = 0; i < keysAndValues.length; i += 2) {
            o.expectBoth(keysAndValues[i], keysAndValues[i + 1]);
        }
        o.assertNoOtherDifferences();
    }

    /** A TCP MIB counter of the Linux target's namespace (nstat: absolute, zeros included, no history). */
    private static long linuxCounter(String name) {
        String out = Sh.inNs(targetNs, "nstat", "-asz", name);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(name + "\\s+(\\d+)").matcher(out);
        assertThat(m.find()).as("nstat's " + name + ": " + out).isTrue();
        return Long.parseLong(m.group(1));
    }

    // ------------------------------------------------------------------ running and comparing

    /** Plays {@code scenario} against the engine, then against Linux, from source address 20 + index. */
    private static Obs run(String scenario, int index) {
        String engineTarget = String.join(",", "engine", f.link.net.linuxIf, PeerNet.SUBNET + "." + (20 + index),
                PeerNet.ENGINE_IP, PeerNet.macString(f.link.engineMac()), String.valueOf(PORT));
        String linuxTarget = String.join(",", "linux", scapyVeth, LINUX_NET + "." + (20 + index), LINUX_TARGET,
                PeerNet.macString(PeerNet.macOf(targetNs, targetVeth)), String.valueOf(PORT));
        String out;
        try (Sh.Background py = Sh.start(f.scratch.path("scenario-" + scenario + ".log"),
                Sh.nsCommand(f.link.net.ns, PYTHON, script.toString(), "run", scenario, engineTarget, linuxTarget))) {
            out = py.awaitSuccess(50, TimeUnit.SECONDS);
        }
        Obs o = new Obs(scenario, out);
        System.out.print(o.report(f.nonZeroCounters()));
        assertThat(out).as("the script finished").contains("DONE");
        assertThat(o.engine.get("error")).as("the scenario against the engine failed:\n" + out).isNull();
        assertThat(o.linux.get("error")).as("the scenario against Linux failed:\n" + out).isNull();
        return o;
    }

    /** The observations of both targets for one scenario. */
    static final class Obs {
        final String scenario;
        final String output;
        final Map<String, String> engine = new LinkedHashMap<>();
        final Map<String, String> linux = new LinkedHashMap<>();
        private final TreeSet<String> checked = new TreeSet<>();

        Obs(String scenario, String output) {
            this.scenario = scenario;
            this.output = output;
            for (String line : output.split("\n")) {
                String[] w = line.split(" ", 4);
                if (w.length == 4 && w[0].equals("OBS")) {
                    (w[1].equals("engine") ? engine : linux).put(w[2], w[3]);
                }
            }
        }

        /** Both answered {@code value}: Linux shows the scenario works as meant, the engine that it agrees. */
        void expectBoth(String key, String value) {
            checked.add(key);
            assertThat(linux.get(key)).as("Linux's " + key + " in " + scenario + " (the scenario itself)\n" + output)
                    .isEqualTo(value);
            assertThat(engine.get(key)).as("the engine's " + key + " in " + scenario + " (Linux: " + value + ")\n"
                    + output).isEqualTo(value);
        }

        /** Every observation not checked above is the same for both, or listed as an accepted difference. */
        void assertNoOtherDifferences(String... accepted) {
            List<String> diffs = new ArrayList<>();
            TreeSet<String> keys = new TreeSet<>(engine.keySet());
            keys.addAll(linux.keySet());
            for (String k : keys) {
                if (!checked.contains(k) && !List.of(accepted).contains(k)
                        && !String.valueOf(engine.get(k)).equals(String.valueOf(linux.get(k)))) {
                    diffs.add(k + ": engine=" + engine.get(k) + " linux=" + linux.get(k));
                }
            }
            assertThat(diffs).as("differences from Linux in " + scenario + "\n" + output).isEmpty();
        }

        String report(String counters) {
            StringBuilder sb = new StringBuilder("[tcp differential] " + scenario + "\n");
            TreeSet<String> keys = new TreeSet<>(engine.keySet());
            keys.addAll(linux.keySet());
            for (String k : keys) {
                sb.append(String.format("  %-36s engine=%-22s linux=%s%n", k, engine.get(k), linux.get(k)));
            }
            for (String line : output.split("\n")) {
                if (line.startsWith("LOG ")) {
                    sb.append("  ").append(line.substring(4)).append('\n');
                }
            }
            sb.append("  engine counters: ").append(counters).append('\n');
            return sb.toString();
        }
    }
}
