package io.tasnetty.samples.grpc;

import com.google.protobuf.StringValue;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.EventLoopGroup;
import io.tasnetty.samples.Transport;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The greeter's client on unshaded grpc-netty. On TAS this is
 * <pre>{@code
 * NettyChannelBuilder.forAddress(addr)
 *     .channelType(TasSocketChannel.class, InetSocketAddress.class)
 *     .eventLoopGroup(new TasEventLoopGroup(1))
 *     .usePlaintext().build();
 * }</pre>
 */
public final class GreeterClient implements AutoCloseable {
    private final EventLoopGroup group;
    private final ManagedChannel channel;

    private GreeterClient(Transport transport, InetSocketAddress remote) {
        this.group = transport.newGroup(1, "grpc-client");
        this.channel = NettyChannelBuilder.forAddress(remote)
            .channelType(transport.clientChannel(), InetSocketAddress.class)
            .eventLoopGroup(group)
            .directExecutor()
            .usePlaintext()
            .build();
    }

    public static GreeterClient connect(Transport transport, InetSocketAddress remote) {
        return new GreeterClient(transport, remote);
    }

    public ManagedChannel channel() {
        return channel;
    }

    public String sayHello(String name) {
        return Greeter.sayHello(channel, name);
    }

    public List<String> sayHelloStream(String name, int count) {
        List<String> out = new ArrayList<>();
        Iterator<StringValue> it = Greeter.sayHelloStream(channel, name, count);
        it.forEachRemaining(v -> out.add(v.getValue()));
        return out;
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdown();
        if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
