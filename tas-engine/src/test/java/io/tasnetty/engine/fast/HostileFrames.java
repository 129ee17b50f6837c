package io.tasnetty.engine.fast;

import io.tasnetty.engine.wire.Arp;
import io.tasnetty.engine.wire.Ethernet;
import io.tasnetty.engine.wire.Ipv4;
import io.tasnetty.engine.wire.Tcp;
import io.tasnetty.engine.wire.TcpOptions;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * A seeded generator of hostile frames for one engine ("A") that has an established connection
 * with a peer ("B"): random bytes, valid Ethernet/IPv4/TCP and ARP frames with mutated fields,
 * truncations, fragments, martian addresses, SYN floods, and segments aimed at the live
 * connection's 4-tuple. Frames are written in place into a packet buffer with the wire flyweights.
 *
 * <p>Segments aimed at the live connection never include what RFC 9293 and RFC 5961 oblige any
 * receiver to accept as the peer's own (those would corrupt the stream by design, not by a bug):
 * data or FIN inside the receive window together with an acceptable ACK, a RST at exactly
 * RCV.NXT, or an ACK of bytes really in flight. Everything else is fair game, including
 * in-window segments with unacceptable ACKs (RFC 5961 5.2) and forged timestamps.
 */
final class HostileFrames {
    /** The kinds of frame, with how many of each a thousand are. */
    enum Kind {
        RANDOM_BYTES(60),
        RANDOM_AFTER_ETHERNET(40),
        ARP(60),
        MUTATED_TCP(250),
        TRUNCATED(60),
        FRAGMENT(40),
        MARTIAN(40),
        SYN_FLOOD(60),
        STRAY(50),
        TUPLE_BLIND(120),
        TUPLE_OUT_OF_WINDOW(100),
        TUPLE_IN_WINDOW_BAD_ACK(80),
        TUPLE_IN_WINDOW_OLD_ACK(40);

        final int weight;

        Kind(int weight) {
            this.weight = weight;
        }
    }

    private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;
    private static final ValueLayout.OfShort SHORT_BE =
        ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt INT_BE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int NOISE = 1 << 16;
    private static final Kind[] TABLE = table();
    /** Source and destination addresses RFC 1122 3.2.1.3 forbids from the wire. */
    private static final int[] MARTIANS = {0x7F000001, 0x7F123456, 0, 0xFFFFFFFF, 0xE0000001, 0xF0000001};

    private final SplittableRandom rng;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment noise;
    private final long macA;
    private final long macB;
    private final long macAttacker;
    private final int ipA;
    private final int ipB;
    private final int[] sackL = new int[4];
    private final int[] sackR = new int[4];
    private int ipId;

    /** The live connection, A's end: its ports and what A's TCB held when the fuzzing started. */
    int portA;
    int portB;
    int sinkPort;
    int rcvNxt;
    int rcvWnd;
    int sndUna;
    int sndMax;
    int peerTsVal;

    final long[] generated = new long[Kind.values().length];

    HostileFrames(long seed, long macA, int ipA, long macB, int ipB, long macAttacker) {
        this.rng = new SplittableRandom(seed);
        this.macA = macA;
        this.ipA = ipA;
        this.macB = macB;
        this.ipB = ipB;
        this.macAttacker = macAttacker;
        this.noise = arena.allocate(NOISE + 2048);
        byte[] r = new byte[(int) noise.byteSize()];
        rng.nextBytes(r);
        MemorySegment.copy(MemorySegment.ofArray(r), 0, noise, 0, r.length);
    }

    /** The weighted draw table; {@code -Dtas.fuzz.kinds=A,B} keeps only those kinds (to chase one finding). */
    private static Kind[] table() {
        String only = System.getProperty("tas.fuzz.kinds", "");
        java.util.List<Kind> t = new java.util.ArrayList<>();
        for (Kind k : Kind.values()) {
            if (only.isEmpty() || java.util.Arrays.asList(only.split(",")).contains(k.name())) {
                for (int j = 0; j < k.weight; j++) {
                    t.add(k);
                }
            }
        }
        return t.toArray(new Kind[0]);
    }

