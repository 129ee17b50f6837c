package io.tasnetty.it.linux;

import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The engine side of tcpdiff.py's command server: a client sends lines, {@code send N} is answered
 * with N bytes of the pattern {@code i % 256}, {@code close} closes the connection (this side sends
 * FIN first, so it is the one in TIME_WAIT). The Linux side runs the same protocol in Python.
 */
final class DiffCommandServer implements ContextLoop.Handler {
    private final ByteBuffer in = ByteBuffer.allocate(256);
    private final ByteBuffer out = ByteBuffer.allocate(64 * 1024);
    private long toSend;
    private long patternPos;
    private boolean closing;
    private boolean done;

    DiffCommandServer() {
        out.limit(0);
    }

    @Override
    public void onEvents(TasSocket s, int ev) {
        TasConnection c = (TasConnection) s;
        if (done) {
            return;
        }
        if ((ev & (TasEvents.RESET | TasEvents.CLOSED)) != 0) {
            finish(c);
            return;
        }
        while (true) {
            int n = c.read(in);
            if (n < 0) {
                finish(c);
                return;
            }
            if (n == 0) {
                break;
            }
            for (int i = 0; i < in.position(); i++) {
                if (in.get(i) == '\n') {
                    command(new String(in.array(), 0, i, StandardCharsets.US_ASCII).trim());
                    in.limit(in.position()).position(i + 1);
                    in.compact();
                    i = -1;
                }
            }
            if (!in.hasRemaining()) {
                in.clear(); // a line longer than any command: drop it
            }
        }
        pump(c);
        if (closing && toSend == 0 && !out.hasRemaining()) {
            finish(c);
        }
    }

    private void command(String line) {
        String[] w = line.split("\\s+");
        if (w[0].equals("send") && w.length == 2) {
            toSend += Long.parseLong(w[1]);
            patternPos = 0; // each response starts the pattern afresh, as the Python server does
        } else if (w[0].equals("close")) {
            closing = true;
        }
    }

    private void pump(TasConnection c) {
        while (true) {
            if (!out.hasRemaining()) {
                if (toSend == 0) {
                    break;
                }
                int len = (int) Math.min(out.capacity(), toSend);
                out.clear();
                for (int i = 0; i < len; i++) {
                    out.put((byte) (patternPos++ & 0xff));
                }
                out.flip();
                toSend -= len;
            }
            c.write(out);
            if (out.hasRemaining()) {
                break; // ring full: WRITABLE follows
            }
        }
        c.flush();
    }

    private void finish(TasConnection c) {
        done = true;
        c.close();
    }
}
