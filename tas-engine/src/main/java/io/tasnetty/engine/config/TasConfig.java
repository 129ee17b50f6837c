package io.tasnetty.engine.config;

import io.tasnetty.engine.config.OptionTypes.BoolType;
import io.tasnetty.engine.config.OptionTypes.CcType;
import io.tasnetty.engine.config.OptionTypes.Cidr;
import io.tasnetty.engine.config.OptionTypes.CidrType;
import io.tasnetty.engine.config.OptionTypes.EalArgType;
import io.tasnetty.engine.config.OptionTypes.FractionType;
import io.tasnetty.engine.config.OptionTypes.InterfaceNameType;
import io.tasnetty.engine.config.OptionTypes.MacType;
import io.tasnetty.engine.config.OptionTypes.MicrosType;
import io.tasnetty.engine.config.OptionTypes.NumberType;
import io.tasnetty.engine.config.OptionTypes.PortType;
import io.tasnetty.engine.config.OptionTypes.RateType;
import io.tasnetty.engine.config.OptionTypes.RouteType;
import io.tasnetty.engine.config.OptionTypes.SizeType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;

/**
 * The engine's configuration: immutable, one value per option. Option names mirror TAS's
 * ({@code ip-addr}, {@code fp-cores-max}, {@code tcp-rxbuf-len}, {@code cc}, ...) plus ours
 * ({@code port}, {@code mtu}, {@code tcp-sack}, {@code tcp-time-wait}, ...); {@link #options()}
 * lists them all and {@link #help()} prints them.
 *
 * <p>Options come from three places, the first that gives an option wins:
 * <ol>
 *   <li>code ({@link Builder#set}, the typed setters) and {@code --name=value} arguments
 *       ({@link Builder#args}, {@link #fromArgs}); a boolean given alone ({@code --fp-no-ints})
 *       means true; {@code --name value} works too for options that take a value;</li>
 *   <li>system properties {@code -Dtas.name=value} ({@link Builder#systemProperties},
 *       {@link #fromSystemProperties}), so an unmodified application needs only JVM flags;
 *       a repeatable option takes several values separated by spaces
 *       ({@code -Dtas.dpdk-extra="--no-pci --vdev=net_tap0"}); keys {@code tas.x.y} with a
 *       further dot are not options and are left alone;</li>
 *   <li>the defaults.</li>
 * </ol>
 * For a repeatable option ({@code ip-route}, {@code dpdk-extra}), values from a higher source
 * replace those from a lower one; within one source they add up.
 *
 * <p>Every value is checked when it is given, and options that contradict each other when
 * {@link Builder#build()} runs; a refusal is a {@link TasConfigException} whose message names
 * the option and says what it accepts.
 *
 * <p>Times are in microseconds, rates in Mbps, sizes in bytes, addresses in an int with the first
 * octet most significant.
 */
public final class TasConfig {

    // ---------------------------------------------------------------------------------------------
    // The table: every option, in the order help() and asMap() list them. The one place an option
    // is defined; parsing, validation, printing and help all come from here.
    // ---------------------------------------------------------------------------------------------

    private static final List<TasOption> TABLE = new ArrayList<>();
    private static final Map<String, TasOption> BY_NAME = new HashMap<>();

    private static final String G_ADDR = "Addresses and port";
    private static final String G_FP = "Fast path";
    private static final String G_TCP = "TCP";
    private static final String G_CC = "Congestion control";
    private static final String G_ARP = "ARP";
    private static final String G_DPDK = "DPDK";
    private static final String G_OTHER = "Other";

    private static final long SECOND = 1_000_000L;
    private static final long HOUR = 3_600L * SECOND;
    private static final long DAY = 24 * HOUR;
    private static final long MAX_MBPS = 1_000_000L; // 1 Tbps

    static final TasOption IP_ADDR = opt("ip-addr", G_ADDR, "A.B.C.D/P", new CidrType(), "10.0.0.1/24",
            "The engine's IPv4 address and the prefix length of its directly attached subnet.");
    static final TasOption IP_ROUTE = repeatable("ip-route", G_ADDR, "D.D.D.D/P,N.N.N.N", new RouteType(),
            "A static route: packets to D.D.D.D/P go to the next hop N.N.N.N, which must lie inside"
            + " ip-addr's subnet. Give one per route. Without routes only ip-addr's subnet (and the"
            + " engine's own loopback) is reachable.");
    static final TasOption PORT = opt("port", G_ADDR, "PORT", new PortType(), "wire",
            "How packets enter and leave. wire: the in-JVM wire that links engines in one process"
            + " (no privileges, no NIC). tap:IFNAME: a Linux TAP device opened through FFM (root)."
            + " dpdk: a DPDK ethdev through native-shim, chosen by dpdk-extra (e.g."
            + " --dpdk-extra=--vdev=net_af_packet0,iface=veth0).");
    static final TasOption MAC_ADDR = opt("mac-addr", G_ADDR, "MAC", new MacType(), "",
            "The engine's MAC address. Empty derives a locally administered one from ip-addr:"
            + " 02:00 followed by the address's four octets.");
    static final TasOption MTU = opt("mtu", G_ADDR, "BYTES", new NumberType(576, 9000, true, "bytes", null), "1500",
            "Largest IP packet (L3 MTU) the engine sends or expects.");

    static final TasOption FP_CORES_MAX = opt("fp-cores-max", G_FP, "N",
            new NumberType(1, 16, true, "a whole number", null), "1",
            "Most fast-path cores (threads), each owning one RX/TX queue pair of the port.");
    static final TasOption FP_NO_INTS = flag("fp-no-ints", G_FP,
            "Keep fast-path cores busy-polling when idle instead of blocking after"
            + " fp-poll-interval-tas (for ports without receive interrupts). Costs one CPU core per"
            + " fast-path thread.");
    static final TasOption FP_NO_INLINE = flag("fp-no-inline", G_FP,
            "Leave all fast-path work to the fast-path threads, as TAS does. By default an"
            + " application thread (a Netty event loop) that hands the fast path work runs its duty"
            + " cycle itself when no other thread does (run to completion: no thread hand-off per"
            + " write), and the fast-path threads wake only for the port's frames and timers.");
    static final TasOption FP_NO_XSUMOFFLOAD = flag("fp-no-xsumoffload", G_FP,
            "Compute IP and TCP checksums in software even where the port offers checksum offload"
            + " (virtio lacks transmit offload).");
    static final TasOption FP_NO_AUTOSCALE = flag("fp-no-autoscale", G_FP,
            "Keep all fp-cores-max cores active instead of growing and shrinking their number with"
            + " the load (which rewrites the port's RSS redirection table).");
    static final TasOption FP_NO_HUGEPAGES = flag("fp-no-hugepages", G_FP,
            "Run DPDK without hugepages (EAL --no-huge). The pure-Java ports never use them.");
    static final TasOption FP_VLAN_STRIP = flag("fp-vlan-strip", G_FP,
            "Let the port strip VLAN tags from received frames.");
    static final TasOption FP_POLL_INTERVAL_TAS = opt("fp-poll-interval-tas", G_FP, "MICROS",
            new MicrosType(0, 10 * SECOND, null), "100",
            "The longest a fast-path core keeps polling after its last work before it blocks"
            + " (unless fp-no-ints). It polls only while its work comes in short gaps, where polling"
            + " costs less than blocking and being woken; 0 blocks at once. (TAS polls a fixed 10 ms.)");
    static final TasOption FP_POLL_INTERVAL_APP = opt("fp-poll-interval-app", G_FP, "MICROS",
            new MicrosType(0, 10 * SECOND, null), "100",
            "The longest a context (one Netty event loop) keeps polling for engine events after its"
            + " last one before it blocks. It polls only while events come in short gaps (measured"
            + " from the producer's post), where polling costs less than blocking and being woken;"
            + " 0 blocks at once. (TAS polls a fixed 10 ms.)");

