package io.tasnetty.it.linux;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.port.dpdk.DpdkPort;
import io.tasnetty.engine.port.dpdk.TasDpdk;
import io.tasnetty.engine.stats.TasCounter;
import io.tasnetty.engine.stats.TasCounters;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * What runs inside the QEMU guest of {@link QemuGuestTest} (started by {@link QemuGuest} with the
 * test JVM's class path, read over 9p): one DPDK EAL on the guest's virtio NICs (bound to
 * {@code uio_pci_generic}, virtio PMD), and on each NIC an engine with a Netty HTTP server on
 * {@link TasEventLoopGroup}. It reports on stdout, which is the guest's serial console, with lines
 * that start with {@value #MARK}; the test reads them from the console log.
 *
 * <p>Arguments: {@code EAL-ARGS -- NIC...}, each NIC as {@code BDF,IP/PREFIX,CORES[,KNI-NAME]}.
 * A NIC with a kni name gets the kernel exception path; its interface is given the engine's
 * address here, so the guest's Linux shares the NIC.
 *
 * <p>HTTP on port {@value #HTTP_PORT} of each engine: {@link HttpTestHandler}'s {@code /} and
 * {@code /echo?n=N}, plus {@code POST /sha256} (the SHA-256 of the body, for uploads) and
 * {@code GET /counters} (the engine's non-zero counters per fast-path queue, {@code SET.COUNTER=V}
 * per line, and its flows per queue).
 */
public final class QemuGuestMain {
    static final String MARK = "TASQEMU-";
    static final int HTTP_PORT = 8080;
    static final int MAX_UPLOAD = 8 << 20;

    private QemuGuestMain() {
    }

    public static void main(String[] args) {
        try {
            serve(args);
        } catch (Throwable t) {
            say("FAIL " + t);
            t.printStackTrace(System.out);
            System.out.flush();
            System.exit(1);
        }
    }

    private static void serve(String[] args) throws Exception {
        long t0 = System.nanoTime();
        int sep = List.of(args).indexOf("--");
        List<String> eal = List.of(args).subList(0, sep);
        List<String> nics = List.of(args).subList(sep + 1, args.length);
        say("JVM up; EAL " + eal);
        TasDpdk.ensureAvailability();
        TasDpdk.initEal(eal);
        say("EAL up after " + ms(t0) + " ms; " + TasDpdk.portCount() + " DPDK ports");
        List<DpdkPort> ports = new ArrayList<>();
        for (String nic : nics) {
            String[] f = nic.split(",");
            String bdf = f[0];
            String ip = f[1].substring(0, f[1].indexOf('/'));
            int cores = Integer.parseInt(f[2]);
            String kni = f.length > 3 ? f[3] : "";
            // Opened here, not by port=dpdk (which takes the EAL's first port): two NICs, one EAL.
            // true, true: the port's side of fp-no-xsumoffload and fp-no-ints.
            DpdkPort port = DpdkPort.open(eal, TasDpdk.portIdByName(bdf), cores, 0, true, true);
            ports.add(port);
            TasConfig.Builder cb = TasConfig.builder().set("ip-addr", f[1])
                    .set("fp-cores-max", Integer.toString(cores))
                    .set("fp-no-xsumoffload", "true")
                    .set("fp-no-ints", "true")
                    .set("fp-no-autoscale", "true");
            if (!kni.isEmpty()) {
                cb.set("kni-name", kni);
            }
            TasEngine engine = TasEngine.builder().config(cb.build()).port(port).build();
            if (!kni.isEmpty()) {
                // The kernel shares the engine's address, as a host's kernel shares its NIC's.
                exec("ip", "addr", "add", f[1], "dev", kni);
                exec("ip", "link", "set", kni, "up");
            }
            EventLoopGroup group = new TasEventLoopGroup(1, new DefaultThreadFactory("http-" + bdf, true), engine);
            HttpTestHandler files = new HttpTestHandler();
            GuestRoutes routes = new GuestRoutes(engine);
            new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(MAX_UPLOAD),
                                    routes, files);
                        }
                    })
                    .bind(ip, HTTP_PORT).sync();
            say("READY " + bdf + " ip=" + ip + " queues=" + port.queueCount() + " cores=" + cores
                    + " kni=" + (kni.isEmpty() ? "-" : engine.kernelInterfaceName()) + " mac="
                    + PeerNet.macString(port.macAddress()) + " after " + ms(t0) + " ms");
        }
        say("SERVING");
        audit(ports);
    }

    /**
     * Until QEMU is stopped: checks every 5 s that the mbufs the virtio devices write into still
     * point at their own buffers and pages (DMA elsewhere would corrupt the guest's memory).
     */
    private static void audit(List<DpdkPort> ports) throws InterruptedException {
        for (long round = 0; ; round++) {
            for (DpdkPort p : ports) {
                long t0 = System.nanoTime();
                String bad = p.auditPool();
                if (bad != null) {
                    say("FAIL mbuf audit of " + p.name() + ": " + bad);
                } else if (round == 0) {
                    say("AUDIT " + p.name() + " ok (" + p.mbufCount() + " mbufs, " + ms(t0) + " ms)");
                }
            }
            Thread.sleep(5000); // a pass costs a vCPU a while under TCG
        }
    }

    /** {@code POST /sha256} and {@code GET /counters}; everything else goes on to {@link HttpTestHandler}. */
    @ChannelHandler.Sharable
    static final class GuestRoutes extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final TasEngine engine;

        GuestRoutes(TasEngine engine) {
            super(false);
            this.engine = engine;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) throws Exception {
            String body;
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (req.uri().equals("/sha256") && req.method().equals(HttpMethod.POST)) {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                md.update(ByteBufUtil.getBytes(req.content()));
                body = req.content().readableBytes() + " " + HexFormat.of().formatHex(md.digest()) + "\n";
            } else if (req.uri().equals("/counters")) {
                StringBuilder sb = new StringBuilder();
                for (TasCounters set : engine.counterSets()) {
                    for (TasCounter c : TasCounter.values()) {
                        if (set.get(c) != 0) {
                            sb.append(set.owner()).append('.').append(c.name()).append('=').append(set.get(c))
                                    .append('\n');
                        }
                    }
                }
                sb.append("flows=").append(engine.flowCount()).append('\n');
                body = sb.toString();
            } else {
                ctx.fireChannelRead(req);
                return;
            }
            req.release();
            FullHttpResponse r = new DefaultFullHttpResponse(req.protocolVersion(), HttpResponseStatus.OK,
                    Unpooled.copiedBuffer(body, StandardCharsets.US_ASCII));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
            HttpUtil.setContentLength(r, r.content().readableBytes());
            HttpUtil.setKeepAlive(r, keepAlive);
            if (keepAlive) {
                ctx.writeAndFlush(r, ctx.voidPromise());
            } else {
                ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
            }
        }
    }

    private static void exec(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " exited " + p.exitValue());
        }
    }

    private static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    private static void say(String s) {
        System.out.println(MARK + s);
        System.out.flush();
    }
}
