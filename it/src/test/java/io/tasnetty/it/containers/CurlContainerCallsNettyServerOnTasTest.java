package io.tasnetty.it.containers;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;

/** The README's example: a Netty HTTP server on TAS, curl in a container on the same Docker network. */
class CurlContainerCallsNettyServerOnTasTest {
    @RegisterExtension
    final ContainerLogs logs = new ContainerLogs(); // needs Docker and root; prints container output on failure

    @Test
    void curlInAContainerGetsTheServersAnswer() throws Exception {
        try (Network net = Network.newNetwork();
             TasDockerNetwork tas = TasDockerNetwork.attach(net); // tap in the network's bridge, engine on it
             GenericContainer<?> curl = logs.container("curl").withNetwork(net).withCommand("sleep", "1000000")) {
            EventLoopGroup group = new TasEventLoopGroup(1, tas.engine());
            try {
                // The application under test: plain Netty, on TAS.
                new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
                        .childHandler(new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel ch) {
                                ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 16),
                                        new SimpleChannelInboundHandler<FullHttpRequest>() {
                                            @Override
                                            protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                                                var resp = new DefaultFullHttpResponse(req.protocolVersion(),
                                                        HttpResponseStatus.OK, Unpooled.copiedBuffer(
                                                                "hello " + req.uri() + "\n", StandardCharsets.UTF_8));
                                                HttpUtil.setContentLength(resp, resp.content().readableBytes());
                                                ctx.writeAndFlush(resp);
                                            }
                                        });
                            }
                        })
                        .bind(8080).sync();
                curl.start();
                ExecResult r = curl.execInContainer("curl", "-s", "http://" + tas.ipAddress() + ":8080/from-a-container");
                assertThat(r.getStdout()).isEqualTo("hello /from-a-container\n");
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            }
        }
    }
}