    // Why not TAS's 8192: a connection can have at most one buffer's worth in flight, so 8 KiB
    // caps it at 8 KiB per RTT, 0.65 Gb/s at a 100 µs RTT and 65 Mb/s over a 1 ms path; the
    // ATC'25 re-evaluation of TAS had to enlarge buffers to get bulk throughput at all. 128 KiB
    // (with window scaling) fills 10 Gb/s at a 100 µs RTT. Memory is rx + tx per connection:
    // 256 KiB x 64K connections = 16 GiB, so lower both for very many flows.
    static final TasOption TCP_RXBUF_LEN = opt("tcp-rxbuf-len", G_TCP, "SIZE",
            new SizeType(2048, 1 << 30, "131072, 128k or 1m"), "131072",
            "Receive buffer per connection (the engine may round it up). It bounds the window the"
            + " engine advertises.");
    static final TasOption TCP_TXBUF_LEN = opt("tcp-txbuf-len", G_TCP, "SIZE",
            new SizeType(2048, 1 << 30, "131072, 128k or 1m"), "131072",
            "Transmit buffer per connection (the engine may round it up). It bounds the unacknowledged"
            + " plus unsent bytes of a connection; a channel stops being writable when it is full.");
    // Linux's tcp_rmem[2]: what receive-buffer autotuning may grow a ring to (tcp_rcv_space_adjust).
    // Address space is reserved only as a ring grows, and pages are committed only as data touches
    // them, so an idle connection stays at tcp-rxbuf-len (or less: the pages it used).
    static final TasOption TCP_RXBUF_MAX = opt("tcp-rxbuf-max", G_TCP, "SIZE",
            new SizeType(2048, 1 << 30, "4194304, 4m or 16m"), "4194304",
            "Largest receive buffer autotuning grows a connection's to: a connection from the network"
            + " starts at tcp-rxbuf-len, and its ring doubles while the peer delivers half of it or"
            + " more per round trip (the window, not the path, is what limits it), up to this size."
            + " At or below tcp-rxbuf-len, rings keep their size. Not for connections whose"
            + " application set SO_RCVBUF, nor for those the engine loops to itself.");
    // Linux's tcp_wmem[2]: what send-buffer autotuning may grow a transmit ring to. Without it
    // a sender moves at most tcp-txbuf-len per round trip (128 KiB: 10 Mbit/s over 100 ms).
    static final TasOption TCP_TXBUF_MAX = opt("tcp-txbuf-max", G_TCP, "SIZE",
            new SizeType(2048, 1 << 30, "4194304, 4m or 16m"), "4194304",
            "Largest transmit buffer autotuning grows a connection's to: a connection to the network"
            + " starts at tcp-txbuf-len, and its ring doubles when the application fills it while the"
            + " congestion and peer windows would carry half of it or more (the ring, not the path,"
            + " is what limits it), up to this size. At or below tcp-txbuf-len, rings keep their size."
            + " Not for connections whose application set SO_SNDBUF, those the engine loops to itself,"
            + " nor attached applications (service mode).");
    // A connection between two contexts of this engine never crosses a link, so its buffers bound
    // no bandwidth-delay product, but they do bound how much moves per hand-off between the
    // two application threads: 128 KiB buffers and 64 KiB writes send one round of events,
    // commands and ACKs across cores per 64 KiB (0.38 CPU-s per GiB on 2 cores); 512 KiB, one
    // per 256 KiB (0.15 CPU-s per GiB; Linux's loopback with its autotuned buffers: 0.35).
    // Larger ones overflow the caches (2 MiB: 0.24). Rings are committed lazily, so an idle
    // loopback connection costs no more than any other.
    static final TasOption TCP_LOOPBACK_BUF_LEN = opt("tcp-loopback-buf-len", G_TCP, "SIZE",
            new SizeType(2048, 1 << 30, "524288, 512k or 1m"), "524288",
            "Receive and transmit buffer of a connection the engine loops to itself (both ends in this"
            + " engine), where the application set no size (SO_RCVBUF/SO_SNDBUF).");
    static final TasOption TCP_MSS = opt("tcp-mss", G_TCP, "BYTES",
            new NumberType(536, 9000 - 40, true, "bytes", "derive from mtu: mtu - 40"), "0",
            "Largest TCP payload per segment the engine sends and advertises; at most mtu - 40.");
    static final TasOption TCP_RTT_INIT = opt("tcp-rtt-init", G_TCP, "MICROS",
            new MicrosType(1, 10 * SECOND, null), "50",
            "RTT assumed for a new connection until one is measured: the control interval of"
            + " dctcp-rate and timely (cc-control-interval RTTs) until the first sample.");
    static final TasOption TCP_LINK_BW = opt("tcp-link-bw", G_TCP, "GBPS",
            new RateType(1, MAX_MBPS, true, null), "10",
            "Link bandwidth in Gbps (as TAS takes it); congestion control never sets a rate above it."
            + " Loopback connections (own address, 127.0.0.0/8) are not paced.");
    // TAS waits 10 ms for a SYN-ACK, which suits one datacenter but retransmits needlessly, and
    // gives up after 10 x 10 ms, on any path with a longer RTT. RFC 6298 (2.1) starts at 1 s; six
    // retries doubling from 1 s give up after about 2 minutes like Linux (tcp_syn_retries=6).
    static final TasOption TCP_HANDSHAKE_TIMEOUT = opt("tcp-handshake-timeout", G_TCP, "MICROS",
            new MicrosType(100, 60 * SECOND, null), "1000000",
            "Initial SYN and SYN-ACK retransmission timeout, doubled with each retry (TAS: 10 ms).");
    static final TasOption TCP_HANDSHAKE_RETRIES = opt("tcp-handshake-retries", G_TCP, "N",
            new NumberType(0, 32, true, "a whole number", null), "6",
            "SYN (or SYN-ACK) retransmissions before a connection attempt fails (TAS: 10).");
    static final TasOption TCP_RTO_MIN = opt("tcp-rto-min", G_TCP, "MICROS",
            new MicrosType(1, 60 * SECOND, null), "200000",
            "Lower bound of the retransmission timeout (Linux: 200 ms).");
    static final TasOption TCP_RTO_MAX = opt("tcp-rto-max", G_TCP, "MICROS",
            new MicrosType(1, HOUR, null), "60000000",
            "Upper bound of the retransmission timeout as it backs off (RFC 6298 2.5: at least 60 s).");
    static final TasOption TCP_TIME_WAIT = opt("tcp-time-wait", G_TCP, "MICROS",
            new MicrosType(0, HOUR, "none"), "60000000",
            "How long a connection closed first by this side stays in TIME_WAIT (2 MSL, with MSL"
            + " 30 s as Linux).");
    static final TasOption TCP_TIMESTAMPS = opt("tcp-timestamps", G_TCP, "BOOL", new BoolType(), "true",
            "Offer and accept the TCP timestamps option (RFC 7323). TAS requires it; we do not.");
    static final TasOption TCP_WINDOW_SCALE = opt("tcp-window-scale", G_TCP, "BOOL", new BoolType(), "true",
            "Offer and accept window scaling (RFC 7323), needed for windows above 64 KiB.");
    static final TasOption TCP_SACK = opt("tcp-sack", G_TCP, "BOOL", new BoolType(), "true",
            "Offer and accept selective acknowledgements (RFC 2018).");
    static final TasOption TCP_ECN = opt("tcp-ecn", G_TCP, "BOOL", new BoolType(), "true",
            "Negotiate ECN (RFC 3168); DCTCP reacts to the congestion marks it brings.");
    static final TasOption TCP_KEEPALIVE_IDLE = opt("tcp-keepalive-idle", G_TCP, "MICROS",
            new MicrosType(SECOND, DAY, null), "7200000000",
            "Idle time before the first keepalive probe, on connections with keepalive on"
            + " (RFC 1122 4.2.3.6: 2 hours).");
    static final TasOption TCP_KEEPALIVE_INTERVAL = opt("tcp-keepalive-interval", G_TCP, "MICROS",
            new MicrosType(SECOND, DAY, null), "75000000",
            "Time between unanswered keepalive probes.");
    static final TasOption TCP_KEEPALIVE_PROBES = opt("tcp-keepalive-probes", G_TCP, "N",
            new NumberType(1, 127, true, "a whole number", null), "9",
            "Unanswered keepalive probes before the connection is reset.");
    static final TasOption TCP_MAX_FLOWS = opt("tcp-max-flows", G_TCP, "N",
            new NumberType(1, 4_194_304, true, "a whole number", null), "65536",
            "Most connections (flows) the engine holds at once, listeners' pending ones included.");
    // TAS sizes its shared-memory region with shm-len; here the same name bounds the address space
    // all connections' rings may take. Ring pages are committed only when data first touches them
    // (and returned when a connection ends), so an idle connection costs a page or two of each ring,
    // not rx + tx: the default covers tcp-max-flows connections at the default ring sizes.
    static final TasOption SHM_LEN = opt("shm-len", G_TCP, "SIZE",
            new SizeType(1 << 20, 1L << 40, "1g, 64g or 1048576k"), "17179869184",
            "Most ring memory (address space) all connections may hold. A connection from the network"
            + " gets its rings when its handshake completes; one the engine has no ring memory for then"
            + " is refused (a RST, counter conn_buffer_exhausted).");
    static final TasOption TCP_BACKLOG_MAX = opt("tcp-backlog-max", G_TCP, "N",
            new NumberType(1, 1 << 20, true, "a whole number", null), "4096",
            "Upper bound of a listener's accept backlog (a larger SO_BACKLOG is cut to it).");

