package io.tasnetty.engine;

import io.tasnetty.engine.port.PacketBuffer;
import io.tasnetty.engine.port.TasWire;
import io.tasnetty.engine.port.WirePort;
import io.tasnetty.engine.wire.Arp;
import io.tasnetty.engine.wire.Ethernet;
import io.tasnetty.engine.wire.Ipv4;
import io.tasnetty.engine.wire.Tcp;
import io.tasnetty.engine.wire.TcpOptions;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * The far end of a scripted test: a raw port on the same in-JVM wire as the engine under test.
 * It sends hand-built TCP segments and collects what the engine sends back; it answers ARP
 * requests for its own address by itself.
 */
public final class TcpTestPeer implements AutoCloseable {
    public static final long MAC = 0x02_00_0A_00_00_02L;
    public static final int IP = 0x0A000002; // 10.0.0.2

    private final WirePort port;
    private final PacketBuffer[] bufs = new PacketBuffer[64];
    private final Deque<Segment> received = new ArrayDeque<>();
    private final List<byte[]> icmp = new ArrayList<>();
    private int ipId;
    private int arpAnswered;
    private int arpUnicastRequests;
    private int arpBroadcastRequests;
    /** Whether the peer answers ARP requests for its address (false: it has gone away). */
    public boolean answerArp = true;

    /** A TCP segment as seen on the wire. */
    public record Segment(int srcIp, int dstIp, int srcPort, int dstPort, int seq, int ack, int flags, int window,
                          byte[] payload, int mss, int windowScale, boolean sackPermitted, boolean hasTimestamp,
                          int tsVal, int tsEcr, int sackBlocks, int[] sackLeft, int[] sackRight, int ecn,
                          boolean checksumOk) {
        public boolean has(int flag) {
            return (flags & flag) != 0;
        }

        public int len() {
            return payload.length;
        }

        @Override
        public String toString() {
            return Tcp.flagsToString(flags) + " " + srcPort + ">" + dstPort + " seq=" + Integer.toUnsignedString(seq)
                + " ack=" + Integer.toUnsignedString(ack) + " win=" + window + " len=" + payload.length;
        }
    }

    public TcpTestPeer(TasWire wire) {
        this.port = wire.attach("peer", MAC, 1, 1500, 4096);
        port.start();
    }

    /** Options to put on a segment. */
    public static final class Opts {
        int mss = -1;
        int wscale = -1;
        boolean sackPermitted;
        boolean ts;
        int tsVal;
        int tsEcr;
        int[] sackLeft = new int[4];
        int[] sackRight = new int[4];
        int sackBlocks;

        public static Opts none() {
            return new Opts();
        }

        public static Opts syn(int mss, int wscale, boolean sack, boolean ts, int tsVal) {
            Opts o = new Opts();
            o.mss = mss;
            o.wscale = wscale;
            o.sackPermitted = sack;
            o.ts = ts;
            o.tsVal = tsVal;
            return o;
        }

        public Opts timestamps(int val, int ecr) {
            ts = true;
            tsVal = val;
            tsEcr = ecr;
            return this;
        }

        /** SACK blocks (RFC 2018) as left, right pairs of sequence numbers (at most 4 pairs). */
        public Opts sack(int... edges) {
            sackBlocks = edges.length / 2;
            for (int i = 0; i < sackBlocks; i++) {
                sackLeft[i] = edges[2 * i];
                sackRight[i] = edges[2 * i + 1];
            }
            return this;
        }
    }

    /** Sends a TCP segment from the peer to {@code dstIp:dstPort}. */
    public void send(int srcPort, int dstIp, int dstPort, int seq, int ack, int flags, int window, byte[] payload,
                     Opts o) {
        sendRaw(srcPort, dstIp, dstPort, seq, ack, flags, window, payload, o, Ipv4.ECN_NOT_ECT, false);
    }

    public void sendRaw(int srcPort, int dstIp, int dstPort, int seq, int ack, int flags, int window, byte[] payload,
                        Opts o, int ecn, boolean corruptChecksum) {
        PacketBuffer b = alloc();
        MemorySegment s = b.segment;
        long off = b.offset;
        long ipOff = off + Ethernet.HEADER_LENGTH;
        long tcpOff = ipOff + Ipv4.MIN_HEADER_LENGTH;
        int optLen = 0;
        if (o != null) {
            if (o.mss > 0) {
                optLen = TcpOptions.writeSynOptions(s, tcpOff + 20, o.mss, o.wscale, o.sackPermitted, o.ts, o.tsVal,
                    o.tsEcr);
            } else if (o.ts || o.sackBlocks > 0) {
                optLen = TcpOptions.writeAckOptions(s, tcpOff + 20, o.ts, o.tsVal, o.tsEcr, o.sackLeft, o.sackRight,
                    o.sackBlocks);
            }
        }
        int hdr = 20 + optLen;
        Tcp.writeHeader(s, tcpOff, srcPort, dstPort, seq, ack, hdr, flags, window);
        MemorySegment.copy(MemorySegment.ofArray(payload), 0, s, tcpOff + hdr, payload.length);
        int tcpLen = hdr + payload.length;
        Ethernet.write(s, off, EngineHarness.ENGINE_MAC, MAC, Ethernet.TYPE_IPV4);
        Ipv4.writeHeader(s, ipOff, 20 + tcpLen, ipId++, ecn, 64, Ipv4.PROTO_TCP, IP, dstIp);
        Ipv4.headerChecksum(s, ipOff, Ipv4.computeHeaderChecksum(s, ipOff, 20));
        int c = Tcp.checksum(s, tcpOff, tcpLen, IP, dstIp);
        Tcp.checksum(s, tcpOff, corruptChecksum ? c ^ 0x0100 : c);
        b.length = Ethernet.HEADER_LENGTH + 20 + tcpLen;
        transmit(b);
    }

