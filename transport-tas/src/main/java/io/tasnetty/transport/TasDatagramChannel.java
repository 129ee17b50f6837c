package io.tasnetty.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.AddressedEnvelope;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultAddressedEnvelope;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.nio.AbstractNioMessageChannel;
import io.netty.channel.nio.NioIoOps;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.InternetProtocolFamily;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.util.UncheckedBooleanSupplier;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.MembershipKey;
import java.nio.channels.UnresolvedAddressException;
import java.nio.channels.spi.SelectorProvider;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * UDP on TAS event loops: the drop-in for {@code NioDatagramChannel}, so resolvers (Netty's
 * {@code DnsNameResolver}), QUIC codecs and UDP protocols run on a {@link TasEventLoopGroup}.
 *
 * <p>The engine has no UDP, so this channel takes the kernel path: a JDK
 * {@link java.nio.channels.DatagramChannel} registered with the loop's kernel selector, the same
 * blocking point as the loop's engine events (see {@link TasIoHandler}). It follows Netty's NIO
 * registration contract, so it also runs on a plain NIO loop.
 *
 * <p>It reads {@link DatagramPacket}s and writes {@link DatagramPacket}s,
 * {@link AddressedEnvelope}s of a {@link ByteBuf}, and plain {@link ByteBuf}s once connected.
 * {@link #connect} fixes the peer (the kernel then drops datagrams from anyone else and reports
 * ICMP errors, e.g. {@link java.net.PortUnreachableException}); {@code disconnect()} undoes it.
 * Options are in {@link TasDatagramChannelConfig}.
 */
public final class TasDatagramChannel extends AbstractNioMessageChannel implements DatagramChannel {
    /** Datagram channels can disconnect; read up to 16 datagrams per wakeup, as NIO does. */
    private static final ChannelMetadata METADATA = new ChannelMetadata(true, 16);
    private static final String EXPECTED_TYPES = " (expected: DatagramPacket, AddressedEnvelope<ByteBuf, SocketAddress>"
        + " or, once connected, ByteBuf)";

    private final TasDatagramChannelConfig config;
    /** Multicast memberships by group, for leaving and blocking; guarded by {@code this}. */
    private final Map<InetAddress, List<MembershipKey>> memberships = new HashMap<>();

    /**
     * A socket of the system's default family (IPv6 with IPv4-mapped addresses where the JVM has
     * IPv6, else IPv4). Netty's reflective channel factory uses this constructor.
     */
    public TasDatagramChannel() {
        this(open(null));
    }

    /** A socket of {@code family} ({@link SocketProtocolFamily#INET} or {@code INET6}); null means the default. */
    public TasDatagramChannel(SocketProtocolFamily family) {
        this(open(family));
    }

    /**
     * A socket of {@code family}; null means the default.
     *
     * @deprecated use {@link #TasDatagramChannel(SocketProtocolFamily)}, as Netty deprecates
     *     {@link InternetProtocolFamily}
     */
    @Deprecated
    public TasDatagramChannel(InternetProtocolFamily family) {
        this(family == null ? null : family.toSocketProtocolFamily());
    }

    /** Wraps an open JDK datagram socket (switched to non-blocking here). */
    public TasDatagramChannel(java.nio.channels.DatagramChannel socket) {
        super(null, socket, NioIoOps.READ);
        this.config = new TasDatagramChannelConfig(this, socket);
    }

    private static java.nio.channels.DatagramChannel open(SocketProtocolFamily family) {
        try {
            SelectorProvider provider = SelectorProvider.provider();
            return family == null ? provider.openDatagramChannel() : provider.openDatagramChannel(family.toJdkFamily());
        } catch (IOException e) {
            throw new ChannelException("Failed to open a datagram socket", e);
        }
    }

    @Override
    public ChannelMetadata metadata() {
        return METADATA;
    }

    @Override
    public TasDatagramChannelConfig config() {
        return config;
    }

    /**
     * Open and bound (binding happens on bind, connect or the first send), or registered when
     * {@code DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION} is set, as with NIO.
     */
    @Override
    public boolean isActive() {
        return javaChannel().isOpen() && (config.activeOnRegistration() && isRegistered() || boundAddress() != null);
    }

    @Override
    public boolean isConnected() {
        return javaChannel().isConnected();
    }