    // Default rule: CUBIC, as Linux, because an ordinary network drops rather than marks and an
    // ordinary peer echoes ECN the RFC 3168 way. DCTCP (TAS's default) belongs where the fabric
    // marks ECN at a shallow threshold and both ends run DCTCP: choose dctcp-rate or dctcp-win there.
    static final TasOption CC = opt("cc", G_CC, "ALGORITHM", new CcType(), "cubic",
            "Congestion control: cubic (RFC 9438 with HyStart, loss-based, Linux's default), dctcp-rate"
            + " (DCTCP on a per-flow rate, TAS's default; for ECN-marking fabrics with DCTCP peers),"
            + " dctcp-win (DCTCP on a window), timely (RTT gradient) or const-rate (a fixed rate,"
            + " cc-const-rate).");
    static final TasOption CC_CONTROL_INTERVAL = opt("cc-control-interval", G_CC, "RTTS",
            new NumberType(1, 1000, false, "RTTs", null), "2",
            "How often congestion control runs for a flow, in RTTs.");
    static final TasOption CC_DCTCP_WEIGHT = opt("cc-dctcp-weight", G_CC, "G",
            new FractionType(0, 1, "0.0625 or 1/16"), "0.0625",
            "DCTCP's g: weight of the newest marked fraction in the moving average alpha.");
    static final TasOption CC_DCTCP_INIT = opt("cc-dctcp-init", G_CC, "MBPS",
            new RateType(1, MAX_MBPS, false, null), "10",
            "Initial rate of a new flow (dctcp-rate, dctcp-win).");
    static final TasOption CC_DCTCP_STEP = opt("cc-dctcp-step", G_CC, "MBPS",
            new RateType(1, MAX_MBPS, false, null), "10",
            "Additive increase per control interval without congestion.");
    // TAS leaves the floor to the user; 1 Mbps still sends a 1500-byte packet every 12 ms, so a
    // throttled flow keeps probing and recovers, without flooding a congested path.
    static final TasOption CC_DCTCP_MIN = opt("cc-dctcp-min", G_CC, "MBPS",
            new RateType(1, MAX_MBPS, false, null), "1",
            "Lowest rate congestion control throttles a flow to; at most cc-dctcp-init.");
    static final TasOption CC_DCTCP_MINPKTS = opt("cc-dctcp-minpkts", G_CC, "N",
            new NumberType(0, 1_000_000, true, "packets", null), "50",
            "Fewest segments an interval must have acknowledged before DCTCP (dctcp-rate) takes the"
            + " ECN-marked fraction into alpha and cuts the rate; fewer, and the counts carry into the"
            + " next interval. Losses act at once.");
    static final TasOption CC_CONST_RATE = opt("cc-const-rate", G_CC, "MBPS",
            new RateType(0, MAX_MBPS, false, "unlimited"), "0",
            "The rate of every flow with cc=const-rate (ignored otherwise).");
    static final TasOption CC_TIMELY_TLOW = opt("cc-timely-tlow", G_CC, "MICROS",
            new MicrosType(1, 10 * SECOND, null), "30",
            "TIMELY's T_low: below this RTT the rate grows additively.");
    static final TasOption CC_TIMELY_THIGH = opt("cc-timely-thigh", G_CC, "MICROS",
            new MicrosType(1, 10 * SECOND, null), "150",
            "TIMELY's T_high: above this RTT the rate shrinks multiplicatively; above cc-timely-tlow.");
    static final TasOption CC_TIMELY_BETA = opt("cc-timely-beta", G_CC, "BETA",
            new FractionType(0, 1, "0.8 or 4/5"), "0.8",
            "TIMELY's beta: multiplicative decrease factor.");
    static final TasOption CC_TIMELY_ALPHA = opt("cc-timely-alpha", G_CC, "ALPHA",
            new FractionType(0, 1, "0.02 or 1/50"), "0.02",
            "TIMELY's alpha: weight of the newest RTT difference in the moving average gradient.");
    static final TasOption CC_TIMELY_STEP = opt("cc-timely-step", G_CC, "MBPS",
            new RateType(1, MAX_MBPS, false, null), "10",
            "TIMELY's additive increase per control interval.");

    // TAS's 500 µs suits one datacenter switch and gives up on any slower host; Linux waits 1 s
    // (retrans_time_ms) between 3 probes. 100 ms doubling (100, 200, ... 3200 ms) still hears a
    // host that is slow to answer, and after 5 retries (about 6 s) a connection to an absent
    // host fails instead of hanging, soon enough for tests that expect "unreachable".
    static final TasOption ARP_TIMEOUT = opt("arp-timeout", G_ARP, "MICROS",
            new MicrosType(1, 60 * SECOND, null), "100000",
            "Wait for an ARP reply before asking again, doubled with each retry (TAS: 500 µs).");
    static final TasOption ARP_TIMEOUT_MAX = opt("arp-timeout-max", G_ARP, "MICROS",
            new MicrosType(1, HOUR, null), "10000000",
            "Upper bound of the doubling ARP timeout; at least arp-timeout.");
    static final TasOption ARP_RETRIES = opt("arp-retries", G_ARP, "N",
            new NumberType(0, 100, true, "a whole number", null), "5",
            "ARP requests repeated before the address counts as unreachable and waiting"
            + " connections fail.");

    static final TasOption DPDK_EXTRA = repeatable("dpdk-extra", G_DPDK, "ARG", new EalArgType(),
            "One argument for DPDK's EAL (port=dpdk), e.g. --dpdk-extra=--no-pci"
            + " --dpdk-extra=--vdev=net_tap0,iface=tas0. Give one per argument.");
    static final TasOption KNI_NAME = opt("kni-name", G_DPDK, "IFNAME", new InterfaceNameType(), "",
            "Name of a kernel interface that gets every packet the engine does not consume, so"
            + " Linux shares the NIC (KNI in TAS; DPDK 22.11 replaces KNI by the tap PMD). Empty: none.");

