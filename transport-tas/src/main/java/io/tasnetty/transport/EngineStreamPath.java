package io.tasnetty.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.FileRegion;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasException;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * A connection through the engine: reads copy out of its receive ring, writes into its transmit
 * ring, and the engine's events ({@link io.tasnetty.engine.context.TasEvents}) arrive through the
 * loop's context whether or not the channel wants them (bytes simply wait in the ring, which is the
 * back-pressure).
 */
final class EngineStreamPath extends StreamPath {
    /**
     * All of the address space, to copy to and from a direct {@link ByteBuf} by its address
     * without making a view per call. Restricted: the engine needs native access anyway.
     */
    private static final MemorySegment ALL_MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private final TasConnection c;
    private final TasSocketChannel channel;
    private ByteBuffer discardBuffer;
    private WritableByteChannel ringChannel;

    EngineStreamPath(TasSocketChannel channel, TasConnection c) {
        this.channel = channel;
        this.c = c;
    }

    TasConnection connection() {
        return c;
    }

    @Override
    TasPath kind() {
        return TasPath.ENGINE;
    }

    @Override
    void registered(TasIoRegistration r) {
        // Accepted on the parent's loop (or re-registered): from now on events come here. Events
        // reported before this point were dropped; doBeginRead() looks at the ring again.
        c.attach(r);
        c.moveTo(r.context());
    }

    @Override
    void deregistered() {
        // Events keep going to the old context until the next registration moves them.
    }

    @Override
    InetSocketAddress localAddress() {
        return c.localAddress();
    }

    @Override
    InetSocketAddress remoteAddress() {
        return c.remoteAddress();
    }

    @Override
    int read(ByteBuf buf) throws IOException {
        int writable = buf.writableBytes();
        int wi = buf.writerIndex();
        int n;
        if (buf.hasMemoryAddress()) {
            // Straight into the buffer's memory: no ByteBuffer view to make per read.
            n = c.read(ALL_MEMORY, buf.memoryAddress() + wi, writable);
        } else if (buf.nioBufferCount() == 1) {
            n = c.read(buf.internalNioBuffer(wi, writable));
        } else {
            byte[] tmp = new byte[Math.min(writable, 65536)];
            n = c.read(ByteBuffer.wrap(tmp));
            if (n > 0) {
                buf.setBytes(wi, tmp, 0, n);
            }
        }
        if (n > 0) {
            buf.writerIndex(wi + n);
            return n;
        }
        if (n < 0) {
            TasError e = c.error();
            if (e != TasError.NONE && e != TasError.ABORTED && c.isOpen()) {
                throw TasErrors.ioFailed(e); // after the bytes that came before the reset
            }
        }
        return n;
    }

    @Override
    boolean inputWaiting() {
        // What a read would consume or report: bytes, EOF (FIN), or the error that ended the connection.
        return c.readableBytes() > 0 || c.isInputClosed() || c.error() != TasError.NONE;
    }

    @Override
    void readInterest(boolean on) {
        // The engine reports every event; nothing to change.
    }

    @Override
    void discardInput() {
        if (!c.isOpen()) {
            return;
        }
        if (discardBuffer == null) {
            discardBuffer = ByteBuffer.allocateDirect(8192);
        }
        while (c.readableBytes() > 0) {
            discardBuffer.clear();
            if (c.read(discardBuffer) <= 0) {
                break;
            }
        }
    }

    @Override
    int gatherLimit() {
        // At least one byte, so a full ring still takes one short write: that is what makes the
        // engine note that we wait for WRITABLE.
        return Math.max(1, c.writableBytes());
    }

    @Override
    long write(ByteBuffer[] bufs, int count) throws IOException {
        long written = 0;
        try {
            for (int i = 0; i < count; i++) {
                ByteBuffer b = bufs[i];
                written += c.write(b);
                if (b.hasRemaining()) {
                    break; // ring full; the short write registered our interest in WRITABLE
                }
            }
        } catch (TasException e) {
            if (written > 0) {
                return written; // report what went; the next write meets the error again
            }
            throw TasErrors.fromEngine(e);
        }
        return written;
    }

    @Override
    boolean canWriteDirect(ByteBuf buf) {
        return buf.hasMemoryAddress();
    }

    @Override
    long writeDirect(ByteBuf buf) throws IOException {
        try {
            return c.write(ALL_MEMORY, buf.memoryAddress() + buf.readerIndex(), buf.readableBytes());
        } catch (TasException e) {
            throw TasErrors.fromEngine(e);
        }
    }

    @Override
    long transfer(FileRegion region) throws IOException {
        if (ringChannel == null) {
            ringChannel = new RingChannel();
        }
        try {
            return region.transferTo(ringChannel, region.transferred());
        } catch (TasException e) {
            throw TasErrors.fromEngine(e);
        }
    }

    @Override
    boolean transferStalled(long written) {
        // The ring took nothing: that short write registered our interest in WRITABLE. (A ring that
        // merely filled up exactly did not: go round again, so the next transfer's short write does.)
        return written == 0 && c.writableBytes() == 0;
    }

    @Override
    void endWrite() {
        c.flush(); // one hand-off to the engine per doWrite, however many buffers were copied
    }

    @Override
    void awaitWritable() {
        // The short write already told the engine; its WRITABLE event ends the wait.
    }

    @Override
    void shutdownOutput() throws IOException {
        try {
            c.shutdownOutput();
        } catch (TasException e) {
            throw TasErrors.fromEngine(e);
        }
    }

    @Override
    void shutdownInput() {
        // The engine has no receive-side shutdown: reads report EOF from now on and what still
        // arrives is consumed and dropped (Linux acknowledges it too), so the peer is not stalled.
        discardInput();
    }

    @Override
    void close(boolean abort) {
        if (abort) {
            c.abort(); // SO_LINGER 0: RST, unsent data dropped
        } else {
            c.close(); // FIN after what was written; RST if received bytes were never read (as Linux)
        }
    }

    @Override
    void keepAlive(boolean on) {
        c.setKeepAlive(on);
    }

    /** A FileRegion's target: bytes go straight into the transmit ring (short writes when full). */
    private final class RingChannel implements WritableByteChannel {
        @Override
        public int write(ByteBuffer src) {
            return c.write(src);
        }

        @Override
        public boolean isOpen() {
            return channel.isOpen();
        }

        @Override
        public void close() {
        }
    }
}
