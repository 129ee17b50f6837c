package io.tasnetty.engine.slow;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.ScriptedConnection;
import io.tasnetty.engine.TcpTestPeer;
import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.port.PacketBuffer;
import io.tasnetty.engine.port.WirePort;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.wire.Arp;
import io.tasnetty.engine.wire.Ethernet;
import io.tasnetty.engine.wire.Ipv4;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.tasnetty.engine.EngineHarness.bytes;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The ARP cache as Linux's neighbour table: entries age after the reachable time (30 s) and are
 * re-validated by unicast, then broadcast requests while flows use them, instead of being trusted
 * forever or dropped; a neighbour's new MAC (gratuitous ARP, a new answer) moves its established
 * flows, so a replaced gateway or NIC does not black-hole them.
 */
class TasNeighbourTest {
    private static final long MS = 1_000_000L;
    private static final long NEW_MAC = 0x02_00_0A_00_00_99L;

    private final EngineHarness h = new EngineHarness(TasConfig.builder().set("cc", "const-rate"));
    private WirePort moved;

    @AfterEach
    void close() {
        if (moved != null) {
            moved.close();
        }
        h.close();
    }

    /** Runs the clock ms by ms to {@code until} (every ARP exchange happens on time). */
    private void runTo(long until) {
        while (h.now() < until) {
            h.advanceMillis(1);
        }
    }

    /** An active open to the peer: resolves it by ARP (one broadcast, answered). */
    private ScriptedConnection open() {
        ScriptedConnection sc = h.open(80, 5000, 65535, Opts.syn(1460, -1, true, false, 0));
        assertThat(h.peer.arpBroadcastRequests()).isEqualTo(1);
        return sc;
    }

    /** A gratuitous ARP for the peer's address from {@code mac}'s own port (broadcast). */
    private void gratuitousArp(WirePort from, long mac) {
        arp(from, Ethernet.BROADCAST, Arp.OP_REQUEST, mac, TcpTestPeer.IP);
    }

    /** An ARP reply to the engine saying the peer's address is at {@code mac}. */
    private void arpReply(WirePort from, long mac) {
        arp(from, EngineHarness.ENGINE_MAC, Arp.OP_REPLY, mac, EngineHarness.ENGINE_IP);
    }

    private static void arp(WirePort from, long dst, int op, long mac, int targetIp) {
        PacketBuffer[] one = new PacketBuffer[1];
        assertThat(from.alloc(one, 1)).isEqualTo(1);
        PacketBuffer b = one[0];
        Ethernet.write(b.segment, b.offset, dst, mac, Ethernet.TYPE_ARP);
        Arp.write(b.segment, b.offset + Ethernet.HEADER_LENGTH, op, mac, TcpTestPeer.IP,
            op == Arp.OP_REPLY ? EngineHarness.ENGINE_MAC : 0, targetIp);
        b.length = Ethernet.HEADER_LENGTH + Arp.LENGTH;
        assertThat(from.txBurst(0, one, 1)).isEqualTo(1);
    }

    /** IPv4 frames that reached {@code port} (its own MAC only). */
    private static List<PacketBuffer> ipv4Frames(WirePort port) {
        PacketBuffer[] bufs = new PacketBuffer[64];
        List<PacketBuffer> out = new ArrayList<>();
        int n = port.rxBurst(0, bufs, bufs.length);
        for (int i = 0; i < n; i++) {
            if (Ethernet.etherType(bufs[i].segment, bufs[i].offset) == Ethernet.TYPE_IPV4) {
                out.add(bufs[i]);
            } else {
                port.free(bufs[i]);
            }
        }
        return out;
    }

    @Test
    void shouldRevalidateAnEntryInUseByUnicastWhenItsReachableTimeEnds() {
        long t0 = h.now();
        ScriptedConnection sc = open();
        runTo(t0 + 29_999 * MS);
        assertThat(h.peer.arpUnicastRequests()).as("reachable for 30 s").isZero();
        runTo(t0 + 30_001 * MS);
        assertThat(h.peer.arpUnicastRequests()).as("one unicast request to the cached MAC").isEqualTo(1);
        assertThat(h.peer.arpBroadcastRequests()).isEqualTo(1);
        // Answered: reachable for another 30 s, and still used for new connections without a broadcast.
        runTo(t0 + 59_000 * MS);
        assertThat(h.peer.arpUnicastRequests()).isEqualTo(1);
        h.open(81, 7000, 65535, Opts.syn(1460, -1, true, false, 0));
        assertThat(h.peer.arpBroadcastRequests()).isEqualTo(1);
        assertThat(h.engine.counter(TasCounter.ARP_FAILED)).isZero();
        assertThat(sc.conn.state()).isEqualTo(io.tasnetty.engine.flow.TcpState.ESTABLISHED);
    }