    static final TasOption NO_KERNEL_PATH = flag("no-kernel-path", G_OTHER,
            "Netty transport: never hand a connection to the kernel. By default a TAS channel whose"
            + " destination the engine does not serve (a kernel service on 127/8 or another local"
            + " address, a host outside ip-addr's subnet and ip-route, IPv6) runs on a kernel socket"
            + " behind the same channel, and servers bound to loopback or the wildcard also accept"
            + " the kernel's connections. With this flag such connects and binds fail instead.");
    static final TasOption SEED = opt("seed", G_OTHER, "N",
            new NumberType(Long.MIN_VALUE, Long.MAX_VALUE, false, "a whole number", "random"), "0",
            "Seed of the engine's randomness (the RFC 6528 sequence-number secret, ephemeral ports):"
            + " fix it to replay a test.");
    static final TasOption SERVICE = opt("service", G_OTHER, "DIR", new OptionTypes.DirectoryType(), "",
            "Service mode. For the engine's jar: run as the service that owns the port, with its control"
            + " socket and shared memory under DIR (a tmpfs such as /run/tas; who may open DIR may attach)."
            + " For applications (-Dtas.service=DIR): attach to that running service instead of starting"
            + " an engine in this process. Empty (default): embedded engine.");
    static final TasOption SERVICE_APP_LEN = opt("service-app-len", G_OTHER, "SIZE",
            new SizeType(64L << 20, 1L << 40, "256m or 1g"), "268435456",
            "Service mode: ring memory per attached application, a sparse file under the service"
            + " directory that only that application and the service map; its connections' rings"
            + " come from there, and a connection that does not fit is refused (counted per application).");
    static final TasOption SERVICE_APP_MAX_CONNS = opt("service-app-max-conns", G_OTHER, "N",
            new NumberType(1, 4_194_304, true, "a whole number", null), "65536",
            "Service mode: most connections and listeners one attached application may hold at once;"
            + " a listen or connect past it fails with a no-resources error, an accepted connection"
            + " past it is reset, and either is counted for that application (tcp-max-flows still"
            + " bounds the engine as a whole).");
    static final TasOption QUIET = flag("quiet", G_OTHER,
            "Log only warnings and errors.");

    private static final List<TasOption> OPTIONS = Collections.unmodifiableList(new ArrayList<>(TABLE));
    private static final int N = OPTIONS.size();

    /** TAS options that have no meaning here, and why (for a kinder "unknown option"). */
    private static final Map<String, String> TAS_ONLY = Map.of(
            "ready-fd", "the engine starts inside the application's process; there is nothing to wait for",
            // TAS's slow path retransmits after N control intervals without progress; here each
            // connection has an RFC 6298 timer (with SACK recovery and tail loss probes), so a
            // value would be ignored: refuse it rather than pretend.
            "cc-rexmit-ints", "retransmission is timed per connection by RFC 6298's RTO, not in congestion"
                    + " control intervals; set tcp-rto-min and tcp-rto-max instead");

    private static TasOption opt(String name, String group, String metavar, OptionType type, String def,
            String description) {
        return add(new TasOption(TABLE.size(), name, group, metavar, type, false, def, description));
    }

    private static TasOption flag(String name, String group, String description) {
        return add(new TasOption(TABLE.size(), name, group, "", new BoolType(), false, "false", description));
    }

    private static TasOption repeatable(String name, String group, String metavar, OptionType type,
            String description) {
        return add(new TasOption(TABLE.size(), name, group, metavar, type, true, "", description));
    }

    private static TasOption add(TasOption o) {
        if (BY_NAME.putIfAbsent(o.name(), o) != null) {
            throw new IllegalStateException("option " + o.name() + " defined twice");
        }
        TABLE.add(o);
        return o;
    }

    // ---------------------------------------------------------------------------------------------
    // The configuration
    // ---------------------------------------------------------------------------------------------

    private static final TasConfig DEFAULTS = new TasConfig(defaultValues());

    private final Object[] values;

    private TasConfig(Object[] values) {
        this.values = values;
    }

    private static Object[] defaultValues() {
        Object[] v = new Object[N];
        for (TasOption o : OPTIONS) {
            v[o.index] = o.defaultParsed();
        }
        return v;
    }

    /** A builder that starts from the defaults. */
    public static Builder builder() {
        return new Builder(defaultValues());
    }

    /** The defaults (no system properties). */
    public static TasConfig defaults() {
        return DEFAULTS;
    }

    /** The defaults overridden by the {@code -Dtas.*} system properties. */
    public static TasConfig fromSystemProperties() {
        return builder().systemProperties(System.getProperties()).build();
    }

    /**
     * The defaults overridden by the {@code -Dtas.*} system properties, overridden by the
     * {@code --name=value} arguments. Every argument must be an option (see {@link #isHelp} for
     * {@code --help}, and {@link Builder#knownArgs} to mix in an application's own options).
     */
    public static TasConfig fromArgs(String... args) {
        return builder().systemProperties(System.getProperties()).args(args).build();
    }

    /** Whether {@code args} ask for help ({@code --help}, {@code -h} or {@code -?}). */
    public static boolean isHelp(String... args) {
        for (String a : args) {
            if (a.equals("--help") || a.equals("-h") || a.equals("-?")) {
                return true;
            }
        }
        return false;
    }

    /** A builder that starts from this configuration. */
    public Builder toBuilder() {
        return new Builder(values.clone());
    }

    /** Every option (name, default, what it accepts, description), in help order. */
    public static List<TasOption> options() {
        return OPTIONS;
    }

    /** The option called {@code name} (without {@code --}); unknown names are refused. */
    public static TasOption option(String name) {
        TasOption o = BY_NAME.get(name);
        if (o == null) {
            throw unknown(name, name);
        }
        return o;
    }

    /** The value of option {@code name} as text, as {@code --name=} would take it ("" for none). */
    public String get(String name) {
        TasOption o = option(name);
        return o.format(values[o.index]);
    }

    /** Every option and its value as text, in help order: the effective configuration. */
    public Map<String, String> asMap() {
        Map<String, String> m = new LinkedHashMap<>();
        for (TasOption o : OPTIONS) {
            m.put(o.name(), o.format(values[o.index]));
        }
        return Collections.unmodifiableMap(m);
    }

    /** The options whose values differ from their defaults, in help order. */
    public Map<String, String> nonDefaults() {
        Map<String, String> m = new LinkedHashMap<>();
        for (TasOption o : OPTIONS) {
            if (!values[o.index].equals(o.defaultParsed())) {
                m.put(o.name(), o.format(values[o.index]));
            }
        }
        return Collections.unmodifiableMap(m);
    }

    /**
     * The effective configuration as {@code --name=value} arguments, one per value (a repeatable
     * option once per value; booleans as {@code --name=true/false}); {@link #fromArgs} of them
     * (without system properties) gives this configuration back.
     */
    public List<String> toArgs() {
        List<String> args = new ArrayList<>();
        for (TasOption o : OPTIONS) {
            if (o.repeatable()) {
                for (Object item : (List<?>) values[o.index]) {
                    args.add("--" + o.name() + "=" + o.format(List.of(item)));
                }
            } else {
                args.add("--" + o.name() + "=" + o.format(values[o.index]));
            }
        }
        return args;
    }

