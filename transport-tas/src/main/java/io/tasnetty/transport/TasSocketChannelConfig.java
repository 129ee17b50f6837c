package io.tasnetty.transport;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannelConfig;
import io.tasnetty.engine.context.TasConnection;

import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.util.Map;

import static io.netty.channel.ChannelOption.ALLOW_HALF_CLOSURE;
import static io.netty.channel.ChannelOption.IP_TOS;
import static io.netty.channel.ChannelOption.SO_KEEPALIVE;
import static io.netty.channel.ChannelOption.SO_LINGER;
import static io.netty.channel.ChannelOption.SO_RCVBUF;
import static io.netty.channel.ChannelOption.SO_REUSEADDR;
import static io.netty.channel.ChannelOption.SO_SNDBUF;
import static io.netty.channel.ChannelOption.TCP_NODELAY;

/**
 * Options of a {@link TasSocketChannel}, and what each path makes of them. On the kernel path
 * ({@link TasPath#KERNEL}) every option is the kernel socket's, as with NIO: set before connect it
 * applies when the socket opens, set later it applies at once. On the engine path:
 * <ul>
 *   <li>{@code SO_RCVBUF}/{@code SO_SNDBUF}: sizes of the connection's receive and transmit rings
 *       (rounded up to a power of two; 0 = the engine's {@code tcp-rxbuf-len}/{@code tcp-txbuf-len}).
 *       Rings are allocated at connect, so set them before connecting; afterwards the getters report
 *       the real ring sizes and the setters no longer change them.</li>
 *   <li>{@code SO_LINGER} 0: close sends RST (abort) instead of FIN. Other values close gracefully
 *       without blocking: the engine keeps sending what was written, then FIN.</li>
 *   <li>{@code SO_KEEPALIVE}: the engine's keepalive for this connection.</li>
 *   <li>{@code TCP_NODELAY}: accepted and reported; the engine has no Nagle delay, it sends what a
 *       flush hands it at once, so the connection always behaves as with TCP_NODELAY on.</li>
 *   <li>{@code SO_REUSEADDR}, {@code IP_TOS}: accepted and reported; the engine has no use for them.</li>
 * </ul>
 */
public final class TasSocketChannelConfig extends DefaultChannelConfig implements SocketChannelConfig {
    private final TasSocketChannel channel;
    private volatile int receiveBufferSize;
    private volatile int sendBufferSize;
    private volatile int soLinger = -1;
    private volatile boolean keepAlive;
    private volatile boolean tcpNoDelay = true;
    private volatile boolean reuseAddress;
    private volatile int trafficClass;
    private volatile boolean allowHalfClosure;

    TasSocketChannelConfig(TasSocketChannel channel) {
        super(channel);
        this.channel = channel;
    }