    /** Writes one random hostile frame at {@code o} in {@code s}, at most {@code capacity} bytes; returns its length. */
    int next(MemorySegment s, long o, int capacity) {
        Kind k = TABLE[rng.nextInt(TABLE.length)];
        generated[k.ordinal()]++;
        return switch (k) {
            case RANDOM_BYTES -> randomBytes(s, o, capacity);
            case RANDOM_AFTER_ETHERNET -> randomAfterEthernet(s, o, capacity);
            case ARP -> arp(s, o);
            case MUTATED_TCP -> mutated(s, o, capacity);
            case TRUNCATED -> truncated(s, o);
            case FRAGMENT -> fragment(s, o);
            case MARTIAN -> martian(s, o);
            case SYN_FLOOD -> synFlood(s, o);
            case STRAY -> stray(s, o);
            case TUPLE_BLIND -> tupleBlind(s, o);
            case TUPLE_OUT_OF_WINDOW -> tupleOutOfWindow(s, o);
            case TUPLE_IN_WINDOW_BAD_ACK -> tupleInWindowBadAck(s, o);
            case TUPLE_IN_WINDOW_OLD_ACK -> tupleInWindowOldAck(s, o);
        };
    }

    // ------------------------------------------------------------------ kinds

    int randomBytes(MemorySegment s, long o, int capacity) {
        // Runts (shorter than an Ethernet header) a quarter of the time, else anything that fits.
        int len = rng.nextInt(4) == 0 ? rng.nextInt(Ethernet.HEADER_LENGTH) : rng.nextInt(capacity + 1);
        noise(s, o, len);
        return len;
    }

    private int randomAfterEthernet(MemorySegment s, long o, int capacity) {
        int types = rng.nextInt(8);
        int type = switch (types) {
            case 0 -> Ethernet.TYPE_IPV4;
            case 1 -> Ethernet.TYPE_ARP;
            case 2 -> 0x86DD; // IPv6
            case 3 -> 0x8100; // an 802.1Q tag
            default -> rng.nextInt(0x10000);
        };
        Ethernet.write(s, o, dstMac(), srcMac(), type);
        int len = Ethernet.HEADER_LENGTH + rng.nextInt(capacity - Ethernet.HEADER_LENGTH + 1);
        noise(s, o + Ethernet.HEADER_LENGTH, len - Ethernet.HEADER_LENGTH);
        if (type == Ethernet.TYPE_IPV4 && len >= 34 && rng.nextBoolean()) {
            // Random bytes that at least look like IPv4: version 4, some IHL.
            s.set(BYTE, o + 14, (byte) (0x40 | rng.nextInt(16)));
        }
        return len;
    }

    int arp(MemorySegment s, long o) {
        Ethernet.write(s, o, rng.nextInt(4) == 0 ? Ethernet.BROADCAST : macA, srcMac(), Ethernet.TYPE_ARP);
        long a = o + Ethernet.HEADER_LENGTH;
        int op = switch (rng.nextInt(4)) {
            case 0 -> Arp.OP_REQUEST;
            case 1 -> Arp.OP_REPLY;
            default -> rng.nextInt(0x10000);
        };
        int sender = switch (rng.nextInt(6)) {
            case 0 -> ipA; // someone claims our address
            case 1 -> ipB; // ARP spoofing of the peer: the live flow keeps the MAC it was installed with
            case 2 -> 0;
            default -> rng.nextInt();
        };
        int target = rng.nextInt(3) == 0 ? rng.nextInt() : ipA;
        long senderMac = rng.nextInt(8) == 0 ? Ethernet.BROADCAST : rng.nextLong() & 0xFEFF_FFFF_FFFFL;
        Arp.write(s, a, op, senderMac, sender, rng.nextLong() & 0xFFFF_FFFF_FFFFL, target);
        int len = Ethernet.HEADER_LENGTH + Arp.LENGTH;
        switch (rng.nextInt(6)) {
            case 0 -> s.set(SHORT_BE, a + Arp.HTYPE_OFFSET, (short) rng.nextInt(0x10000));
            case 1 -> s.set(SHORT_BE, a + Arp.PTYPE_OFFSET, (short) rng.nextInt(0x10000));
            case 2 -> s.set(BYTE, a + Arp.HLEN_OFFSET + rng.nextInt(2), (byte) rng.nextInt(256));
            case 3 -> len = rng.nextInt(Ethernet.HEADER_LENGTH, len); // truncated
            case 4 -> {
                len += rng.nextInt(40); // trailing padding
                noise(s, o + Ethernet.HEADER_LENGTH + Arp.LENGTH, len - Ethernet.HEADER_LENGTH - Arp.LENGTH);
            }
            default -> {
            }
        }
        return len;
    }