    /** Formatted help text of every option, grouped, with defaults and accepted values. */
    public static String help() {
        StringBuilder sb = new StringBuilder();
        sb.append("TAS engine options. Give them as --name=value arguments or as -Dtas.name=value system\n")
          .append("properties (arguments win). A boolean option alone (--fp-no-ints) means true; a\n")
          .append("repeatable one is given once per value. Times are in microseconds unless a unit\n")
          .append("(us, ms, s) follows; sizes in bytes unless k, m or g follows.\n");
        String group = null;
        for (TasOption o : OPTIONS) {
            if (!o.group().equals(group)) {
                group = o.group();
                sb.append('\n').append(group).append(":\n");
            }
            sb.append("  ").append(o);
            String def = o.repeatable() ? "none" : o.defaultValue().isEmpty() ? "empty" : o.defaultValue();
            sb.append("   (default ").append(def).append(o.repeatable() ? "; repeatable" : "").append(")\n");
            wrap(sb, o.description(), "      ", 96);
            if (!o.metavar().isEmpty()) {
                wrap(sb, "Accepts " + o.accepts() + ".", "      ", 96);
            }
        }
        return sb.toString();
    }

    private static void wrap(StringBuilder sb, String text, String indent, int width) {
        int col = 0;
        for (String word : text.split(" ")) {
            if (col > 0 && col + 1 + word.length() > width) {
                sb.append('\n');
                col = 0;
            }
            if (col == 0) {
                sb.append(indent).append(word);
                col = indent.length() + word.length();
            } else {
                sb.append(' ').append(word);
                col += 1 + word.length();
            }
        }
        sb.append('\n');
    }

    // ---- typed getters ----

    private Cidr cidr() {
        return (Cidr) values[IP_ADDR.index];
    }

    private int intValue(TasOption o) {
        return (Integer) values[o.index];
    }

    private long longValue(TasOption o) {
        return (Long) values[o.index];
    }

    private boolean bool(TasOption o) {
        return (Boolean) values[o.index];
    }

    private double doubleValue(TasOption o) {
        return (Double) values[o.index];
    }

    private String string(TasOption o) {
        return (String) values[o.index];
    }

    @SuppressWarnings("unchecked")
    private <T> List<T> list(TasOption o) {
        return (List<T>) values[o.index];
    }

    /** ip-addr: the engine's IPv4 address (first octet most significant); default 10.0.0.1. */
    public int ipAddr() {
        return cidr().addr();
    }

    /** ip-addr: the prefix length of the engine's subnet; default 24. */
    public int ipPrefixLength() {
        return cidr().prefixLength();
    }

    /** The netmask of {@link #ipPrefixLength()}, e.g. 0xFFFFFF00. */
    public int ipNetmask() {
        return Ipv4.netmask(ipPrefixLength());
    }

    /** Whether {@code addr} lies in the engine's own subnet (reachable without a route). */
    public boolean inSubnet(int addr) {
        return ((addr ^ ipAddr()) & ipNetmask()) == 0;
    }

    /** ip-route: the static routes, in the order given; default none. */
    public List<TasRoute> ipRoutes() {
        return list(IP_ROUTE);
    }

    /** port: {@code wire} (default), {@code tap:IFNAME} or {@code dpdk}. */
    public String port() {
        return string(PORT);
    }

    /** mac-addr as given: "" (default: derive from ip-addr) or a MAC such as {@code 02:00:0a:00:00:01}. */
    public String macAddr() {
        return string(MAC_ADDR);
    }

    /**
     * The effective MAC address as 48 bits in the low bits of a long (first octet most
     * significant), like {@code TasPort.macAddress()}: mac-addr, or 02:00:A:B:C:D from ip-addr.
     */
    public long macAddress() {
        String mac = macAddr();
        if (mac.isEmpty()) {
            return 0x0200_0000_0000L | (ipAddr() & 0xFFFF_FFFFL);
        }
        return Long.parseLong(mac.replace(":", ""), 16);
    }

    /** mtu: largest IP packet, 576..9000; default 1500. */
    public int mtu() {
        return intValue(MTU);
    }

    /** fp-cores-max: 1..16; default 1. */
    public int fpCoresMax() {
        return intValue(FP_CORES_MAX);
    }

    /** fp-no-ints; default false. */
    public boolean fpNoInts() {
        return bool(FP_NO_INTS);
    }

    /** no-kernel-path; default false (the Netty transport hands what the engine cannot serve to the kernel). */
    public boolean noKernelPath() {
        return bool(NO_KERNEL_PATH);
    }

    /** fp-no-inline; default false (application threads run the fast path for their own work). */
    public boolean fpNoInline() {
        return bool(FP_NO_INLINE);
    }

    /** fp-no-xsumoffload; default false. */
    public boolean fpNoXsumOffload() {
        return bool(FP_NO_XSUMOFFLOAD);
    }

    /** fp-no-autoscale; default false. */
    public boolean fpNoAutoscale() {
        return bool(FP_NO_AUTOSCALE);
    }

    /** fp-no-hugepages; default false. */
    public boolean fpNoHugepages() {
        return bool(FP_NO_HUGEPAGES);
    }

    /** fp-vlan-strip; default false. */
    public boolean fpVlanStrip() {
        return bool(FP_VLAN_STRIP);
    }

    /** fp-poll-interval-tas in µs; default 100. */
    public long fpPollIntervalTasMicros() {
        return longValue(FP_POLL_INTERVAL_TAS);
    }

    /** fp-poll-interval-app in µs; default 100. */
    public long fpPollIntervalAppMicros() {
        return longValue(FP_POLL_INTERVAL_APP);
    }

    /** tcp-rxbuf-len in bytes, 2048..1 GiB (not rounded); default 131072. */
    public int tcpRxbufLen() {
        return intValue(TCP_RXBUF_LEN);
    }

    /** tcp-rxbuf-max in bytes, 2048..1 GiB (not rounded); default 4194304. */
    public int tcpRxbufMax() {
        return intValue(TCP_RXBUF_MAX);
    }

    /** tcp-txbuf-max in bytes, 2048..1 GiB (not rounded); default 4194304. */
    public int tcpTxbufMax() {
        return intValue(TCP_TXBUF_MAX);
    }

    /** tcp-txbuf-len in bytes, 2048..1 GiB (not rounded); default 131072. */
    public int tcpTxbufLen() {
        return intValue(TCP_TXBUF_LEN);
    }

    /** tcp-loopback-buf-len in bytes, 2048..1 GiB (not rounded); default 524288. */
    public int tcpLoopbackBufLen() {
        return intValue(TCP_LOOPBACK_BUF_LEN);
    }

    /**
     * tcp-mss as given: 0 (the default) means derive it from the MTU, i.e. {@code mtu - 40} of
     * the smaller of {@link #mtu()} and the port's MTU; else 536..mtu-40.
     */
    public int tcpMss() {
        return intValue(TCP_MSS);
    }

    /** tcp-rtt-init in µs; default 50. */
    public long tcpRttInitMicros() {
        return longValue(TCP_RTT_INIT);
    }

    /** tcp-link-bw in Mbps (the option is in Gbps); default 10000. */
    public long tcpLinkBwMbps() {
        return longValue(TCP_LINK_BW);
    }

    /** tcp-handshake-timeout in µs; default 1000000. */
    public long tcpHandshakeTimeoutMicros() {
        return longValue(TCP_HANDSHAKE_TIMEOUT);
    }

    /** tcp-handshake-retries; default 6. */
    public int tcpHandshakeRetries() {
        return intValue(TCP_HANDSHAKE_RETRIES);
    }

    /** tcp-rto-min in µs; default 200000. */
    public long tcpRtoMinMicros() {
        return longValue(TCP_RTO_MIN);
    }

    /** tcp-rto-max in µs; default 60000000. */
    public long tcpRtoMaxMicros() {
        return longValue(TCP_RTO_MAX);
    }

