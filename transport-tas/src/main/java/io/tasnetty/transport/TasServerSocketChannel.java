package io.tasnetty.transport;

import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.ServerSocketChannel;
import io.tasnetty.engine.context.TasConnection;
import io.tasnetty.engine.context.TasContext;
import io.tasnetty.engine.context.TasEvents;
import io.tasnetty.engine.context.TasException;
import io.tasnetty.engine.context.TasListener;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.AlreadyBoundException;
import java.nio.channels.UnresolvedAddressException;

/**
 * A listening TCP port on a TAS engine: the drop-in for {@code NioServerSocketChannel}.
 *
 * <p>The engine completes handshakes on its own (within {@code SO_BACKLOG}) and queues established
 * connections; the channel takes them ({@code accept}) while reading is on, honouring the
 * {@link RecvByteBufAllocator}'s message limit per read. Each accepted connection becomes a
 * {@link TasSocketChannel} that moves to the loop it is registered with, so connections are served
 * by the worker group's loops. While reading is off, connections stay queued in the engine.
 */
public final class TasServerSocketChannel extends AbstractTasChannel implements ServerSocketChannel {
    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);

    private final TasServerSocketChannelConfig config;
    private TasListener listener;
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
        if (listener != null) {
            throw new AlreadyBoundException();
        }
        InetSocketAddress a = (InetSocketAddress) localAddress;
        if (a.isUnresolved()) {
            throw new UnresolvedAddressException();
        }
        TasContext ctx = registrationOrThrow().context();
        TasListener l;
        try {
            l = ctx.listen(a, config.getBacklog(), config.requestedReceiveBufferSize(),
                config.requestedSendBufferSize());
        } catch (TasException e) {
            throw TasErrors.bindFailed(e);
        }
        l.attach(registration);
        listener = l;
        local = l.localAddress();
        active = true;
    }

    @Override
    protected void doClose() {
        open = false;
        active = false;
        TasListener l = listener;
        if (l != null) {
            l.close(); // connections queued but never accepted are reset
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
            if ((events & TasEvents.ACCEPTABLE) != 0 && (readPending || config.isAutoRead())) {
                readReady();
            }
            // else: connections wait in the engine's accept queue (up to the backlog).
        }

        @Override
        boolean hasInputWaiting() {
            TasListener l = listener;
            return l != null && isActive() && l.pendingAccepts() > 0;
        }

        @SuppressWarnings("deprecation") // RecvByteBufAllocator.Handle: what Channel.Unsafe hands out
        @Override
        void readReady() {
            TasListener l = listener;
            if (l == null || !isActive()) {
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
                    TasConnection c = ctx.accept(l);
                    if (c == null) {
                        break;
                    }
                    allocHandle.incMessagesRead(1);
                    readPending = false;
                    TasSocketChannel child;
                    try {
                        child = new TasSocketChannel(TasServerSocketChannel.this, c);
                    } catch (Throwable t) {
                        c.abort();
                        throw t;
                    }
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
    }
}
