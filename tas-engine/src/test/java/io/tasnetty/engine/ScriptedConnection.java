package io.tasnetty.engine;

import io.tasnetty.engine.TcpTestPeer.Opts;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.wire.Tcp;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * One engine connection driven by script: the {@link TasConnection} the application holds, and
 * the peer's view of both sequence spaces, so a test can say "the peer sends 100 bytes" or "the
 * peer acknowledges everything" without spelling out sequence numbers each time.
 *
 * <p>Nothing here is automatic: the peer's {@link #peerSeq} advances only when it sends, and
 * {@link #engineSeq} (what the peer acknowledges) only when the test says so.
 */
public final class ScriptedConnection {
    public final EngineHarness h;
    public final TasConnection conn;
    /** The peer's port and the engine's port of this connection. */
    public final int peerPort;
    public final int enginePort;
    /** Initial sequence numbers of both sides. */
    public final int peerIss;
    public final int engineIss;
    /** Next sequence number the peer sends (the peer's SND.NXT). */
    public int peerSeq;
    /** Next sequence number the peer expects from the engine (the peer's RCV.NXT): its ACK field. */
    public int engineSeq;
    /** Window field of the peer's segments (as sent, before the peer's window scale). */
    public int window = 65535;

    public ScriptedConnection(EngineHarness h, TasConnection conn, int peerPort, int enginePort, int peerIss,
                       int engineIss) {
        this.h = h;
        this.conn = conn;
        this.peerPort = peerPort;
        this.enginePort = enginePort;
        this.peerIss = peerIss;
        this.engineIss = engineIss;
        this.peerSeq = peerIss + 1;
        this.engineSeq = engineIss + 1;
    }

    /** Sends {@code payload} at {@link #peerSeq} with the current ACK and window; advances peerSeq. */
    public void send(int flags, byte[] payload) {
        send(flags, payload, null);
    }

    public void send(int flags, byte[] payload, Opts o) {
        sendAt(peerSeq, engineSeq, flags, window, payload, o);
        peerSeq += payload.length + ((flags & (Tcp.SYN | Tcp.FIN)) != 0 ? 1 : 0);
    }

    /** Data with ACK|PSH at peerSeq. */
    public void data(byte[] payload) {
        send(Tcp.ACK | Tcp.PSH, payload);
    }

    /** FIN|ACK at peerSeq. */
    public void fin() {
        send(Tcp.ACK | Tcp.FIN, new byte[0]);
    }

    /** A pure ACK of {@link #engineSeq} with the current window. */
    public void ack() {
        sendAt(peerSeq, engineSeq, Tcp.ACK, window, new byte[0], null);
    }

    /** Acknowledges {@code ack} (and remembers it as {@link #engineSeq}). */
    public void ack(int ack) {
        engineSeq = ack;
        ack();
    }

    /** Any segment, nothing remembered. */
    public void sendAt(int seq, int ack, int flags, int wnd, byte[] payload, Opts o) {
        h.peer.send(peerPort, EngineHarness.ENGINE_IP, enginePort, seq, ack, flags, wnd, payload, o);
    }

    /** Data at an explicit sequence number (out of order, duplicates); peerSeq is not changed. */
    public void dataAt(int seq, byte[] payload) {
        sendAt(seq, engineSeq, Tcp.ACK | Tcp.PSH, window, payload, null);
    }

    /** Reads everything the application can read now (at most {@code max} bytes). */
    public byte[] read(int max) {
        ByteBuffer b = ByteBuffer.allocate(max);
        int n = conn.read(b);
        if (n <= 0) {
            return new byte[0];
        }
        byte[] out = new byte[n];
        b.flip().get(out);
        return out;
    }

    /** Writes and flushes; returns the bytes the transmit ring took. */
    public int write(byte[] data) {
        int n = conn.write(ByteBuffer.wrap(data));
        conn.flush();
        return n;
    }

    /** Sequence number just past {@code s} (payload, SYN and FIN count). */
    public static int end(Segment s) {
        return s.seq() + s.len() + ((s.flags() & (Tcp.SYN | Tcp.FIN)) != 0 ? 1 : 0);
    }

    /** The segments of this connection in {@code out} that carry payload. */
    public static List<Segment> dataOf(List<Segment> out) {
        return out.stream().filter(s -> s.len() > 0).toList();
    }
}