    /** tcp-time-wait in µs (0 = none); default 60000000. */
    public long tcpTimeWaitMicros() {
        return longValue(TCP_TIME_WAIT);
    }

    /** tcp-timestamps; default true. */
    public boolean tcpTimestamps() {
        return bool(TCP_TIMESTAMPS);
    }

    /** tcp-window-scale; default true. */
    public boolean tcpWindowScale() {
        return bool(TCP_WINDOW_SCALE);
    }

    /** tcp-sack; default true. */
    public boolean tcpSack() {
        return bool(TCP_SACK);
    }

    /** tcp-ecn; default true. */
    public boolean tcpEcn() {
        return bool(TCP_ECN);
    }

    /** tcp-keepalive-idle in µs; default 7200000000 (2 h). */
    public long tcpKeepaliveIdleMicros() {
        return longValue(TCP_KEEPALIVE_IDLE);
    }

    /** tcp-keepalive-interval in µs; default 75000000 (75 s). */
    public long tcpKeepaliveIntervalMicros() {
        return longValue(TCP_KEEPALIVE_INTERVAL);
    }

    /** tcp-keepalive-probes; default 9. */
    public int tcpKeepaliveProbes() {
        return intValue(TCP_KEEPALIVE_PROBES);
    }

    /** tcp-max-flows, 1..4194304; default 65536. */
    public int tcpMaxFlows() {
        return intValue(TCP_MAX_FLOWS);
    }

    /** shm-len in bytes: the ring memory limit across all connections; default 16 GiB. */
    public long shmLen() {
        return longValue(SHM_LEN);
    }

    /** tcp-backlog-max; default 4096. */
    public int tcpListenBacklogMax() {
        return intValue(TCP_BACKLOG_MAX);
    }

    /** cc; default {@link TasCongestionControl#CUBIC}. */
    public TasCongestionControl cc() {
        return (TasCongestionControl) values[CC.index];
    }

    /** cc-control-interval in RTTs; default 2. */
    public long ccControlIntervalRtts() {
        return longValue(CC_CONTROL_INTERVAL);
    }

    /** cc-dctcp-weight (DCTCP's g); default 0.0625. */
    public double ccDctcpWeight() {
        return doubleValue(CC_DCTCP_WEIGHT);
    }

    /** cc-dctcp-init in Mbps; default 10. */
    public long ccDctcpInitMbps() {
        return longValue(CC_DCTCP_INIT);
    }

    /** cc-dctcp-step in Mbps; default 10. */
    public long ccDctcpStepMbps() {
        return longValue(CC_DCTCP_STEP);
    }

    /** cc-dctcp-min in Mbps; default 1. */
    public long ccDctcpMinMbps() {
        return longValue(CC_DCTCP_MIN);
    }

    /** cc-dctcp-minpkts; default 50. */
    public int ccDctcpMinpkts() {
        return intValue(CC_DCTCP_MINPKTS);
    }

    /** cc-const-rate in Mbps (0 = unlimited); default 0. */
    public long ccConstRateMbps() {
        return longValue(CC_CONST_RATE);
    }

    /** cc-timely-tlow in µs; default 30. */
    public long ccTimelyTlowMicros() {
        return longValue(CC_TIMELY_TLOW);
    }

    /** cc-timely-thigh in µs; default 150. */
    public long ccTimelyThighMicros() {
        return longValue(CC_TIMELY_THIGH);
    }

    /** cc-timely-beta; default 0.8. */
    public double ccTimelyBeta() {
        return doubleValue(CC_TIMELY_BETA);
    }

    /** cc-timely-alpha; default 0.02. */
    public double ccTimelyAlpha() {
        return doubleValue(CC_TIMELY_ALPHA);
    }

    /** cc-timely-step in Mbps; default 10. */
    public long ccTimelyStepMbps() {
        return longValue(CC_TIMELY_STEP);
    }

    /** arp-timeout in µs; default 100000 (100 ms). */
    public long arpTimeoutMicros() {
        return longValue(ARP_TIMEOUT);
    }

    /** arp-timeout-max in µs; default 10000000 (10 s). */
    public long arpTimeoutMaxMicros() {
        return longValue(ARP_TIMEOUT_MAX);
    }

    /** arp-retries; default 5. */
    public int arpRetries() {
        return intValue(ARP_RETRIES);
    }

    /** dpdk-extra: EAL arguments, in the order given; default none. */
    public List<String> dpdkExtra() {
        return list(DPDK_EXTRA);
    }

    /** kni-name: "" (default) for none. */
    public String kniName() {
        return string(KNI_NAME);
    }

    /** service: the service directory, "" (default) for an embedded engine. */
    public String service() {
        return string(SERVICE);
    }

    /** service-app-len: ring memory per attached application, in bytes. */
    public long serviceAppLen() {
        return longValue(SERVICE_APP_LEN);
    }

    /** service-app-max-conns: connections plus listeners per attached application; default 65536. */
    public int serviceAppMaxConns() {
        return intValue(SERVICE_APP_MAX_CONNS);
    }

    /** seed: 0 (default) means random. */
    public long seed() {
        return longValue(SEED);
    }

    /** quiet; default false. */
    public boolean quiet() {
        return bool(QUIET);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TasConfig c && Arrays.equals(values, c.values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values);
    }

    /** The options that differ from their defaults, e.g. {@code TasConfig{port=tap:tas0, mtu=9000}}. */
    @Override
    public String toString() {
        return "TasConfig" + nonDefaults().toString();
    }

    // ---------------------------------------------------------------------------------------------
    // Unknown names
    // ---------------------------------------------------------------------------------------------

    private static TasConfigException unknown(String name, String shown) {
        if (name.equals("help") || name.equals("h")) {
            return new TasConfigException(name, "option \"help\" is not a configuration option: check"
                    + " TasConfig.isHelp(args) first and print TasConfig.help()");
        }
        String why = TAS_ONLY.get(name);
        if (why != null) {
            return new TasConfigException(name, "option " + quoteName(shown) + " of TAS has no meaning here: " + why);
        }
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        String plain = name.replace('_', '-').replaceFirst("^-+", "").toLowerCase(java.util.Locale.ROOT);
        for (TasOption o : OPTIONS) {
            int d = distance(plain, o.name());
            if (d < bestDistance) {
                bestDistance = d;
                best = o.name();
            }
        }
        if (bestDistance > Math.max(2, plain.length() / 4)) {
            // Not a typo; maybe a part of a name (fp-cores for fp-cores-max): take the shortest.
            best = null;
            for (TasOption o : OPTIONS) {
                if (plain.length() >= 3 && (o.name().startsWith(plain) || plain.startsWith(o.name()))
                        && (best == null || o.name().length() < best.length())) {
                    best = o.name();
                }
            }
        }
        String hint = best != null ? "; did you mean " + best + "?" : "";
        return new TasConfigException(name, "unknown option " + quoteName(shown) + hint + " (see --help)");
    }

    private static String quoteName(String name) {
        return TasOption.quote(name);
    }

    /** Optimal-string-alignment distance (Levenshtein plus adjacent transpositions). */
    private static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    // ---------------------------------------------------------------------------------------------
    // Builder
    // ---------------------------------------------------------------------------------------------

    /**
     * Collects option values; each is checked at once ({@link TasConfigException}), the options
     * together in {@link #build()}. Values given in code or as arguments take precedence over
     * system properties whatever the order of the calls.
     */
    public static final class Builder {
        private final Object[] base;
        private final Object[] fromSystem = new Object[N];
        private final Object[] explicit = new Object[N];

        private Builder(Object[] base) {
            this.base = base;
        }

        /**
         * Sets option {@code name} (without {@code --}) from text, as {@code --name=value} would;
         * a repeatable option gains one more value.
         */
        public Builder set(String name, String value) {
            TasOption o = option(name);
            put(o, o.parse(value == null ? null : value.trim(), null));
            return this;
        }

