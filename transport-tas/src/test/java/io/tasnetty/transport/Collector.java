package io.tasnetty.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import java.util.concurrent.CompletableFuture;

/** A client handler for the channel tests: collects bytes until {@code expected} arrived. */
final class Collector extends SimpleChannelInboundHandler<ByteBuf> {
    final ByteBuf received = Unpooled.buffer();
    final CompletableFuture<byte[]> done = new CompletableFuture<>();
    final int expected;

    Collector(int expected) {
        this.expected = expected;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
        received.writeBytes(msg);
        if (received.readableBytes() >= expected) {
            byte[] b = new byte[received.readableBytes()];
            received.readBytes(b);
            done.complete(b);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        done.completeExceptionally(cause);
    }
}
