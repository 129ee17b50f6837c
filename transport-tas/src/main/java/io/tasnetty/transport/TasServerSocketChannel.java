package io.tasnetty.transport;

import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEvent;
import io.netty.channel.IoRegistration;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.nio.NioIoEvent;
import io.netty.channel.nio.NioIoHandle;
import io.netty.channel.nio.NioIoOps;
import io.netty.channel.socket.ServerSocketChannel;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasException;
import io.tasnetty.engine.context.TasListener;
import io.tasnetty.engine.wire.Ipv4;

import java.io.IOException;
import java.net.BindException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.channels.AlreadyBoundException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.channels.UnresolvedAddressException;

/**
 * A listening TCP port on a TAS engine: the drop-in for {@code NioServerSocketChannel}.
 *
 * <p>The engine completes handshakes on its own (within {@code SO_BACKLOG}) and queues established
 * connections; the channel takes them ({@code accept}) while reading is on, honouring the
 * {@link RecvByteBufAllocator}'s message limit per read. Each accepted connection becomes a
 * {@link TasSocketChannel} that moves to the loop it is registered with, so connections are served
 * by the worker group's loops. While reading is off, connections stay queued in the engine.
 *
 * <p>Bound to a loopback or wildcard address, the channel also listens on a kernel socket at the
 * same address and port, so clients outside the engine (curl on this host, NIO sockets, another
 * process) reach it too; their connections take the kernel path ({@link TasPath#KERNEL}). A port a
 * kernel socket already holds is then refused with {@link BindException}, as Linux would. An
 * address that only the kernel has (another local interface) is served by the kernel socket
 * alone; the engine's own address by the engine alone. {@code no-kernel-path} keeps the channel on
 * the engine.
 */
