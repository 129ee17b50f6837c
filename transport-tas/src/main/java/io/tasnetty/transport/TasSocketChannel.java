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
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasException;

import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.AlreadyConnectedException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ConnectionPendingException;
import java.nio.channels.NotYetConnectedException;
import java.nio.channels.UnresolvedAddressException;
import java.util.concurrent.TimeUnit;

/**
 * A TCP connection on a TAS engine: the drop-in for {@code NioSocketChannel}.
 *
 * <p>Each connection takes one of two paths ({@link #path()}), chosen when it connects or is
 * accepted: the engine ({@link EngineStreamPath}) for everything the engine serves (its own
 * address, its loopback where an engine listener waits, its subnet and routes), or a kernel
 * socket ({@link KernelStreamPath}) for everything else (a kernel service on 127.0.0.1, another
 * host the engine has no route to, IPv6), so that swapping NIO's classes for these never breaks a
 * connection NIO would make. {@code no-kernel-path} turns the second path off.
 *
 * <p>On the engine path, reads copy from the connection's receive ring into buffers from the
 * channel's {@link RecvByteBufAllocator}; while reading is off (no {@code read()} pending, autoRead
 * off) the bytes stay in the ring, whose free space is the window the engine advertises: that is
 * the back-pressure. Writes copy from the {@link ChannelOutboundBuffer} into the transmit ring,
 * several buffers per call (gathering), and hand them to the engine with one flush per
 * {@link #doWrite}; a full ring leaves the rest in the outbound buffer (so writability follows the
 * water marks) until the engine reports {@link TasEvents#WRITABLE}. The kernel path does the same
 * with the socket's buffers and the selector's readiness, as NIO does.
 */
