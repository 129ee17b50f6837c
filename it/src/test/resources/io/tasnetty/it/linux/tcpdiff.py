#!/usr/bin/python3
"""Differential TCP scenarios: one scapy script, played against two TCP stacks (the engine and
the Linux kernel), printing what each answered so the test can compare them.

  tcpdiff.py server PORT
        Linux command server (kernel sockets, one thread per connection). A client sends lines:
        "send N" -> N bytes of the pattern (i % 256 for i in 0..N-1) in one write;
        "close"  -> the server closes (it sends FIN first, so it is the side in TIME_WAIT).
        The engine side runs the same protocol (DiffCommandServer in the test).

  tcpdiff.py run SCENARIO NAME,IFACE,SRCIP,DSTIP,DSTMAC,PORT [...]
        Plays SCENARIO against each target in turn (a raw peer built with scapy that sends and
        receives frames on IFACE through an AF_PACKET socket, so the kernel of the namespace
        stays out of it: the test drops the RSTs that kernel would send for our flows).
        Prints "OBS NAME KEY VALUE" lines, values already normalised (sequence numbers relative
        to each side's ISN, segment sizes as multiples of the first full segment, option kinds
        as sorted sets), and free-form "LOG NAME ..." lines for the report.

Every wait has a timeout; nothing loops without one.
"""
import random
import select
import socket
import sys
import threading
import time

PATTERN = bytes(i % 256 for i in range(1 << 16))


# ---------------------------------------------------------------------------- kernel server

