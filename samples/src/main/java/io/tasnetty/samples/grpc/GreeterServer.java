package io.tasnetty.samples.grpc;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.tasnetty.samples.Transport;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The greeter's server on unshaded grpc-netty. On TAS this is
 * <pre>{@code
 * NettyServerBuilder.forAddress(addr)
 *     .channelType(TasServerSocketChannel.class)
 *     .bossEventLoopGroup(new TasEventLoopGroup(1))
 *     .workerEventLoopGroup(new TasEventLoopGroup())
 *     .addService(...).build().start();
 * }</pre>
 * and the same with the NIO/epoll/io_uring classes on the kernel's TCP.
 */
public final class GreeterServer implements AutoCloseable {
    private final Server server;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final AtomicLong calls = new AtomicLong();

    private GreeterServer(Transport transport, SocketAddress bind, int threads) throws IOException {
        this.boss = transport.newGroup(1, "grpc-boss");
        this.workers = transport.newGroup(threads, "grpc-worker");
        try {
            this.server = NettyServerBuilder.forAddress(bind)
                .channelType(transport.serverChannel())
                .bossEventLoopGroup(boss)
                .workerEventLoopGroup(workers)
                .directExecutor()
                .addService(Greeter.service(transport.id(), calls))
                .build()
                .start();
        } catch (IOException | RuntimeException e) {
            boss.shutdownGracefully();
            workers.shutdownGracefully();
            throw e;
        }
    }

    /** Starts the greeter on {@code transport} at {@code bind} (port 0 picks one; see {@link #port()}). */
    public static GreeterServer start(Transport transport, SocketAddress bind, int threads) throws IOException {
        return new GreeterServer(transport, bind, threads);
    }

    public int port() {
        return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    }

    public SocketAddress localAddress() {
        return server.getListenSockets().get(0);
    }

    public long calls() {
        return calls.get();
    }

    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdown();
        if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