    /** A valid TCP frame, then one to four field mutations, then checksums fixed or not. */
    private int mutated(MemorySegment s, long o, int capacity) {
        int dst = rng.nextInt(4) == 0 ? rng.nextInt() : ipA;
        int dport = switch (rng.nextInt(4)) {
            case 0 -> sinkPort;
            case 1 -> portA;
            default -> rng.nextInt(0x10000);
        };
        int src = rng.nextBoolean() ? ipB : rng.nextInt();
        int sport = dport == portA && src == ipB ? portB : rng.nextInt(0x10000);
        int len = tcp(s, o, srcMac(), src, dst, sport, dport, rng.nextInt(), rng.nextInt(), rng.nextInt(256),
            rng.nextInt(0x10000), rng.nextInt(7), payloadLength());
        long ip = o + Ethernet.HEADER_LENGTH;
        int mutations = 1 + rng.nextInt(4);
        for (int m = 0; m < mutations; m++) {
            int ihl = (s.get(BYTE, ip) & 0x0F) * 4;
            long tcp = ip + Math.max(20, ihl);
            switch (rng.nextInt(16)) {
                case 0 -> s.set(BYTE, ip, (byte) (rng.nextInt(16) << 4 | s.get(BYTE, ip) & 0x0F)); // version
                case 1 -> s.set(BYTE, ip, (byte) (s.get(BYTE, ip) & 0xF0 | rng.nextInt(16))); // IHL
                case 2 -> Ipv4.totalLength(s, ip, boundary(len - Ethernet.HEADER_LENGTH));
                case 3 -> Ipv4.flagsAndFragmentOffset(s, ip, rng.nextInt(0x10000));
                case 4 -> Ipv4.protocol(s, ip, rng.nextInt(4) == 0 ? 6 : rng.nextInt(256));
                case 5 -> Ipv4.src(s, ip, martianOrRandom());
                case 6 -> Ipv4.dst(s, ip, martianOrRandom());
                case 7 -> s.set(BYTE, tcp + Tcp.DATA_OFFSET_OFFSET, (byte) (rng.nextInt(16) << 4)); // data offset
                case 8 -> Tcp.flags(s, tcp, rng.nextInt(256));
                case 9 -> {
                    // Garbage or malformed options in whatever the header length says they occupy.
                    int thl = Tcp.headerLength(s, tcp);
                    if (thl > 20 && tcp + thl <= o + len) {
                        badOptions(s, tcp + 20, thl - 20);
                    }
                }
                case 10 -> s.set(BYTE, o + rng.nextInt(Math.min(len, 14 + 60 + 60)), (byte) rng.nextInt(256));
                case 11 -> len = rng.nextInt(Ethernet.HEADER_LENGTH, len + 1); // truncate
                case 12 -> {
                    int extra = rng.nextInt(Math.max(1, Math.min(200, capacity - len)));
                    noise(s, o + len, extra); // trailing bytes beyond the IP total length
                    len += extra;
                }
                case 13 -> Tcp.urgentPointer(s, tcp, rng.nextInt(0x10000));
                case 14 -> Tcp.window(s, tcp, rng.nextBoolean() ? 0 : rng.nextInt(0x10000));
                default -> Ipv4.ttl(s, ip, rng.nextInt(256));
            }
        }
        // Wherever the mutations left the TCP header, if it now names the live tuple keep it blind.
        int ihl = (s.get(BYTE, ip) & 0x0F) * 4;
        if (ihl >= 20 && Ethernet.HEADER_LENGTH + ihl + 20 <= len && Ipv4.src(s, ip) == ipB && Ipv4.dst(s, ip) == ipA
            && Tcp.srcPort(s, ip + ihl) == portB && Tcp.dstPort(s, ip + ihl) == portA) {
            makeBlind(s, ip + ihl);
        }
        fixChecksums(s, o, len);
        return len;
    }