def server(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(128)
    print("server listening", port, flush=True)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def serve(c):
    buf = b""
    try:
        c.settimeout(120)
        while True:
            d = c.recv(65536)
            if not d:
                break
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                words = line.decode("ascii", "replace").split()
                if words[:1] == ["send"]:
                    n = int(words[1])
                    out = (PATTERN * (n // len(PATTERN) + 1))[:n]
                    c.sendall(out)
                elif words[:1] == ["close"]:
                    c.close()
                    return
    except OSError:
        pass
    finally:
        c.close()


# ---------------------------------------------------------------------------- raw peer

def load_scapy():
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    global Ether, IP, TCP, ICMP, Raw, conf
    from scapy.all import Ether, IP, TCP, ICMP, Raw, conf  # noqa: F401


class Peer:
    """One raw TCP endpoint at SRCIP (a random port per connection) talking to DSTIP:PORT."""

    def __init__(self, name, iface, sip, dip, dmac, port):
        self.name, self.iface, self.sip, self.dip, self.dmac, self.port = name, iface, sip, dip, dmac, port
        self.sock = conf.L2socket(iface=iface)
        with open("/sys/class/net/%s/address" % iface) as f:
            self.smac = f.read().strip()
        self.t0 = time.time()
        self.sport = None
        self.ts_recent = 0
        self.ts_on = True
        self.pending = []

    def log(self, *a):
        print("LOG", self.name, *a, flush=True)

    def tsval(self):
        return 1000000 + int((time.time() - self.t0) * 1000)

    def new_port(self):
        self.sport = random.randint(20000, 60000)
        self.pending = []
        return self.sport

    def frame(self, flags, seq, ack=0, payload=b"", win=65535, tos=0, options=None, raw_opts=None, ip_flags="DF"):
        if options is None:
            options = [("NOP", None), ("NOP", None), ("Timestamp", (self.tsval(), self.ts_recent))] if self.ts_on else []
        tcp = TCP(sport=self.sport, dport=self.port, flags=flags, seq=seq & 0xffffffff, ack=ack & 0xffffffff,
                  window=win, options=options)
        if raw_opts is not None:
            # Options the receiver must parse as options, whatever scapy thinks of them: put the
            # bytes after a bare header and claim them with the data offset.
            assert len(raw_opts) % 4 == 0
            tcp = TCP(sport=self.sport, dport=self.port, flags=flags, seq=seq & 0xffffffff, ack=ack & 0xffffffff,
                      window=win, dataofs=5 + len(raw_opts) // 4, options=[])
            payload = raw_opts + payload
        return Ether(src=self.smac, dst=self.dmac) / IP(src=self.sip, dst=self.dip, tos=tos, flags=ip_flags) / tcp / Raw(payload)

    def send(self, *a, **k):
        self.sock.send(self.frame(*a, **k))

    def send_raw(self, pkt):
        self.sock.send(Ether(src=self.smac, dst=self.dmac) / pkt)

    def recv(self, timeout, until=None):
        """Segments from the target to our current port for up to timeout seconds (or until
        until(segment) is true for one). Returns a list of scapy IP packets."""
        out = []
        deadline = time.time() + timeout
        while True:
            while self.pending:
                p = self.pending.pop(0)
                out.append(p)
                if until is not None and until(p):
                    return out
            left = deadline - time.time()
            if left <= 0:
                return out
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return out
            f = self.sock.recv()
            if f is None or IP not in f:
                continue
            ip = f[IP]
            if ip.src != self.dip or ip.dst != self.sip or TCP not in ip or ip[TCP].dport != self.sport:
                continue
            t = ip[TCP]
            for o in t.options:
                if o[0] == "Timestamp":
                    self.ts_recent = o[1][0]
            self.pending.append(ip)

    def recv_one(self, timeout, cond=lambda p: True):
        got = self.recv(timeout, until=cond)
        for p in got:
            if cond(p):
                return p
        return None

    def close(self):
        self.sock.close()


def flags_of(p):
    """TCP flags as a canonical string (FSRPAUEC order)."""
    f = int(p[TCP].flags)
    return "".join(c for c, bit in zip("FSRPAUEC", (1, 2, 4, 8, 16, 32, 64, 128)) if f & bit) or "-"


def opt_kinds(p):
    names = {"MSS": 2, "WScale": 3, "SAckOK": 4, "SAck": 5, "Timestamp": 8}
    ks = set()
    for o in p[TCP].options:
        if o[0] in ("NOP", "EOL"):
            continue
        ks.add(str(names.get(o[0], o[0])))
    return ",".join(sorted(ks)) or "none"


def payload_of(p):
    return bytes(p[TCP].payload)


def sub(a, b):
    return (a - b) & 0xffffffff


class Conn:
    """Sequence state of one raw connection (we are the client)."""

    def __init__(self, peer, mss=1000, sack=True, ts=True, wscale=None, ecn=False, win=65535):
        self.p = peer
        self.iss = random.randint(1 << 20, 1 << 30)
        self.snd_nxt = self.iss
        self.irs = None
        self.rcv_nxt = None
        self.mss, self.sack, self.ts, self.wscale, self.ecn, self.win = mss, sack, ts, wscale, ecn, win
        self.synack = None

    def syn_options(self):
        o = [("MSS", self.mss)]
        if self.sack:
            o.append(("SAckOK", b""))
        if self.ts:
            o.append(("Timestamp", (self.p.tsval(), 0)))
        if self.wscale is not None:
            o += [("NOP", None), ("WScale", self.wscale)]
        return o

    def connect(self, timeout=2.0, port=None):
        self.p.ts_on = self.ts
        if port is None:
            self.p.new_port()
        self.p.send("SEC" if self.ecn else "S", self.iss, options=self.syn_options())
        sa = self.p.recv_one(timeout, lambda q: "S" in flags_of(q))
        if sa is None:
            raise RuntimeError(self.p.name + ": no SYN-ACK")
        self.synack = sa
        self.irs = sa[TCP].seq
        self.rcv_nxt = (self.irs + 1) & 0xffffffff
        self.snd_nxt = (self.iss + 1) & 0xffffffff
        self.ack()
        return sa

    def rel_ack(self, p):
        return sub(p[TCP].ack, self.iss)

    def rel_seq(self, p):
        return sub(p[TCP].seq, self.irs)

    def ack(self, flags="A", win=None, sack_blocks=None):
        opts = None
        if sack_blocks:
            opts = [("NOP", None), ("NOP", None), ("Timestamp", (self.p.tsval(), self.p.ts_recent))] if self.ts else []
            opts += [("NOP", None), ("NOP", None), ("SAck", tuple(x & 0xffffffff for b in sack_blocks for x in b))]
        self.p.send(flags, self.snd_nxt, self.rcv_nxt, win=self.win if win is None else win, options=opts)

    def data(self, payload, flags="PA", tos=0, raw_opts=None):
        self.p.send(flags, self.snd_nxt, self.rcv_nxt, payload=payload, win=self.win, tos=tos, raw_opts=raw_opts)
        self.snd_nxt = (self.snd_nxt + len(payload)) & 0xffffffff

    def request(self, n, flags="PA", tos=0):
        self.data(("send %d\n" % n).encode(), flags=flags, tos=tos)

    def receive(self, n, timeout=3.0, ack_each=True, flags="A"):
        """Receives n in-order bytes, ACKing each segment; returns the segments."""
        got = []
        end = (self.rcv_nxt + n) & 0xffffffff
        deadline = time.time() + timeout
        while self.rcv_nxt != end and time.time() < deadline:
            for q in self.p.recv(deadline - time.time(), until=lambda q: len(payload_of(q)) > 0):
                got.append(q)
                d = payload_of(q)
                if d and q[TCP].seq == self.rcv_nxt:
                    self.rcv_nxt = (self.rcv_nxt + len(d)) & 0xffffffff
                    if ack_each:
                        self.ack(flags=flags)
        return got

    def reset(self):
        self.p.send("R", self.snd_nxt)


# ---------------------------------------------------------------------------- scenarios

def obs(peer, key, value):
    print("OBS", peer.name, key, value, flush=True)


def answer(p, c, cond=lambda q: True, timeout=0.4):
    """The target's first answer (as FLAGS/relack) within timeout, or 'none'."""
    q = p.recv_one(timeout, cond)
    if q is None:
        return "none"
    if c is None or c.irs is None:
        return flags_of(q)
    return "%s/ack=%d" % (flags_of(q), c.rel_ack(q))


def learn_seglen(c):
    """Asks for 3000 bytes and returns the length of the first (full-sized) segment."""
    c.request(3000)
    segs = c.receive(3000)
    lens = [len(payload_of(q)) for q in segs if payload_of(q)]
    if not lens:
        raise RuntimeError(c.p.name + ": no data for 'send 3000'")
    return max(lens)


def connected_with_rtt(p):
    """A connection after a few request/response exchanges (so the sender has an RTT estimate),
    and its full segment length."""
    c = Conn(p)
    c.connect()
    L = learn_seglen(c)
    for _ in range(3):
        c.request(100)
        c.receive(100)
    return c, L


def scenario_time_wait(p):
    """RFC 6191 / RFC 9293 3.6.1: a SYN for a tuple in TIME_WAIT."""
    def into_time_wait():
        c = Conn(p)
        c.connect()
        c.data(b"close\n")
        fin = p.recv_one(2.0, lambda q: "F" in flags_of(q))
        if fin is None:
            raise RuntimeError(p.name + ": no FIN after 'close'")
        c.rcv_nxt = (fin[TCP].seq + len(payload_of(fin)) + 1) & 0xffffffff
        c.p.send("FA", c.snd_nxt, c.rcv_nxt)
        c.snd_nxt = (c.snd_nxt + 1) & 0xffffffff
        last = p.recv_one(1.0, lambda q: c.rel_ack(q) == sub(c.snd_nxt, c.iss))
        obs(p, "close.last_ack", "none" if last is None else flags_of(last))
        time.sleep(0.1)
        return c

    c = into_time_wait()
    port = p.sport
    # An old incarnation's SYN: sequence number below the one TIME_WAIT expects, timestamp not newer.
    p.send("S", c.snd_nxt - 100000, options=[("MSS", 1000), ("SAckOK", b""), ("Timestamp", (p.tsval() - 100000, 0))])
    q = p.recv_one(0.5)
    obs(p, "tw.old_syn", "none" if q is None else "%s/ack=%d" % (flags_of(q), c.rel_ack(q)))
    time.sleep(0.6)
    # A new incarnation: sequence number above the old one, newer timestamp.
    n = Conn(p)
    n.iss = (c.snd_nxt + 1000000) & 0xffffffff
    sa = n.connect(timeout=1.0, port=port)
    obs(p, "tw.new_syn", flags_of(sa))
    n.request(10)
    obs(p, "tw.new_conn_data", len(b"".join(payload_of(q) for q in n.receive(10))))
    n.reset()

    # Second tuple: an old sequence number but a newer timestamp (RFC 6191 2.: timestamps decide).
    c = into_time_wait()
    port = p.sport
    n = Conn(p)
    n.iss = (c.snd_nxt - 100000) & 0xffffffff
    try:
        sa = n.connect(timeout=1.0, port=port)
        obs(p, "tw.oldseq_newts_syn", flags_of(sa))
        n.reset()
    except RuntimeError:
        obs(p, "tw.oldseq_newts_syn", "none")


def scenario_rfc5961(p):
    """RFC 5961 3.2, 4.2, 5.2: blind RST, SYN and ACK injection on an established connection."""
    c = Conn(p)
    c.connect()
    c.request(10)
    c.receive(10)
    time.sleep(0.3)
    # Linux rate-limits challenge ACKs per socket (tcp_invalid_ratelimit, 500 ms): space the probes.
    gap = 0.6
    mine = lambda q: True
    p.send("R", c.snd_nxt + 1000)
    obs(p, "rst_in_window", answer(p, c, mine))
    time.sleep(gap)
    p.send("R", c.snd_nxt + (1 << 30))
    obs(p, "rst_out_of_window", answer(p, c, mine))
    time.sleep(gap)
    p.send("S", c.snd_nxt + 10, options=[("MSS", 1000)])
    obs(p, "syn_in_window", answer(p, c, mine))
    time.sleep(gap)
    p.send("A", c.snd_nxt, c.rcv_nxt - 200000)
    obs(p, "ack_too_old", answer(p, c, mine))
    time.sleep(gap)
    p.send("A", c.snd_nxt, c.rcv_nxt + 100000)
    obs(p, "ack_unsent", answer(p, c, mine))
    time.sleep(gap)
    # The connection must have survived all of that.
    c.request(10)
    obs(p, "alive_after_blind", len(b"".join(payload_of(q) for q in c.receive(10))))
    time.sleep(gap)
    p.send("R", c.snd_nxt)
    obs(p, "rst_exact", answer(p, c, mine))
    time.sleep(0.2)
    c.data(b"send 10\n")
    q = p.recv_one(0.5)
    obs(p, "after_rst_exact", "none" if q is None else flags_of(q))


def ect(q):
    return {0: "not-ect", 1: "ect1", 2: "ect0", 3: "ce"}[q[IP].tos & 3]


def scenario_ecn(p):
    """RFC 3168 6.1: negotiation, ECE latched until CWR, CWR after ECE, ECT only on new data."""
    c = Conn(p, ecn=True)
    sa = c.connect()
    obs(p, "synack_flags", flags_of(sa))
    obs(p, "synack_ip", ect(sa))

    def exchange(tos=0, flags="PA"):
        c.request(100, flags=flags, tos=tos)
        segs = c.receive(100, timeout=2.0, flags="A")
        data = [q for q in segs if payload_of(q)]
        return data

    d = exchange()
    obs(p, "data_ip", ",".join(sorted(set(ect(q) for q in d))) or "none")
    obs(p, "data_ece_before_ce", any("E" in flags_of(q) for q in d))
    # A CE-marked segment: every segment that acknowledges it carries ECE.
    d = exchange(tos=3)
    obs(p, "reply_to_ce_ece", bool(d) and all("E" in flags_of(q) for q in d))
    # Not yet CWR: the receiver keeps echoing (RFC 3168 6.1.3).
    d = exchange()
    obs(p, "ece_latched", bool(d) and all("E" in flags_of(q) for q in d))
    d = exchange(flags="PAC")
    obs(p, "ece_after_cwr", any("E" in flags_of(q) for q in d))
    # Now we echo congestion while data is in flight: the target's next new data must carry CWR,
    # once (RFC 3168 6.1.2). (Linux reacts to ECE only with data outstanding, tcp_ack's no_queue.)
    L = learn_seglen(c)
    c.request(20 * L)
    base = c.rcv_nxt
    segs = []
    first = True
    deadline = time.time() + 3
    while sub(c.rcv_nxt, base) < 20 * L and time.time() < deadline:
        for q in p.recv(deadline - time.time(), until=lambda q: len(payload_of(q)) > 0):
            if payload_of(q) and q[TCP].seq == c.rcv_nxt:
                segs.append(q)
                c.rcv_nxt = (c.rcv_nxt + len(payload_of(q))) & 0xffffffff
                c.ack(flags="AE" if first else "A")
                first = False
    cwr = [sub(q[TCP].seq, base) // L for q in segs if "C" in flags_of(q)]
    obs(p, "cwr_after_ece", len(cwr) > 0)
    obs(p, "cwr_count", len(cwr))
    p.log("ecn: CWR on segment(s)", cwr, "of", len(segs), "after ECE on the ACK of segment 0")
    # Pure ACKs are never ECT (6.1.4): elicit one with an out-of-order segment (immediate dup ACK).
    p.send("PA", c.snd_nxt + 50, c.rcv_nxt, payload=b"x")
    q = p.recv_one(0.5, lambda q: not payload_of(q))
    obs(p, "pure_ack_ip", "none" if q is None else ect(q))
    c.reset()


def scenario_sack(p):
    """RFC 6675 / RFC 8985: three holes in one flight, SACKed; which segments come again."""
    c = Conn(p)
    c.connect()
    L = learn_seglen(c)
    time.sleep(0.05)
    n = 10
    drop = {1, 4, 7}
    c.request(n * L)
    base = c.rcv_nxt
    have = set()
    sacked_once = set()
    retrans = []
    t_last_sack = None
    deadline = time.time() + 5
    first = {}

    def blocks():
        # Contiguous received ranges above rcv_nxt, the one holding the latest arrival first.
        idx = sorted(i for i in have if (base + i * L - c.rcv_nxt) & 0x80000000 == 0 and sub(base + i * L, c.rcv_nxt) > 0)
        rs = []
        for i in idx:
            if rs and rs[-1][1] == i:
                rs[-1][1] = i + 1
            else:
                rs.append([i, i + 1])
        rs.reverse()
        return [(base + a * L, base + b * L) for a, b in rs[:3]]

    while sub(c.rcv_nxt, base) < n * L and time.time() < deadline:
        for q in p.recv(deadline - time.time(), until=lambda q: len(payload_of(q)) > 0):
            d = payload_of(q)
            if not d:
                continue
            i = sub(q[TCP].seq, base) // L
            if i in first:
                retrans.append(i)
            else:
                first[i] = time.time()
                if i in drop:
                    continue  # lost on the way
            if i in have:
                sacked_once.add(i)
            have.add(i)
            while sub(c.rcv_nxt, base) // L in have and sub(c.rcv_nxt, base) < n * L:
                c.rcv_nxt = (c.rcv_nxt + L) & 0xffffffff
            b = blocks()
            c.ack(sack_blocks=b)
            t_last_sack = time.time()
    obs(p, "complete", sub(c.rcv_nxt, base) == n * L)
    obs(p, "holes_retransmitted", ",".join(str(i) for i in sorted(set(retrans) & drop)) or "none")
    # The last segment may come again as a tail loss probe when this script is slower to SACK
    # the flight than the sender's probe timeout (2 SRTT, a few ms here): a race, not SACK's fault.
    obs(p, "spurious", ",".join(str(i) for i in sorted(set(retrans) - drop - {n - 1})) or "none")
    p.log("sack: holes", sorted(drop), "retransmission order", retrans,
          "took %.0f ms after the flight" % ((t_last_sack - first[n - 1]) * 1000 if t_last_sack and n - 1 in first else -1))
    c.reset()


def scenario_tlp(p):
    """RFC 8985 7: the last two segments of a response are lost; the probe resends the last one."""
    c, L = connected_with_rtt(p)
    n = 5
    c.request(n * L)
    base = c.rcv_nxt
    got = {}
    order = []
    t_flight = None
    deadline = time.time() + 5
    while sub(c.rcv_nxt, base) < n * L and time.time() < deadline:
        for q in p.recv(deadline - time.time(), until=lambda q: len(payload_of(q)) > 0):
            d = payload_of(q)
            if not d:
                continue
            i = sub(q[TCP].seq, base) // L
            if i in got:
                order.append((i, time.time() - t_flight))
            else:
                got[i] = True
                if i == n - 1:
                    t_flight = time.time()
                if i >= n - 2 and len(order) == 0:
                    continue  # the tail is lost, first time round
            if q[TCP].seq == c.rcv_nxt:
                c.rcv_nxt = (c.rcv_nxt + len(d)) & 0xffffffff
                while sub(c.rcv_nxt, base) // L in got and sub(c.rcv_nxt, base) // L == n - 1 and any(o[0] == n - 1 for o in order):
                    c.rcv_nxt = (c.rcv_nxt + L) & 0xffffffff
                c.ack()
            else:
                c.ack(sack_blocks=[(q[TCP].seq, q[TCP].seq + len(d))])
    obs(p, "complete", sub(c.rcv_nxt, base) == n * L)
    obs(p, "first_resent", "none" if not order else ("last" if order[0][0] == n - 1 else "segment%d" % order[0][0]))
    p.log("tlp: retransmissions (segment, s after the flight):", [(i, round(t, 3)) for i, t in order])
    c.reset()


def scenario_zero_window(p):
    """RFC 9293 3.8.6.1: a receiver closes its window; the sender probes, then resumes."""
    c = Conn(p)
    c.connect()
    L = learn_seglen(c)
    c.reset()
    # A receiver whose window is two segments from the start (a window is never shrunk, RFC 9293 3.8.6.2.1).
    c = Conn(p, win=2 * L)
    c.connect()
    total = 20 * L
    c.request(total)
    base = c.rcv_nxt
    segs = c.receive(2 * L, timeout=2.0, ack_each=False)
    beyond = [q for q in segs if sub(q[TCP].seq + len(payload_of(q)), base) > 2 * L]
    # Acknowledge both segments: the window is now shut (the right edge stays where it was).
    c.win = 0
    c.ack()
    probes = []
    deadline = time.time() + 1.6
    while time.time() < deadline:
        for q in p.recv(deadline - time.time()):
            d = payload_of(q)
            off = sub(q[TCP].seq, c.rcv_nxt)
            if off & 0x80000000:
                probes.append("old-sequence")  # Linux's tcp_xmit_probe_skb: snd_una - 1, no data
                c.ack()
            elif off == 0 and len(d) == 1:
                probes.append("one-octet")  # RFC 9293 3.8.6.1: one octet of new data
                c.ack()  # still shut: the octet is not taken
            elif d:
                beyond.append(q)
    obs(p, "probes_sent", len(probes) > 0)
    obs(p, "window_violations", len(beyond))
    p.log("zero-window probes in 1.6 s:", probes)
    # Open the window: the rest must come.
    c.win = 65535
    c.ack()
    rest = sub(base + total, c.rcv_nxt)
    got = c.receive(rest, timeout=3.0)
    data = b"".join(payload_of(q) for q in got if payload_of(q))
    obs(p, "resumed_complete", sub(c.rcv_nxt, base) == total)
    p.log("zero-window: probe kinds", sorted(set(probes)), "bytes after reopening", len(data))
    c.reset()


def scenario_bad_options(p):
    """Known options with bad lengths (Linux's tcp_parse_options ignores the option, or stops
    parsing at a length < 2 or past the header, and processes the segment)."""
    mss = b"\x02\x04\x03\xe8"
    sackok = b"\x04\x02"
    ts = lambda: b"\x08\x0a" + p.tsval().to_bytes(4, "big") + b"\x00\x00\x00\x00"
    cases = [
        ("mss_len3", lambda: b"\x02\x03\x05" + b"\x01" + sackok + b"\x01\x01" + ts() + b"\x01\x01"),
        ("wscale_len4", lambda: mss + b"\x03\x04\x07\x00" + sackok + b"\x01\x01" + ts() + b"\x01\x01"),
        ("sackok_len3", lambda: mss + b"\x04\x03\x00\x01" + ts() + b"\x01\x01"),
        ("ts_len8", lambda: mss + sackok + b"\x08\x08" + p.tsval().to_bytes(4, "big") + b"\x00\x00" + b"\x01\x01"),
        ("len0_in_middle", lambda: mss + b"\x01\x01\x63\x00" + sackok + b"\x01\x01" + ts() + b"\x01\x01"),
        ("len_past_end_in_middle", lambda: mss + b"\x01\x01\x63\x1e" + sackok + b"\x01\x01" + ts() + b"\x01\x01"),
    ]
    for name, opts in cases:
        p.new_port()
        p.ts_on = False
        iss = random.randint(1 << 20, 1 << 30)
        p.send("S", iss, raw_opts=opts())
        q = p.recv_one(0.7, lambda q: "S" in flags_of(q) or "R" in flags_of(q))
        obs(p, "syn." + name, "none" if q is None else "%s opts=%s" % (flags_of(q), opt_kinds(q)))
        if q is not None and "S" in flags_of(q):
            p.send("R", iss + 1)
    # Established with timestamps: a data segment whose last option runs past the header.
    c = Conn(p)
    c.connect()
    c.data(b"send 10\n", raw_opts=b"\x01\x01\x08\x0a" + p.tsval().to_bytes(4, "big"))
    got = c.receive(10, timeout=1.0)
    obs(p, "established.truncated_option_data_answered", len(b"".join(payload_of(q) for q in got)))
    c.reset()
    # ... and one whose timestamp option has a wrong (but fitting) length: ignored, data taken.
    c = Conn(p)
    c.connect()
    c.data(b"send 10\n", raw_opts=b"\x01\x01\x08\x06" + p.tsval().to_bytes(4, "big"))
    got = c.receive(10, timeout=1.0)
    obs(p, "established.ts_len6_data_answered", len(b"".join(payload_of(q) for q in got)))
    c.reset()


def scenario_icmp_frag_needed(p):
    """RFC 1191 / RFC 5927: fragmentation needed for a segment in flight, and a forged one."""
    c = Conn(p, mss=1460)
    c.connect()
    L = learn_seglen(c)
    n = 8
    c.request(n * L)
    base = c.rcv_nxt
    flight = []
    deadline = time.time() + 2
    while len(flight) < n and time.time() < deadline:
        flight += [q for q in p.recv(deadline - time.time(), until=lambda q: len(payload_of(q)) > 0) if payload_of(q)]
    obs(p, "flight_df", all(q[IP].flags.DF for q in flight))
    if not flight:
        raise RuntimeError(p.name + ": no flight")
    first = flight[0]
    # A forged error quoting a sequence number far outside the flight: must be ignored (RFC 5927 4.1).
    bogus = first.copy()
    bogus[TCP].seq = (first[TCP].seq - 1000000) & 0xffffffff
    p.send_raw(IP(src=p.sip, dst=p.dip) / ICMP(type=3, code=4, nexthopmtu=576) / bytes(bogus)[:28])
    # The real one: the path takes at most 1000 bytes.
    p.send_raw(IP(src=p.sip, dst=p.dip) / ICMP(type=3, code=4, nexthopmtu=1000) / bytes(first)[:28 + 8])
    sizes = []
    deadline = time.time() + 4
    while sub(c.rcv_nxt, base) < n * L and time.time() < deadline:
        for q in p.recv(deadline - time.time(), until=lambda q: len(payload_of(q)) > 0):
            d = payload_of(q)
            if not d:
                continue
            sizes.append(q[IP].len)
            if q[IP].len > 1000:
                continue  # does not fit the path: a router would drop it
            if q[TCP].seq == c.rcv_nxt:
                c.rcv_nxt = (c.rcv_nxt + len(d)) & 0xffffffff
            c.ack()
    obs(p, "complete", sub(c.rcv_nxt, base) == n * L)
    # Segments sent before the error arrived (a tail loss probe) may still be full-sized; once a
    # segment that fits has come, none may exceed the path again.
    fit = next((i for i, s in enumerate(sizes) if s <= 1000), len(sizes))
    obs(p, "oversized_after_reaction", sum(1 for s in sizes[fit:] if s > 1000))
    obs(p, "largest_fitting", "1000" if 1000 in sizes else ("<=576" if sizes and max(sizes) <= 576 else "other"))
    p.log("icmp: ip lengths after the error:", sizes)
    c.reset()


def scenario_dsack(p):
    """RFC 2883 4.1: a segment that arrives twice is reported in a first SACK block below the ACK."""
    c = Conn(p)
    c.connect()
    seq = c.snd_nxt
    c.data(b"hello\n")  # not a command: the server only reads it
    q = p.recv_one(1.0, lambda q: c.rel_ack(q) == sub(c.snd_nxt, c.iss))
    obs(p, "acked", q is not None)
    time.sleep(0.05)
    p.send("PA", seq, c.rcv_nxt, payload=b"hello\n")  # the same segment again
    q = p.recv_one(0.5)
    blocks = []
    if q is not None:
        for o in q[TCP].options:
            if o[0] == "SAck":
                e = list(o[1])
                blocks = ["%d-%d" % (sub(e[i], c.iss), sub(e[i + 1], c.iss)) for i in range(0, len(e), 2)]
    obs(p, "dup_answer", "none" if q is None else "%s/ack=%d" % (flags_of(q), c.rel_ack(q)))
    obs(p, "dup_sack_blocks", ",".join(blocks) or "none")
    c.reset()


def scenario_reorder(p):
    """RFC 2883 / RFC 3708: a segment that was only delayed is resent on SACK evidence; the
    D-SACK for the needless copy lets the sender undo its window cut (the test reads the
    counters: Linux's TCPDSACKUndo, the engine's TCP_SPURIOUS_RETRANSMIT_UNDOS)."""
    c, L = connected_with_rtt(p)
    n = 10
    c.request(n * L)
    base = c.rcv_nxt
    got = set()
    resent = False
    deadline = time.time() + 3
    while time.time() < deadline and not resent:
        for q in p.recv(deadline - time.time(), until=lambda q: len(payload_of(q)) > 0):
            if not payload_of(q):
                continue
            i = sub(q[TCP].seq, base) // L
            if i in got:
                resent |= i == 1
                continue
            got.add(i)
            if i == 1:
                continue  # delayed in the network: it arrives after the copy
            c.rcv_nxt = (base + L) if 0 in got else base
            above = sorted(j for j in got if j >= 2)
            if above:
                c.ack(sack_blocks=[(base + above[0] * L, base + (above[-1] + 1) * L)])
            else:
                c.ack()
    obs(p, "delayed_segment_resent", resent)
    # The delayed original arrives: everything is acknowledged. Then the copy: a D-SACK.
    c.rcv_nxt = (base + n * L) & 0xffffffff
    c.ack()
    time.sleep(0.02)
    c.ack(sack_blocks=[(base + L, base + 2 * L)])
    time.sleep(0.2)
    c.reset()


SCENARIOS = {
    "reorder": scenario_reorder,
    "dsack": scenario_dsack,
    "time-wait": scenario_time_wait,
    "rfc5961": scenario_rfc5961,
    "ecn": scenario_ecn,
    "sack": scenario_sack,
    "tlp": scenario_tlp,
    "zero-window": scenario_zero_window,
    "bad-options": scenario_bad_options,
    "icmp-frag-needed": scenario_icmp_frag_needed,
}


def run(scenario, targets):
    load_scapy()
    fn = SCENARIOS[scenario]
    for t in targets:
        name, iface, sip, dip, dmac, port = t.split(",")
        p = Peer(name, iface, sip, dip, dmac, int(port))
        try:
            fn(p)
        except Exception as e:  # a scenario that cannot finish is an observation too
            obs(p, "error", repr(e).replace(" ", "_"))
        finally:
            p.close()
    print("DONE", flush=True)


def main(a):
    if a[0] == "server":
        server(int(a[1]))
    elif a[0] == "run":
        run(a[1], a[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
