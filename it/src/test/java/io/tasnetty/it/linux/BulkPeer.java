package io.tasnetty.it.linux;

import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasException;
import io.tasnetty.engine.context.TasSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * A TAS-side connection handler that sends {@code sendTotal} pseudo-random bytes, then half-closes
 * (FIN), while reading everything the peer sends until its FIN; SHA-256 of both directions.
 * {@link #result} completes when both directions are done (and the connection is closed), or
 * exceptionally on a reset or a failed connect.
 */
final class BulkPeer implements ContextLoop.Handler {
    record Result(long sent, String sentSha256, long received, String receivedSha256) {
    }

    private static final int CHUNK = 64 * 1024;

    final CompletableFuture<Result> result = new CompletableFuture<>();
    private final long sendTotal;
    private final SplittableRandom data;
    private final MessageDigest sentDigest = sha256();
    private final MessageDigest recvDigest = sha256();
    private final ByteBuffer rbuf = ByteBuffer.allocateDirect(CHUNK);
    private final ByteBuffer wbuf = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
    private long generated;
    private long received;
    private boolean connected;
    private boolean shut;
    private boolean eof;

    BulkPeer(long sendTotal, long seed) {
        this.sendTotal = sendTotal;
        this.data = new SplittableRandom(seed);
        wbuf.limit(0);
    }

    @Override
    public void onEvents(TasSocket s, int ev) {
        TasConnection c = (TasConnection) s;
        if (result.isDone()) {
            return;
        }
        if ((ev & TasEvents.CONNECT_FAILED) != 0) {
            result.completeExceptionally(new IllegalStateException("connect failed: " + c.error()));
            c.close(); // gives the rings back
            return;
        }
        if ((ev & TasEvents.RESET) != 0) {
            result.completeExceptionally(new IllegalStateException("connection reset: " + c.error()
                    + " after " + received + " bytes received, " + (generated - wbuf.remaining()) + " sent"));
            c.close();
            return;
        }
        connected |= (ev & (TasEvents.CONNECTED | TasEvents.READABLE | TasEvents.WRITABLE)) != 0;
        try {
            pump(c);
        } catch (TasException e) {
            // A write after the peer's RST and before its RESET event arrives here: the socket's
            // "connection reset by peer" error, as a send() would return ECONNRESET.
            result.completeExceptionally(new IllegalStateException("connection reset: " + e.getMessage()
                    + " (seen by write) after " + received + " bytes received", e));
            c.close();
        }
    }

    private void pump(TasConnection c) {
        while (!eof) {
            rbuf.clear();
            int n = c.read(rbuf);
            if (n < 0 && c.error() != io.tasnetty.engine.context.TasError.NONE) {
                // read() also returns -1 once a reset connection is gone: the error tells them apart.
                result.completeExceptionally(new IllegalStateException("connection reset: " + c.error()
                        + " (seen by read) after " + received + " bytes received"));
                c.close();
                return;
            }
            if (n < 0) {
                eof = true;
            } else if (n == 0) {
                break;
            } else {
                rbuf.flip();
                recvDigest.update(rbuf);
                received += n;
            }
        }
        if (connected && !shut) {
            while (true) {
                if (!wbuf.hasRemaining()) {
                    if (generated == sendTotal) {
                        shut = true;
                        c.shutdownOutput();
                        break;
                    }
                    int len = (int) Math.min(CHUNK, sendTotal - generated);
                    wbuf.clear();
                    while (wbuf.remaining() >= 8) {
                        wbuf.putLong(data.nextLong());
                    }
                    wbuf.flip().limit(len);
                    sentDigest.update(wbuf.duplicate());
                    generated += len;
                }
                c.write(wbuf);
                if (wbuf.hasRemaining()) {
                    break; // ring full: WRITABLE follows
                }
            }
            c.flush();
        }
        if (shut && eof) {
            c.close();
            result.complete(new Result(generated, hex(sentDigest.digest()), received, hex(recvDigest.digest())));
        }
    }

    long received() {
        return received;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