    /** A valid frame cut short at a random length (IP total length kept, or fixed to match). */
    private int truncated(MemorySegment s, long o) {
        int full = rng.nextBoolean() ? synFloodFrame(s, o) : tupleBlindFrame(s, o);
        return truncate(s, o, rng.nextInt(full), rng.nextBoolean());
    }

    /** Cuts the frame at {@code o} to {@code len} bytes; optionally rewrites lengths and checksums to match. */
    static int truncate(MemorySegment s, long o, int len, boolean fixLengths) {
        long ip = o + Ethernet.HEADER_LENGTH;
        if (fixLengths && len >= Ethernet.HEADER_LENGTH + 20) {
            int ihl = (s.get(BYTE, ip) & 0x0F) * 4;
            Ipv4.totalLength(s, ip, len - Ethernet.HEADER_LENGTH);
            Ipv4.headerChecksum(s, ip, Ipv4.computeHeaderChecksum(s, ip, ihl));
            int tcpLen = len - Ethernet.HEADER_LENGTH - ihl;
            if (tcpLen >= 18) {
                Tcp.checksum(s, ip + ihl, Tcp.checksum(s, ip + ihl, tcpLen, Ipv4.src(s, ip), Ipv4.dst(s, ip)));
            }
        }
        return len;
    }

    private int fragment(MemorySegment s, long o) {
        int len = rng.nextBoolean() ? synFloodFrame(s, o) : tupleBlindFrame(s, o);
        long ip = o + Ethernet.HEADER_LENGTH;
        int offset = rng.nextBoolean() ? 0 : 1 + rng.nextInt(Ipv4.FRAGMENT_OFFSET_MASK);
        boolean more = offset == 0 || rng.nextBoolean();
        Ipv4.flagsAndFragmentOffset(s, ip, (more ? Ipv4.FLAG_MF : 0) | offset);
        Ipv4.headerChecksum(s, ip, Ipv4.computeHeaderChecksum(s, ip, 20));
        return len;
    }

    private int martian(MemorySegment s, long o) {
        int m = MARTIANS[rng.nextInt(MARTIANS.length)];
        boolean asSource = rng.nextBoolean();
        int src = asSource ? (rng.nextBoolean() ? m : ipA) : ipB; // own address as source: a LAND attack
        int dst = asSource ? ipA : m;
        int dport = rng.nextBoolean() ? sinkPort : rng.nextInt(0x10000);
        int sport = rng.nextInt(8) == 0 ? dport : rng.nextInt(0x10000);
        int flags = rng.nextBoolean() ? Tcp.SYN : rng.nextInt(256);
        return tcp(s, o, srcMac(), src, dst, sport, dport, rng.nextInt(), rng.nextInt(), flags,
            rng.nextInt(0x10000), rng.nextInt(7), payloadLength());
    }

    private int synFlood(MemorySegment s, long o) {
        return synFloodFrame(s, o);
    }

    /** A SYN to the sink listener from a random address in or outside our subnet, random options. */
    private int synFloodFrame(MemorySegment s, long o) {
        int src = rng.nextBoolean() ? (ipA & 0xFFFFFF00) | (2 + rng.nextInt(250)) : rng.nextInt();
        if (src == ipA) {
            src = ipB;
        }
        int flags = Tcp.SYN | (rng.nextInt(4) == 0 ? rng.nextInt(256) & ~(Tcp.RST | Tcp.ACK) : 0);
        return tcp(s, o, srcMac(), src, ipA, 1024 + rng.nextInt(60000), sinkPort, rng.nextInt(), 0, flags,
            rng.nextInt(0x10000), rng.nextBoolean() ? 2 : rng.nextInt(7), rng.nextInt(8) == 0 ? payloadLength() : 0);
    }

