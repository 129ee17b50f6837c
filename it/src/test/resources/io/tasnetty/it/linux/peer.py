#!/usr/bin/env python3
"""Linux-side peers for the TAS interop tests (run inside the test's network namespace).

  peer.py conn-client HOST PORT N        open N connections (all at once), echo-check each, close all
  peer.py conn-server PORT N             accept N connections, echo everything, until all N closed
  peer.py reset-client HOST PORT MODE BYTES   MODE recv|send: move BYTES, then close with RST (SO_LINGER 0)
  peer.py reset-server PORT MODE BYTES        accept one, MODE recv|send BYTES, then RST
  peer.py ping HOST N                    N ICMP echo requests (raw socket, root), each must be answered
  peer.py udp-echo PORT N                answer N UDP datagrams with "echo:" + datagram
  peer.py udp-ping HOST PORT N           N datagrams to HOST:PORT, each must come back from udp-echo
  peer.py download HOST PORT             connect, half-close, read to EOF; print bytes, SHA-256, seconds
  peer.py download-for HOST PORT SECS    connect, half-close, read for SECS seconds; print bytes, then close
  peer.py send-server PORT BYTES         accept one connection, send BYTES (a fixed pattern), close
  peer.py reconnect HOST PORT LPORT      twice from local port LPORT: send, read to EOF (the server
                                         closes first), close; print how long the second connect took
  peer.py conn-tally HOST PORT N PAR     N connections, PAR at a time, each echo-checked and closed;
                                         failures are counted, not raised; print ok/failed
  peer.py syn-flood IF DSTMAC SRCNET DSTIP PORT RATE SECONDS
                                         spoofed SYNs from SRCNET.16-254 (random ports, ISNs) at RATE
                                         per second for SECONDS through raw AF_PACKET on IF, frames
                                         built beforehand; print the rate reached
  peer.py bulk-then-dribble HOST PORT BULK N GAP_MS
                                         connect, send BULK bytes at once, then N segments of 100
                                         bytes GAP_MS apart (TCP_NODELAY), close; read to EOF
  peer.py scale-client HOST PORT N SRC1,SRC2,... RELEASE SECS
                                         N concurrent connections spread over the source addresses,
                                         each sends 16 bytes once connected and reads them echoed;
                                         within SECS; resets and failures are counted, not raised;
                                         holds all open until file RELEASE exists, then half-closes
                                         each and counts those the server's FIN (EOF) answers
  peer.py scale-server PORT N SECS RELEASE
                                         the Linux reference for scale-client: an epoll echo server
                                         for N connections that holds them until RELEASE exists

Every mode blocks in the kernel (no busy loops) and prints one summary line; a failure raises
and exits non-zero. Timeouts keep a stuck peer from hanging the test.
"""
import os
import resource
import selectors
import socket
import struct
import sys
import time

