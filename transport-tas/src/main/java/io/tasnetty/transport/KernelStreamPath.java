package io.tasnetty.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelException;
import io.netty.channel.FileRegion;
import io.netty.channel.IoEvent;
import io.netty.channel.IoRegistration;
import io.netty.channel.nio.NioIoEvent;
import io.netty.channel.nio.NioIoHandle;
import io.netty.channel.nio.NioIoOps;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * A connection through the kernel: a non-blocking JDK {@link SocketChannel} registered with the
 * loop's {@link KernelSelector}. Unlike the engine, the kernel reports readiness only for what the
 * channel asked for (read interest while reading is wanted, write interest while a write waits for
 * room, connect interest while connecting), as Netty's NIO transport does.
 */
final class KernelStreamPath extends StreamPath implements NioIoHandle {
    private final TasSocketChannel channel;
    private final SocketChannel ch;
    private IoRegistration registration;
    private TasIoHandler handler;
    private int interest;
    private InetSocketAddress local;
    private InetSocketAddress remote;

    /** A client socket, not connected yet. */
    KernelStreamPath(TasSocketChannel channel) throws IOException {
        this(channel, SocketChannel.open());
    }

    /** A socket the kernel accepted (or a new client socket). */
    KernelStreamPath(TasSocketChannel channel, SocketChannel ch) throws IOException {
        this.channel = channel;
        this.ch = ch;
        try {
            ch.configureBlocking(false);
            if (ch.isConnected()) {
                cacheAddresses();
            }
        } catch (IOException | RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    SocketChannel socket() {
        return ch;
    }

    @Override
    TasPath kind() {
        return TasPath.KERNEL;
    }

    @Override
    void registered(TasIoRegistration r) throws Exception {
        handler = r.handler();
        registration = handler.registerKernel(this);
        submit();
    }

    @Override
    void deregistered() {
        IoRegistration r = registration;
        registration = null;
        if (r != null) {
            r.cancel();
        }
    }

    private void cacheAddresses() throws IOException {
        local = (InetSocketAddress) ch.getLocalAddress();
        remote = (InetSocketAddress) ch.getRemoteAddress();
    }

    @Override
    InetSocketAddress localAddress() {
        return local;
    }

    @Override
    InetSocketAddress remoteAddress() {
        return remote;
    }

    /** Starts connecting; true if the kernel connected at once (otherwise connect readiness follows). */
    boolean connect(InetSocketAddress remoteAddress, InetSocketAddress localAddress) throws IOException {
        if (localAddress != null) {
            ch.bind(localAddress);
        }
        boolean done = ch.connect(remoteAddress);
        if (done) {
            cacheAddresses();
        } else {
            interest(SelectionKey.OP_CONNECT, true);
        }
        return done;
    }

    @Override
    int read(ByteBuf buf) throws IOException {
        return buf.writeBytes(ch, buf.writableBytes());
    }

    @Override
    boolean inputWaiting() {
        return false; // the selector says so
    }

    @Override
    void readInterest(boolean on) {
        interest(SelectionKey.OP_READ, on);
    }

    @Override
    void discardInput() {
        // shutdownInput() told the kernel: it drops what still arrives.
    }

    @Override
    int gatherLimit() {
        return Integer.MAX_VALUE;
    }

    @Override
    long write(ByteBuffer[] bufs, int count) throws IOException {
        return count == 1 ? ch.write(bufs[0]) : ch.write(bufs, 0, count);
    }

    @Override
    long transfer(FileRegion region) throws IOException {
        return region.transferTo(ch, region.transferred());
    }

    @Override
    boolean transferStalled(long written) {
        return written == 0;
    }

    @Override
    void endWrite() {
        // The kernel sends as it takes the bytes.
    }

    @Override
    void awaitWritable() {
        interest(SelectionKey.OP_WRITE, true);
    }

    @Override
    void shutdownOutput() throws IOException {
        ch.shutdownOutput();
    }

    @Override
    void shutdownInput() throws IOException {
        ch.shutdownInput();
    }

    @Override
    void close(boolean abort) {
        if (abort && ch.isOpen()) {
            try {
                ch.setOption(StandardSocketOptions.SO_LINGER, 0); // close sends RST
            } catch (IOException | RuntimeException ignored) {
                // closing anyway
            }
        }
        boolean wasRegistered = registration != null;
        deregistered();
        closeQuietly();
        if (wasRegistered && handler != null && handler.inLoop()) {
            handler.flushKernelCloses(); // the FIN (or RST) leaves now, not at the loop's next select
        }
    }

    private void closeQuietly() {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing left to do with it
        }
    }

    @Override
    void keepAlive(boolean on) {
        setOption(StandardSocketOptions.SO_KEEPALIVE, on);
    }

    /** Sets a socket option on the kernel socket; a failure becomes a {@link ChannelException}, as NIO's. */
    <T> void setOption(SocketOption<T> option, T value) {
        try {
            ch.setOption(option, value);
        } catch (IOException e) {
            throw new ChannelException(e);
        }
    }

    <T> T getOption(SocketOption<T> option) {
        try {
            return ch.getOption(option);
        } catch (IOException e) {
            throw new ChannelException(e);
        }
    }

    private void interest(int op, boolean on) {
        int next = on ? interest | op : interest & ~op;
        if (next != interest) {
            interest = next;
            submit();
        }
    }

    private void submit() {
        IoRegistration r = registration;
        if (r != null && r.isValid()) {
            r.submit(NioIoOps.valueOf(interest));
        }
    }

    // ------------------------------------------------------------------ NioIoHandle: readiness

    @Override
    public SelectableChannel selectableChannel() {
        return ch;
    }

    @Override
    public void handle(IoRegistration r, IoEvent event) {
        int ready = ((NioIoEvent) event).ops().value();
        // As NIO: finish a connect first, then flush (frees memory sooner), then read.
        if ((ready & SelectionKey.OP_CONNECT) != 0) {
            interest(SelectionKey.OP_CONNECT, false);
            IOException failure = null;
            try {
                if (!ch.finishConnect()) {
                    interest(SelectionKey.OP_CONNECT, true);
                    return;
                }
                cacheAddresses();
            } catch (IOException e) {
                failure = e;
            }
            channel.kernelConnectDone(failure);
            if (failure != null) {
                return;
            }
        }
        if ((ready & SelectionKey.OP_WRITE) != 0) {
            interest(SelectionKey.OP_WRITE, false);
            channel.kernelWritable();
        }
        if ((ready & SelectionKey.OP_READ) != 0) {
            channel.kernelReadable();
        }
    }

    @Override
    public void close() {
        channel.closeFromPath();
    }

    @Override
    public String toString() {
        return "KernelStreamPath[" + ch + "]";
    }
}
