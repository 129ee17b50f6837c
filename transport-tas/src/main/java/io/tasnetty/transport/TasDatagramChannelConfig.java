package io.tasnetty.transport;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.DatagramChannelConfig;
import io.netty.channel.socket.nio.NioChannelOption;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.channels.DatagramChannel;
import java.util.Enumeration;
import java.util.Map;

import static io.netty.channel.ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION;
import static io.netty.channel.ChannelOption.IP_MULTICAST_ADDR;
import static io.netty.channel.ChannelOption.IP_MULTICAST_IF;
import static io.netty.channel.ChannelOption.IP_MULTICAST_LOOP_DISABLED;
import static io.netty.channel.ChannelOption.IP_MULTICAST_TTL;
import static io.netty.channel.ChannelOption.IP_TOS;
import static io.netty.channel.ChannelOption.SO_BROADCAST;
import static io.netty.channel.ChannelOption.SO_RCVBUF;
import static io.netty.channel.ChannelOption.SO_REUSEADDR;
import static io.netty.channel.ChannelOption.SO_SNDBUF;

/**
 * Options of a {@link TasDatagramChannel}. Each socket option is read from and written to the
 * kernel socket, so what a getter reports is what the kernel applies (e.g. Linux doubles
 * {@code SO_RCVBUF}):
 * <ul>
 *   <li>{@code SO_BROADCAST}, {@code SO_RCVBUF}, {@code SO_SNDBUF}, {@code SO_REUSEADDR},
 *       {@code IP_TOS} (the IPv6 traffic class on an IPv6 socket): the socket options of those names.</li>
 *   <li>{@code IP_MULTICAST_IF} (an interface) and {@code IP_MULTICAST_ADDR} (an address of one):
 *       where multicast datagrams leave; {@code IP_MULTICAST_TTL}: their hop limit (also
 *       {@link #getTimeToLive()}); {@code IP_MULTICAST_LOOP_DISABLED}: whether this host's own
 *       members stop receiving them (the inverse of the socket's {@code IP_MULTICAST_LOOP}).</li>
 *   <li>{@code DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION}: the channel is active once registered,
 *       before any bind (set it before registering).</li>
 *   <li>Any other socket option of the JDK through {@link NioChannelOption#of}, e.g.
 *       {@code NioChannelOption.of(StandardSocketOptions.SO_REUSEPORT)}, as on NIO.</li>
 * </ul>
 * The receive buffer allocator defaults to 2048-byte buffers (Netty's datagram default): a longer
 * datagram is cut to the buffer; set a larger {@link FixedRecvByteBufAllocator} for more.
 */
public final class TasDatagramChannelConfig extends DefaultChannelConfig implements DatagramChannelConfig {
    private final TasDatagramChannel channel;
    private final DatagramChannel socket;
    private volatile boolean activeOnRegistration;

    TasDatagramChannelConfig(TasDatagramChannel channel, DatagramChannel socket) {
        super(channel, new FixedRecvByteBufAllocator(2048));
        this.channel = channel;
        this.socket = socket;
    }

    boolean activeOnRegistration() {
        return activeOnRegistration;
    }

