package io.tasnetty.engine.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class TasConfigTest {

    private static int ip(int a, int b, int c, int d) {
        return a << 24 | b << 16 | c << 8 | d;
    }

    private static Properties props(String... kv) {
        Properties p = new Properties();
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return p;
    }

    // ---- defaults ----

    @Test
    void defaultsAreTheDocumentedValues() {
        TasConfig c = TasConfig.defaults();
        assertThat(c.ipAddr()).isEqualTo(ip(10, 0, 0, 1));
        assertThat(c.ipPrefixLength()).isEqualTo(24);
        assertThat(c.ipNetmask()).isEqualTo(0xFFFFFF00);
        assertThat(c.ipRoutes()).isEmpty();
        assertThat(c.port()).isEqualTo("wire");
        assertThat(c.macAddr()).isEmpty();
        assertThat(c.macAddress()).isEqualTo(0x02000A000001L);
        assertThat(c.mtu()).isEqualTo(1500);
        assertThat(c.fpCoresMax()).isEqualTo(1);
        assertThat(c.fpNoInts()).isFalse();
        assertThat(c.fpNoXsumOffload()).isFalse();
        assertThat(c.fpNoAutoscale()).isFalse();
        assertThat(c.fpNoHugepages()).isFalse();
        assertThat(c.fpVlanStrip()).isFalse();
        assertThat(c.fpPollIntervalTasMicros()).isEqualTo(100);
        assertThat(c.fpPollIntervalAppMicros()).isEqualTo(100);
        assertThat(c.tcpRxbufLen()).isEqualTo(131_072);
        assertThat(c.tcpTxbufLen()).isEqualTo(131_072);
        assertThat(c.tcpMss()).isZero();
        assertThat(c.get("tcp-mss")).isEqualTo("0");
        assertThat(c.tcpRttInitMicros()).isEqualTo(50);
        assertThat(c.tcpLinkBwMbps()).isEqualTo(10_000);
        assertThat(c.tcpHandshakeTimeoutMicros()).isEqualTo(1_000_000);
        assertThat(c.tcpHandshakeRetries()).isEqualTo(6);
        assertThat(c.tcpRtoMinMicros()).isEqualTo(200_000);
        assertThat(c.tcpRtoMaxMicros()).isEqualTo(60_000_000);
        assertThat(c.tcpTimeWaitMicros()).isEqualTo(60_000_000);
        assertThat(c.tcpTimestamps()).isTrue();
        assertThat(c.tcpWindowScale()).isTrue();
        assertThat(c.tcpSack()).isTrue();
        assertThat(c.tcpEcn()).isTrue();
        assertThat(c.tcpKeepaliveIdleMicros()).isEqualTo(7_200_000_000L);
        assertThat(c.tcpKeepaliveIntervalMicros()).isEqualTo(75_000_000L);
        assertThat(c.tcpKeepaliveProbes()).isEqualTo(9);
        assertThat(c.tcpMaxFlows()).isEqualTo(65_536);
        assertThat(c.shmLen()).isEqualTo(16L << 30);
        assertThat(c.tcpListenBacklogMax()).isEqualTo(4096);
        assertThat(c.cc()).isEqualTo(TasCongestionControl.CUBIC);
        assertThat(c.ccControlIntervalRtts()).isEqualTo(2);
        assertThat(c.ccDctcpWeight()).isEqualTo(1.0 / 16);
        assertThat(c.ccDctcpInitMbps()).isEqualTo(10);
        assertThat(c.ccDctcpStepMbps()).isEqualTo(10);
        assertThat(c.ccDctcpMinMbps()).isEqualTo(1);
        assertThat(c.ccDctcpMinpkts()).isEqualTo(50);
        assertThat(c.ccConstRateMbps()).isZero();
        assertThat(c.ccTimelyTlowMicros()).isEqualTo(30);
        assertThat(c.ccTimelyThighMicros()).isEqualTo(150);
        assertThat(c.ccTimelyBeta()).isEqualTo(0.8);
        assertThat(c.ccTimelyAlpha()).isEqualTo(0.02);
        assertThat(c.ccTimelyStepMbps()).isEqualTo(10);
        assertThat(c.arpTimeoutMicros()).isEqualTo(100_000);
        assertThat(c.arpTimeoutMaxMicros()).isEqualTo(10_000_000);
        assertThat(c.arpRetries()).isEqualTo(5);
        assertThat(c.dpdkExtra()).isEmpty();
        assertThat(c.kniName()).isEmpty();
        assertThat(c.seed()).isZero();
        assertThat(c.quiet()).isFalse();
    }

    @Test
    void everyOptionPrintsItsDefaultAndReadsItBack() {
        TasConfig d = TasConfig.defaults();
        for (TasOption o : TasConfig.options()) {
            assertThat(d.get(o.name())).as(o.name()).isEqualTo(o.defaultValue());
            if (!o.repeatable()) {
                assertThat(TasConfig.builder().set(o.name(), o.defaultValue()).build()).as(o.name()).isEqualTo(d);
            }
        }
        assertThat(TasConfig.builder().build()).isEqualTo(d);
        assertThat(d.nonDefaults()).isEmpty();
        assertThat(d).hasToString("TasConfig{}");
    }

    @Test
    void optionsHaveUniqueNamesDescriptionsAndAcceptedValues() {
        Set<String> names = new HashSet<>();
        for (TasOption o : TasConfig.options()) {
            assertThat(names.add(o.name())).as(o.name()).isTrue();
            assertThat(o.name()).matches("[a-z][a-z0-9-]*");
            assertThat(o.description()).as(o.name()).isNotBlank();
            assertThat(o.accepts()).as(o.name()).isNotBlank();
            assertThat(o.group()).as(o.name()).isNotBlank();
            assertThat(TasConfig.option(o.name())).isSameAs(o);
        }
        assertThat(names).contains("ip-addr", "ip-route", "fp-cores-max", "fp-no-ints", "fp-no-xsumoffload",
                "fp-no-autoscale", "fp-poll-interval-tas", "tcp-rxbuf-len", "tcp-txbuf-len", "cc",
                "cc-dctcp-weight", "dpdk-extra", "kni-name");
    }

    @Test
    void asMapListsEveryOptionInTableOrder() {
        Map<String, String> m = TasConfig.defaults().asMap();
        assertThat(new ArrayList<>(m.keySet()))
                .isEqualTo(TasConfig.options().stream().map(TasOption::name).toList());
        assertThat(m).containsEntry("tcp-rxbuf-len", "131072").containsEntry("cc", "cubic")
                .containsEntry("tcp-link-bw", "10").containsEntry("ip-route", "");
        assertThatThrownBy(() -> m.put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void helpListsEveryOptionWithDefaultAndDescription() {
        String help = TasConfig.help();
        for (TasOption o : TasConfig.options()) {
            assertThat(help).as(o.name()).contains("  --" + o.name());
            assertThat(help).as(o.name()).contains(o.description().split(" ")[0]);
        }
        assertThat(help).contains("--tcp-rxbuf-len=SIZE   (default 131072)");
        assertThat(help).contains("--fp-no-ints   (default false)");
        assertThat(help).contains("--ip-route=D.D.D.D/P,N.N.N.N   (default none; repeatable)");
        assertThat(help).contains("-Dtas.name=value");
        for (String line : help.split("\n")) {
            assertThat(line.length()).as(line).isLessThanOrEqualTo(100);
        }
    }

    // ---- sources ----

    @Test
    void builderSetAndTypedSetters() {
        TasConfig c = TasConfig.builder()
                .ipAddr("192.168.7.2/16")
                .ipRoute("0.0.0.0/0,192.168.0.1")
                .ipRoute(new TasRoute(ip(10, 0, 0, 0), 8, ip(192, 168, 0, 2)))
                .port("tap:tas0")
                .mtu(9000)
                .fpCoresMax(4)
                .fpNoInts(true)
                .tcpRxbufLen(1 << 20)
                .tcpTxbufLen(65536)
                .tcpMss(8000)
                .cc(TasCongestionControl.CONST_RATE)
                .constRateMbps(500)
                .tcpLinkBwMbps(2500)
                .ccDctcpWeight(0.125)
                .set("cc-timely-beta", "4/5")
                .dpdkExtra("--no-pci")
                .seed(-42)
                .quiet(true)
                .build();
        assertThat(c.ipAddr()).isEqualTo(ip(192, 168, 7, 2));
        assertThat(c.ipPrefixLength()).isEqualTo(16);
        assertThat(c.ipRoutes()).containsExactly(new TasRoute(0, 0, ip(192, 168, 0, 1)),
                new TasRoute(ip(10, 0, 0, 0), 8, ip(192, 168, 0, 2)));
        assertThat(c.get("ip-route")).isEqualTo("0.0.0.0/0,192.168.0.1 10.0.0.0/8,192.168.0.2");
        assertThat(c.port()).isEqualTo("tap:tas0");
        assertThat(c.mtu()).isEqualTo(9000);
        assertThat(c.fpCoresMax()).isEqualTo(4);
        assertThat(c.fpNoInts()).isTrue();
        assertThat(c.tcpRxbufLen()).isEqualTo(1 << 20);
        assertThat(c.tcpTxbufLen()).isEqualTo(65536);
        assertThat(c.tcpMss()).isEqualTo(8000);
        assertThat(c.cc()).isEqualTo(TasCongestionControl.CONST_RATE);
        assertThat(c.ccConstRateMbps()).isEqualTo(500);
        assertThat(c.tcpLinkBwMbps()).isEqualTo(2500);
        assertThat(c.get("tcp-link-bw")).isEqualTo("2.5");
        assertThat(c.ccDctcpWeight()).isEqualTo(0.125);
        assertThat(c.ccTimelyBeta()).isEqualTo(0.8);
        assertThat(c.dpdkExtra()).containsExactly("--no-pci");
        assertThat(c.seed()).isEqualTo(-42);
        assertThat(c.quiet()).isTrue();
        assertThat(c.macAddress()).isEqualTo(0x0200C0A80702L);
        assertThatThrownBy(() -> c.ipRoutes().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> c.dpdkExtra().add("x")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void everyTypedSetterReachesItsGetter() {
        TasConfig c = TasConfig.builder()
                .macAddr("02-AB-cd-00-00-01").fpNoXsumOffload(true).fpNoAutoscale(true).fpNoHugepages(true)
                .fpVlanStrip(true).fpPollIntervalTasMicros(5).fpPollIntervalAppMicros(6).tcpRttInitMicros(7)
                .tcpHandshakeTimeoutMicros(8000).tcpHandshakeRetries(9).tcpRtoMinMicros(10).tcpRtoMaxMicros(11)
                .tcpTimeWaitMicros(0).tcpTimestamps(false).tcpWindowScale(false).tcpSack(false).tcpEcn(false)
                .tcpKeepaliveIdleMicros(2_000_000).tcpKeepaliveIntervalMicros(3_000_000).tcpKeepaliveProbes(4)
                .tcpMaxFlows(4_194_304).tcpListenBacklogMax(1).ccControlIntervalRtts(3)
                .ccDctcpInitMbps(100).ccDctcpStepMbps(20).ccDctcpMinMbps(2).ccDctcpMinpkts(0)
                .ccConstRateMbps(7).ccTimelyTlowMicros(10).ccTimelyThighMicros(20).ccTimelyBeta(0.5)
                .ccTimelyAlpha(0.25).ccTimelyStepMbps(30).arpTimeoutMicros(500).arpTimeoutMaxMicros(600)
                .arpRetries(0).kniName("tas0").build();
        assertThat(c.macAddr()).isEqualTo("02:ab:cd:00:00:01");
        assertThat(c.macAddress()).isEqualTo(0x02ABCD000001L);
        assertThat(List.of(c.fpNoXsumOffload(), c.fpNoAutoscale(), c.fpNoHugepages(), c.fpVlanStrip()))
                .containsOnly(true);
        assertThat(List.of(c.tcpTimestamps(), c.tcpWindowScale(), c.tcpSack(), c.tcpEcn())).containsOnly(false);
        assertThat(List.of(c.fpPollIntervalTasMicros(), c.fpPollIntervalAppMicros(), c.tcpRttInitMicros(),
                c.tcpHandshakeTimeoutMicros(), c.tcpRtoMinMicros(), c.tcpRtoMaxMicros(), c.tcpTimeWaitMicros(),
                c.tcpKeepaliveIdleMicros(), c.tcpKeepaliveIntervalMicros()))
                .containsExactly(5L, 6L, 7L, 8000L, 10L, 11L, 0L, 2_000_000L, 3_000_000L);
        assertThat(List.of(c.tcpHandshakeRetries(), c.tcpKeepaliveProbes(), c.tcpMaxFlows(),
                c.tcpListenBacklogMax(), c.ccDctcpMinpkts(), c.arpRetries()))
                .containsExactly(9, 4, 4_194_304, 1, 0, 0);
        assertThat(List.of(c.ccControlIntervalRtts(), c.ccDctcpInitMbps(), c.ccDctcpStepMbps(),
                c.ccDctcpMinMbps(), c.ccConstRateMbps(), c.ccTimelyTlowMicros(), c.ccTimelyThighMicros(),
                c.ccTimelyStepMbps(), c.arpTimeoutMicros(), c.arpTimeoutMaxMicros()))
                .containsExactly(3L, 100L, 20L, 2L, 7L, 10L, 20L, 30L, 500L, 600L);
        assertThat(c.ccTimelyBeta()).isEqualTo(0.5);
        assertThat(c.ccTimelyAlpha()).isEqualTo(0.25);
        assertThat(c.kniName()).isEqualTo("tas0");
    }

    @Test
    void argsTakeNameEqualsValueNameSpaceValueAndBareFlags() {
        TasConfig c = TasConfig.builder().args(
                "--ip-addr=10.1.2.3/8", "--fp-cores-max", "2", "--fp-no-ints", "--fp-no-autoscale=false",
                "--tcp-sack=off", "--dpdk-extra=--no-pci", "--dpdk-extra", "--vdev=net_tap0,iface=t0",
                "--ip-route=172.16.0.0/12,10.0.0.254", "--ip-route=0.0.0.0/0,10.0.0.1",
                "--cc=TIMELY", "--tcp-rxbuf-len=1m", "--tcp-time-wait=2s", "--kni-name=").build();
        assertThat(c.ipAddr()).isEqualTo(ip(10, 1, 2, 3));
        assertThat(c.fpCoresMax()).isEqualTo(2);
        assertThat(c.fpNoInts()).isTrue();
        assertThat(c.fpNoAutoscale()).isFalse();
        assertThat(c.tcpSack()).isFalse();
        assertThat(c.dpdkExtra()).containsExactly("--no-pci", "--vdev=net_tap0,iface=t0");
        assertThat(c.ipRoutes()).extracting(TasRoute::toString)
                .containsExactly("172.16.0.0/12,10.0.0.254", "0.0.0.0/0,10.0.0.1");
        assertThat(c.cc()).isEqualTo(TasCongestionControl.TIMELY);
        assertThat(c.tcpRxbufLen()).isEqualTo(1 << 20);
        assertThat(c.tcpTimeWaitMicros()).isEqualTo(2_000_000);
        assertThat(c.kniName()).isEmpty();
    }

    @Test
    void argsRefuseWhatIsNotAnOption() {
        assertThatThrownBy(() -> TasConfig.builder().args("10.0.0.1/24"))
                .isInstanceOf(TasConfigException.class)
                .hasMessage("unexpected argument \"10.0.0.1/24\"; options look like --name=value (see --help)");
        assertThatThrownBy(() -> TasConfig.builder().args("-mtu=1500")).isInstanceOf(TasConfigException.class)
                .hasMessageContaining("unexpected argument \"-mtu=1500\"");
        assertThatThrownBy(() -> TasConfig.builder().args("--")).isInstanceOf(TasConfigException.class);
        assertThatThrownBy(() -> TasConfig.builder().args("--mtu")).isInstanceOf(TasConfigException.class)
                .hasMessage("option mtu: needs a value; expected bytes from 576 to 9000");
        assertThatThrownBy(() -> TasConfig.builder().args("--tcp-rxbuflen=4096"))
                .isInstanceOf(TasConfigException.class)
                .hasMessage("unknown option \"tcp-rxbuflen\"; did you mean tcp-rxbuf-len? (see --help)")
                .extracting(e -> ((TasConfigException) e).option()).isEqualTo("tcp-rxbuflen");
        assertThatThrownBy(() -> TasConfig.builder().args("--help")).isInstanceOf(TasConfigException.class)
                .hasMessageContaining("TasConfig.isHelp");
        assertThat(TasConfig.isHelp("--mtu=1500", "--help")).isTrue();
        assertThat(TasConfig.isHelp("-h")).isTrue();
        assertThat(TasConfig.isHelp("--mtu=1500")).isFalse();
    }

    @Test
    void knownArgsTakesOursAndReturnsTheRest() {
        TasConfig.Builder b = TasConfig.builder();
        List<String> rest = b.knownArgs("--mode=nio", "--mtu=9000", "payload", "--fp-no-ints", "--size", "64",
                "--port", "tap:x");
        assertThat(rest).containsExactly("--mode=nio", "payload", "--size", "64");
        TasConfig c = b.build();
        assertThat(c.mtu()).isEqualTo(9000);
        assertThat(c.fpNoInts()).isTrue();
        assertThat(c.port()).isEqualTo("tap:x");
    }

    @Test
    void systemPropertiesAreReadWithTheirPrefix() {
        TasConfig c = TasConfig.builder().systemProperties(props(
                "tas.mtu", " 4000 ",
                "tas.fp-no-ints", "",
                "tas.dpdk-extra", "--no-pci  --vdev=net_tap0 ",
                "tas.ip-route", "10.9.0.0/16,10.0.0.2 10.8.0.0/16,10.0.0.3",
                "tas.shim.path", "/not/an/option",
                "java.version", "25",
                "tasx.mtu", "1")).build();
        assertThat(c.mtu()).isEqualTo(4000);
        assertThat(c.fpNoInts()).isTrue();
        assertThat(c.dpdkExtra()).containsExactly("--no-pci", "--vdev=net_tap0");
        assertThat(c.ipRoutes()).hasSize(2);
        assertThat(c.nonDefaults().keySet()).containsExactly("ip-route", "mtu", "fp-no-ints", "dpdk-extra");
    }

    @Test
    void systemPropertyErrorsSayWhereTheValueCameFrom() {
        assertThatThrownBy(() -> TasConfig.builder().systemProperties(props("tas.mtu", "big")))
                .isInstanceOf(TasConfigException.class)
                .hasMessage("option mtu (from -Dtas.mtu): \"big\" is not a whole number; expected bytes from 576 to 9000");
        assertThatThrownBy(() -> TasConfig.builder().systemProperties(props("tas.fp-cores", "2")))
                .isInstanceOf(TasConfigException.class)
                .hasMessage("unknown option \"-Dtas.fp-cores\"; did you mean fp-cores-max? (see --help)");
    }

    @Test
    void fromSystemPropertiesAndFromArgsReadTheJvmProperties() {
        String key1 = "tas.tcp-txbuf-len";
        String key2 = "tas.fp-cores-max";
        try {
            System.setProperty(key1, "64k");
            System.setProperty(key2, "3");
            TasConfig s = TasConfig.fromSystemProperties();
            assertThat(s.tcpTxbufLen()).isEqualTo(65536);
            assertThat(s.fpCoresMax()).isEqualTo(3);
            TasConfig a = TasConfig.fromArgs("--fp-cores-max=2");
            assertThat(a.tcpTxbufLen()).isEqualTo(65536);
            assertThat(a.fpCoresMax()).isEqualTo(2);
        } finally {
            System.clearProperty(key1);
            System.clearProperty(key2);
        }
        assertThat(TasConfig.fromSystemProperties()).isEqualTo(TasConfig.defaults());
    }

    // ---- precedence ----

    @Test
    void codeAndArgsWinOverSystemPropertiesWhateverTheOrder() {
        Properties p = props("tas.mtu", "2000", "tas.fp-cores-max", "5", "tas.dpdk-extra", "--a --b");
        TasConfig before = TasConfig.builder().mtu(3000).dpdkExtra("--c").systemProperties(p).build();
        TasConfig after = TasConfig.builder().systemProperties(p).args("--mtu=3000", "--dpdk-extra=--c").build();
        for (TasConfig c : List.of(before, after)) {
            assertThat(c.mtu()).isEqualTo(3000);
            assertThat(c.fpCoresMax()).isEqualTo(5);
            assertThat(c.dpdkExtra()).containsExactly("--c");
        }
        TasConfig onlySys = TasConfig.builder().systemProperties(p).build();
        assertThat(onlySys.mtu()).isEqualTo(2000);
        assertThat(onlySys.dpdkExtra()).containsExactly("--a", "--b");
    }

    @Test
    void laterValuesWinWithinOneSourceAndUnsetRestoresTheDefault() {
        TasConfig.Builder b = TasConfig.builder().args("--mtu=2000").mtu(3000).set("mtu", "4000");
        assertThat(b.build().mtu()).isEqualTo(4000);
        b.systemProperties(props("tas.mtu", "5000"));
        assertThat(b.build().mtu()).isEqualTo(4000);
        b.unset("mtu");
        assertThat(b.build().mtu()).isEqualTo(1500);
    }

    @Test
    void listSettersReplaceAndToBuilderAppends() {
        TasConfig c = TasConfig.builder().systemProperties(props("tas.ip-route", "10.5.0.0/16,10.0.0.9"))
                .ipRoutes(List.of()).build();
        assertThat(c.ipRoutes()).isEmpty();
        TasConfig one = TasConfig.builder().ipRoute("10.5.0.0/16,10.0.0.9").build();
        TasConfig two = one.toBuilder().ipRoute("10.6.0.0/16,10.0.0.9").build();
        assertThat(two.ipRoutes()).hasSize(2);
        assertThat(one.ipRoutes()).hasSize(1);
        TasConfig replaced = two.toBuilder().dpdkExtra(List.of("--x", "--y")).dpdkExtra(List.of("--z")).build();
        assertThat(replaced.dpdkExtra()).containsExactly("--z");
        assertThatThrownBy(() -> TasConfig.builder().dpdkExtra(List.of("has space")))
                .isInstanceOf(TasConfigException.class).hasMessageStartingWith("option dpdk-extra:");
    }

    @Test
    void toBuilderAndToArgsReproduceTheConfiguration() {
        TasConfig c = TasConfig.builder().args("--ip-addr=10.2.0.5/16", "--ip-route=0.0.0.0/0,10.2.0.1",
                "--mac-addr=02:00:00:00:00:99", "--tcp-link-bw=0.5", "--cc-dctcp-weight=1/8", "--seed=7",
                "--dpdk-extra=--no-pci", "--dpdk-extra=--no-huge", "--tcp-ecn=no", "--cc-timely-alpha=1e-3")
                .build();
        assertThat(c.toBuilder().build()).isEqualTo(c).hasSameHashCodeAs(c);
        assertThat(TasConfig.builder().args(c.toArgs().toArray(String[]::new)).build()).isEqualTo(c);
        assertThat(c.get("cc-dctcp-weight")).isEqualTo("0.125");
        assertThat(c.get("cc-timely-alpha")).isEqualTo("0.001");
        assertThat(c.get("tcp-link-bw")).isEqualTo("0.5");
        assertThat(c.tcpLinkBwMbps()).isEqualTo(500);
        assertThat(c.toString()).startsWith("TasConfig{ip-addr=10.2.0.5/16, ip-route=0.0.0.0/0,10.2.0.1,");
        assertThat(c).isNotEqualTo(TasConfig.defaults());
    }

    // ---- accepted and refused values ----

    static Stream<Arguments> goodValues() {
        return Stream.of(
                Arguments.of("ip-addr", "192.168.1.1/32", "192.168.1.1/32"),
                Arguments.of("ip-addr", "10.0.0.200/0", "10.0.0.200/0"),
                Arguments.of("port", "WIRE", "wire"),
                Arguments.of("port", "dpdk", "dpdk"),
                Arguments.of("port", "tap:TasTap_0", "tap:TasTap_0"),
                Arguments.of("mac-addr", "", ""),
                Arguments.of("mac-addr", "0A:1B:2C:3D:4E:5F", "0a:1b:2c:3d:4e:5f"),
                Arguments.of("mtu", "576", "576"),
                Arguments.of("mtu", "+9000", "9000"),
                Arguments.of("fp-no-ints", "YES", "true"),
                Arguments.of("fp-no-ints", "on", "true"),
                Arguments.of("fp-no-ints", "1", "true"),
                Arguments.of("fp-no-ints", "", "true"),
                Arguments.of("fp-no-ints", "0", "false"),
                Arguments.of("fp-no-ints", "Off", "false"),
                Arguments.of("fp-no-ints", "no", "false"),
                Arguments.of("fp-poll-interval-tas", "0", "0"),
                Arguments.of("fp-poll-interval-tas", "10ms", "10000"),
                Arguments.of("fp-poll-interval-tas", "10 us", "10"),
                Arguments.of("fp-poll-interval-tas", "10µs", "10"),
                Arguments.of("fp-poll-interval-tas", "10s", "10000000"),
                Arguments.of("tcp-rxbuf-len", "2048", "2048"),
                Arguments.of("tcp-rxbuf-len", "128k", "131072"),
                Arguments.of("tcp-rxbuf-len", "128KiB", "131072"),
                Arguments.of("tcp-rxbuf-len", "3000", "3000"),
                Arguments.of("tcp-txbuf-len", "1g", "1073741824"),
                Arguments.of("tcp-txbuf-len", "1 MB", "1048576"),
                Arguments.of("shm-len", "64g", "68719476736"),
                Arguments.of("shm-len", "1m", "1048576"),
                Arguments.of("tcp-mss", "536", "536"),
                Arguments.of("tcp-link-bw", "100", "100"),
                Arguments.of("tcp-link-bw", "0.001", "0.001"),
                Arguments.of("tcp-link-bw", "100m", "0.1"),
                Arguments.of("tcp-link-bw", "25Gbps", "25"),
                Arguments.of("cc", "dctcp-win", "dctcp-win"),
                Arguments.of("cc", "CONST_RATE", "const-rate"),
                Arguments.of("cc-dctcp-weight", "1", "1"),
                Arguments.of("cc-dctcp-weight", "1/16", "0.0625"),
                Arguments.of("cc-dctcp-weight", ".5", "0.5"),
                Arguments.of("cc-dctcp-init", "2.5g", "2500"),
                Arguments.of("cc-dctcp-init", "40mbps", "40"),
                Arguments.of("cc-const-rate", "0", "0"),
                Arguments.of("seed", "-9223372036854775808", "-9223372036854775808"),
                Arguments.of("kni-name", "tas0", "tas0"),
                Arguments.of("dpdk-extra", "--vdev=net_af_packet0,iface=veth-t", "--vdev=net_af_packet0,iface=veth-t"));
    }

    @ParameterizedTest(name = "{0}={1}")
    @MethodSource("goodValues")
    void acceptsAndNormalises(String name, String input, String printed) {
        TasConfig c = TasConfig.builder().set(name, input).build();
        assertThat(c.get(name)).isEqualTo(printed);
        if (!TasConfig.option(name).repeatable()) {
            assertThat(TasConfig.builder().set(name, printed).build()).isEqualTo(c);
        }
    }

    /** At least one refused value per option; {@link #everyOptionHasARefusedValue} keeps it complete. */
    private static final Map<String, List<String>> BAD = new LinkedHashMap<>();

    static {
        BAD.put("ip-addr", List.of("10.0.0.1", "10.0.0.256/24", "10.0.0.1/33", "10.0.0.1/", "10.0.1/24",
                "0.0.0.0/8", "224.0.0.1/4", "255.255.255.255/32", "127.0.0.1/8", "a.b.c.d/8", "10.0.0.1/-1",
                "10.0.0.1 /24"));
        BAD.put("ip-route", List.of("", "10.0.0.0/8", "10.1.0.1/16,10.0.0.2", "0.0.0.0/0,0.0.0.0",
                "0.0.0.0/0,224.0.0.1", "10.1.0.0/16;10.0.0.2", "10.1.0.0/40,10.0.0.2", "10.0.0.2,0.0.0.0/0"));
        BAD.put("port", List.of("", "eth0", "tap", "tap:", "tap:name-longer-than-15", "tap:a/b", "tap:a b",
                "dpdk:0"));
        BAD.put("mac-addr", List.of("zz:00:00:00:00:01", "02:00:00:00:01", "01:00:5e:00:00:01",
                "00:00:00:00:00:00", "0200.0000.0001"));
        BAD.put("mtu", List.of("", "abc", "575", "9001", "1500.0", "99999999999999999999"));
        BAD.put("fp-cores-max", List.of("0", "17", "1.5", "-1"));
        for (String flag : List.of("fp-no-ints", "fp-no-xsumoffload", "fp-no-autoscale", "fp-no-hugepages",
                "fp-vlan-strip", "fp-no-inline", "tcp-timestamps", "tcp-window-scale", "tcp-sack", "tcp-ecn", "no-kernel-path", "quiet")) {
            BAD.put(flag, List.of("maybe", "2", "enable"));
        }
        BAD.put("fp-poll-interval-tas", List.of("-1", "11s", "10 minutes", "1.5ms", "10000001"));
        BAD.put("fp-poll-interval-app", List.of("-1", "11s", "soon"));
        BAD.put("tcp-rxbuf-len", List.of("abc", "1k", "2047", "2g", "1t", "-4096", "1.5m"));
        BAD.put("tcp-txbuf-len", List.of("abc", "1k", "1073741825"));
        BAD.put("tcp-rxbuf-max", List.of("abc", "1k", "2g"));
        BAD.put("tcp-txbuf-max", List.of("abc", "1k", "2g"));
        BAD.put("tcp-loopback-buf-len", List.of("abc", "1k", "0", "1073741825"));
        BAD.put("tcp-mss", List.of("1", "535", "8961", "mss"));
        BAD.put("tcp-rtt-init", List.of("0", "11s", "x"));
        BAD.put("tcp-link-bw", List.of("0", "fast", "2000", "0.0001", "1.00005", "-1"));
        BAD.put("tcp-handshake-timeout", List.of("99", "61s", "1 s s"));
        BAD.put("tcp-handshake-retries", List.of("-1", "33", "many"));
        BAD.put("tcp-rto-min", List.of("0", "61s"));
        BAD.put("tcp-rto-max", List.of("0", "3601s"));
        BAD.put("tcp-time-wait", List.of("-1", "3601s", "forever"));
        BAD.put("tcp-keepalive-idle", List.of("999999", "86401s"));
        BAD.put("tcp-keepalive-interval", List.of("0", "86401s"));
        BAD.put("tcp-keepalive-probes", List.of("0", "128"));
        BAD.put("tcp-max-flows", List.of("0", "4194305", "1m"));
        BAD.put("tcp-backlog-max", List.of("0", "1048577"));
        BAD.put("shm-len", List.of("0", "1023k", "1025g", "lots", "-1g"));
        BAD.put("cc", List.of("", "cubic2", "dctcp", "reno"));
        BAD.put("cc-control-interval", List.of("0", "1001", "2.5"));
        BAD.put("cc-dctcp-weight", List.of("0", "1.5", "-0.1", "1/0", "NaN", "Infinity", "1/16/2", "heavy"));
        BAD.put("cc-dctcp-init", List.of("0", "1000001", "1.5", "10kbps"));
        BAD.put("cc-dctcp-step", List.of("0", "x"));
        BAD.put("cc-dctcp-min", List.of("0", "-1"));
        BAD.put("cc-dctcp-minpkts", List.of("-1", "1000001"));
        BAD.put("cc-const-rate", List.of("-1", "1001g", "unlimited"));
        BAD.put("cc-timely-tlow", List.of("0", "x"));
        BAD.put("cc-timely-thigh", List.of("0", "11s"));
        BAD.put("cc-timely-beta", List.of("0", "1.01"));
        BAD.put("cc-timely-alpha", List.of("0", "2/1"));
        BAD.put("cc-timely-step", List.of("0", "1001g"));
        BAD.put("arp-timeout", List.of("0", "61s"));
        BAD.put("arp-timeout-max", List.of("0", "3601s"));
        BAD.put("arp-retries", List.of("-1", "101"));
        BAD.put("dpdk-extra", List.of("", "--a --b", "--vdev=x\ty"));
        BAD.put("kni-name", List.of("a/b", "with space", "sixteen-chars-xx", "a:b"));
        BAD.put("service", List.of("/run/tas dir", "a\tb"));
        BAD.put("service-app-len", List.of("1m", "abc", "2t"));
        BAD.put("service-app-max-conns", List.of("0", "-1", "4194305", "many"));
        BAD.put("seed", List.of("random", "1.5", "9223372036854775808"));
    }

    static Stream<Arguments> badValues() {
        return BAD.entrySet().stream().flatMap(e -> e.getValue().stream().map(v -> Arguments.of(e.getKey(), v)));
    }

    @Test
    void everyOptionHasARefusedValue() {
        assertThat(BAD.keySet()).containsExactlyInAnyOrderElementsOf(
                TasConfig.options().stream().map(TasOption::name).toList());
    }

    @ParameterizedTest(name = "{0}=\"{1}\"")
    @MethodSource("badValues")
    void refusesWithAMessageNamingTheOptionAndWhatItAccepts(String name, String value) {
        TasOption o = TasConfig.option(name);
        List<Runnable> sources = new ArrayList<>();
        sources.add(() -> TasConfig.builder().set(name, value));
        sources.add(() -> TasConfig.builder().args("--" + name + "=" + value));
        // In a property, a repeatable option's value is a whitespace-separated list (possibly empty).
        if (!(o.repeatable() && (value.isBlank() || value.trim().split("\\s+").length > 1))) {
            sources.add(() -> TasConfig.builder().systemProperties(props("tas." + name, value)));
        }
        for (Runnable source : sources) {
            assertThatThrownBy(source::run)
                    .isInstanceOf(TasConfigException.class)
                    .hasMessageStartingWith("option " + name)
                    .hasMessageEndingWith("expected " + o.accepts())
                    .extracting(e -> ((TasConfigException) e).option()).isEqualTo(name);
        }
    }

    @Test
    void refusalMessagesReadWell() {
        assertThatThrownBy(() -> TasConfig.builder().set("tcp-rxbuf-len", "abc"))
                .hasMessage("option tcp-rxbuf-len: \"abc\" is not a size; expected bytes from 2048 to 1073741824,"
                        + " e.g. 131072, 128k or 1m");
        assertThatThrownBy(() -> TasConfig.builder().set("tcp-rxbuf-len", "1k"))
                .hasMessageStartingWith("option tcp-rxbuf-len: \"1k\" (1024 bytes) is out of range;");
        assertThatThrownBy(() -> TasConfig.builder().set("fp-poll-interval-tas", "11s"))
                .hasMessageStartingWith("option fp-poll-interval-tas: \"11s\" (11000000 µs) is out of range;");
        assertThatThrownBy(() -> TasConfig.builder().set("port", "tap:"))
                .hasMessageStartingWith("option port: \"tap:\" has no interface name after tap:;");
        assertThatThrownBy(() -> TasConfig.builder().set("ip-addr", "10.0.0.1"))
                .hasMessageStartingWith("option ip-addr: \"10.0.0.1\" has no prefix length;");
        assertThatThrownBy(() -> TasConfig.builder().set("ip-route", "10.1.0.1/16,10.0.0.2"))
                .hasMessageContaining("did you mean 10.1.0.0/16,10.0.0.2?");
        assertThatThrownBy(() -> TasConfig.builder().set("cc", "reno"))
                .hasMessage("option cc: \"reno\" is not a congestion-control algorithm;"
                        + " expected cubic, dctcp-rate, dctcp-win, timely or const-rate");
        assertThatThrownBy(() -> TasConfig.builder().set("fp-no-ints", "maybe"))
                .hasMessageStartingWith("option fp-no-ints: \"maybe\" is not a boolean; expected true or false");
        assertThatThrownBy(() -> TasConfig.builder().set("dpdk-extra", "a\"b\u0001c"))
                .hasMessageStartingWith("option dpdk-extra: \"a\\\"b\\u0001c\" contains whitespace");
        assertThatThrownBy(() -> TasConfig.builder().set("mtu", null))
                .hasMessage("option mtu: needs a value; expected bytes from 576 to 9000");
    }

    @Test
    void unknownNamesAreRefusedWithASuggestion() {
        assertThatThrownBy(() -> TasConfig.builder().set("tcp-rxbuflen", "1"))
                .isInstanceOf(TasConfigException.class)
                .hasMessage("unknown option \"tcp-rxbuflen\"; did you mean tcp-rxbuf-len? (see --help)");
        assertThatThrownBy(() -> TasConfig.builder().set("fp_cores_max", "1"))
                .hasMessageContaining("did you mean fp-cores-max?");
        assertThatThrownBy(() -> TasConfig.builder().set("--mtu", "1500"))
                .hasMessageContaining("did you mean mtu?");
        assertThatThrownBy(() -> TasConfig.builder().set("fp-no-xsum-offload", "true"))
                .hasMessageContaining("did you mean fp-no-xsumoffload?");
        assertThatThrownBy(() -> TasConfig.builder().set("completely-unrelated", "1"))
                .hasMessage("unknown option \"completely-unrelated\" (see --help)");
        assertThatThrownBy(() -> TasConfig.builder().set("ready-fd", "3"))
                .hasMessageContaining("of TAS has no meaning here");
        // TAS's slow-path retransmission interval: refused, naming the option and what to use instead.
        assertThatThrownBy(() -> TasConfig.builder().set("cc-rexmit-ints", "4"))
                .isInstanceOf(TasConfigException.class)
                .hasMessageContaining("cc-rexmit-ints").hasMessageContaining("tcp-rto-min");
        assertThatThrownBy(() -> TasConfig.fromArgs("--cc-rexmit-ints=4"))
                .isInstanceOf(TasConfigException.class).hasMessageContaining("cc-rexmit-ints");
        assertThatThrownBy(() -> TasConfig.defaults().get("nope")).isInstanceOf(TasConfigException.class);
        assertThatThrownBy(() -> TasConfig.option("nope")).isInstanceOf(TasConfigException.class);
        assertThatThrownBy(() -> TasConfig.builder().unset("nope")).isInstanceOf(TasConfigException.class);
    }

    // ---- cross checks in build() ----

    @Test
    void routesNeedANextHopInsideTheSubnet() {
        assertThatThrownBy(() -> TasConfig.builder().ipRoute("0.0.0.0/0,192.168.1.1").build())
                .isInstanceOf(TasConfigException.class)
                .hasMessage("option ip-route: next hop 192.168.1.1 of route 0.0.0.0/0,192.168.1.1 is not inside"
                        + " ip-addr's subnet 10.0.0.0/24");
        assertThatThrownBy(() -> TasConfig.builder().ipRoute("0.0.0.0/0,10.0.0.1").build())
                .hasMessageContaining("the engine's own address");
        assertThatThrownBy(() -> TasConfig.builder().ipAddr("10.0.0.1/32").ipRoute("0.0.0.0/0,10.0.0.2").build())
                .hasMessageStartingWith("option ip-route:");
        // The check uses the final ip-addr, whatever the order of the calls.
        TasConfig ok = TasConfig.builder().ipRoute("0.0.0.0/0,192.168.1.1").ipAddr("192.168.1.7/24").build();
        assertThat(ok.ipRoutes()).hasSize(1);
        assertThat(ok.inSubnet(ip(192, 168, 1, 1))).isTrue();
        assertThat(ok.inSubnet(ip(192, 168, 2, 1))).isFalse();
    }

    @Test
    void mssMustFitTheMtu() {
        assertThatThrownBy(() -> TasConfig.builder().tcpMss(1461).build())
                .isInstanceOf(TasConfigException.class)
                .hasMessageStartingWith("option tcp-mss: 1461 is more than mtu - 40 = 1460");
        assertThat(TasConfig.builder().tcpMss(1460).build().tcpMss()).isEqualTo(1460);
        assertThat(TasConfig.builder().tcpMss(8960).mtu(9000).build().tcpMss()).isEqualTo(8960);
        assertThat(TasConfig.builder().tcpMss(536).mtu(576).build().tcpMss()).isEqualTo(536);
        assertThatThrownBy(() -> TasConfig.builder().tcpMss(8960).mtu(9000).mtu(1500).build())
                .hasMessageContaining("raise mtu, or give 0");
        assertThat(TasConfig.builder().mtu(576).build().tcpMss()).isZero();
    }

    @Test
    void boundsMustBeOrdered() {
        assertThatThrownBy(() -> TasConfig.builder().tcpRtoMinMicros(2_000_000).tcpRtoMaxMicros(1_000_000).build())
                .hasMessageStartingWith("option tcp-rto-min: 2000000 is more than tcp-rto-max 1000000");
        assertThatThrownBy(() -> TasConfig.builder().arpTimeoutMicros(20_000_000).build())
                .hasMessageStartingWith("option arp-timeout: 20000000 is more than arp-timeout-max");
        assertThatThrownBy(() -> TasConfig.builder().ccTimelyTlowMicros(150).build())
                .hasMessageStartingWith("option cc-timely-tlow: 150 is not below cc-timely-thigh 150");
        assertThatThrownBy(() -> TasConfig.builder().ccDctcpMinMbps(11).build())
                .hasMessageStartingWith("option cc-dctcp-min: 11 is more than cc-dctcp-init 10");
        assertThat(TasConfig.builder().tcpRtoMinMicros(1_000_000).tcpRtoMaxMicros(1_000_000).build().tcpRtoMinMicros())
                .isEqualTo(1_000_000);
    }

    @Test
    void aServicesApplicationRegionMustHoldOneConnectionsRings() {
        assertThatThrownBy(() -> TasConfig.builder().args("--service=/run/tas", "--service-app-len=64m",
                "--tcp-rxbuf-len=64m", "--tcp-txbuf-len=1m").build())
                .isInstanceOf(TasConfigException.class)
                .hasMessageStartingWith("option service-app-len: 67108864 bytes hold not even one connection's rings")
                .hasMessageContaining("68157440");
        // Only a service (or an application attached to one) has such a region.
        assertThat(TasConfig.builder().args("--tcp-rxbuf-len=1g", "--tcp-txbuf-len=1g").build().tcpRxbufLen())
                .isEqualTo(1 << 30);
        assertThat(TasConfig.builder().args("--service-app-max-conns=100").build().serviceAppMaxConns()).isEqualTo(100);
        assertThat(TasConfig.defaults().serviceAppMaxConns()).isEqualTo(65536);
    }

    @Test
    void optionsWithoutEffectAreAccepted() {
        TasConfig c = TasConfig.builder().constRateMbps(100).dpdkExtra("--no-pci").kniName("k0").build();
        assertThat(c.cc()).isEqualTo(TasCongestionControl.CUBIC);
        assertThat(c.ccConstRateMbps()).isEqualTo(100);
        assertThat(c.port()).isEqualTo("wire");
    }

    // ---- small types ----

    @Test
    void congestionControlNames() {
        for (TasCongestionControl cc : TasCongestionControl.values()) {
            assertThat(TasCongestionControl.fromOptionValue(cc.optionValue())).isSameAs(cc);
            assertThat(TasCongestionControl.fromOptionValue(cc.name())).isSameAs(cc);
            assertThat(TasConfig.builder().cc(cc).build().get("cc")).isEqualTo(cc.optionValue());
        }
        assertThat(TasCongestionControl.fromOptionValue("reno")).isNull();
    }

    @Test
    void routes() {
        TasRoute r = new TasRoute(ip(10, 1, 0, 0), 16, ip(10, 0, 0, 254));
        assertThat(r).hasToString("10.1.0.0/16,10.0.0.254");
        assertThat(r.netmask()).isEqualTo(0xFFFF0000);
        assertThat(r.matches(ip(10, 1, 200, 3))).isTrue();
        assertThat(r.matches(ip(10, 2, 0, 1))).isFalse();
        TasRoute all = new TasRoute(0, 0, ip(10, 0, 0, 254));
        assertThat(all.netmask()).isZero();
        assertThat(all.matches(ip(8, 8, 8, 8))).isTrue();
        assertThat(new TasRoute(-1, 32, 1).matches(-1)).isTrue();
        assertThatThrownBy(() -> new TasRoute(0, 33, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void optionDescriptionsForHelp() {
        TasOption rx = TasConfig.option("tcp-rxbuf-len");
        assertThat(rx.defaultValue()).isEqualTo("131072");
        assertThat(rx.metavar()).isEqualTo("SIZE");
        assertThat(rx.accepts()).isEqualTo("bytes from 2048 to 1073741824, e.g. 131072, 128k or 1m");
        assertThat(rx.flag()).isFalse();
        assertThat(rx.repeatable()).isFalse();
        assertThat(rx).hasToString("--tcp-rxbuf-len=SIZE");
        TasOption ints = TasConfig.option("fp-no-ints");
        assertThat(ints.flag()).isTrue();
        assertThat(ints).hasToString("--fp-no-ints");
        assertThat(TasConfig.option("tcp-sack")).hasToString("--tcp-sack=BOOL");
        assertThat(TasConfig.option("dpdk-extra").repeatable()).isTrue();
        assertThat(TasConfig.option("dpdk-extra").defaultValue()).isEmpty();
        assertThatThrownBy(() -> TasConfig.options().clear()).isInstanceOf(UnsupportedOperationException.class);
    }
}
