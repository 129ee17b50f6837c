package io.tasnetty.transport;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.ServerSocketChannelConfig;
import io.netty.util.NetUtil;

import io.netty.channel.ChannelException;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static io.netty.channel.ChannelOption.SO_BACKLOG;
import static io.netty.channel.ChannelOption.SO_RCVBUF;
import static io.netty.channel.ChannelOption.SO_REUSEADDR;
import static io.netty.channel.ChannelOption.SO_SNDBUF;

/**
 * Options of a {@link TasServerSocketChannel}:
 * <ul>
 *   <li>{@code SO_BACKLOG}: the listener's backlog (half-open plus not yet accepted connections),
 *       capped by the engine's {@code tcp-backlog-max}.</li>
 *   <li>{@code SO_RCVBUF}/{@code SO_SNDBUF} (= {@link TasChannelOption#ACCEPTED_RCVBUF}/{@link
 *       TasChannelOption#ACCEPTED_SNDBUF}): ring sizes of accepted connections, fixed at bind.</li>
 *   <li>{@code SO_REUSEADDR}: accepted and reported; the engine lets a port be bound again as soon
 *       as its listener closed, whatever the connections of the old listener are doing. Set to
 *       true it also reaches the kernel listener of a loopback or wildcard bind.</li>
 *   <li>epoll's {@code SO_REUSEPORT}, {@code TCP_DEFER_ACCEPT}, {@code TCP_FASTOPEN},
 *       {@code IP_FREEBIND}, {@code IP_TRANSPARENT}, {@code EPOLL_MODE} (by name): accepted and
 *       reported, no effect. {@code TCP_MD5SIG} is refused with an exception.</li>
 * </ul>
 */
public final class TasServerSocketChannelConfig extends DefaultChannelConfig implements ServerSocketChannelConfig {
    private final TasServerSocketChannel channel;
    private volatile int backlog = NetUtil.SOMAXCONN;
    private volatile boolean reuseAddress;
    private volatile int receiveBufferSize;
    private volatile int sendBufferSize;
    /** epoll's server options taken by name, with the values set. */
    private final Map<String, Object> foreign = new ConcurrentHashMap<>();

    TasServerSocketChannelConfig(TasServerSocketChannel channel) {
        super(channel);
        this.channel = channel;
    }