    @Override
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), SO_RCVBUF, SO_SNDBUF, TCP_NODELAY, SO_KEEPALIVE, SO_REUSEADDR,
            SO_LINGER, IP_TOS, ALLOW_HALF_CLOSURE);
    }

    @SuppressWarnings("unchecked")
    @Override
    public <T> T getOption(ChannelOption<T> option) {
        if (option == SO_RCVBUF) {
            return (T) Integer.valueOf(getReceiveBufferSize());
        }
        if (option == SO_SNDBUF) {
            return (T) Integer.valueOf(getSendBufferSize());
        }
        if (option == TCP_NODELAY) {
            return (T) Boolean.valueOf(isTcpNoDelay());
        }
        if (option == SO_KEEPALIVE) {
            return (T) Boolean.valueOf(isKeepAlive());
        }
        if (option == SO_REUSEADDR) {
            return (T) Boolean.valueOf(isReuseAddress());
        }
        if (option == SO_LINGER) {
            return (T) Integer.valueOf(getSoLinger());
        }
        if (option == IP_TOS) {
            return (T) Integer.valueOf(getTrafficClass());
        }
        if (option == ALLOW_HALF_CLOSURE) {
            return (T) Boolean.valueOf(isAllowHalfClosure());
        }
        return super.getOption(option);
    }

    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        if (option == SO_RCVBUF) {
            setReceiveBufferSize((Integer) value);
        } else if (option == SO_SNDBUF) {
            setSendBufferSize((Integer) value);
        } else if (option == TCP_NODELAY) {
            setTcpNoDelay((Boolean) value);
        } else if (option == SO_KEEPALIVE) {
            setKeepAlive((Boolean) value);
        } else if (option == SO_REUSEADDR) {
            setReuseAddress((Boolean) value);
        } else if (option == SO_LINGER) {
            setSoLinger((Integer) value);
        } else if (option == IP_TOS) {
            setTrafficClass((Integer) value);
        } else if (option == ALLOW_HALF_CLOSURE) {
            setAllowHalfClosure((Boolean) value);
        } else {
            return super.setOption(option, value);
        }
        return true;
    }

    /** A kernel socket opened for this channel: give it every option set so far. */
    void applyTo(KernelStreamPath k) {
        k.setOption(StandardSocketOptions.TCP_NODELAY, tcpNoDelay);
        if (keepAlive) {
            k.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
        }
        if (receiveBufferSize > 0) {
            k.setOption(StandardSocketOptions.SO_RCVBUF, receiveBufferSize);
        }
        if (sendBufferSize > 0) {
            k.setOption(StandardSocketOptions.SO_SNDBUF, sendBufferSize);
        }
        if (soLinger >= 0) {
            k.setOption(StandardSocketOptions.SO_LINGER, soLinger);
        }
        if (reuseAddress) {
            k.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        }
        if (trafficClass != 0) {
            k.setOption(StandardSocketOptions.IP_TOS, trafficClass);
        }
    }

    /** Applies {@code value} to the kernel socket, if the channel has one now. */
    private <T> void kernel(SocketOption<T> option, T value) {
        KernelStreamPath k = channel.kernelPath();
        if (k != null) {
            k.setOption(option, value);
        }
    }

    /** The ring size to ask for at connect (0 = engine default). */
    int requestedReceiveBufferSize() {
        return receiveBufferSize;
    }

    int requestedSendBufferSize() {
        return sendBufferSize;
    }

    @Override
    public int getReceiveBufferSize() {
        KernelStreamPath k = channel.kernelPath();
        if (k != null) {
            return k.getOption(StandardSocketOptions.SO_RCVBUF);
        }
        TasConnection c = channel.connection();
        if (c != null && c.receiveBufferSize() > 0) {
            return c.receiveBufferSize();
        }
        return receiveBufferSize > 0 ? receiveBufferSize : channel.defaultRxBufLen();
    }

    @Override
    public TasSocketChannelConfig setReceiveBufferSize(int size) {
        if (size < 0) {
            throw new IllegalArgumentException("receiveBufferSize: " + size + " (expected: >= 0)");
        }
        receiveBufferSize = size;
        if (size > 0) {
            kernel(StandardSocketOptions.SO_RCVBUF, size);
        }
        return this;
    }

    @Override
    public int getSendBufferSize() {
        KernelStreamPath k = channel.kernelPath();
        if (k != null) {
            return k.getOption(StandardSocketOptions.SO_SNDBUF);
        }
        TasConnection c = channel.connection();
        if (c != null && c.sendBufferSize() > 0) {
            return c.sendBufferSize();
        }
        return sendBufferSize > 0 ? sendBufferSize : channel.defaultTxBufLen();
    }

    @Override
    public TasSocketChannelConfig setSendBufferSize(int size) {
        if (size < 0) {
            throw new IllegalArgumentException("sendBufferSize: " + size + " (expected: >= 0)");
        }
        sendBufferSize = size;
        if (size > 0) {
            kernel(StandardSocketOptions.SO_SNDBUF, size);
        }
        return this;
    }

    @Override
    public int getSoLinger() {
        return soLinger;
    }

    @Override
    public TasSocketChannelConfig setSoLinger(int soLinger) {
        this.soLinger = soLinger;
        kernel(StandardSocketOptions.SO_LINGER, soLinger);
        return this;
    }

    @Override
    public boolean isKeepAlive() {
        return keepAlive;
    }

    @Override
    public TasSocketChannelConfig setKeepAlive(boolean keepAlive) {
        this.keepAlive = keepAlive;
        channel.applyKeepAlive(keepAlive);
        return this;
    }

    @Override
    public boolean isTcpNoDelay() {
        return tcpNoDelay;
    }

    @Override
    public TasSocketChannelConfig setTcpNoDelay(boolean tcpNoDelay) {
        this.tcpNoDelay = tcpNoDelay;
        kernel(StandardSocketOptions.TCP_NODELAY, tcpNoDelay);
        return this;
    }

    @Override
    public int getTrafficClass() {
        return trafficClass;
    }

    @Override
    public TasSocketChannelConfig setTrafficClass(int trafficClass) {
        this.trafficClass = trafficClass;
        kernel(StandardSocketOptions.IP_TOS, trafficClass);
        return this;
    }

    @Override
    public boolean isReuseAddress() {
        return reuseAddress;
    }

    @Override
    public TasSocketChannelConfig setReuseAddress(boolean reuseAddress) {
        this.reuseAddress = reuseAddress;
        kernel(StandardSocketOptions.SO_REUSEADDR, reuseAddress);
        return this;
    }

    @Override
    public TasSocketChannelConfig setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
        return this;
    }

    @Override
    public boolean isAllowHalfClosure() {
        return allowHalfClosure;
    }

    @Override
    public TasSocketChannelConfig setAllowHalfClosure(boolean allowHalfClosure) {
        this.allowHalfClosure = allowHalfClosure;
        return this;
    }

    @Override
    protected void autoReadCleared() {
        channel.clearReadPending();
    }

    @Override
    public TasSocketChannelConfig setConnectTimeoutMillis(int connectTimeoutMillis) {
        super.setConnectTimeoutMillis(connectTimeoutMillis);
        return this;
    }

    @Override
    @Deprecated
    public TasSocketChannelConfig setMaxMessagesPerRead(int maxMessagesPerRead) {
        super.setMaxMessagesPerRead(maxMessagesPerRead);
        return this;
    }

    @Override
    public TasSocketChannelConfig setWriteSpinCount(int writeSpinCount) {
        super.setWriteSpinCount(writeSpinCount);
        return this;
    }

    @Override
    public TasSocketChannelConfig setAllocator(ByteBufAllocator allocator) {
        super.setAllocator(allocator);
        return this;
    }

    @Override
    public TasSocketChannelConfig setRecvByteBufAllocator(RecvByteBufAllocator allocator) {
        super.setRecvByteBufAllocator(allocator);
        return this;
    }

    @Override
    public TasSocketChannelConfig setAutoRead(boolean autoRead) {
        super.setAutoRead(autoRead);
        return this;
    }

    @Override
    public TasSocketChannelConfig setAutoClose(boolean autoClose) {
        super.setAutoClose(autoClose);
        return this;
    }

    @Override
    @Deprecated
    public TasSocketChannelConfig setWriteBufferHighWaterMark(int writeBufferHighWaterMark) {
        super.setWriteBufferHighWaterMark(writeBufferHighWaterMark);
        return this;
    }

    @Override
    @Deprecated
    public TasSocketChannelConfig setWriteBufferLowWaterMark(int writeBufferLowWaterMark) {
        super.setWriteBufferLowWaterMark(writeBufferLowWaterMark);
        return this;
    }

    @Override
    public TasSocketChannelConfig setWriteBufferWaterMark(WriteBufferWaterMark writeBufferWaterMark) {
        super.setWriteBufferWaterMark(writeBufferWaterMark);
        return this;
    }

    @Override
    public TasSocketChannelConfig setMessageSizeEstimator(MessageSizeEstimator estimator) {
        super.setMessageSizeEstimator(estimator);
        return this;
    }
}