    /** Segments for no connection: closed ports, stray ACKs and RSTs. */
    private int stray(MemorySegment s, long o) {
        int dport = rng.nextInt(0x10000);
        if (dport == portA || dport == sinkPort) {
            dport = 9;
        }
        return tcp(s, o, srcMac(), rng.nextBoolean() ? ipB : rng.nextInt(), ipA, rng.nextInt(0x10000), dport,
            rng.nextInt(), rng.nextInt(), rng.nextInt(256), rng.nextInt(0x10000), rng.nextInt(7), payloadLength());
    }

    private int tupleBlind(MemorySegment s, long o) {
        return tupleBlindFrame(s, o);
    }

    /** Random sequence and acknowledgement numbers, flags and options, outside the windows (see class comment). */
    private int tupleBlindFrame(MemorySegment s, long o) {
        int len = tcp(s, o, macB, ipB, ipA, portB, portA, rng.nextInt(), rng.nextInt(), rng.nextInt(256),
            rng.nextInt(0x10000), rng.nextInt(7), payloadLength());
        makeBlind(s, o + Ethernet.HEADER_LENGTH + 20);
        fixChecksums(s, o, len);
        return len;
    }

    /** Moves a segment aimed at the live tuple out of anything RFC 9293 obliges us to accept. */
    private void makeBlind(MemorySegment s, long tcp) {
        int seq = Tcp.seq(s, tcp);
        // Keep the segment at least 1 MiB away from RCV.NXT: no data, FIN or RST can be in the window.
        if (Math.abs(seq - rcvNxt) < (1 << 20)) {
            Tcp.seq(s, tcp, rcvNxt + (1 << 20) + rng.nextInt(1 << 30));
        }
    }

    /** Just outside the receive window, on either side; any flags and ACK. */
    private int tupleOutOfWindow(MemorySegment s, long o) {
        int payload = payloadLength();
        int flags = rng.nextInt(256);
        int span = payload + ((flags & Tcp.SYN) != 0 ? 1 : 0) + ((flags & Tcp.FIN) != 0 ? 1 : 0);
        int seq = rng.nextBoolean()
            ? rcvNxt + rcvWnd + rng.nextInt(rng.nextBoolean() ? 4 : 1 << 20) // at or beyond the right edge
            : rcvNxt - Math.max(1, span) - rng.nextInt(rng.nextBoolean() ? 4 : 1 << 20); // wholly before RCV.NXT
        int len = tcp(s, o, macB, ipB, ipA, portB, portA, seq, ackAnything(), flags, rng.nextInt(0x10000),
            rng.nextInt(7), payload);
        fixChecksums(s, o, len);
        return len;
    }

    /**
     * Inside the receive window (often exactly at RCV.NXT), with an ACK of data never sent: RFC
     * 9293 3.10.7.4 drops it after sending an ACK. A RST never sits at exactly RCV.NXT.
     */
    private int tupleInWindowBadAck(MemorySegment s, long o) {
        int seq = inWindowSeq();
        int flags = rng.nextInt(256) | Tcp.ACK;
        if (seq == rcvNxt) {
            flags &= ~Tcp.RST;
        }
        int ack = sndMax + 1 + rng.nextInt(1 << 30);
        int len = tcp(s, o, macB, ipB, ipA, portB, portA, seq, ack, flags, rng.nextInt(0x10000),
            rng.nextInt(4) == 0 ? rng.nextInt(7) : 1, payloadLength());
        fixChecksums(s, o, len);
        return len;
    }

    /**
     * Inside the receive window with an ACK older than SND.UNA - MAX.SND.WND: RFC 5961 5.2 says
     * drop (and ACK). Without that check a blind attacker who guesses a sequence number in the
     * window injects data with half of all ACK values.
     */
    private int tupleInWindowOldAck(MemorySegment s, long o) {
        int seq = inWindowSeq();
        int flags = rng.nextInt(256) | Tcp.ACK;
        if (seq == rcvNxt) {
            flags &= ~Tcp.RST;
        }
        int ack = sndUna - (1 << 30) - rng.nextInt(1 << 29);
        int len = tcp(s, o, macB, ipB, ipA, portB, portA, seq, ack, flags, rng.nextInt(0x10000),
            rng.nextInt(4) == 0 ? rng.nextInt(7) : 1, payloadLength());
        fixChecksums(s, o, len);
        return len;
    }