    /** Sends arbitrary bytes as one frame. */
    public void sendFrame(byte[] frame) {
        PacketBuffer b = alloc();
        MemorySegment.copy(MemorySegment.ofArray(frame), 0, b.segment, b.offset, frame.length);
        b.length = frame.length;
        transmit(b);
    }

    private PacketBuffer alloc() {
        PacketBuffer[] one = new PacketBuffer[1];
        if (port.alloc(one, 1) != 1) {
            throw new IllegalStateException("peer out of buffers");
        }
        return one[0];
    }

    private void transmit(PacketBuffer b) {
        PacketBuffer[] one = {b};
        if (port.txBurst(0, one, 1) != 1) {
            port.free(b);
            throw new IllegalStateException("peer tx refused");
        }
    }

    /** Collects what arrived (answering ARP); returns the TCP segments received, oldest first. */
    public List<Segment> drain() {
        int n;
        while ((n = port.rxBurst(0, bufs, bufs.length)) > 0) {
            for (int i = 0; i < n; i++) {
                PacketBuffer b = bufs[i];
                try {
                    parse(b);
                } finally {
                    port.free(b);
                    bufs[i] = null;
                }
            }
        }
        List<Segment> l = new ArrayList<>(received);
        received.clear();
        return l;
    }

    private void parse(PacketBuffer b) {
        MemorySegment s = b.segment;
        long o = b.offset;
        int type = Ethernet.etherType(s, o);
        if (type == Ethernet.TYPE_ARP) {
            long a = o + Ethernet.HEADER_LENGTH;
            if (Arp.op(s, a) == Arp.OP_REQUEST && Arp.targetIp(s, a) == IP) {
                if (Ethernet.dst(s, o) == Ethernet.BROADCAST) {
                    arpBroadcastRequests++;
                } else {
                    arpUnicastRequests++;
                }
                if (!answerArp) {
                    return;
                }
                PacketBuffer r = alloc();
                Ethernet.write(r.segment, r.offset, Arp.senderMac(s, a), MAC, Ethernet.TYPE_ARP);
                Arp.write(r.segment, r.offset + 14, Arp.OP_REPLY, MAC, IP, Arp.senderMac(s, a), Arp.senderIp(s, a));
                r.length = 14 + Arp.LENGTH;
                transmit(r);
                arpAnswered++;
            }
            return;
        }
        if (type != Ethernet.TYPE_IPV4) {
            return;
        }
        long ipOff = o + 14;
        int ihl = Ipv4.headerLength(s, ipOff);
        if (Ipv4.protocol(s, ipOff) == Ipv4.PROTO_ICMP) {
            byte[] whole = new byte[Ipv4.totalLength(s, ipOff)];
            MemorySegment.copy(s, ipOff, MemorySegment.ofArray(whole), 0, whole.length);
            icmp.add(whole);
            return;
        }
        long tcpOff = ipOff + ihl;
        int tcpLen = Ipv4.totalLength(s, ipOff) - ihl;
        int thl = Tcp.headerLength(s, tcpOff);
        TcpOptions opts = new TcpOptions();
        opts.parse(s, tcpOff + 20, thl - 20);
        byte[] payload = new byte[tcpLen - thl];
        MemorySegment.copy(s, tcpOff + thl, MemorySegment.ofArray(payload), 0, payload.length);
        int src = Ipv4.src(s, ipOff);
        int dst = Ipv4.dst(s, ipOff);
        boolean ok = Ipv4.isHeaderChecksumValid(s, ipOff, ihl) && Tcp.isChecksumValid(s, tcpOff, tcpLen, src, dst);
        received.add(new Segment(src, dst, Tcp.srcPort(s, tcpOff), Tcp.dstPort(s, tcpOff), Tcp.seq(s, tcpOff),
            Tcp.ack(s, tcpOff), Tcp.flags(s, tcpOff), Tcp.window(s, tcpOff), payload, opts.mss, opts.windowScale,
            opts.sackPermitted, opts.hasTimestamp, opts.tsVal, opts.tsEcr, opts.sackBlocks, opts.sackLeft.clone(),
            opts.sackRight.clone(), Ipv4.ecn(s, ipOff), ok));
    }

    /** The IPv4 packets carrying ICMP that arrived since the last call (header included), oldest first. */
    public List<byte[]> takeIcmp() {
        List<byte[]> l = new ArrayList<>(icmp);
        icmp.clear();
        return l;
    }

    /** ARP requests for the peer's address that came by unicast (re-validation) and by broadcast. */
    public int arpUnicastRequests() {
        return arpUnicastRequests;
    }

    public int arpBroadcastRequests() {
        return arpBroadcastRequests;
    }

    /** ARP requests answered so far. */
    public int arpAnswered() {
        return arpAnswered;
    }

    @Override
    public void close() {
        drain();
        port.close();
    }
}