TIMEOUT = 60


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("peer closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def conn_client(host, port, n):
    raise_fd_limit(n)
    socks = []
    t0 = time.time()
    for i in range(n):
        s = socket.create_connection((host, port), timeout=TIMEOUT)
        socks.append(s)
    opened = time.time()
    for i, s in enumerate(socks):
        s.sendall(b"conn%06d" % i)
    for i, s in enumerate(socks):
        got = recv_exact(s, 10)
        if got != b"conn%06d" % i:
            raise AssertionError("connection %d echoed %r" % (i, got))
    echoed = time.time()
    for s in socks:
        s.close()
    print("conn-client open=%d connect_s=%.3f echo_s=%.3f" % (len(socks), opened - t0, echoed - opened), flush=True)


def conn_server(port, n):
    raise_fd_limit(n)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(n)
    print("listening", flush=True)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    accepted = closed = open_now = max_open = 0
    deadline = time.time() + TIMEOUT
    while closed < n:
        if time.time() > deadline:
            raise TimeoutError("accepted %d, closed %d of %d" % (accepted, closed, n))
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            if s is ls:
                c, _ = ls.accept()
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                accepted += 1
                open_now += 1
                max_open = max(max_open, open_now)
                continue
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                data = b""
            if data:
                s.sendall(data)  # 10-byte messages: never blocks
            else:
                sel.unregister(s)
                s.close()
                closed += 1
                open_now -= 1
    print("conn-server accepted=%d max_open=%d closed=%d" % (accepted, max_open, closed), flush=True)


def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def transfer(s, mode, nbytes):
    s.settimeout(TIMEOUT)
    moved = 0
    if mode == "recv":
        while moved < nbytes:
            chunk = s.recv(min(65536, nbytes - moved))
            if not chunk:
                raise EOFError("peer closed after %d bytes" % moved)
            moved += len(chunk)
    else:
        block = os.urandom(65536)
        while moved < nbytes:
            moved += s.send(block[: min(65536, nbytes - moved)])
    return moved


def reset_client(host, port, mode, nbytes):
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    moved = transfer(s, mode, nbytes)
    rst_close(s)
    print("reset-client %s=%d rst" % (mode, moved), flush=True)


def reset_server(port, mode, nbytes):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(4)
    ls.settimeout(TIMEOUT)
    print("listening", flush=True)
    c, _ = ls.accept()
    moved = transfer(c, mode, nbytes)
    rst_close(c)
    ls.close()
    print("reset-server %s=%d rst" % (mode, moved), flush=True)


def icmp_checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(host, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(2)
    ident = os.getpid() & 0xFFFF
    answered = 0
    for seq in range(1, n + 1):
        payload = b"tas-kni-%04d" % seq
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        pkt = struct.pack("!BBHHH", 8, 0, icmp_checksum(hdr + payload), ident, seq) + payload
        t0 = time.time()
        s.sendto(pkt, (host, 0))
        while True:
            try:
                data, addr = s.recvfrom(2048)
            except socket.timeout:
                raise AssertionError("no echo reply %d from %s" % (seq, host))
            ihl = (data[0] & 0x0F) * 4
            typ, code, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if addr[0] == host and typ == 0 and rid == ident and rseq == seq and data[ihl + 8:] == payload:
                answered += 1
                print("reply %d from %s in %.3f ms" % (seq, host, (time.time() - t0) * 1000), flush=True)
                break
    print("ping answered=%d" % answered, flush=True)


def udp_echo(port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(TIMEOUT)
    print("listening", flush=True)
    for _ in range(n):
        data, addr = s.recvfrom(2048)
        s.sendto(b"echo:" + data, addr)
    print("udp-echo answered=%d" % n, flush=True)


def udp_ping(host, port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    for i in range(n):
        msg = b"udp-%04d" % i
        s.sendto(msg, (host, port))
        data, _ = s.recvfrom(2048)
        if data != b"echo:" + msg:
            raise AssertionError("udp reply %r" % data)
    print("udp-ping answered=%d" % n, flush=True)


def download(host, port):
    import hashlib
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    s.shutdown(socket.SHUT_WR)
    h = hashlib.sha256()
    total = 0
    t0 = time.time()
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        h.update(chunk)
        total += len(chunk)
    s.close()
    print("download bytes=%d sha256=%s seconds=%.3f" % (total, h.hexdigest(), time.time() - t0), flush=True)


def download_for(host, port, secs):
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    s.shutdown(socket.SHUT_WR)
    total = 0
    end = time.time() + secs
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            chunk = s.recv(1 << 16)
        except socket.timeout:
            break
        if not chunk:
            break
        total += len(chunk)
    s.close()
    print("download-for bytes=%d seconds=%.3f" % (total, secs), flush=True)


def send_server(port, total):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    srv.settimeout(TIMEOUT)
    print("listening", flush=True)
    c, _ = srv.accept()
    # CUBIC, Linux's default, whatever this host chose (a namespace may only use the allowed ones;
    # root may set any available one per socket).
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
    c.settimeout(TIMEOUT * 4)
    chunk = bytes(range(256)) * 256
    sent = 0
    while sent < total:
        n = min(len(chunk), total - sent)
        c.sendall(chunk[:n])
        sent += n
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
    c.close()
    cc = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0").decode()
    print("send-server sent=%d cc=%s" % (sent, cc), flush=True)


def reconnect(host, port, lport):
    connect_s = []
    for i in range(2):
        deadline = time.time() + 5
        while True:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.settimeout(TIMEOUT)
            s.bind(("0.0.0.0", lport))
            t0 = time.time()
            try:
                s.connect((host, port))
                break
            except OSError as e:
                # Our own last socket on this tuple may still wait in LAST_ACK for the final ACK.
                s.close()
                if e.errno != 99 or time.time() > deadline:
                    raise
                time.sleep(0.01)
        connect_s.append(time.time() - t0)
        msg = b"hello-%d" % i
        s.sendall(msg)
        got = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        if got != msg:
            raise AssertionError("connection %d got %r" % (i, got))
        s.close()
    print("reconnect first_connect_s=%.3f second_connect_s=%.3f" % (connect_s[0], connect_s[1]), flush=True)


def conn_tally(host, port, n, par):
    import threading
    raise_fd_limit(par)
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "failed": 0, "errors": {}}

    def worker():
        while True:
            with lock:
                i = state["next"]
                if i >= n:
                    return
                state["next"] = i + 1
            msg = b"conn%06d" % i
            try:
                s = socket.create_connection((host, port), timeout=TIMEOUT)
                try:
                    s.sendall(msg)
                    if recv_exact(s, len(msg)) != msg:
                        raise AssertionError("bad echo")
                finally:
                    s.close()
                with lock:
                    state["ok"] += 1
            except Exception as e:  # counted: the test asserts on the share that completed
                with lock:
                    state["failed"] += 1
                    k = type(e).__name__
                    state["errors"][k] = state["errors"].get(k, 0) + 1

    t0 = time.time()
    threads = [threading.Thread(target=worker) for _ in range(par)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("conn-tally ok=%d failed=%d seconds=%.3f errors=%s" % (state["ok"], state["failed"], time.time() - t0,
          state["errors"]), flush=True)


def inet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total >> 16) + (total & 0xFFFF)
    return ~total & 0xFFFF


def syn_flood(ifname, dstmac, srcnet, dstip, port, rate, seconds):
    import random
    rnd = random.Random(4987)
    dst = socket.inet_aton(dstip)
    dmac = bytes.fromhex(dstmac.replace(":", ""))
    frames = []
    # Distinct spoofed tuples, checksums done now: sending is then one syscall per frame.
    for k in range(65536):
        src = socket.inet_aton("%s.%d" % (srcnet, 16 + k % 239))
        smac = b"\x02\xee" + src  # locally administered, nobody's: the SYN-ACKs die at the interface
        sport = 1024 + rnd.randrange(64000)
        isn = rnd.getrandbits(32)
        opts = struct.pack("!BBH", 2, 4, 1460)
        tcp = struct.pack("!HHIIBBHHH", sport, port, isn, 0, (20 + len(opts)) // 4 << 4, 0x02, 64240, 0, 0) + opts
        csum = inet_checksum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
        tcp = tcp[:16] + struct.pack("!H", csum) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), k & 0xFFFF, 0, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", inet_checksum(ip)) + ip[12:]
        frames.append(dmac + smac + b"\x08\x00" + ip + tcp)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    send = s.send
    print("flooding", flush=True)
    sent = errors = 0
    batch = max(1, rate // 1000)  # paced per millisecond
    t0 = time.time()
    end = t0 + seconds
    i = 0
    nframes = len(frames)
    while True:
        now = time.time()
        if now >= end:
            break
        due = int((now - t0) * rate)
        if sent >= due:
            time.sleep(min(0.001, end - now))
            continue
        for _ in range(min(batch, due - sent)):
            try:
                send(frames[i])
            except OSError:
                errors += 1  # ENOBUFS: the interface queue is full; the frame is not sent
            sent += 1
            i += 1
            if i == nframes:
                i = 0
    took = time.time() - t0
    print("syn-flood sent=%d errors=%d seconds=%.3f rate=%d" % (sent - errors, errors, took,
          (sent - errors) / took), flush=True)


def scale_client(host, port, n, sources, release, seconds):
    raise_fd_limit(n)
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < n + 64:
        raise SystemExit("scale-client: the file limit (%r) is below %d: run several" %
                         (resource.getrlimit(resource.RLIMIT_NOFILE), n + 64))
    srcs = sources.split(",")
    sel = selectors.DefaultSelector()
    t0 = time.time()
    deadline = t0 + seconds
    # Per connection: [index, bytes echoed so far]. A connection sends its 16 bytes as soon as
    # its handshake completes (a request after the final ACK, as a real client's), reads them
    # back, and then stays open, idle, until RELEASE exists. A reset or an early EOF is counted
    # (reset / bad) and the connection dropped: one failure never hides the others' results.
    # At most WINDOW exchanges (handshake + echo) are outstanding at once: a closed loop that
    # runs as fast as the server answers, instead of a burst that overflows the tap's queue (1,000
    # frames) and leaves TCP to recover every drop with a timeout.
    window = 250
    conns = {}
    connected = failed = echoed = bad = reset = 0
    outstanding = 0
    i = 0
    last_echo = t0

    def drop(s, counter):
        sel.unregister(s)
        del conns[s]
        s.close()
        return counter + 1

    while echoed + bad + reset + failed < n and time.time() < deadline:
        while i < n and outstanding < window:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((srcs[i % len(srcs)], 0))
                s.setblocking(False)
                err = s.connect_ex((host, port))
            except OSError:
                err = -1
            if err not in (0, 115):  # EINPROGRESS
                s.close()
                failed += 1
            else:
                conns[s] = [i, 0]
                sel.register(s, selectors.EVENT_WRITE)
                outstanding += 1
            i += 1
        for key, ev in sel.select(timeout=1):
            s = key.fileobj
            st = conns[s]
            if ev & selectors.EVENT_WRITE:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    failed = drop(s, failed)
                    outstanding -= 1
                    continue
                connected += 1
                try:
                    s.send(b"scale-%010d" % st[0])  # 16 bytes: always fit an empty send buffer
                except OSError:
                    reset = drop(s, reset)
                    outstanding -= 1
                    continue
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(64)
            except OSError:
                data = None
            if not data:
                if data is None:
                    reset = drop(s, reset)
                else:
                    bad = drop(s, bad)
                outstanding -= 1
                continue
            if (b"scale-%010d" % st[0])[st[1]:st[1] + len(data)] != data:
                bad = drop(s, bad)
                outstanding -= 1
                continue
            st[1] += len(data)
            if st[1] == 16:
                sel.unregister(s)
                echoed += 1
                outstanding -= 1
                last_echo = time.time()
    timed_out = n - (echoed + bad + reset + failed)
    print("scale-client connected=%d failed=%d echoed=%d bad=%d reset=%d timedout=%d seconds=%.3f" % (
        connected, failed, echoed, bad, reset, timed_out, last_echo - t0), flush=True)
    while not os.path.exists(release):  # the test measures memory while every connection is open
        if time.time() > deadline + 120:
            print("scale-client never released", flush=True)
            break
        time.sleep(0.1)
    # Teardown, as closed a loop: at most WINDOW connections half-closed (our FIN sent) and
    # waiting for the server's FIN (EOF); each one that sees it is closed. A reset counts.
    t1 = time.time()
    pending = [s for s, st in conns.items() if st[1] == 16]
    for s in [s for s, st in conns.items() if st[1] != 16]:
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()
    conns = {}
    closing = 0
    closed = errors = 0
    deadline = t1 + seconds
    while (pending or closing) and time.time() < deadline:
        while pending and closing < window:
            s = pending.pop()
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                s.close()
                errors += 1
                continue
            sel.register(s, selectors.EVENT_READ)
            closing += 1
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            try:
                data = s.recv(64)
            except OSError:
                data = None
            sel.unregister(s)
            s.close()
            closing -= 1
            if data == b"":
                closed += 1
            else:
                errors += 1
    unfinished = len(pending) + closing
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    for s in pending:
        s.close()
    print("scale-client closed=%d errors=%d unfinished=%d close_seconds=%.3f" % (
        closed, errors, unfinished, time.time() - t1), flush=True)


def scale_server(port, n, seconds, release):
    """The Linux reference for scale-client: one epoll (selectors) echo server, as small per
    connection as Python allows (the socket object and its selector entry)."""
    raise_fd_limit(n)
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < n + 64:
        raise SystemExit("scale-server: the file limit (%r) is below %d: run several" %
                         (resource.getrlimit(resource.RLIMIT_NOFILE), n + 64))
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("", port))
    ls.listen(n + 1024)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    print("scale-server listening", flush=True)
    got = {}
    conns = []
    echoed = 0
    deadline = time.time() + seconds
    while echoed < n and time.time() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            if s is ls:
                while True:
                    try:
                        c, _ = ls.accept()
                    except BlockingIOError:
                        break
                    c.setblocking(False)
                    conns.append(c)
                    got[c] = 0
                    sel.register(c, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(64)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                del got[s]
                continue
            s.send(data)  # 16 bytes in all: always fit
            got[s] += len(data)
            if got[s] >= 16:
                sel.unregister(s)  # idle from now on, as the engine's connections
                del got[s]
                echoed += 1
    print("scale-server echoed=%d accepted=%d" % (echoed, len(conns)), flush=True)
    while not os.path.exists(release):
        if time.time() > deadline + 120:
            break
        time.sleep(0.1)
    for c in conns:
        c.close()
    print("scale-server closed=%d" % len(conns), flush=True)


def bulk_then_dribble(host, port, bulk, n, gap_ms):
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    chunk = bytes(range(256)) * 256
    sent = 0
    while sent < bulk:
        k = min(len(chunk), bulk - sent)
        s.sendall(chunk[:k])
        sent += k
    time.sleep(0.5)  # the bulk is acknowledged before the dribble starts
    for i in range(n):
        s.sendall(b"d" * 100)
        time.sleep(gap_ms / 1000.0)
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    s.close()
    print("bulk-then-dribble sent=%d" % (bulk + 100 * n), flush=True)


def main(a):
    mode = a[0]
    if mode == "conn-client":
        conn_client(a[1], int(a[2]), int(a[3]))
    elif mode == "conn-server":
        conn_server(int(a[1]), int(a[2]))
    elif mode == "reset-client":
        reset_client(a[1], int(a[2]), a[3], int(a[4]))
    elif mode == "reset-server":
        reset_server(int(a[1]), a[2], int(a[3]))
    elif mode == "ping":
        ping(a[1], int(a[2]))
    elif mode == "udp-echo":
        udp_echo(int(a[1]), int(a[2]))
    elif mode == "udp-ping":
        udp_ping(a[1], int(a[2]), int(a[3]))
    elif mode == "download":
        download(a[1], int(a[2]))
    elif mode == "download-for":
        download_for(a[1], int(a[2]), float(a[3]))
    elif mode == "send-server":
        send_server(int(a[1]), int(a[2]))
    elif mode == "reconnect":
        reconnect(a[1], int(a[2]), int(a[3]))
    elif mode == "conn-tally":
        conn_tally(a[1], int(a[2]), int(a[3]), int(a[4]))
    elif mode == "syn-flood":
        syn_flood(a[1], a[2], a[3], a[4], int(a[5]), int(a[6]), float(a[7]))
    elif mode == "bulk-then-dribble":
        bulk_then_dribble(a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]))
    elif mode == "scale-server":
        scale_server(int(a[1]), int(a[2]), float(a[3]), a[4])
    elif mode == "scale-client":
        scale_client(a[1], int(a[2]), int(a[3]), a[4], a[5], float(a[6]))
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv[1:])