public final class TasSocketChannel extends AbstractTasChannel implements SocketChannel {
    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);
    /** Most buffers gathered into one engine write. */
    private static final int MAX_GATHER = 1024;

    private final TasSocketChannelConfig config;
    /** The engine or kernel connection; null until a client connects. */
    private StreamPath path;
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
    /** The transmit ring (or kernel socket) was full: wait for writability before writing again. */
    private boolean waitingForWritable;
    private boolean flushScheduled;
    /** This connection was counted in its loop's per-path figures. */
    private boolean pathCounted;
    private final Runnable flushTask = () -> {
        flushScheduled = false;
        ((TasSocketUnsafe) unsafe()).flush0();
    };

    /** A client channel (Netty's reflective channel factory uses this constructor). */
    public TasSocketChannel() {
        super(null);
        this.config = new TasSocketChannelConfig(this);
    }

    /** A connection the engine accepted for {@code parent}; it joins its own loop when it registers. */
    TasSocketChannel(TasServerSocketChannel parent, TasConnection connection) {
        super(parent);
        this.config = new TasSocketChannelConfig(this);
        this.path = new EngineStreamPath(this, connection);
        this.local = connection.localAddress();
        this.remote = connection.remoteAddress();
        this.active = true;
    }

    /** A connection the kernel accepted for {@code parent} (a loopback or wildcard listener). */
    TasSocketChannel(TasServerSocketChannel parent, java.nio.channels.SocketChannel accepted) throws IOException {
        super(parent);
        this.config = new TasSocketChannelConfig(this);
        KernelStreamPath k = new KernelStreamPath(this, accepted);
        this.path = k;
        this.local = k.localAddress();
        this.remote = k.remoteAddress();
        this.active = true;
        config.applyTo(k);
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

    /** The engine connection, or null (not connected yet, or on the kernel path). */
    TasConnection connection() {
        return path instanceof EngineStreamPath e ? e.connection() : null;
    }

    /** The kernel path, or null. */
    KernelStreamPath kernelPath() {
        return path instanceof KernelStreamPath k ? k : null;
    }

    /**
     * Which path this connection takes: {@link TasPath#ENGINE} or {@link TasPath#KERNEL}; null
     * before a client channel connects.
     */
    public TasPath path() {
        StreamPath p = path;
        return p == null ? null : p.kind();
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
        StreamPath p = path;
        if (p != null) {
            p.keepAlive(on);
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
    void registered(TasIoRegistration r) throws Exception {
        StreamPath p = path;
        if (p != null) {
            p.registered(r);
            if (p instanceof EngineStreamPath e) {
                config.applyTo(e.connection()); // childOptions were set before the connection had a loop
            }
            if (!pathCounted) {
                pathCounted = true; // accepted connections count on the loop that serves them
                r.handler().stats().connectionOpened(p.kind());
            }
        }
    }

    @Override
    protected void doDeregister() {
        StreamPath p = path;
        if (p != null) {
            p.deregistered();
        }
        super.doDeregister();
    }

    // ------------------------------------------------------------------ connect

    @Override
    protected void doBind(SocketAddress localAddress) throws Exception {
        InetSocketAddress a = (InetSocketAddress) localAddress;
        if (a.isUnresolved()) {
            throw new UnresolvedAddressException();
        }
        if (path != null) {
            throw new AlreadyConnectedException();
        }
        requestedLocal = a; // bound when the connection opens, on the path it takes
    }

    /** Opens the connection on the path that can serve {@code remoteAddress}; true if connected at once. */
    private boolean doConnect(SocketAddress remoteAddress, SocketAddress localAddress) throws Exception {
        if (localAddress != null) {
            doBind(localAddress);
        }
        InetSocketAddress r = (InetSocketAddress) remoteAddress;
        if (r.isUnresolved()) {
            throw new UnresolvedAddressException();
        }
        TasIoRegistration reg = registrationOrThrow();
        // Linux: a connect to the wildcard address means this host, i.e. loopback.
        r = TasAddresses.wildcardToLoopback(r);
        requestedRemote = r;
        TasEngine engine = reg.engine();
        if (r.getAddress() instanceof Inet4Address a && engine.serves(TasAddresses.ipv4(a), r.getPort())) {
            return connectThroughEngine(reg, r);
        }
        if (engine.config().noKernelPath()) {
            throw new ConnectException("Connection refused: the engine does not serve " + r + " ("
                + TasAddresses.whyNotEngine(engine, r) + ") and the kernel path is off (no-kernel-path=true)");
        }
        return connectThroughKernel(reg, r);
    }

    private boolean connectThroughEngine(TasIoRegistration reg, InetSocketAddress r) throws Exception {
        TasContext ctx = reg.context();
        TasConnection c;
        try {
            c = ctx.connect(r, requestedLocal, config.requestedReceiveBufferSize(), config.requestedSendBufferSize());
        } catch (TasException e) {
            SocketException se = new SocketException(e.getMessage());
            se.initCause(e);
            throw se;
        }
        c.attach(reg);
        path = new EngineStreamPath(this, c);
        config.applyTo(c);
        pathCounted = true;
        reg.handler().stats().connectionOpened(TasPath.ENGINE);
        return false; // the engine answers with CONNECTED or CONNECT_FAILED
    }

    private boolean connectThroughKernel(TasIoRegistration reg, InetSocketAddress r) throws Exception {
        KernelStreamPath k = new KernelStreamPath(this);
        try {
            config.applyTo(k);
            k.registered(reg);
            path = k;
            pathCounted = true;
            reg.handler().stats().connectionOpened(TasPath.KERNEL);
            return k.connect(r, requestedLocal);
        } catch (Throwable t) {
            k.close(false);
            path = null;
            throw t;
        }
    }

    /** The connect finished: {@code cause} null on success. */
    private void connectDone(Throwable cause) {
        ChannelPromise promise = connectPromise;
        connectPromise = null;
        if (connectTimeoutFuture != null) {
            connectTimeoutFuture.cancel(false);
            connectTimeoutFuture = null;
        }
        StreamPath p = path;
        if (cause == null) {
            boolean wasActive = isActive();
            local = p.localAddress();
            remote = p.remoteAddress();
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
            path = null;
            p.close(false); // gives the rings (or the socket) back
            if (promise != null) {
                promise.tryFailure(((TasSocketUnsafe) unsafe()).annotate(cause, requestedRemote));
            }
            // As NIO: a socket whose connect failed is closed.
            unsafe().close(unsafe().voidPromise());
        }
    }

    /** Kernel path: the connect finished ({@code failure} null on success). */
    void kernelConnectDone(IOException failure) {
        if (connectPromise == null && !isOpen()) {
            return;
        }
        connectDone(failure);
    }

    /** Kernel path: the socket has room again. */
    void kernelWritable() {
        if (waitingForWritable) {
            waitingForWritable = false;
            ((TasSocketUnsafe) unsafe()).flushNow();
        }
    }

    /** Kernel path: input (bytes, EOF or an error) is ready. */
    void kernelReadable() {
        TasSocketUnsafe u = (TasSocketUnsafe) unsafe();
        if (u.readPending || config.isAutoRead()) {
            u.readReady();
        } else {
            path.readInterest(false); // asked for no read: stop the selector reporting it
        }
    }

    /** The path's registration went away under it (the loop is shutting down). */
    void closeFromPath() {
        unsafe().close(unsafe().voidPromise());
    }

    // ------------------------------------------------------------------ read

    private boolean shouldBreakReadReady(ChannelConfig config) {
        return !isOpen() || inputShutdown && (inputClosedSeenErrorOnRead || !config().isAllowHalfClosure());
    }

    /** Reads from the path into {@code buf}; -1 at EOF; throws if the connection was reset. */
    @SuppressWarnings("deprecation") // RecvByteBufAllocator.Handle: what Channel.Unsafe hands out
    private int doReadBytes(ByteBuf buf, RecvByteBufAllocator.Handle allocHandle) throws IOException {
        allocHandle.attemptedBytesRead(buf.writableBytes());
        if (inputShutdown) {
            return -1;
        }
        int n = path.read(buf);
        if (n > 0) {
            registration.handler().stats().add(TasLoopStats.BYTES_READ, n);
        }
        return n;
    }

    /** Consumes and drops what arrives after shutdownInput(), so the peer is not stalled by a full window. */
    private void discardInput() {
        StreamPath p = path;
        if (p == null) {
            return;
        }
        try {
            p.discardInput();
        } catch (IOException ignored) {
            // input is shut down: nobody reads it any more
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
        StreamPath p = path;
        TasLoopStats stats = registration.handler().stats();
        int spin = config.getWriteSpinCount();
        boolean full = false;
        try {
            while (spin-- > 0 && !in.isEmpty()) {
                Object msg = in.current();
                long written;
                if (msg instanceof ByteBuf buf && p.canWriteDirect(buf)) {
                    // A direct buffer into the engine's ring by its address: one copy, no views.
                    int readable = buf.readableBytes();
                    written = p.writeDirect(buf);
                    in.removeBytes(written);
                    full = written < readable;
                } else if (msg instanceof ByteBuf) {
                    // Gather as many buffers as the path has room for.
                    ByteBuffer[] bufs = in.nioBuffers(MAX_GATHER, p.gatherLimit());
                    int count = in.nioBufferCount();
                    long attempted = in.nioBufferSize();
                    written = count == 0 ? 0 : p.write(bufs, count);
                    in.removeBytes(written);
                    full = written < attempted;
                } else if (msg instanceof FileRegion region) {
                    written = p.transfer(region);
                    if (written > 0) {
                        in.progress(written);
                    }
                    if (region.transferred() >= region.count()) {
                        in.remove();
                    } else {
                        full = p.transferStalled(written);
                    }
                } else {
                    in.remove(new UnsupportedOperationException("unsupported message type: "
                        + StringUtil.simpleClassName(msg)));
                    continue;
                }
                if (written > 0) {
                    stats.add(TasLoopStats.BYTES_WRITTEN, written);
                }
                if (full) {
                    break;
                }
            }
        } finally {
            p.endWrite();
        }
        if (in.isEmpty()) {
            return;
        }
        if (full) {
            // The path reports writability once there is room again (the engine's WRITABLE event,
            // the selector's write readiness); flush0() stays quiet until then.
            stats.add(TasLoopStats.RING_FULL, 1);
            waitingForWritable = true;
            p.awaitWritable();
        } else if (!flushScheduled) {
            // Spin count used up with room left: let other channels and tasks run, then continue.
            flushScheduled = true;
            eventLoop().execute(flushTask);
        }
    }

    // ------------------------------------------------------------------ shutdown and close

    @Override
    public boolean isInputShutdown() {
        // As NIO: a channel that is no longer active (closed by the peer's FIN, say) reads nothing more.
        return inputShutdown || !isActive();
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
        StreamPath p = path;
        if (p == null || !isActive()) {
            throw new NotYetConnectedException();
        }
        outputShutdown = true;
        p.shutdownOutput();
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
        // Reads report EOF from now on; what still arrives is dropped (the path sees to it).
        inputShutdown = true;
        try {
            path.shutdownInput();
        } catch (IOException e) {
            promise.setFailure(e);
            return;
        }
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
        StreamPath sp = path;
        if (sp != null) {
            sp.close(config.getSoLinger() == 0); // SO_LINGER 0: RST, unsent data dropped
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
                if (path != null) {
                    throw new AlreadyConnectedException();
                }
                if (doConnect(remoteAddress, localAddress)) {
                    connectDone(null); // the kernel connected at once
                    if (!promise.isDone()) {
                        promise.trySuccess();
                    }
                    return;
                }
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
            if (!(path instanceof EngineStreamPath e)) {
                return; // events of an engine connection this channel gave up (a failed connect)
            }
            if ((events & (TasEvents.CONNECTED | TasEvents.CONNECT_FAILED)) != 0) {
                if (connectPromise == null && !isOpen()) {
                    return;
                }
                connectDone((events & TasEvents.CONNECTED) != 0 ? null
                    : TasErrors.connectFailed(e.connection().error()));
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
            StreamPath p = path;
            if (p == null || !isActive() || shouldBreakReadReady(config)) {
                return false;
            }
            return inputShutdown || p.inputWaiting();
        }

        @Override
        void readInterest(boolean on) {
            StreamPath p = path;
            if (p != null) {
                p.readInterest(on);
            }
        }

        @Override
        protected void flush0() {
            // Until the path reports room a write attempt would copy nothing.
            if (!waitingForWritable) {
                super.flush0();
            }
        }

        /** Writability came back: write what waits in the outbound buffer. */
        void flushNow() {
            super.flush0();
        }

        @SuppressWarnings("deprecation") // RecvByteBufAllocator.Handle: what Channel.Unsafe hands out
        @Override
        void readReady() {
            ChannelConfig config = config();
            StreamPath p = path;
            if (shouldBreakReadReady(config)) {
                clearReadPending();
                if (inputShutdown) {
                    discardInput();
                    if (p != null) {
                        p.readInterest(false); // EOF stays "readable" for the kernel's selector
                    }
                }
                return;
            }
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
                if (p != null) {
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
