package io.tasnetty.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.FileRegion;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.internal.StringUtil;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasError;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasException;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.AlreadyConnectedException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ConnectionPendingException;
import java.nio.channels.NotYetConnectedException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.TimeUnit;

/**
 * A TCP connection on a TAS engine: the drop-in for {@code NioSocketChannel}.
 *
 * <p>Reads copy from the connection's receive ring into buffers from the channel's
 * {@link RecvByteBufAllocator}; while reading is off (no {@code read()} pending, autoRead off) the
 * bytes stay in the ring, whose free space is the window the engine advertises: that is the
 * back-pressure. Writes copy from the {@link ChannelOutboundBuffer} into the transmit ring, several
 * buffers per call (gathering), and hand them to the engine with one flush per
 * {@link #doWrite}; a full ring leaves the rest in the outbound buffer (so writability follows the
 * water marks) until the engine reports {@link TasEvents#WRITABLE}.
 */
public final class TasSocketChannel extends AbstractTasChannel implements SocketChannel {
    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);
    /** Most buffers gathered into one engine write. */
    private static final int MAX_GATHER = 1024;

    private final TasSocketChannelConfig config;
    private TasConnection connection;
    private volatile InetSocketAddress local;
    private volatile InetSocketAddress remote;
    /** Client only: the address a bind() before connect asked for. */
    private InetSocketAddress requestedLocal;
    private ChannelPromise connectPromise;
    private Future<?> connectTimeoutFuture;
    private InetSocketAddress requestedRemote;
    private volatile boolean inputShutdown;
    private volatile boolean outputShutdown;
    private boolean inputClosedSeenErrorOnRead;
    /** The transmit ring was full: wait for the engine's WRITABLE before writing again. */
    private boolean waitingForWritable;
    private boolean flushScheduled;
    private ByteBuffer discardBuffer;
    private WritableByteChannel ringChannel;
    private final Runnable flushTask = () -> {
        flushScheduled = false;
        ((TasSocketUnsafe) unsafe()).flush0();
    };

    /** A client channel (Netty's reflective channel factory uses this constructor). */
    public TasSocketChannel() {
        super(null);
        this.config = new TasSocketChannelConfig(this);
    }

    /** A connection accepted by {@code parent}; it joins its own loop when it registers. */
    TasSocketChannel(TasServerSocketChannel parent, TasConnection connection) {
        super(parent);
        this.config = new TasSocketChannelConfig(this);
        this.connection = connection;
        this.local = connection.localAddress();
        this.remote = connection.remoteAddress();
        this.active = true;
    }

    @Override
    public ServerSocketChannel parent() {
        return (ServerSocketChannel) super.parent();
    }

    @Override
    public TasSocketChannelConfig config() {
        return config;
    }

    @Override
    public ChannelMetadata metadata() {
        return METADATA;
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) super.remoteAddress();
    }

    @Override
    protected SocketAddress localAddress0() {
        return local;
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return remote;
    }

    TasConnection connection() {
        return connection;
    }

    int defaultRxBufLen() {
        TasIoRegistration r = registration;
        return TasDefaults.rxBufLen(r == null ? null : r.engine());
    }

    int defaultTxBufLen() {
        TasIoRegistration r = registration;
        return TasDefaults.txBufLen(r == null ? null : r.engine());
    }

    void applyKeepAlive(boolean on) {
        TasConnection c = connection;
        if (c != null) {
            c.setKeepAlive(on);
        }
    }

    void clearReadPending() {
        if (isRegistered()) {
            EventLoop loop = eventLoop();
            if (loop.inEventLoop()) {
                ((TasSocketUnsafe) unsafe()).clearReadPending();
            } else {
                loop.execute(((TasSocketUnsafe) unsafe())::clearReadPending);
            }
        } else {
            ((TasSocketUnsafe) unsafe()).clearReadPending();
        }
    }

    @Override
    void registered(TasIoRegistration r) {
        TasConnection c = connection;
        if (c != null) {
            // Accepted on the parent's loop (or re-registered): from now on events come here. Events
            // reported before this point were dropped; doBeginRead() looks at the ring again.
            c.attach(r);
            c.moveTo(r.context());
            if (config.isKeepAlive()) {
                c.setKeepAlive(true);
            }
        }
    }

    // ------------------------------------------------------------------ connect

    @Override
    protected void doBind(SocketAddress localAddress) throws Exception {
        InetSocketAddress a = (InetSocketAddress) localAddress;
        if (a.isUnresolved()) {
            throw new UnresolvedAddressException();
        }
        if (connection != null) {
            throw new AlreadyConnectedException();
        }
        requestedLocal = a; // the engine binds when the connection opens
    }

    private boolean doConnect(SocketAddress remoteAddress, SocketAddress localAddress) throws Exception {
        if (localAddress != null) {
            doBind(localAddress);
        }
        InetSocketAddress r = (InetSocketAddress) remoteAddress;
        if (r.isUnresolved()) {
            throw new UnresolvedAddressException();
        }
        TasContext ctx = registrationOrThrow().context();
        TasConnection c;
        try {
            c = ctx.connect(r, requestedLocal, config.requestedReceiveBufferSize(), config.requestedSendBufferSize());
        } catch (TasException e) {
            SocketException se = new SocketException(e.getMessage());
            se.initCause(e);
            throw se;
        }
        c.attach(registration);
        if (config.isKeepAlive()) {
            c.setKeepAlive(true);
        }
        connection = c;
        requestedRemote = r;
        return false; // the engine answers with CONNECTED or CONNECT_FAILED
    }

    private void finishConnect(int events) {
        TasConnection c = connection;
        ChannelPromise promise = connectPromise;
        connectPromise = null;
        if (connectTimeoutFuture != null) {
            connectTimeoutFuture.cancel(false);
            connectTimeoutFuture = null;
        }
        if ((events & TasEvents.CONNECTED) != 0) {
            boolean wasActive = isActive();
            local = c.localAddress();
            remote = c.remoteAddress();
            active = true;
            // Sample before completing the promise: a listener may close the channel at once, and
            // channelActive must still come before its channelInactive.
            boolean nowActive = isActive();
            boolean promiseSet = promise != null && promise.trySuccess();
            if (!wasActive && nowActive) {
                pipeline().fireChannelActive();
            }
            if (!promiseSet) {
                // Cancelled (or timed out) meanwhile.
                unsafe().close(unsafe().voidPromise());
            }
        } else {
            IOException cause = TasErrors.connectFailed(c.error());
            connection = null;
            c.close(); // gives the rings back
            if (promise != null) {
                promise.tryFailure(((TasSocketUnsafe) unsafe()).annotate(cause, requestedRemote));
            }
            // As NIO: a socket whose connect failed is closed.
            unsafe().close(unsafe().voidPromise());
        }
    }

    // ------------------------------------------------------------------ read

    private boolean shouldBreakReadReady(ChannelConfig config) {
        return !isOpen() || inputShutdown && (inputClosedSeenErrorOnRead || !config().isAllowHalfClosure());
    }

    /** Copies from the receive ring into {@code buf}; -1 at EOF; throws if the connection was reset. */
    @SuppressWarnings("deprecation") // RecvByteBufAllocator.Handle: what Channel.Unsafe hands out
    private int doReadBytes(ByteBuf buf, RecvByteBufAllocator.Handle allocHandle) throws IOException {
        TasConnection c = connection;
        int writable = buf.writableBytes();
        allocHandle.attemptedBytesRead(writable);
        if (inputShutdown) {
            return -1;
        }
        int n;
        int wi = buf.writerIndex();
        if (buf.nioBufferCount() == 1) {
            ByteBuffer nio = buf.internalNioBuffer(wi, writable);
            n = c.read(nio);
        } else {
            byte[] tmp = new byte[Math.min(writable, 65536)];
            n = c.read(ByteBuffer.wrap(tmp));
            if (n > 0) {
                buf.setBytes(wi, tmp, 0, n);
            }
        }
        if (n > 0) {
            buf.writerIndex(wi + n);
            registration.handler().stats().add(TasLoopStats.BYTES_READ, n);
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

    /** Consumes and drops what arrives after shutdownInput(), so the peer is not stalled by a full window. */
    private void discardInput() {
        TasConnection c = connection;
        if (c == null || !c.isOpen()) {
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

    private void closeOnRead(ChannelPipeline pipeline) {
        if (!inputShutdown) {
            if (config.isAllowHalfClosure()) {
                inputShutdown = true;
                pipeline.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            } else {
                unsafe().close(unsafe().voidPromise());
                return;
            }
        }
        if (!inputClosedSeenErrorOnRead) {
            inputClosedSeenErrorOnRead = true;
            pipeline.fireUserEventTriggered(ChannelInputShutdownReadComplete.INSTANCE);
        }
    }

    // ------------------------------------------------------------------ write

    @Override
    protected Object filterOutboundMessage(Object msg) {
        if (msg instanceof ByteBuf || msg instanceof FileRegion) {
            return msg;
        }
        throw new UnsupportedOperationException("unsupported message type: " + StringUtil.simpleClassName(msg)
            + " (expected: ByteBuf, FileRegion)");
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) throws Exception {
        TasConnection c = connection;
        TasLoopStats stats = registration.handler().stats();
        int spin = config.getWriteSpinCount();
        boolean ringFull = false;
        try {
            while (spin-- > 0 && !in.isEmpty()) {
                Object msg = in.current();
                long written;
                if (msg instanceof ByteBuf) {
                    // Gather as many buffers as the ring has room for (at least the first one, so a
                    // full ring makes the engine note that we wait for WRITABLE).
                    ByteBuffer[] bufs = in.nioBuffers(MAX_GATHER, Math.max(1, c.writableBytes()));
                    int count = in.nioBufferCount();
                    written = 0;
                    for (int i = 0; i < count; i++) {
                        ByteBuffer b = bufs[i];
                        written += c.write(b);
                        if (b.hasRemaining()) {
                            ringFull = true;
                            break;
                        }
                    }
                    in.removeBytes(written);
                } else if (msg instanceof FileRegion region) {
                    if (ringChannel == null) {
                        ringChannel = new RingChannel();
                    }
                    written = region.transferTo(ringChannel, region.transferred());
                    if (written > 0) {
                        in.progress(written);
                    }
                    if (region.transferred() >= region.count()) {
                        in.remove();
                    } else if (written == 0 && c.writableBytes() == 0) {
                        // The ring took nothing: that short write registered our interest in
                        // WRITABLE. (A ring that merely filled up exactly did not: go round again,
                        // so the next transfer's short write registers it.)
                        ringFull = true;
                    }
                } else {
                    in.remove(new UnsupportedOperationException("unsupported message type: "
                        + StringUtil.simpleClassName(msg)));
                    continue;
                }
                if (written > 0) {
                    stats.add(TasLoopStats.BYTES_WRITTEN, written);
                }
                if (ringFull) {
                    break;
                }
            }
        } catch (TasException e) {
            throw TasErrors.fromEngine(e);
        } finally {
            c.flush(); // one hand-off to the engine per doWrite, however many buffers were copied
        }
        if (in.isEmpty()) {
            return;
        }
        if (ringFull) {
            // The engine posts WRITABLE once the peer acknowledged enough to make room (the short
            // write above registered our interest); flush0() stays quiet until then.
            stats.add(TasLoopStats.RING_FULL, 1);
            waitingForWritable = true;
        } else if (!flushScheduled) {
            // Spin count used up with room left: let other channels and tasks run, then continue.
            flushScheduled = true;
            eventLoop().execute(flushTask);
        }
    }

    /** A FileRegion's target: bytes go straight into the transmit ring (short writes when full). */
    private final class RingChannel implements WritableByteChannel {
        @Override
        public int write(ByteBuffer src) {
            return connection.write(src);
        }

        @Override
        public boolean isOpen() {
            return TasSocketChannel.this.isOpen();
        }

        @Override
        public void close() {
        }
    }

    // ------------------------------------------------------------------ shutdown and close

    @Override
    public boolean isInputShutdown() {
        return inputShutdown;
    }

    @Override
    public boolean isOutputShutdown() {
        return outputShutdown || !isActive();
    }

    @Override
    public boolean isShutdown() {
        return inputShutdown && outputShutdown || !isActive();
    }

    @Override
    protected void doShutdownOutput() throws Exception {
        TasConnection c = connection;
        if (c == null || !isActive()) {
            throw new NotYetConnectedException();
        }
        outputShutdown = true;
        try {
            c.shutdownOutput();
        } catch (TasException e) {
            throw TasErrors.fromEngine(e);
        }
    }

    @Override
    public ChannelFuture shutdownOutput() {
        return shutdownOutput(newPromise());
    }

    @Override
    public ChannelFuture shutdownOutput(ChannelPromise promise) {
        EventLoop loop = eventLoop();
        if (loop.inEventLoop()) {
            ((AbstractUnsafe) unsafe()).shutdownOutput(promise);
        } else {
            loop.execute(() -> ((AbstractUnsafe) unsafe()).shutdownOutput(promise));
        }
        return promise;
    }

    @Override
    public ChannelFuture shutdownInput() {
        return shutdownInput(newPromise());
    }

    @Override
    public ChannelFuture shutdownInput(ChannelPromise promise) {
        EventLoop loop = eventLoop();
        if (loop.inEventLoop()) {
            shutdownInput0(promise);
        } else {
            loop.execute(() -> shutdownInput0(promise));
        }
        return promise;
    }

    private void shutdownInput0(ChannelPromise promise) {
        if (!isOpen()) {
            promise.setFailure(new ClosedChannelException());
            return;
        }
        if (!isActive()) {
            promise.setFailure(new NotYetConnectedException());
            return;
        }
        // The engine has no receive-side shutdown: reads report EOF from now on and what still
        // arrives is consumed and dropped (Linux acknowledges it too), so the peer is not stalled.
        inputShutdown = true;
        discardInput();
        promise.setSuccess();
    }

    @Override
    public ChannelFuture shutdown() {
        return shutdown(newPromise());
    }

    @Override
    public ChannelFuture shutdown(ChannelPromise promise) {
        ChannelFuture out = shutdownOutput();
        if (out.isDone()) {
            shutdownOutputDone(out, promise);
        } else {
            out.addListener((ChannelFutureListener) f -> shutdownOutputDone(f, promise));
        }
        return promise;
    }

    private void shutdownOutputDone(ChannelFuture out, ChannelPromise promise) {
        ChannelFuture in = shutdownInput();
        if (in.isDone()) {
            shutdownDone(out, in, promise);
        } else {
            in.addListener((ChannelFutureListener) f -> shutdownDone(out, f, promise));
        }
    }

    private static void shutdownDone(ChannelFuture out, ChannelFuture in, ChannelPromise promise) {
        Throwable outCause = out.cause();
        Throwable inCause = in.cause();
        if (outCause != null) {
            if (inCause != null) {
                outCause.addSuppressed(inCause);
            }
            promise.setFailure(outCause);
        } else if (inCause != null) {
            promise.setFailure(inCause);
        } else {
            promise.setSuccess();
        }
    }

    @Override
    protected void doDisconnect() throws Exception {
        doClose();
    }

    @Override
    protected void doClose() throws Exception {
        open = false;
        active = false;
        ChannelPromise p = connectPromise;
        if (p != null) {
            connectPromise = null;
            p.tryFailure(new ClosedChannelException());
        }
        if (connectTimeoutFuture != null) {
            connectTimeoutFuture.cancel(false);
            connectTimeoutFuture = null;
        }
        TasConnection c = connection;
        if (c != null) {
            if (config.getSoLinger() == 0) {
                c.abort(); // SO_LINGER 0: RST, unsent data dropped
            } else {
                c.close(); // FIN after what was written; RST if received bytes were never read (as Linux)
            }
        }
    }

    @Override
    protected AbstractTasUnsafe newUnsafe() {
        return new TasSocketUnsafe();
    }

    private final class TasSocketUnsafe extends AbstractTasUnsafe {

        Throwable annotate(Throwable cause, SocketAddress remote) {
            return annotateConnectException(cause, remote);
        }

        @Override
        public void connect(SocketAddress remoteAddress, SocketAddress localAddress, ChannelPromise promise) {
            // Not setUncancellable(): a pending connect may be cancelled (the channel then closes).
            if (promise.isDone() || !ensureOpen(promise)) {
                return;
            }
            try {
                if (connectPromise != null) {
                    throw new ConnectionPendingException();
                }
                if (connection != null) {
                    throw new AlreadyConnectedException();
                }
                doConnect(remoteAddress, localAddress);
                connectPromise = promise;
                int timeoutMillis = config.getConnectTimeoutMillis();
                if (timeoutMillis > 0) {
                    connectTimeoutFuture = eventLoop().schedule(() -> {
                        ChannelPromise p = connectPromise;
                        if (p != null && !p.isDone() && p.tryFailure(new ConnectTimeoutException(
                            "connection timed out after " + timeoutMillis + " ms: " + remoteAddress))) {
                            close(voidPromise());
                        }
                    }, timeoutMillis, TimeUnit.MILLISECONDS);
                }
                promise.addListener((ChannelFutureListener) future -> {
                    if (future.isCancelled()) {
                        if (connectTimeoutFuture != null) {
                            connectTimeoutFuture.cancel(false);
                        }
                        connectPromise = null;
                        close(voidPromise());
                    }
                });
            } catch (Throwable t) {
                closeIfClosed();
                promise.tryFailure(annotateConnectException(t, remoteAddress));
            }
        }

        @Override
        void onEvents(int events) {
            TasConnection c = connection;
            if (c == null) {
                return;
            }
            if ((events & (TasEvents.CONNECTED | TasEvents.CONNECT_FAILED)) != 0) {
                if (connectPromise == null && !isOpen()) {
                    return;
                }
                finishConnect(events);
                if ((events & TasEvents.CONNECT_FAILED) != 0 || !isOpen()) {
                    return;
                }
            }
            if ((events & TasEvents.WRITABLE) != 0 && waitingForWritable) {
                waitingForWritable = false;
                super.flush0();
            }
            if ((events & (TasEvents.INPUT_CLOSED | TasEvents.RESET | TasEvents.CLOSED)) != 0) {
                // As epoll on RDHUP/ERR: look at the input even if no read is pending, so EOF and
                // resets are reported (and half-closure events fire) without waiting for read().
                if (isActive()) {
                    readReady();
                }
            } else if ((events & TasEvents.READABLE) != 0) {
                if (readPending || config.isAutoRead()) {
                    readReady();
                } else if (inputShutdown) {
                    discardInput();
                }
                // else: the bytes wait in the ring (back-pressure) until read() is called.
            }
        }

        @Override
        boolean hasInputWaiting() {
            TasConnection c = connection;
            if (c == null || !isActive() || shouldBreakReadReady(config)) {
                return false;
            }
            // What a read would consume or report: bytes, EOF (FIN), or the error that ended the connection.
            return c.readableBytes() > 0 || c.isInputClosed() || c.error() != TasError.NONE || inputShutdown;
        }

        @Override
        protected void flush0() {
            // Until the engine reports room in the ring a write attempt would copy nothing.
            if (!waitingForWritable) {
                super.flush0();
            }
        }

        @SuppressWarnings("deprecation") // RecvByteBufAllocator.Handle: what Channel.Unsafe hands out
        @Override
        void readReady() {
            ChannelConfig config = config();
            if (shouldBreakReadReady(config)) {
                clearReadPending();
                if (inputShutdown) {
                    discardInput();
                }
                return;
            }
            TasConnection c = connection;
            ChannelPipeline pipeline = pipeline();
            ByteBufAllocator allocator = config.getAllocator();
            RecvByteBufAllocator.Handle allocHandle = recvBufAllocHandle();
            allocHandle.reset(config);
            ByteBuf buf = null;
            boolean close = false;
            try {
                do {
                    buf = allocHandle.allocate(allocator);
                    allocHandle.lastBytesRead(doReadBytes(buf, allocHandle));
                    if (allocHandle.lastBytesRead() <= 0) {
                        buf.release();
                        buf = null;
                        close = allocHandle.lastBytesRead() < 0;
                        if (close) {
                            readPending = false; // nothing left to read: EOF
                        }
                        break;
                    }
                    allocHandle.incMessagesRead(1);
                    readPending = false;
                    pipeline.fireChannelRead(buf);
                    buf = null;
                    if (shouldBreakReadReady(config)) {
                        // Closed or input shut down by a handler: do not read any further.
                        break;
                    }
                } while (allocHandle.continueReading());
                allocHandle.readComplete();
                pipeline.fireChannelReadComplete();
                if (close) {
                    closeOnRead(pipeline);
                }
            } catch (Throwable t) {
                handleReadException(pipeline, buf, t, close, allocHandle);
            } finally {
                if (c != null) {
                    maybeContinueReading();
                }
            }
        }

        @SuppressWarnings("deprecation")
        private void handleReadException(ChannelPipeline pipeline, ByteBuf buf, Throwable cause, boolean close,
                                         RecvByteBufAllocator.Handle allocHandle) {
            if (buf != null) {
                if (buf.isReadable()) {
                    readPending = false;
                    pipeline.fireChannelRead(buf);
                } else {
                    buf.release();
                }
            }
            allocHandle.readComplete();
            pipeline.fireChannelReadComplete();
            pipeline.fireExceptionCaught(cause);
            if (close || cause instanceof OutOfMemoryError || cause instanceof IOException) {
                closeOnRead(pipeline);
            }
        }
    }
}