        private void put(TasOption o, Object parsed) {
            if (o.repeatable()) {
                @SuppressWarnings("unchecked")
                List<Object> l = (List<Object>) explicit[o.index];
                if (l == null) {
                    l = new ArrayList<>((List<?>) base[o.index]);
                    explicit[o.index] = l;
                }
                l.add(parsed);
            } else {
                explicit[o.index] = parsed;
            }
        }

        private Builder replaceList(TasOption o, List<?> items) {
            List<Object> l = new ArrayList<>();
            for (Object item : items) {
                // Through the option's text form, so the values pass the same checks.
                l.add(o.parse(o.format(List.of(item)), null));
            }
            explicit[o.index] = l;
            return this;
        }

        /**
         * Forgets what this builder was given for option {@code name} (in code, arguments or system
         * properties): it takes its default again (or, after {@link TasConfig#toBuilder()}, the
         * configuration's value).
         */
        public Builder unset(String name) {
            TasOption o = option(name);
            explicit[o.index] = null;
            fromSystem[o.index] = null;
            return this;
        }

        /**
         * Parses {@code --name=value} arguments ({@code --name value} too; {@code --flag} alone is
         * true). Anything else, an unknown option included, is refused.
         */
        public Builder args(String... args) {
            List<String> rest = parse(args, true);
            assert rest.isEmpty();
            return this;
        }

        /**
         * Parses the options among {@code args} and returns the other arguments, in order (for an
         * application with options of its own). Only {@code --name=value} and flags are taken; an
         * argument that is not one of ours, and any value after it, is returned untouched.
         */
        public List<String> knownArgs(String... args) {
            return parse(args, false);
        }

