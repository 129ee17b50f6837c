package io.tasnetty.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.FileRegion;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * How a {@link TasSocketChannel} moves its bytes: through the engine ({@link EngineStreamPath})
 * or through a kernel socket ({@link KernelStreamPath}). The channel keeps Netty's contract
 * (pipeline, promises, read loop, outbound buffer, half-closure); the path does the I/O. Chosen
 * once per connection, at connect or accept. Event-loop thread only.
 */
abstract sealed class StreamPath permits EngineStreamPath, KernelStreamPath {

    abstract TasPath kind();

    /** The channel (re)joined the loop of {@code r}. */
    abstract void registered(TasIoRegistration r) throws Exception;

    /** The channel left its loop. */
    abstract void deregistered();

    abstract InetSocketAddress localAddress();

    abstract InetSocketAddress remoteAddress();

    /**
     * Reads into {@code buf}'s writable bytes: the count, 0 when nothing waits, -1 once the peer's
     * FIN was reached. Throws when the connection was reset (after the bytes that came before).
     */
    abstract int read(ByteBuf buf) throws IOException;

    /** Whether a read would now find bytes, EOF or an error (false where the path cannot tell). */
    abstract boolean inputWaiting();

    /** Whether the loop should report input readiness (the kernel's selector needs to be told). */
    abstract void readInterest(boolean on);

    /** After shutdownInput(): consumes and drops what arrived, so the peer is not stalled. */
    abstract void discardInput() throws IOException;

    /** Bytes worth gathering into one write now (at least 1). */
    abstract int gatherLimit();

    /** Writes the first {@code count} buffers in order; returns the bytes taken (fewer: full for now). */
    abstract long write(ByteBuffer[] bufs, int count) throws IOException;

    /** Whether {@link #writeDirect} can take {@code buf} (no ByteBuffer views needed). */
    boolean canWriteDirect(ByteBuf buf) {
        return false;
    }

    /** Writes what of {@code buf}'s readable bytes fits now, without moving its indexes; returns the count. */
    long writeDirect(ByteBuf buf) throws IOException {
        throw new UnsupportedOperationException();
    }

    /** Writes what of {@code region} fits now; returns the bytes taken. */
    abstract long transfer(FileRegion region) throws IOException;

    /** After a transfer that took {@code written} bytes: true if nothing can go until the path says writable. */
    abstract boolean transferStalled(long written);

    /** End of one doWrite: hand what was written on (the engine's one flush per doWrite). */
    abstract void endWrite();

    /** A write came up short: report writability when room opens. */
    abstract void awaitWritable();

    /** Sends FIN after what was written. */
    abstract void shutdownOutput() throws IOException;

    /** Reads report EOF from now on; what still arrives is dropped. */
    abstract void shutdownInput() throws IOException;

    /** Closes the connection: gracefully, or with RST ({@code abort}, SO_LINGER 0). */
    abstract void close(boolean abort);

    /** TCP keepalive on or off. */
    abstract void keepAlive(boolean on);
}
