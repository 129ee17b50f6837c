package io.tasnetty.transport;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannelConfig;
import io.tasnetty.engine.context.TasConnection;

import io.netty.channel.ChannelException;
import jdk.net.ExtendedSocketOptions;

import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

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
 *   <li>{@code TCP_NODELAY}: true (Netty's default) sends what a flush hands over at once; false
 *       turns on Nagle's algorithm for the connection (Minshall's form, as Linux: a sub-MSS segment
 *       waits while an earlier one is unacknowledged).</li>
 *   <li>{@code IP_TOS}: the type-of-service byte of the connection's segments (the engine keeps
 *       the two ECN bits for itself).</li>
 *   <li>{@code TCP_KEEPIDLE}, {@code TCP_KEEPINTVL}/{@code TCP_KEEPINTERVAL},
 *       {@code TCP_KEEPCNT}/{@code TCP_KEEPCOUNT} (by name: {@link TasChannelOption}'s, epoll's or
 *       NIO's): this connection's keepalive timing, in seconds and probes.</li>
 *   <li>epoll's {@code TCP_USER_TIMEOUT} (RFC 5482, milliseconds): sent data unacknowledged that long
 *       since the last progress, or the peer's window shut that long under our probes, closes the
 *       connection with "Connection timed out" (ETIMEDOUT), as on Linux. Not applied on the kernel
 *       path (the JDK cannot set it).</li>
 *   <li>{@code SO_REUSEADDR}, {@code SO_REUSEPORT}: accepted and reported; the engine has no use for them.</li>
 *   <li>epoll's {@code TCP_QUICKACK}: true starts the quick-ack phase again (the next segments are
 *       acknowledged at once, a delayed ACK goes now), as on Linux, where it is not permanent either.</li>
 *   <li>epoll's
 *       {@code TCP_CORK}, {@code TCP_NOTSENT_LOWAT}, {@code SO_BUSY_POLL},
 *       {@code IP_TRANSPARENT}, {@code IP_FREEBIND}, {@code TCP_FASTOPEN_CONNECT} and
 *       {@code EPOLL_MODE}: accepted and reported, no effect on the engine path (on the kernel path
 *       {@code TCP_QUICKACK} and {@code SO_REUSEPORT} reach the socket; the JDK offers no way to set
 *       the others).</li>
 *   <li>{@code TCP_MD5SIG}: refused with an exception (it cannot be honoured, and ignoring a
 *       security option silently would be worse).</li>
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
    /** Keepalive timing (seconds, seconds, probes); 0 = default. */
    private volatile int keepIdle;
    private volatile int keepInterval;
    private volatile int keepCount;
    /** TCP_USER_TIMEOUT in milliseconds; 0 = none. */
    private volatile int userTimeoutMillis;
    /** Options of other transports this one takes by name, with the values set (see the class comment). */
    private final Map<String, Object> foreign = new ConcurrentHashMap<>();

    TasSocketChannelConfig(TasSocketChannel channel) {
        super(channel);
        this.channel = channel;
    }

    @Override
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), SO_RCVBUF, SO_SNDBUF, TCP_NODELAY, SO_KEEPALIVE, SO_REUSEADDR,
            SO_LINGER, IP_TOS, ALLOW_HALF_CLOSURE, TasChannelOption.TCP_KEEPIDLE, TasChannelOption.TCP_KEEPINTVL,
            TasChannelOption.TCP_KEEPCNT);
    }

    /** An option's name without the declaring class ({@code ChannelOption.valueOf(Class, name)} prefixes it). */
    static String simpleName(ChannelOption<?> option) {
        String n = option.name();
        int i = n.lastIndexOf('#');
        return i < 0 ? n : n.substring(i + 1);
    }

    /** Options of epoll's and NIO's socket configs that are no-ops here (see the class comment). */
    private static boolean isAcceptedNoOp(String name) {
        return switch (name) {
            case "TCP_QUICKACK", "TCP_CORK", "TCP_NOTSENT_LOWAT", "SO_BUSY_POLL", "IP_TRANSPARENT",
                 "IP_FREEBIND", "TCP_FASTOPEN_CONNECT", "EPOLL_MODE", "SO_REUSEPORT" -> true;
            default -> false;
        };
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
        String name = simpleName(option);
        switch (name) {
            case "TCP_KEEPIDLE":
                return (T) Integer.valueOf(keepIdle);
            case "TCP_KEEPINTVL", "TCP_KEEPINTERVAL":
                return (T) Integer.valueOf(keepInterval);
            case "TCP_KEEPCNT", "TCP_KEEPCOUNT":
                return (T) Integer.valueOf(keepCount);
            case "TCP_USER_TIMEOUT":
                return (T) Integer.valueOf(userTimeoutMillis);
            default:
                if (isAcceptedNoOp(name)) {
                    return (T) foreign.get(name);
                }
                return super.getOption(option);
        }
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
            return setByName(option, value);
        }
        return true;
    }

    private <T> boolean setByName(ChannelOption<T> option, T value) {
        String name = simpleName(option);
        switch (name) {
            case "TCP_KEEPIDLE" -> setKeepAliveTiming((Integer) value, keepInterval, keepCount);
            case "TCP_KEEPINTVL", "TCP_KEEPINTERVAL" -> setKeepAliveTiming(keepIdle, (Integer) value, keepCount);
            case "TCP_KEEPCNT", "TCP_KEEPCOUNT" -> setKeepAliveTiming(keepIdle, keepInterval, (Integer) value);
            case "TCP_USER_TIMEOUT" -> setUserTimeout((Integer) value);
            case "TCP_MD5SIG" -> throw new ChannelException(
                "TCP_MD5SIG is not supported by TAS channels (RFC 2385 signatures are neither made nor checked)");
            default -> {
                if (!isAcceptedNoOp(name)) {
                    return super.setOption(option, value);
                }
                foreign.put(name, value);
                if (name.equals("TCP_QUICKACK")) {
                    kernel(ExtendedSocketOptions.TCP_QUICKACK, (Boolean) value);
                    TasConnection c = channel.connection();
                    if (c != null) {
                        c.setQuickAck((Boolean) value);
                    }
                } else if (name.equals("SO_REUSEPORT")) {
                    kernel(StandardSocketOptions.SO_REUSEPORT, (Boolean) value);
                }
            }
        }
        return true;
    }

    /**
     * TCP_USER_TIMEOUT in milliseconds (epoll's unit; 0 = none) on the engine path. The JDK cannot
     * set it on a kernel socket, so the kernel path keeps the kernel's behaviour.
     */
    private void setUserTimeout(int millis) {
        if (millis < 0) {
            throw new IllegalArgumentException("TCP_USER_TIMEOUT must not be negative: " + millis);
        }
        userTimeoutMillis = millis;
        TasConnection c = channel.connection();
        if (c != null) {
            c.setUserTimeout(TimeUnit.MILLISECONDS.toNanos(millis));
        }
    }

    /** Keepalive timing in seconds and probes (0 = default) on both paths. */
    private void setKeepAliveTiming(int idleSeconds, int intervalSeconds, int probes) {
        if (idleSeconds < 0 || intervalSeconds < 0 || probes < 0) {
            throw new IllegalArgumentException("TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT must not be negative: "
                + idleSeconds + ", " + intervalSeconds + ", " + probes);
        }
        keepIdle = idleSeconds;
        keepInterval = intervalSeconds;
        keepCount = probes;
        applyKeepAliveTiming();
    }

    private void applyKeepAliveTiming() {
        KernelStreamPath k = channel.kernelPath();
        if (k != null) {
            applyKeepAliveTiming(k);
        }
        TasConnection c = channel.connection();
        if (c != null && (keepIdle | keepInterval | keepCount) != 0) {
            c.setKeepAliveTiming(TimeUnit.SECONDS.toNanos(keepIdle), TimeUnit.SECONDS.toNanos(keepInterval), keepCount);
        }
    }

    private void applyKeepAliveTiming(KernelStreamPath k) {
        if (keepIdle > 0) {
            k.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, keepIdle);
        }
        if (keepInterval > 0) {
            k.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, keepInterval);
        }
        if (keepCount > 0) {
            k.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, keepCount);
        }
    }

    /** An engine connection opened (or accepted) for this channel: give it the options set so far. */
    void applyTo(TasConnection c) {
        if (keepAlive) {
            c.setKeepAlive(true);
        }
        if ((keepIdle | keepInterval | keepCount) != 0) {
            c.setKeepAliveTiming(TimeUnit.SECONDS.toNanos(keepIdle), TimeUnit.SECONDS.toNanos(keepInterval), keepCount);
        }
        if (trafficClass != 0) {
            c.setTrafficClass(trafficClass);
        }
        if (!tcpNoDelay) {
            c.setNoDelay(false);
        }
        if (userTimeoutMillis > 0) {
            c.setUserTimeout(TimeUnit.MILLISECONDS.toNanos(userTimeoutMillis));
        }
        if (Boolean.TRUE.equals(foreign.get("TCP_QUICKACK"))) {
            c.setQuickAck(true);
        }
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
        applyKeepAliveTiming(k);
        if (Boolean.TRUE.equals(foreign.get("TCP_QUICKACK"))) {
            k.setOption(ExtendedSocketOptions.TCP_QUICKACK, true);
        }
        if (Boolean.TRUE.equals(foreign.get("SO_REUSEPORT"))) {
            k.setOption(StandardSocketOptions.SO_REUSEPORT, true);
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
        TasConnection c = channel.connection();
        if (c != null) {
            c.setNoDelay(tcpNoDelay);
        }
        return this;
    }

    @Override
    public int getTrafficClass() {
        return trafficClass;
    }

    @Override
    public TasSocketChannelConfig setTrafficClass(int trafficClass) {
        if (trafficClass < 0 || trafficClass > 255) {
            throw new IllegalArgumentException("IP_TOS: " + trafficClass + " (expected: 0-255)");
        }
        this.trafficClass = trafficClass;
        kernel(StandardSocketOptions.IP_TOS, trafficClass);
        TasConnection c = channel.connection();
        if (c != null) {
            c.setTrafficClass(trafficClass);
        }
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