        private List<String> parse(String[] args, boolean strict) {
            List<String> rest = new ArrayList<>();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a == null || !a.startsWith("--") || a.length() == 2) {
                    if (strict) {
                        throw new TasConfigException(String.valueOf(a), "unexpected argument "
                                + TasOption.quote(String.valueOf(a))
                                + "; options look like --name=value (see --help)");
                    }
                    rest.add(a);
                    continue;
                }
                int eq = a.indexOf('=');
                String name = eq < 0 ? a.substring(2) : a.substring(2, eq);
                TasOption o = BY_NAME.get(name);
                if (o == null) {
                    if (strict) {
                        throw unknown(name, name);
                    }
                    rest.add(a);
                    continue;
                }
                String value;
                if (eq >= 0) {
                    value = a.substring(eq + 1);
                } else if (o.flag()) {
                    value = "true";
                } else if (i + 1 < args.length) {
                    value = args[++i];
                } else {
                    value = null;
                }
                put(o, o.parse(value == null ? null : value.trim(), null));
            }
            return rest;
        }

        /**
         * Reads the options among {@code p}'s {@code tas.NAME} keys (names without a further dot;
         * other keys are ignored). A repeatable option's value holds several values separated by
         * whitespace; an empty value of a boolean means true. Unknown {@code tas.NAME} keys are
         * refused.
         */
        public Builder systemProperties(Properties p) {
            for (String key : new TreeSet<>(p.stringPropertyNames())) {
                if (!key.startsWith("tas.")) {
                    continue;
                }
                String name = key.substring(4);
                if (name.indexOf('.') >= 0) {
                    continue;
                }
                TasOption o = BY_NAME.get(name);
                if (o == null) {
                    throw unknown(name, "-D" + key);
                }
                String value = p.getProperty(key).trim();
                String source = "-D" + key;
                if (o.repeatable()) {
                    List<Object> l = new ArrayList<>();
                    for (String item : value.split("\\s+")) {
                        if (!item.isEmpty()) {
                            l.add(o.parse(item, source));
                        }
                    }
                    fromSystem[o.index] = l;
                } else {
                    fromSystem[o.index] = o.parse(value, source);
                }
            }
            return this;
        }

        // ---- typed setters (each goes through the table, as set() does) ----

        public Builder ipAddr(String cidr) {
            return set(IP_ADDR.name(), cidr);
        }

        /** Adds one route, {@code D.D.D.D/P,N.N.N.N}. */
        public Builder ipRoute(String route) {
            return set(IP_ROUTE.name(), route);
        }

        /** Adds one route. */
        public Builder ipRoute(TasRoute route) {
            return set(IP_ROUTE.name(), route.toString());
        }

        /** Replaces all routes (also those from system properties) by {@code routes}. */
        public Builder ipRoutes(List<TasRoute> routes) {
            return replaceList(IP_ROUTE, routes);
        }

        public Builder port(String port) {
            return set(PORT.name(), port);
        }

        public Builder macAddr(String mac) {
            return set(MAC_ADDR.name(), mac);
        }

        public Builder mtu(int mtu) {
            return set(MTU.name(), Integer.toString(mtu));
        }

        public Builder fpCoresMax(int cores) {
            return set(FP_CORES_MAX.name(), Integer.toString(cores));
        }

        public Builder fpNoInts(boolean on) {
            return set(FP_NO_INTS.name(), Boolean.toString(on));
        }

        public Builder noKernelPath(boolean on) {
            return set(NO_KERNEL_PATH.name(), Boolean.toString(on));
        }

        public Builder fpNoXsumOffload(boolean on) {
            return set(FP_NO_XSUMOFFLOAD.name(), Boolean.toString(on));
        }

        public Builder fpNoAutoscale(boolean on) {
            return set(FP_NO_AUTOSCALE.name(), Boolean.toString(on));
        }

        public Builder fpNoHugepages(boolean on) {
            return set(FP_NO_HUGEPAGES.name(), Boolean.toString(on));
        }

        public Builder fpVlanStrip(boolean on) {
            return set(FP_VLAN_STRIP.name(), Boolean.toString(on));
        }

        public Builder fpPollIntervalTasMicros(long micros) {
            return set(FP_POLL_INTERVAL_TAS.name(), Long.toString(micros));
        }

        public Builder fpPollIntervalAppMicros(long micros) {
            return set(FP_POLL_INTERVAL_APP.name(), Long.toString(micros));
        }

        public Builder tcpRxbufLen(int bytes) {
            return set(TCP_RXBUF_LEN.name(), Integer.toString(bytes));
        }

        public Builder shmLen(long bytes) {
            return set(SHM_LEN.name(), Long.toString(bytes));
        }

        public Builder tcpTxbufLen(int bytes) {
            return set(TCP_TXBUF_LEN.name(), Integer.toString(bytes));
        }

        /** tcp-mss; 0 derives it from the MTU. */
        public Builder tcpMss(int bytes) {
            return set(TCP_MSS.name(), Integer.toString(bytes));
        }

        public Builder tcpRttInitMicros(long micros) {
            return set(TCP_RTT_INIT.name(), Long.toString(micros));
        }

        public Builder tcpLinkBwMbps(long mbps) {
            return set(TCP_LINK_BW.name(), mbps + "m");
        }

        public Builder tcpHandshakeTimeoutMicros(long micros) {
            return set(TCP_HANDSHAKE_TIMEOUT.name(), Long.toString(micros));
        }

        public Builder tcpHandshakeRetries(int retries) {
            return set(TCP_HANDSHAKE_RETRIES.name(), Integer.toString(retries));
        }

        public Builder tcpRtoMinMicros(long micros) {
            return set(TCP_RTO_MIN.name(), Long.toString(micros));
        }

        public Builder tcpRtoMaxMicros(long micros) {
            return set(TCP_RTO_MAX.name(), Long.toString(micros));
        }

        public Builder tcpTimeWaitMicros(long micros) {
            return set(TCP_TIME_WAIT.name(), Long.toString(micros));
        }

        public Builder tcpTimestamps(boolean on) {
            return set(TCP_TIMESTAMPS.name(), Boolean.toString(on));
        }

        public Builder tcpWindowScale(boolean on) {
            return set(TCP_WINDOW_SCALE.name(), Boolean.toString(on));
        }

        public Builder tcpSack(boolean on) {
            return set(TCP_SACK.name(), Boolean.toString(on));
        }

        public Builder tcpEcn(boolean on) {
            return set(TCP_ECN.name(), Boolean.toString(on));
        }

        public Builder tcpKeepaliveIdleMicros(long micros) {
            return set(TCP_KEEPALIVE_IDLE.name(), Long.toString(micros));
        }

        public Builder tcpKeepaliveIntervalMicros(long micros) {
            return set(TCP_KEEPALIVE_INTERVAL.name(), Long.toString(micros));
        }

        public Builder tcpKeepaliveProbes(int probes) {
            return set(TCP_KEEPALIVE_PROBES.name(), Integer.toString(probes));
        }

        public Builder tcpMaxFlows(int flows) {
            return set(TCP_MAX_FLOWS.name(), Integer.toString(flows));
        }

        public Builder tcpListenBacklogMax(int backlog) {
            return set(TCP_BACKLOG_MAX.name(), Integer.toString(backlog));
        }

        public Builder cc(TasCongestionControl cc) {
            return set(CC.name(), cc.optionValue());
        }

        public Builder ccControlIntervalRtts(long rtts) {
            return set(CC_CONTROL_INTERVAL.name(), Long.toString(rtts));
        }

        public Builder ccDctcpWeight(double g) {
            return set(CC_DCTCP_WEIGHT.name(), Double.toString(g));
        }

        public Builder ccDctcpInitMbps(long mbps) {
            return set(CC_DCTCP_INIT.name(), Long.toString(mbps));
        }

        public Builder ccDctcpStepMbps(long mbps) {
            return set(CC_DCTCP_STEP.name(), Long.toString(mbps));
        }

        public Builder ccDctcpMinMbps(long mbps) {
            return set(CC_DCTCP_MIN.name(), Long.toString(mbps));
        }

        public Builder ccDctcpMinpkts(int packets) {
            return set(CC_DCTCP_MINPKTS.name(), Integer.toString(packets));
        }

        /** cc-const-rate in Mbps (0 = unlimited); takes effect with {@code cc(CONST_RATE)}. */
        public Builder ccConstRateMbps(long mbps) {
            return set(CC_CONST_RATE.name(), Long.toString(mbps));
        }

        /** Same as {@link #ccConstRateMbps}. */
        public Builder constRateMbps(long mbps) {
            return ccConstRateMbps(mbps);
        }

        public Builder ccTimelyTlowMicros(long micros) {
            return set(CC_TIMELY_TLOW.name(), Long.toString(micros));
        }

        public Builder ccTimelyThighMicros(long micros) {
            return set(CC_TIMELY_THIGH.name(), Long.toString(micros));
        }

        public Builder ccTimelyBeta(double beta) {
            return set(CC_TIMELY_BETA.name(), Double.toString(beta));
        }

        public Builder ccTimelyAlpha(double alpha) {
            return set(CC_TIMELY_ALPHA.name(), Double.toString(alpha));
        }

        public Builder ccTimelyStepMbps(long mbps) {
            return set(CC_TIMELY_STEP.name(), Long.toString(mbps));
        }

        public Builder arpTimeoutMicros(long micros) {
            return set(ARP_TIMEOUT.name(), Long.toString(micros));
        }

        public Builder arpTimeoutMaxMicros(long micros) {
            return set(ARP_TIMEOUT_MAX.name(), Long.toString(micros));
        }

        public Builder arpRetries(int retries) {
            return set(ARP_RETRIES.name(), Integer.toString(retries));
        }

        /** Adds one EAL argument. */
        public Builder dpdkExtra(String ealArg) {
            return set(DPDK_EXTRA.name(), ealArg);
        }

        /** Replaces all EAL arguments (also those from system properties) by {@code ealArgs}. */
        public Builder dpdkExtra(List<String> ealArgs) {
            return replaceList(DPDK_EXTRA, ealArgs);
        }

        public Builder kniName(String ifname) {
            return set(KNI_NAME.name(), ifname);
        }

        public Builder seed(long seed) {
            return set(SEED.name(), Long.toString(seed));
        }

        public Builder quiet(boolean on) {
            return set(QUIET.name(), Boolean.toString(on));
        }

        /** Checks the options together and returns the configuration. */
        public TasConfig build() {
            Object[] v = new Object[N];
            for (int i = 0; i < N; i++) {
                Object x = explicit[i] != null ? explicit[i] : fromSystem[i] != null ? fromSystem[i] : base[i];
                v[i] = x instanceof List<?> l ? List.copyOf(l) : x;
            }
            TasConfig c = new TasConfig(v);
            check(c);
            return c;
        }

        private static void check(TasConfig c) {
            Cidr own = c.cidr();
            for (TasRoute r : c.ipRoutes()) {
                if (!c.inSubnet(r.nextHop())) {
                    throw IP_ROUTE.conflict("next hop " + Ipv4.format(r.nextHop()) + " of route " + r
                            + " is not inside ip-addr's subnet "
                            + Ipv4.format(own.addr() & c.ipNetmask()) + "/" + own.prefixLength());
                }
                if (r.nextHop() == own.addr()) {
                    throw IP_ROUTE.conflict("next hop of route " + r + " is the engine's own address (ip-addr)");
                }
            }
            int mss = c.tcpMss();
            if (mss != 0 && mss > c.mtu() - 40) {
                throw TCP_MSS.conflict(mss + " is more than mtu - 40 = " + (c.mtu() - 40)
                        + "; lower it, raise mtu, or give 0 to derive it from mtu");
            }
            if (c.tcpRtoMinMicros() > c.tcpRtoMaxMicros()) {
                throw TCP_RTO_MIN.conflict(c.tcpRtoMinMicros() + " is more than tcp-rto-max "
                        + c.tcpRtoMaxMicros());
            }
            if (c.arpTimeoutMicros() > c.arpTimeoutMaxMicros()) {
                throw ARP_TIMEOUT.conflict(c.arpTimeoutMicros() + " is more than arp-timeout-max "
                        + c.arpTimeoutMaxMicros());
            }
            if (c.ccTimelyTlowMicros() >= c.ccTimelyThighMicros()) {
                throw CC_TIMELY_TLOW.conflict(c.ccTimelyTlowMicros() + " is not below cc-timely-thigh "
                        + c.ccTimelyThighMicros());
            }
            if (c.ccDctcpMinMbps() > c.ccDctcpInitMbps()) {
                throw CC_DCTCP_MIN.conflict(c.ccDctcpMinMbps() + " is more than cc-dctcp-init "
                        + c.ccDctcpInitMbps());
            }
            if (!c.service().isEmpty()) {
                long oneConnection = (long) io.tasnetty.engine.flow.TasByteRing.roundUp(c.tcpRxbufLen())
                        + io.tasnetty.engine.flow.TasByteRing.roundUp(c.tcpTxbufLen());
                if (oneConnection > c.serviceAppLen()) {
                    throw SERVICE_APP_LEN.conflict(c.serviceAppLen() + " bytes hold not even one connection's rings"
                            + " (tcp-rxbuf-len + tcp-txbuf-len, rounded up to powers of two: " + oneConnection
                            + "); raise it or lower the ring sizes");
                }
            }
            // cc-const-rate without cc=const-rate, dpdk-extra or kni-name without port=dpdk: accepted
            // (no effect), so one set of -Dtas.* flags can serve several runs.
        }
    }
}
