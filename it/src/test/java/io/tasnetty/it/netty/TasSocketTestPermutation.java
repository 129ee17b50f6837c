package io.tasnetty.it.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.EventLoopGroup;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.SocketTestPermutation;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasServerSocketChannel;
import io.tasnetty.transport.TasSocketChannel;

import java.util.List;

/**
 * The permutation Netty's socket tests run with here: a TAS server (boss loop accepting, worker
 * loops serving, as ServerBootstrap users set it up) and a TAS client, both on the process-wide
 * default engine (configured by {@code -Dtas.*}, the embedded in-JVM default here).
 *
 * <p>TAS × NIO is not a permutation: NIO sockets use the kernel's loopback, the TAS channels the
 * engine's, and the two do not meet (reaching a TAS server from the kernel needs a TAP or DPDK
 * port; that is what the Linux-peer tests are for). One combination also keeps the suite short on
 * the two cores CI has.
 */
final class TasSocketTestPermutation extends SocketTestPermutation {
    static final TasSocketTestPermutation INSTANCE = new TasSocketTestPermutation();

    /** Accepts connections; its loop hands each to a worker loop. */
    static final EventLoopGroup TAS_BOSS = new TasEventLoopGroup(1, new DefaultThreadFactory("testsuite-tas-boss", true));
    /** Serves accepted connections and client connections. */
    static final EventLoopGroup TAS_WORKER = new TasEventLoopGroup(2, new DefaultThreadFactory("testsuite-tas", true));

    private TasSocketTestPermutation() {
    }

    @Override
    public List<BootstrapComboFactory<ServerBootstrap, Bootstrap>> socket() {
        return combo(serverSocket(), clientSocket());
    }

    @Override
    public List<BootstrapComboFactory<ServerBootstrap, Bootstrap>> socketWithFastOpen() {
        // The engine has no TCP Fast Open; the options are accepted as unknown (Netty logs them).
        return socket();
    }

    @Override
    public List<BootstrapFactory<ServerBootstrap>> serverSocket() {
        return List.of(() -> new ServerBootstrap().group(TAS_BOSS, TAS_WORKER).channel(TasServerSocketChannel.class));
    }

    @Override
    public List<BootstrapFactory<Bootstrap>> clientSocket() {
        return List.of(() -> new Bootstrap().group(TAS_WORKER).channel(TasSocketChannel.class));
    }

    @Override
    public List<BootstrapFactory<Bootstrap>> clientSocketWithFastOpen() {
        return clientSocket();
    }
}