    private int inWindowSeq() {
        return rng.nextInt(4) == 0 ? rcvNxt : rcvNxt + rng.nextInt(Math.max(1, rcvWnd));
    }

    // ------------------------------------------------------------------ building blocks

    /**
     * A valid Ethernet/IPv4/TCP frame with correct checksums.
     *
     * @param optMode 0 none, 1 timestamps, 2 SYN options, 3 SACK blocks, 4 garbage, 5 malformed, 6 unknown kinds
     */
    int tcp(MemorySegment s, long o, long srcMac, int srcIp, int dstIp, int sport, int dport, int seq, int ack,
            int flags, int window, int optMode, int payload) {
        long ip = o + Ethernet.HEADER_LENGTH;
        long tcp = ip + 20;
        int optLen = options(s, tcp + 20, optMode);
        int hdr = 20 + optLen;
        Tcp.writeHeader(s, tcp, sport, dport, seq, ack, hdr, flags, window);
        noise(s, tcp + hdr, payload);
        int tcpLen = hdr + payload;
        Ethernet.write(s, o, macA, srcMac, Ethernet.TYPE_IPV4);
        Ipv4.writeHeader(s, ip, 20 + tcpLen, ipId++, rng.nextInt(4), 1 + rng.nextInt(255), Ipv4.PROTO_TCP, srcIp,
            dstIp);
        Ipv4.headerChecksum(s, ip, Ipv4.computeHeaderChecksum(s, ip, 20));
        Tcp.checksum(s, tcp, Tcp.checksum(s, tcp, tcpLen, srcIp, dstIp));
        return Ethernet.HEADER_LENGTH + 20 + tcpLen;
    }

    private int options(MemorySegment s, long off, int mode) {
        return switch (mode) {
            case 0 -> 0;
            case 1 -> TcpOptions.writeAckOptions(s, off, true, tsVal(), rng.nextInt(), sackL, sackR, 0);
            case 2 -> TcpOptions.writeSynOptions(s, off, rng.nextInt(0x10000), rng.nextInt(-1, 256), rng.nextBoolean(),
                rng.nextBoolean(), tsVal(), rng.nextInt());
            case 3 -> {
                int n = 1 + rng.nextInt(4);
                for (int i = 0; i < n; i++) {
                    sackL[i] = rng.nextBoolean() ? rng.nextInt() : sndUna + rng.nextInt(-1000, 1000);
                    sackR[i] = rng.nextBoolean() ? rng.nextInt() : sackL[i] + rng.nextInt(-100, 3000);
                }
                yield TcpOptions.writeAckOptions(s, off, rng.nextBoolean(), tsVal(), rng.nextInt(), sackL, sackR, n);
            }
            case 4 -> {
                int len = 4 * (1 + rng.nextInt(10));
                noise(s, off, len);
                yield len;
            }
            case 5 -> {
                int len = 4 * (1 + rng.nextInt(10));
                badOptions(s, off, len);
                yield len;
            }
            default -> {
                // A well-formed list of unknown kinds with legal lengths, padded with NOPs.
                int len = 4 * (1 + rng.nextInt(10));
                long p = off;
                long end = off + len;
                while (end - p >= 2) {
                    int l = 2 + rng.nextInt((int) (end - p) - 1);
                    s.set(BYTE, p, (byte) (9 + rng.nextInt(240)));
                    s.set(BYTE, p + 1, (byte) l);
                    noise(s, p + 2, l - 2);
                    p += l;
                }
                while (p < end) {
                    s.set(BYTE, p++, (byte) TcpOptions.KIND_NOP);
                }
                yield len;
            }
        };
    }