    @Override
    protected java.nio.channels.DatagramChannel javaChannel() {
        return (java.nio.channels.DatagramChannel) super.javaChannel();
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
        return boundAddress();
    }

    @Override
    protected SocketAddress remoteAddress0() {
        try {
            return javaChannel().getRemoteAddress();
        } catch (IOException e) {
            return null; // closed
        }
    }

    /** The bound address, or null while unbound or once closed. */
    private SocketAddress boundAddress() {
        try {
            return javaChannel().getLocalAddress();
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    protected void doBind(SocketAddress localAddress) throws Exception {
        javaChannel().bind(localAddress);
    }

    /** A UDP connect only fixes the peer: it completes at once, binding first if needed. */
    @Override
    protected boolean doConnect(SocketAddress remoteAddress, SocketAddress localAddress) throws Exception {
        boolean connected = false;
        try {
            if (localAddress != null) {
                doBind(localAddress);
            }
            javaChannel().connect(remoteAddress);
            connected = true;
            return true;
        } finally {
            if (!connected) {
                doClose(); // as NIO: a failed connect leaves no half-set-up socket behind
            }
        }
    }

    @Override
    protected void doFinishConnect() {
        throw new UnsupportedOperationException("a datagram connect never stays pending");
    }

    @Override
    protected void doDisconnect() throws Exception {
        javaChannel().disconnect();
    }

    /**
     * Closes the socket. The JDK releases its descriptor (and so its port) when the key leaves the
     * loop's selector, which the deregistration that follows a close brings about at once.
     */
    @Override
    protected void doClose() throws Exception {
        javaChannel().close();
    }

    @SuppressWarnings("deprecation") // RecvByteBufAllocator.Handle: the type Netty's read loop hands out
    @Override
    protected int doReadMessages(List<Object> buf) throws Exception {
        RecvByteBufAllocator.Handle handle = unsafe().recvBufAllocHandle();
        ByteBuf data = handle.allocate(config.getAllocator());
        handle.attemptedBytesRead(data.writableBytes());
        boolean handedOn = false;
        try {
            ByteBuffer target = data.internalNioBuffer(data.writerIndex(), data.writableBytes());
            int start = target.position();
            InetSocketAddress sender = (InetSocketAddress) javaChannel().receive(target);
            if (sender == null) {
                return 0; // nothing queued
            }
            handle.lastBytesRead(target.position() - start);
            data.writerIndex(data.writerIndex() + handle.lastBytesRead());
            buf.add(new DatagramPacket(data, localAddress(), sender));
            handedOn = true;
            return 1;
        } finally {
            if (!handedOn) {
                data.release();
            }
        }
    }

    /** Reads on while datagrams come, even short ones: a short datagram does not mean the queue is empty. */
    @SuppressWarnings("deprecation")
    @Override
    protected boolean continueReading(RecvByteBufAllocator.Handle allocHandle) {
        if (allocHandle instanceof RecvByteBufAllocator.ExtendedHandle extended) {
            return extended.continueReading(UncheckedBooleanSupplier.TRUE_SUPPLIER);
        }
        return allocHandle.continueReading();
    }

    /** An ICMP error reported on read (port unreachable, ...) concerns one peer: the socket stays usable. */
    @Override
    protected boolean closeOnReadError(Throwable cause) {
        return !(cause instanceof SocketException) && super.closeOnReadError(cause);
    }

    /** A datagram that cannot go to one peer must not hold up those to others: fail it and go on. */
    @Override
    protected boolean continueOnWriteError() {
        return true;
    }

    @Override
    protected boolean doWriteMessage(Object msg, ChannelOutboundBuffer in) throws Exception {
        SocketAddress recipient;
        ByteBuf data;
        if (msg instanceof AddressedEnvelope<?, ?> envelope) {
            recipient = envelope.recipient();
            data = (ByteBuf) envelope.content();
        } else {
            recipient = null;
            data = (ByteBuf) msg;
        }
        int length = data.readableBytes();
        ByteBuffer payload = data.nioBufferCount() == 1
            ? data.internalNioBuffer(data.readerIndex(), length)
            : data.nioBuffer(data.readerIndex(), length);
        int sent = recipient == null ? javaChannel().write(payload) : javaChannel().send(payload, recipient);
        // 0 means the socket's send buffer is full (try again when writable), except for an empty
        // datagram, which is sent and reports 0 too.
        return sent > 0 || length == 0;
    }

    /**
     * Checks what a write may carry before it is queued, and copies contents the kernel cannot take
     * in one piece (heap or composite buffers) into one direct buffer, so the send is one copy.
     */
    @Override
    protected Object filterOutboundMessage(Object msg) {
        if (msg instanceof DatagramPacket packet) {
            requireResolved(packet.recipient());
            ByteBuf content = packet.content();
            return isSingleDirect(content) ? packet : new DatagramPacket(newDirectBuffer(packet, content), packet.recipient());
        }
        if (msg instanceof ByteBuf buf) {
            return isSingleDirect(buf) ? buf : newDirectBuffer(buf);
        }
        if (msg instanceof AddressedEnvelope<?, ?> envelope && envelope.content() instanceof ByteBuf content) {
            requireResolved(envelope.recipient());
            return isSingleDirect(content) ? envelope
                : new DefaultAddressedEnvelope<>(newDirectBuffer(envelope, content), envelope.recipient());
        }
        throw new UnsupportedOperationException("unsupported message type: " + msg.getClass().getSimpleName() + EXPECTED_TYPES);
    }

    private static void requireResolved(SocketAddress recipient) {
        if (recipient instanceof InetSocketAddress a && a.isUnresolved()) {
            throw new UnresolvedAddressException();
        }
    }

    private static boolean isSingleDirect(ByteBuf buf) {
        return buf.isDirect() && buf.nioBufferCount() == 1;
    }

    /** For the config: stop a pending read when auto-read is switched off. */
    void autoReadCleared() {
        clearReadPending();
    }

    // ---- multicast ---------------------------------------------------------------------------

    @Override
    public ChannelFuture joinGroup(InetAddress multicastAddress) {
        return joinGroup(multicastAddress, newPromise());
    }

    @Override
    public ChannelFuture joinGroup(InetAddress multicastAddress, ChannelPromise promise) {
        NetworkInterface iface;
        try {
            iface = defaultInterface();
        } catch (IOException e) {
            return promise.setFailure(e);
        }
        return joinGroup(multicastAddress, iface, null, promise);
    }

    @Override
    public ChannelFuture joinGroup(InetSocketAddress multicastAddress, NetworkInterface networkInterface) {
        return joinGroup(multicastAddress, networkInterface, newPromise());
    }

    @Override
    public ChannelFuture joinGroup(InetSocketAddress multicastAddress, NetworkInterface networkInterface,
                                   ChannelPromise promise) {
        return joinGroup(multicastAddress.getAddress(), networkInterface, null, promise);
    }

    @Override
    public ChannelFuture joinGroup(InetAddress multicastAddress, NetworkInterface networkInterface, InetAddress source) {
        return joinGroup(multicastAddress, networkInterface, source, newPromise());
    }

    /** Joins {@code multicastAddress} on {@code networkInterface}, for datagrams from {@code source} only if not null. */
    @Override
    public ChannelFuture joinGroup(InetAddress multicastAddress, NetworkInterface networkInterface, InetAddress source,
                                   ChannelPromise promise) {
        Objects.requireNonNull(multicastAddress, "multicastAddress");
        Objects.requireNonNull(networkInterface, "networkInterface");
        try {
            MembershipKey key = source == null
                ? javaChannel().join(multicastAddress, networkInterface)
                : javaChannel().join(multicastAddress, networkInterface, source);
            synchronized (this) {
                List<MembershipKey> keys = memberships.computeIfAbsent(multicastAddress, g -> new ArrayList<>());
                if (!keys.contains(key)) { // joining twice gives the same key
                    keys.add(key);
                }
            }
            return promise.setSuccess();
        } catch (Throwable t) {
            return promise.setFailure(t);
        }
    }

    @Override
    public ChannelFuture leaveGroup(InetAddress multicastAddress) {
        return leaveGroup(multicastAddress, newPromise());
    }

    @Override
    public ChannelFuture leaveGroup(InetAddress multicastAddress, ChannelPromise promise) {
        NetworkInterface iface;
        try {
            iface = defaultInterface();
        } catch (IOException e) {
            return promise.setFailure(e);
        }
        return leaveGroup(multicastAddress, iface, null, promise);
    }

    @Override
    public ChannelFuture leaveGroup(InetSocketAddress multicastAddress, NetworkInterface networkInterface) {
        return leaveGroup(multicastAddress, networkInterface, newPromise());
    }

    @Override
    public ChannelFuture leaveGroup(InetSocketAddress multicastAddress, NetworkInterface networkInterface,
                                    ChannelPromise promise) {
        return leaveGroup(multicastAddress.getAddress(), networkInterface, null, promise);
    }

    @Override
    public ChannelFuture leaveGroup(InetAddress multicastAddress, NetworkInterface networkInterface, InetAddress source) {
        return leaveGroup(multicastAddress, networkInterface, source, newPromise());
    }

    /** Drops the membership joined with the same interface and source; leaving a group not joined does nothing. */
    @Override
    public ChannelFuture leaveGroup(InetAddress multicastAddress, NetworkInterface networkInterface, InetAddress source,
                                    ChannelPromise promise) {
        Objects.requireNonNull(multicastAddress, "multicastAddress");
        Objects.requireNonNull(networkInterface, "networkInterface");
        synchronized (this) {
            List<MembershipKey> keys = memberships.get(multicastAddress);
            if (keys != null) {
                keys.removeIf(key -> {
                    boolean match = networkInterface.equals(key.networkInterface())
                        && Objects.equals(source, key.sourceAddress());
                    if (match) {
                        key.drop();
                    }
                    return match;
                });
                if (keys.isEmpty()) {
                    memberships.remove(multicastAddress);
                }
            }
        }
        return promise.setSuccess();
    }

    @Override
    public ChannelFuture block(InetAddress multicastAddress, NetworkInterface networkInterface, InetAddress sourceToBlock) {
        return block(multicastAddress, networkInterface, sourceToBlock, newPromise());
    }

    /**
     * Stops datagrams from {@code sourceToBlock} on a membership of {@code multicastAddress} (joined
     * for all sources) on {@code networkInterface}; fails if there is no such membership.
     */
    @Override
    public ChannelFuture block(InetAddress multicastAddress, NetworkInterface networkInterface, InetAddress sourceToBlock,
                               ChannelPromise promise) {
        Objects.requireNonNull(multicastAddress, "multicastAddress");
        Objects.requireNonNull(networkInterface, "networkInterface");
        Objects.requireNonNull(sourceToBlock, "sourceToBlock");
        try {
            boolean blocked = false;
            synchronized (this) {
                for (MembershipKey key : memberships.getOrDefault(multicastAddress, List.of())) {
                    if (networkInterface.equals(key.networkInterface())) {
                        key.block(sourceToBlock);
                        blocked = true;
                    }
                }
            }
            if (!blocked) {
                return promise.setFailure(new IllegalStateException(
                    "not a member of " + multicastAddress.getHostAddress() + " on " + networkInterface.getName()));
            }
            return promise.setSuccess();
        } catch (Throwable t) {
            return promise.setFailure(t);
        }
    }

    @Override
    public ChannelFuture block(InetAddress multicastAddress, InetAddress sourceToBlock) {
        return block(multicastAddress, sourceToBlock, newPromise());
    }

    @Override
    public ChannelFuture block(InetAddress multicastAddress, InetAddress sourceToBlock, ChannelPromise promise) {
        NetworkInterface iface;
        try {
            iface = defaultInterface();
        } catch (IOException e) {
            return promise.setFailure(e);
        }
        return block(multicastAddress, iface, sourceToBlock, promise);
    }

    /**
     * The interface for group operations that name none: {@code IP_MULTICAST_IF} if set, else the
     * interface of the bound address (a wildcard-bound socket has none: name the interface then).
     */
    private NetworkInterface defaultInterface() throws IOException {
        NetworkInterface iface = config.getNetworkInterface();
        if (iface != null) {
            return iface;
        }
        InetSocketAddress local = localAddress();
        if (local != null && !local.getAddress().isAnyLocalAddress()) {
            iface = NetworkInterface.getByInetAddress(local.getAddress());
        }
        if (iface == null) {
            throw new SocketException("no multicast interface: set IP_MULTICAST_IF, bind to an interface's address,"
                + " or name the interface");
        }
        return iface;
    }
}
