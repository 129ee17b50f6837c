package io.tasnetty.it.frameworks;

import io.tasnetty.transport.TasEventLoopGroup;
import org.asynchttpclient.DefaultAsyncHttpClient;
import org.asynchttpclient.DefaultAsyncHttpClientConfig;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * async-http-client cannot run on TAS loops, and this pins down why, so the day it can, this test
 * says so. Given an event loop group ({@code setEventLoopGroup}), its {@code ChannelManager} picks
 * the channel class by asking the group whether its loops run exactly one of Netty's four
 * {@code IoHandler} classes (NIO, epoll, kqueue, io_uring: {@code IoEventLoopGroup.isIoType}, an
 * exact class match) and refuses any other group. There is no hook for a channel factory of one's
 * own, and it does not fall back to NIO channels for a group that accepts them (TAS loops do:
 * {@code isCompatible(NioIoHandle.class)}). Without a group of ours it makes its own NIO or native
 * loops: not TAS.
 */
class AsyncHttpClientOnTasTest {
    @Test
    void aTasEventLoopGroupIsRefusedAsAnUnknownTransport() {
        TasEventLoopGroup loops = new TasEventLoopGroup(1);
        try {
            assertThatThrownBy(() -> new DefaultAsyncHttpClient(new DefaultAsyncHttpClientConfig.Builder()
                .setEventLoopGroup(loops).build()).close())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Unsupported event loop group " + TasEventLoopGroup.class.getName());
        } finally {
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