    /** Options that violate RFC 9293 3.1 / RFC 7323 / RFC 2018 in one of many ways, padded to {@code len}. */
    private void badOptions(MemorySegment s, long off, int len) {
        noise(s, off, len);
        long p = off + (rng.nextBoolean() ? 0 : rng.nextInt(len)); // sometimes after some noise
        int room = (int) (off + len - p);
        if (room < 2) {
            return;
        }
        int kind = switch (rng.nextInt(6)) {
            case 0 -> TcpOptions.KIND_MSS;
            case 1 -> TcpOptions.KIND_WINDOW_SCALE;
            case 2 -> TcpOptions.KIND_SACK_PERMITTED;
            case 3 -> TcpOptions.KIND_TIMESTAMP;
            case 4 -> TcpOptions.KIND_SACK;
            default -> rng.nextInt(256);
        };
        int l = switch (rng.nextInt(5)) {
            case 0 -> 0;
            case 1 -> 1;
            case 2 -> room + 1 + rng.nextInt(200); // runs past the end
            case 3 -> 255;
            default -> rng.nextInt(41);
        };
        s.set(BYTE, p, (byte) kind);
        s.set(BYTE, p + 1, (byte) l);
    }

    /** Recomputes checksums most of the time, so that mutations reach the code past the checksum checks. */
    void fixChecksums(MemorySegment s, long o, int len) {
        int choice = rng.nextInt(10);
        if (choice >= 8 || len < Ethernet.HEADER_LENGTH + 20) {
            return; // leave whatever the mutations made of them
        }
        long ip = o + Ethernet.HEADER_LENGTH;
        int ihl = (s.get(BYTE, ip) & 0x0F) * 4;
        if (ihl >= 20 && Ethernet.HEADER_LENGTH + ihl <= len && choice != 7) {
            Ipv4.headerChecksum(s, ip, Ipv4.computeHeaderChecksum(s, ip, ihl));
        }
        int total = Ipv4.totalLength(s, ip);
        int tcpLen = total - ihl;
        if (ihl >= 20 && tcpLen >= 18 && Ethernet.HEADER_LENGTH + total <= len && choice != 6) {
            long tcp = ip + ihl;
            int sum = Tcp.checksum(s, tcp, tcpLen, Ipv4.src(s, ip), Ipv4.dst(s, ip));
            Tcp.checksum(s, tcp, choice == 5 ? sum ^ (1 << rng.nextInt(16)) : sum);
        }
    }

    private int tsVal() {
        // Timestamps near the peer's clock (either side of it) or anywhere.
        return rng.nextBoolean() ? rng.nextInt() : peerTsVal + rng.nextInt(-(1 << 20), 1 << 20);
    }

    private int ackAnything() {
        return rng.nextBoolean() ? rng.nextInt() : sndUna + rng.nextInt(-(1 << 20), 1 << 20);
    }

    private int payloadLength() {
        return switch (rng.nextInt(4)) {
            case 0, 1 -> 0;
            case 2 -> rng.nextInt(64);
            default -> rng.nextInt(1400);
        };
    }

    private int boundary(int real) {
        return switch (rng.nextInt(6)) {
            case 0 -> 0;
            case 1 -> 19;
            case 2 -> 0xFFFF;
            case 3 -> Math.max(0, real + rng.nextInt(-8, 9));
            default -> rng.nextInt(0x10000);
        };
    }

    private int martianOrRandom() {
        return switch (rng.nextInt(4)) {
            case 0 -> MARTIANS[rng.nextInt(MARTIANS.length)];
            case 1 -> ipB;
            default -> rng.nextInt();
        };
    }

    private long dstMac() {
        return rng.nextInt(8) == 0 ? Ethernet.BROADCAST : macA;
    }

    private long srcMac() {
        // Mostly the attacker's own MAC, so answers go back to it; sometimes random or multicast.
        return switch (rng.nextInt(8)) {
            case 0 -> rng.nextLong() & 0xFFFF_FFFF_FFFFL;
            case 1 -> macB;
            default -> macAttacker;
        };
    }

    private void noise(MemorySegment s, long off, int len) {
        if (len > 0) {
            MemorySegment.copy(noise, rng.nextInt(NOISE), s, off, len);
        }
    }

    void close() {
        arena.close();
    }
}
