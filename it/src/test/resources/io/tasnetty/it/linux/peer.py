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
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv[1:])