    @SuppressWarnings("deprecation") // DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION: deprecated in Netty, still honoured
    @Override
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), SO_BROADCAST, SO_RCVBUF, SO_SNDBUF, SO_REUSEADDR, IP_TOS,
            IP_MULTICAST_LOOP_DISABLED, IP_MULTICAST_ADDR, IP_MULTICAST_IF, IP_MULTICAST_TTL,
            DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION);
    }

    @SuppressWarnings({"unchecked", "deprecation"})
    @Override
    public <T> T getOption(ChannelOption<T> option) {
        if (option == SO_BROADCAST) {
            return (T) Boolean.valueOf(isBroadcast());
        }
        if (option == SO_RCVBUF) {
            return (T) Integer.valueOf(getReceiveBufferSize());
        }
        if (option == SO_SNDBUF) {
            return (T) Integer.valueOf(getSendBufferSize());
        }
        if (option == SO_REUSEADDR) {
            return (T) Boolean.valueOf(isReuseAddress());
        }
        if (option == IP_TOS) {
            return (T) Integer.valueOf(getTrafficClass());
        }
        if (option == IP_MULTICAST_LOOP_DISABLED) {
            return (T) Boolean.valueOf(isLoopbackModeDisabled());
        }
        if (option == IP_MULTICAST_ADDR) {
            return (T) getInterface();
        }
        if (option == IP_MULTICAST_IF) {
            return (T) getNetworkInterface();
        }
        if (option == IP_MULTICAST_TTL) {
            return (T) Integer.valueOf(getTimeToLive());
        }
        if (option == DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION) {
            return (T) Boolean.valueOf(activeOnRegistration);
        }
        if (option instanceof NioChannelOption<T>) {
            SocketOption<T> jdk = jdkOption(option);
            return jdk == null ? null : get(jdk);
        }
        return super.getOption(option);
    }

    @SuppressWarnings("deprecation")
    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        if (option == SO_BROADCAST) {
            setBroadcast((Boolean) value);
        } else if (option == SO_RCVBUF) {
            setReceiveBufferSize((Integer) value);
        } else if (option == SO_SNDBUF) {
            setSendBufferSize((Integer) value);
        } else if (option == SO_REUSEADDR) {
            setReuseAddress((Boolean) value);
        } else if (option == IP_TOS) {
            setTrafficClass((Integer) value);
        } else if (option == IP_MULTICAST_LOOP_DISABLED) {
            setLoopbackModeDisabled((Boolean) value);
        } else if (option == IP_MULTICAST_ADDR) {
            setInterface((InetAddress) value);
        } else if (option == IP_MULTICAST_IF) {
            setNetworkInterface((NetworkInterface) value);
        } else if (option == IP_MULTICAST_TTL) {
            setTimeToLive((Integer) value);
        } else if (option == DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION) {
            if (channel.isRegistered()) {
                throw new IllegalStateException("DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION can only be set before registration");
            }
            activeOnRegistration = (Boolean) value;
        } else if (option instanceof NioChannelOption<T>) {
            SocketOption<T> jdk = jdkOption(option);
            if (jdk == null) {
                return false; // the socket has no such option: Netty logs it as unknown
            }
            set(jdk, value);
        } else {
            return super.setOption(option, value);
        }
        return true;
    }

    /**
     * The JDK option behind a {@link NioChannelOption}, found by its name among the socket's
     * options ({@code NioChannelOption} keeps the option to itself and names itself after it).
     */
    @SuppressWarnings("unchecked")
    private <T> SocketOption<T> jdkOption(ChannelOption<T> option) {
        for (SocketOption<?> o : socket.supportedOptions()) {
            if (o.name().equals(option.name())) {
                return (SocketOption<T>) o;
            }
        }
        return null;
    }

    private <T> T get(SocketOption<T> option) {
        try {
            return socket.getOption(option);
        } catch (IOException e) {
            throw new ChannelException(e);
        }
    }

    private <T> void set(SocketOption<T> option, T value) {
        try {
            socket.setOption(option, value);
        } catch (IOException e) {
            throw new ChannelException(e);
        }
    }

    @Override
    public boolean isBroadcast() {
        return get(StandardSocketOptions.SO_BROADCAST);
    }

    @Override
    public TasDatagramChannelConfig setBroadcast(boolean broadcast) {
        set(StandardSocketOptions.SO_BROADCAST, broadcast);
        return this;
    }

    @Override
    public int getReceiveBufferSize() {
        return get(StandardSocketOptions.SO_RCVBUF);
    }

    @Override
    public TasDatagramChannelConfig setReceiveBufferSize(int receiveBufferSize) {
        set(StandardSocketOptions.SO_RCVBUF, receiveBufferSize);
        return this;
    }

    @Override
    public int getSendBufferSize() {
        return get(StandardSocketOptions.SO_SNDBUF);
    }

    @Override
    public TasDatagramChannelConfig setSendBufferSize(int sendBufferSize) {
        set(StandardSocketOptions.SO_SNDBUF, sendBufferSize);
        return this;
    }

    @Override
    public boolean isReuseAddress() {
        return get(StandardSocketOptions.SO_REUSEADDR);
    }

    @Override
    public TasDatagramChannelConfig setReuseAddress(boolean reuseAddress) {
        set(StandardSocketOptions.SO_REUSEADDR, reuseAddress);
        return this;
    }

    @Override
    public int getTrafficClass() {
        return get(StandardSocketOptions.IP_TOS);
    }

    @Override
    public TasDatagramChannelConfig setTrafficClass(int trafficClass) {
        set(StandardSocketOptions.IP_TOS, trafficClass);
        return this;
    }

    @Override
    public boolean isLoopbackModeDisabled() {
        return !get(StandardSocketOptions.IP_MULTICAST_LOOP);
    }

    @Override
    public TasDatagramChannelConfig setLoopbackModeDisabled(boolean loopbackModeDisabled) {
        set(StandardSocketOptions.IP_MULTICAST_LOOP, !loopbackModeDisabled);
        return this;
    }

    /** The multicast hop limit ({@code IP_MULTICAST_TTL}), as NIO reports it. */
    @Override
    public int getTimeToLive() {
        return get(StandardSocketOptions.IP_MULTICAST_TTL);
    }

    @Override
    public TasDatagramChannelConfig setTimeToLive(int ttl) {
        set(StandardSocketOptions.IP_MULTICAST_TTL, ttl);
        return this;
    }

    @Override
    public NetworkInterface getNetworkInterface() {
        return get(StandardSocketOptions.IP_MULTICAST_IF);
    }

    @Override
    public TasDatagramChannelConfig setNetworkInterface(NetworkInterface networkInterface) {
        set(StandardSocketOptions.IP_MULTICAST_IF, networkInterface);
        return this;
    }

    /** An address of the {@code IP_MULTICAST_IF} interface, or null if none is set. */
    @Override
    public InetAddress getInterface() {
        NetworkInterface iface = getNetworkInterface();
        if (iface == null) {
            return null;
        }
        Enumeration<InetAddress> addresses = iface.getInetAddresses();
        return addresses.hasMoreElements() ? addresses.nextElement() : null;
    }

    /** Sets {@code IP_MULTICAST_IF} to the interface that has {@code interfaceAddress}. */
    @Override
    public TasDatagramChannelConfig setInterface(InetAddress interfaceAddress) {
        NetworkInterface iface;
        try {
            iface = NetworkInterface.getByInetAddress(interfaceAddress);
        } catch (SocketException e) {
            throw new ChannelException(e);
        }
        if (iface == null) {
            throw new ChannelException("no network interface has the address " + interfaceAddress);
        }
        return setNetworkInterface(iface);
    }

    @Override
    protected void autoReadCleared() {
        channel.autoReadCleared();
    }

    // Covariant setters of ChannelConfig.

    @Deprecated
    @Override
    public TasDatagramChannelConfig setMaxMessagesPerRead(int maxMessagesPerRead) {
        super.setMaxMessagesPerRead(maxMessagesPerRead);
        return this;
    }

    @Override
    public TasDatagramChannelConfig setWriteSpinCount(int writeSpinCount) {
        super.setWriteSpinCount(writeSpinCount);
        return this;
    }

    @Override
    public TasDatagramChannelConfig setConnectTimeoutMillis(int connectTimeoutMillis) {
        super.setConnectTimeoutMillis(connectTimeoutMillis);
        return this;
    }

    @Override
    public TasDatagramChannelConfig setAllocator(ByteBufAllocator allocator) {
        super.setAllocator(allocator);
        return this;
    }

    @Override
    public TasDatagramChannelConfig setRecvByteBufAllocator(RecvByteBufAllocator allocator) {
        super.setRecvByteBufAllocator(allocator);
        return this;
    }

    @Override
    public TasDatagramChannelConfig setAutoRead(boolean autoRead) {
        super.setAutoRead(autoRead);
        return this;
    }

    @Override
    public TasDatagramChannelConfig setAutoClose(boolean autoClose) {
        super.setAutoClose(autoClose);
        return this;
    }

    @Override
    public TasDatagramChannelConfig setWriteBufferHighWaterMark(int writeBufferHighWaterMark) {
        super.setWriteBufferHighWaterMark(writeBufferHighWaterMark);
        return this;
    }

    @Override
    public TasDatagramChannelConfig setWriteBufferLowWaterMark(int writeBufferLowWaterMark) {
        super.setWriteBufferLowWaterMark(writeBufferLowWaterMark);
        return this;
    }

    @Override
    public TasDatagramChannelConfig setWriteBufferWaterMark(WriteBufferWaterMark writeBufferWaterMark) {
        super.setWriteBufferWaterMark(writeBufferWaterMark);
        return this;
    }

    @Override
    public TasDatagramChannelConfig setMessageSizeEstimator(MessageSizeEstimator estimator) {
        super.setMessageSizeEstimator(estimator);
        return this;
    }

    @Override
    public TasDatagramChannelConfig setMaxMessagesPerWrite(int maxMessagesPerWrite) {
        super.setMaxMessagesPerWrite(maxMessagesPerWrite);
        return this;
    }
}