    @Override
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), SO_RCVBUF, SO_SNDBUF, SO_REUSEADDR, SO_BACKLOG,
            TasChannelOption.ACCEPTED_RCVBUF, TasChannelOption.ACCEPTED_SNDBUF);
    }

    @SuppressWarnings("unchecked")
    @Override
    public <T> T getOption(ChannelOption<T> option) {
        if (option == SO_RCVBUF || option == TasChannelOption.ACCEPTED_RCVBUF) {
            return (T) Integer.valueOf(getReceiveBufferSize());
        }
        if (option == SO_SNDBUF || option == TasChannelOption.ACCEPTED_SNDBUF) {
            return (T) Integer.valueOf(getSendBufferSize());
        }
        if (option == SO_REUSEADDR) {
            return (T) Boolean.valueOf(isReuseAddress());
        }
        if (option == SO_BACKLOG) {
            return (T) Integer.valueOf(getBacklog());
        }
        String name = TasSocketChannelConfig.simpleName(option);
        if (isAcceptedNoOp(name)) {
            return (T) foreign.get(name);
        }
        return super.getOption(option);
    }

    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        if (option == SO_RCVBUF || option == TasChannelOption.ACCEPTED_RCVBUF) {
            setReceiveBufferSize((Integer) value);
        } else if (option == SO_SNDBUF || option == TasChannelOption.ACCEPTED_SNDBUF) {
            setSendBufferSize((Integer) value);
        } else if (option == SO_REUSEADDR) {
            setReuseAddress((Boolean) value);
        } else if (option == SO_BACKLOG) {
            setBacklog((Integer) value);
        } else {
            String name = TasSocketChannelConfig.simpleName(option);
            if (name.equals("TCP_MD5SIG")) {
                throw new ChannelException(
                    "TCP_MD5SIG is not supported by TAS channels (RFC 2385 signatures are neither made nor checked)");
            }
            if (!isAcceptedNoOp(name)) {
                return super.setOption(option, value);
            }
            foreign.put(name, value);
        }
        return true;
    }

    /** epoll's server options that are no-ops here (see the class comment). */
    private static boolean isAcceptedNoOp(String name) {
        return switch (name) {
            case "SO_REUSEPORT", "TCP_DEFER_ACCEPT", "TCP_FASTOPEN", "IP_FREEBIND", "IP_TRANSPARENT", "EPOLL_MODE" -> true;
            default -> false;
        };
    }

    /** Configured receive-ring size for accepted connections (0 = engine default). */
    int requestedReceiveBufferSize() {
        return receiveBufferSize;
    }

    int requestedSendBufferSize() {
        return sendBufferSize;
    }

    @Override
    public int getBacklog() {
        return backlog;
    }

    @Override
    public TasServerSocketChannelConfig setBacklog(int backlog) {
        if (backlog < 0) {
            throw new IllegalArgumentException("backlog: " + backlog + " (expected: >= 0)");
        }
        this.backlog = backlog;
        return this;
    }

    @Override
    public boolean isReuseAddress() {
        return reuseAddress;
    }

    @Override
    public TasServerSocketChannelConfig setReuseAddress(boolean reuseAddress) {
        this.reuseAddress = reuseAddress;
        return this;
    }

    @Override
    public int getReceiveBufferSize() {
        return receiveBufferSize > 0 ? receiveBufferSize : channel.defaultRxBufLen();
    }

    @Override
    public TasServerSocketChannelConfig setReceiveBufferSize(int size) {
        if (size < 0) {
            throw new IllegalArgumentException("receiveBufferSize: " + size + " (expected: >= 0)");
        }
        receiveBufferSize = size;
        return this;
    }

    /** Transmit-ring size of accepted connections (not part of {@link ServerSocketChannelConfig}). */
    public int getSendBufferSize() {
        return sendBufferSize > 0 ? sendBufferSize : channel.defaultTxBufLen();
    }

    public TasServerSocketChannelConfig setSendBufferSize(int size) {
        if (size < 0) {
            throw new IllegalArgumentException("sendBufferSize: " + size + " (expected: >= 0)");
        }
        sendBufferSize = size;
        return this;
    }

    @Override
    public TasServerSocketChannelConfig setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
        return this;
    }

    @Override
    protected void autoReadCleared() {
        channel.clearReadPending();
    }

    @Override
    public TasServerSocketChannelConfig setConnectTimeoutMillis(int connectTimeoutMillis) {
        super.setConnectTimeoutMillis(connectTimeoutMillis);
        return this;
    }

    @Override
    @Deprecated
    public TasServerSocketChannelConfig setMaxMessagesPerRead(int maxMessagesPerRead) {
        super.setMaxMessagesPerRead(maxMessagesPerRead);
        return this;
    }

    @Override
    public TasServerSocketChannelConfig setWriteSpinCount(int writeSpinCount) {
        super.setWriteSpinCount(writeSpinCount);
        return this;
    }

    @Override
    public TasServerSocketChannelConfig setAllocator(ByteBufAllocator allocator) {
        super.setAllocator(allocator);
        return this;
    }

    @Override
    public TasServerSocketChannelConfig setRecvByteBufAllocator(RecvByteBufAllocator allocator) {
        super.setRecvByteBufAllocator(allocator);
        return this;
    }

    @Override
    public TasServerSocketChannelConfig setAutoRead(boolean autoRead) {
        super.setAutoRead(autoRead);
        return this;
    }

    @Override
    @Deprecated
    public TasServerSocketChannelConfig setWriteBufferHighWaterMark(int writeBufferHighWaterMark) {
        super.setWriteBufferHighWaterMark(writeBufferHighWaterMark);
        return this;
    }

    @Override
    @Deprecated
    public TasServerSocketChannelConfig setWriteBufferLowWaterMark(int writeBufferLowWaterMark) {
        super.setWriteBufferLowWaterMark(writeBufferLowWaterMark);
        return this;
    }

    @Override
    public TasServerSocketChannelConfig setWriteBufferWaterMark(WriteBufferWaterMark writeBufferWaterMark) {
        super.setWriteBufferWaterMark(writeBufferWaterMark);
        return this;
    }

    @Override
    public TasServerSocketChannelConfig setMessageSizeEstimator(MessageSizeEstimator estimator) {
        super.setMessageSizeEstimator(estimator);
        return this;
    }
}
