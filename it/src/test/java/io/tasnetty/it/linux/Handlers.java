package io.tasnetty.it.linux;

import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/** Small connection handlers for the many-connection and reset tests (they run on a {@link ContextLoop}). */
final class Handlers {
    private Handlers() {
    }

    /** Counters shared by the handlers of one test. */
    static final class Stats {
        final AtomicInteger open = new AtomicInteger();
        final AtomicInteger maxOpen = new AtomicInteger();
        final AtomicInteger connected = new AtomicInteger();
        final AtomicInteger echoed = new AtomicInteger();
        final AtomicInteger closed = new AtomicInteger();
        final AtomicInteger resets = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();

        void opened() {
            maxOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
        }

        @Override
        public String toString() {
            return "open=" + open + " maxOpen=" + maxOpen + " connected=" + connected + " echoed=" + echoed
                    + " closed=" + closed + " resets=" + resets + " failed=" + failed;
        }
    }

    /** Server side: echoes every byte; closes when the peer closes. */
    static final class Echo implements ContextLoop.Handler {
        private final Stats stats;
        private final ByteBuffer buf = ByteBuffer.allocate(4096);
        private boolean counted;
        private boolean done;

        Echo(Stats stats) {
            this.stats = stats;
        }

        @Override
        public void onEvents(TasSocket s, int ev) {
            TasConnection c = (TasConnection) s;
            if (done) {
                return;
            }
            if (!counted) {
                counted = true;
                stats.opened();
            }
            if ((ev & TasEvents.RESET) != 0) {
                stats.resets.incrementAndGet();
                finish(c);
                return;
            }
            while (true) {
                if (buf.position() == 0) {
                    int n = c.read(buf);
                    if (n < 0) {
                        finish(c);
                        return;
                    }
                    if (n == 0) {
                        break;
                    }
                }
                buf.flip();
                c.write(buf);
                buf.compact();
                if (buf.position() > 0) {
                    break; // ring full: WRITABLE follows
                }
            }
            c.flush();
        }

        private void finish(TasConnection c) {
            done = true;
            c.close();
            stats.open.decrementAndGet();
            stats.closed.incrementAndGet();
        }
    }

    /** Client side: on connect sends {@code message}, expects it echoed, then waits for {@link #close}. */
    static final class Ping implements ContextLoop.Handler {
        private final Stats stats;
        private final byte[] message;
        private final ByteBuffer in;
        TasConnection conn;
        private boolean sent;

        Ping(Stats stats, String message) {
            this.stats = stats;
            this.message = message.getBytes(StandardCharsets.US_ASCII);
            this.in = ByteBuffer.allocate(this.message.length);
        }

        @Override
        public void onEvents(TasSocket s, int ev) {
            TasConnection c = (TasConnection) s;
            conn = c;
            if ((ev & TasEvents.CONNECT_FAILED) != 0) {
                stats.failed.incrementAndGet();
                c.close(); // gives the rings back
                return;
            }
            if ((ev & TasEvents.RESET) != 0) {
                stats.resets.incrementAndGet();
                c.close();
                return;
            }
            if ((ev & TasEvents.CONNECTED) != 0 && !sent) {
                sent = true;
                stats.connected.incrementAndGet();
                stats.opened();
                c.write(ByteBuffer.wrap(message));
                c.flush();
            }
            if (in.hasRemaining()) {
                int n = c.read(in);
                if (!in.hasRemaining()) {
                    if (!new String(in.array(), StandardCharsets.US_ASCII)
                            .equals(new String(message, StandardCharsets.US_ASCII))) {
                        throw new AssertionError("echo mismatch: " + new String(in.array(), StandardCharsets.US_ASCII));
                    }
                    stats.echoed.incrementAndGet();
                } else if (n < 0) {
                    stats.failed.incrementAndGet();
                }
            }
        }

        /** Closes the connection (call on the loop). */
        void close() {
            if (conn != null && conn.isOpen()) {
                conn.close();
                stats.open.decrementAndGet();
                stats.closed.incrementAndGet();
            }
        }
    }
}