    @Test
    void shouldTryBroadcastAfterUnansweredUnicastAndThenDropTheEntry() {
        long t0 = h.now();
        ScriptedConnection sc = open();
        h.peer.answerArp = false;
        runTo(t0 + 30_000 * MS + 6_500 * MS);
        assertThat(h.peer.arpUnicastRequests()).as("three unicast requests, 1 s apart").isEqualTo(3);
        assertThat(h.peer.arpBroadcastRequests()).as("then three broadcasts (after the first resolution)")
            .isEqualTo(1 + 3);
        assertThat(h.engine.counter(TasCounter.ARP_FAILED)).as("the entry is dropped").isEqualTo(1);
        // The flow keeps its MAC (nothing better is known); a new connection must resolve afresh.
        h.peer.answerArp = true;
        sc.write(bytes(10));
        assertThat(h.step()).as("the established flow still sends").hasSize(1);
        h.connect(82);
        h.step();
        assertThat(h.peer.arpBroadcastRequests()).isEqualTo(5);
    }

    @Test
    void shouldForgetAnEntryNoFlowUsesWithoutTraffic() {
        long t0 = h.now();
        ScriptedConnection sc = open();
        sc.conn.abort();
        h.step();
        runTo(t0 + 31_000 * MS);
        assertThat(h.peer.arpUnicastRequests()).isZero();
        assertThat(h.engine.counter(TasCounter.ARP_AGED_OUT)).isEqualTo(1);
    }

    @Test
    void shouldMoveEstablishedFlowsToANeighboursNewMac() {
        long t0 = h.now();
        ScriptedConnection active = open();
        ScriptedConnection passive = h.accept(90); // learned from its SYN: the same next hop
        moved = h.wire.attach("moved", NEW_MAC, 1, 1500, 256);
        moved.start();
        runTo(t0 + 2000 * MS);
        gratuitousArp(moved, NEW_MAC);
        h.step();
        assertThat(h.engine.counter(TasCounter.ARP_MAC_CHANGED)).isEqualTo(1);
        assertThat(h.engine.counter(TasCounter.ARP_FLOWS_MOVED)).isEqualTo(2);
        active.write(bytes(10));
        passive.write(bytes(20));
        assertThat(h.step()).as("nothing goes to the old MAC any more").isEmpty();
        List<PacketBuffer> frames = ipv4Frames(moved);
        assertThat(frames).as("both flows send to the new MAC").hasSize(2);
        for (PacketBuffer b : frames) {
            assertThat(Ethernet.dst(b.segment, b.offset)).isEqualTo(NEW_MAC);
            assertThat(Ipv4.dst(b.segment, b.offset + Ethernet.HEADER_LENGTH)).isEqualTo(TcpTestPeer.IP);
            moved.free(b);
        }
        // New connections use it too, without resolving again.
        long requests = h.engine.counter(TasCounter.ARP_REQUESTS_SENT);
        h.connect(83);
        h.step();
        frames = ipv4Frames(moved);
        assertThat(frames).as("the SYN").hasSize(1);
        frames.forEach(moved::free);
        assertThat(h.engine.counter(TasCounter.ARP_REQUESTS_SENT)).isEqualTo(requests);
    }

    @Test
    void shouldIgnoreASecondAnswerWithAnotherMacWithinTheLocktime() {
        ScriptedConnection sc = open();
        moved = h.wire.attach("moved", NEW_MAC, 1, 1500, 256);
        moved.start();
        arpReply(moved, NEW_MAC); // a second answer right after the one that created the entry
        h.step();
        assertThat(h.engine.counter(TasCounter.ARP_MAC_CHANGED)).isZero();
        assertThat(h.engine.counter(TasCounter.ARP_CHANGES_LOCKED)).isEqualTo(1);
        sc.write(bytes(10));
        assertThat(h.step()).as("still to the peer's MAC").hasSize(1);
        // Later, the same answer is believed.
        h.advanceMillis(1000);
        arpReply(moved, NEW_MAC);
        h.step();
        assertThat(h.engine.counter(TasCounter.ARP_MAC_CHANGED)).isEqualTo(1);
    }

    @Test
    void shouldTakeAGratuitousArpEvenWithinTheLocktime() {
        // Linux's arp_process: an announcement (sender = target) always overrides; a failover
        // right after the flow started must not wait for another ARP that may never come.
        ScriptedConnection sc = open();
        moved = h.wire.attach("moved", NEW_MAC, 1, 1500, 256);
        moved.start();
        gratuitousArp(moved, NEW_MAC);
        h.step();
        assertThat(h.engine.counter(TasCounter.ARP_MAC_CHANGED)).isEqualTo(1);
        sc.write(bytes(10));
        assertThat(h.step()).as("nothing to the old MAC").isEmpty();
        List<PacketBuffer> frames = ipv4Frames(moved);
        assertThat(frames).hasSize(1);
        frames.forEach(moved::free);
    }
}