public final class TasServerSocketChannel extends AbstractTasChannel implements ServerSocketChannel {
    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);

    private final TasServerSocketChannelConfig config;
    private TasListener listener;
    /** The kernel side of a loopback or wildcard listener (or the only side), or null. */
    private java.nio.channels.ServerSocketChannel kernelListener;
    private KernelAcceptor kernelAcceptor;
    private volatile InetSocketAddress local;

    /** Netty's reflective channel factory uses this constructor. */
    public TasServerSocketChannel() {
        super(null);
        this.config = new TasServerSocketChannelConfig(this);
    }

    @Override
    public TasServerSocketChannelConfig config() {
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
        return null;
    }

    @Override
    protected SocketAddress localAddress0() {
        return local;
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return null;
    }

    int defaultRxBufLen() {
        TasIoRegistration r = registration;
        return TasDefaults.rxBufLen(r == null ? null : r.engine());
    }

    int defaultTxBufLen() {
        TasIoRegistration r = registration;
        return TasDefaults.txBufLen(r == null ? null : r.engine());
    }

    void clearReadPending() {
        if (isRegistered()) {
            EventLoop loop = eventLoop();
            if (loop.inEventLoop()) {
                ((TasServerUnsafe) unsafe()).clearReadPending();
            } else {
                loop.execute(((TasServerUnsafe) unsafe())::clearReadPending);
            }
        } else {
            ((TasServerUnsafe) unsafe()).clearReadPending();
        }
    }

    @Override
    void registered(TasIoRegistration r) {
        TasListener l = listener;
        if (l != null) {
            if (l.context() != r.context()) {
                // A listener's events go to the context that opened it; it cannot follow the channel.
                throw new IllegalStateException("a bound TasServerSocketChannel cannot move to another event loop");
            }
            l.attach(r);
        }
    }

    @Override
    protected void doBind(SocketAddress localAddress) throws Exception {
        if (listener != null || kernelListener != null) {
            throw new AlreadyBoundException();
        }
        InetSocketAddress a = (InetSocketAddress) localAddress;
        if (a.isUnresolved()) {
            throw new UnresolvedAddressException();
        }
        TasIoRegistration reg = registrationOrThrow();
        TasEngine engine = reg.engine();
        InetAddress ia = a.getAddress();
        boolean wildcard = ia.isAnyLocalAddress();
        boolean engineSide = wildcard || ia instanceof Inet4Address v4 && engine.isLocalAddress(TasAddresses.ipv4(v4));
        boolean kernelSide = !engine.config().noKernelPath() && (wildcard || ia.isLoopbackAddress() || !engineSide);
        if (!engineSide && !kernelSide) {
            throw new BindException("Cannot assign requested address: " + a + " is not an address of the engine"
                + " (ip-addr " + Ipv4.toString(engine.ipAddress()) + " or 127.0.0.0/8) and the kernel path is off"
                + " (no-kernel-path=true)");
        }
        // Port 0: the kernel picks a port free on its side, then the engine takes the same one
        // (rarely busy there: then try another).
        for (int attempt = 0; ; attempt++) {
            java.nio.channels.ServerSocketChannel k = kernelSide ? openKernelListener(a) : null;
            int port = k != null ? ((InetSocketAddress) k.getLocalAddress()).getPort() : a.getPort();
            TasListener l = null;
            if (engineSide) {
                try {
                    l = reg.context().listen(new InetSocketAddress(ia, port), config.getBacklog(),
                        config.requestedReceiveBufferSize(), config.requestedSendBufferSize());
                } catch (TasException e) {
                    closeQuietly(k);
                    boolean inUse = e.getMessage() != null && e.getMessage().contains("in use");
                    if (inUse && k != null && a.getPort() == 0 && attempt < 16) {
                        continue;
                    }
                    throw TasErrors.bindFailed(e);
                }
                l.attach(reg);
                port = l.port(); // the engine's choice when only the engine listens on port 0
            }
            if (k != null) {
                KernelAcceptor acceptor = new KernelAcceptor(k);
                try {
                    acceptor.registration = reg.handler().registerKernel(acceptor);
                } catch (Exception e) {
                    closeQuietly(k);
                    if (l != null) {
                        l.close();
                    }
                    throw e;
                }
                kernelListener = k;
                kernelAcceptor = acceptor;
            }
            listener = l;
            local = new InetSocketAddress(ia, port);
            active = true;
            return;
        }
    }

    /** A non-blocking kernel listener on {@code a} (IPv4 only for an IPv4 address, as NIO binds). */
    private java.nio.channels.ServerSocketChannel openKernelListener(InetSocketAddress a) throws IOException {
        java.nio.channels.ServerSocketChannel k = a.getAddress() instanceof Inet4Address
            ? java.nio.channels.ServerSocketChannel.open(StandardProtocolFamily.INET)
            : java.nio.channels.ServerSocketChannel.open();
        try {
            k.configureBlocking(false);
            if (config.isReuseAddress()) {
                k.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            }
            if (config.requestedReceiveBufferSize() > 0) {
                k.setOption(StandardSocketOptions.SO_RCVBUF, config.requestedReceiveBufferSize()); // inherited
            }
            k.bind(a, config.getBacklog());
            return k;
        } catch (IOException | RuntimeException e) {
            closeQuietly(k);
            throw e;
        }
    }

    private static void closeQuietly(java.nio.channels.ServerSocketChannel k) {
        if (k != null) {
            try {
                k.close();
            } catch (IOException ignored) {
                // nothing more to do with it
            }
        }
    }

    @Override
    protected void doClose() {
        open = false;
        active = false;
        TasListener l = listener;
        if (l != null) {
            l.close(); // connections queued but never accepted are reset
        }
        KernelAcceptor a = kernelAcceptor;
        if (a != null) {
            a.cancel();
            closeQuietly(a.socket); // the kernel resets its unaccepted connections
            TasIoRegistration r = registration;
            if (r != null && r.handler().inLoop()) {
                r.handler().flushKernelCloses(); // closed now: a connect from here on is refused
            }
        }
    }

    @Override
    protected void doDeregister() {
        KernelAcceptor a = kernelAcceptor;
        if (a != null) {
            a.cancel();
        }
        super.doDeregister();
    }

    /** The kernel listener in the loop's selector: accept readiness, asked for while reading is wanted. */
    private final class KernelAcceptor implements NioIoHandle {
        final java.nio.channels.ServerSocketChannel socket;
        IoRegistration registration;
        private boolean interested;

        KernelAcceptor(java.nio.channels.ServerSocketChannel socket) {
            this.socket = socket;
        }

        void interest(boolean on) {
            IoRegistration r = registration;
            if (on != interested && r != null && r.isValid()) {
                interested = on;
                r.submit(on ? NioIoOps.ACCEPT : NioIoOps.NONE);
            }
        }

        void cancel() {
            IoRegistration r = registration;
            registration = null;
            if (r != null) {
                r.cancel();
            }
        }

        @Override
        public SelectableChannel selectableChannel() {
            return socket;
        }

        @Override
        public void handle(IoRegistration r, IoEvent event) {
            if ((((NioIoEvent) event).ops().value() & SelectionKey.OP_ACCEPT) == 0) {
                return;
            }
            TasServerUnsafe u = (TasServerUnsafe) unsafe();
            if (u.readPending || config.isAutoRead()) {
                u.readReady();
            } else {
                interest(false);
            }
        }

        @Override
        public void close() {
            TasServerSocketChannel.this.unsafe().close(unsafe().voidPromise());
        }
    }

    @Override
    protected void doDisconnect() {
        throw new UnsupportedOperationException();
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) {
        throw new UnsupportedOperationException();
    }

    @Override
    protected Object filterOutboundMessage(Object msg) {
        throw new UnsupportedOperationException();
    }

    @Override
    protected AbstractTasUnsafe newUnsafe() {
        return new TasServerUnsafe();
    }

    private final class TasServerUnsafe extends AbstractTasUnsafe {
        @Override
        public void connect(SocketAddress remoteAddress, SocketAddress localAddress, ChannelPromise promise) {
            promise.setFailure(new UnsupportedOperationException());
        }

        @Override
        void onEvents(int events) {
            if ((events & TasEvents.CLOSED) != 0) {
                // The listener is gone under us (the service this application attached to stopped).
                close(voidPromise());
                return;
            }
            if ((events & TasEvents.ACCEPTABLE) != 0 && (readPending || config.isAutoRead())) {
                readReady();
            }
            // else: connections wait in the engine's accept queue (up to the backlog).
        }

        @Override
        boolean hasInputWaiting() {
            TasListener l = listener;
            return l != null && isActive() && l.pendingAccepts() > 0; // the kernel's queue: the selector says
        }

        @Override
        void readInterest(boolean on) {
            KernelAcceptor a = kernelAcceptor;
            if (a != null) {
                a.interest(on);
            }
        }

        @SuppressWarnings("deprecation") // RecvByteBufAllocator.Handle: what Channel.Unsafe hands out
        @Override
        void readReady() {
            TasListener l = listener;
            KernelAcceptor k = kernelAcceptor;
            if (l == null && k == null || !isActive()) {
                clearReadPending();
                return;
            }
            ChannelConfig config = config();
            ChannelPipeline pipeline = pipeline();
            RecvByteBufAllocator.Handle allocHandle = recvBufAllocHandle();
            allocHandle.reset(config);
            TasContext ctx = registration.context();
            Throwable exception = null;
            try {
                do {
                    TasSocketChannel child = l == null ? null : acceptFromEngine(ctx, l);
                    if (child == null && k != null) {
                        child = acceptFromKernel(k);
                    }
                    if (child == null) {
                        break;
                    }
                    allocHandle.incMessagesRead(1);
                    readPending = false;
                    pipeline.fireChannelRead(child);
                } while (allocHandle.continueReading());
            } catch (Throwable t) {
                exception = t;
            }
            allocHandle.readComplete();
            pipeline.fireChannelReadComplete();
            if (exception != null) {
                pipeline.fireExceptionCaught(exception);
            }
            maybeContinueReading();
        }

        private TasSocketChannel acceptFromEngine(TasContext ctx, TasListener l) {
            TasConnection c = ctx.accept(l);
            if (c == null) {
                return null;
            }
            try {
                return new TasSocketChannel(TasServerSocketChannel.this, c);
            } catch (Throwable t) {
                c.abort();
                throw t;
            }
        }

        private TasSocketChannel acceptFromKernel(KernelAcceptor k) throws IOException {
            SocketChannel s = k.socket.accept();
            if (s == null) {
                return null;
            }
            try {
                return new TasSocketChannel(TasServerSocketChannel.this, s);
            } catch (Throwable t) {
                s.close();
                throw t;
            }
        }
    }
}
