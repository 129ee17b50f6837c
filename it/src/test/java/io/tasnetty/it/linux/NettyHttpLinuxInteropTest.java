package io.tasnetty.it.linux;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.tasnetty.engine.TasEngine;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.transport.TasEventLoopGroup;
import io.tasnetty.transport.TasServerSocketChannel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A Netty HTTP server (HttpServerCodec + HttpObjectAggregator + {@link HttpTestHandler}) on a
 * {@link TasEventLoopGroup} over an engine on a DPDK port, with curl and wrk as clients on the Linux
 * stack in the peer namespace: every response must be complete and correct, and the engine must
 * give back every flow once Linux has closed its connections.
 */
class NettyHttpLinuxInteropTest {
    static final int HTTP_PORT = 8080;
    static final int WRK_BODY = 4096;
    static final String BASE = "http://" + PeerNet.ENGINE_IP + ":" + HTTP_PORT;

    @BeforeAll
    static void requirements() {
        ItDpdk.requireRootNetworking();
        ItDpdk.requireTools("curl", "wrk");
    }

    @ParameterizedTest
    @EnumSource(value = LinuxLink.Kind.class, names = {"AF_PACKET", "NET_TAP"})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void curlAndWrkAgainstNettyHttpServerOnTas(LinuxLink.Kind kind) throws Exception {
        LinuxLink link = LinuxLink.open(kind, "ht", false, false);
        Files256 scratch = new Files256();
        TasEngine engine = null;
        EventLoopGroup group = null;
        try {
            engine = TasEngine.builder().config(TasConfig.builder()
                    .set("ip-addr", PeerNet.ENGINE_IP + "/24")
                    .set("tcp-time-wait", "1000000")
                    .build()).port(link.takePort()).build();
            group = new TasEventLoopGroup(1, new DefaultThreadFactory("tas-http", true), engine);
            HttpTestHandler handler = new HttpTestHandler();
            Channel server = new ServerBootstrap().group(group).channel(TasServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 16), handler);
                        }
                    })
                    .bind(PeerNet.ENGINE_IP, HTTP_PORT).sync().channel();
            long t0 = System.nanoTime();

            // (1) curl: several URLs over one keep-alive connection, then an HTTP/1.0 (closing) one.
            record Req(String path, int status, byte[] body) {
            }
            List<Req> reqs = List.of(
                    new Req("/", 200, HttpTestHandler.ROOT_BODY),
                    new Req("/echo?n=0", 200, new byte[0]),
                    new Req("/echo?n=1", 200, HttpTestHandler.pattern(1)),
                    new Req("/echo?n=1460", 200, HttpTestHandler.pattern(1460)),
                    new Req("/echo?n=65537", 200, HttpTestHandler.pattern(65537)),
                    new Req("/echo?n=1048576", 200, HttpTestHandler.pattern(1 << 20)),
                    new Req("/nope", 404, new byte[0]),
                    new Req("/echo?n=3000000", 200, HttpTestHandler.pattern(3_000_000)));
            List<String> cmd = new ArrayList<>(List.of("curl", "-s", "--max-time", "20",
                    "-w", "%{http_code} %{size_download} %{num_connects}\\n"));
            for (int i = 0; i < reqs.size(); i++) {
                cmd.addAll(List.of("-o", scratch.path("curl" + i).toString(), BASE + reqs.get(i).path()));
            }
            String out = Sh.run(false, 30, Sh.nsCommand(link.net.ns, cmd.toArray(String[]::new)));
            String[] lines = out.strip().split("\n");
            assertThat(lines).as("curl -w lines: " + out).hasSize(reqs.size());
            for (int i = 0; i < reqs.size(); i++) {
                Req r = reqs.get(i);
                String[] w = lines[i].trim().split(" ");
                assertThat(Integer.parseInt(w[0])).as("status of " + r.path()).isEqualTo(r.status());
                assertThat(Long.parseLong(w[1])).as("size_download of " + r.path()).isEqualTo(r.body().length);
                // One TCP connection for all: keep-alive honoured by the server.
                assertThat(Integer.parseInt(w[2])).as("new connections for " + r.path()).isEqualTo(i == 0 ? 1 : 0);
                assertBody(scratch.path("curl" + i), r.body(), r.path());
            }
            Path f10 = scratch.path("curl-http10");
            out = Sh.run(false, 30, Sh.nsCommand(link.net.ns, "curl", "-s", "-0", "--max-time", "20",
                    "-w", "%{http_code} %{size_download}", "-o", f10.toString(), BASE + "/echo?n=100001"));
            assertThat(out.trim()).as("HTTP/1.0 curl").isEqualTo("200 100001");
            assertBody(f10, HttpTestHandler.pattern(100_001), "/echo?n=100001 (HTTP/1.0)");
            report(link, engine, "curl: " + (reqs.size() + 1) + " requests", t0);

            // (2) wrk: 50 keep-alive connections for 3 s; the script checks every response.
            Path lua = scratch.path("check.lua");
            Files.writeString(lua, wrkScript(WRK_BODY), StandardCharsets.US_ASCII);
            t0 = System.nanoTime();
            String wrk = Sh.run(false, 30, Sh.nsCommand(link.net.ns, "wrk", "-t1", "-c50", "-d3s",
                    "--timeout", "5s", "-s", lua.toString(), BASE + "/echo?n=" + WRK_BODY));
            report(link, engine, "wrk -t1 -c50 -d3s: " + wrk.replace('\n', '|') + " server requests="
                    + handler.requests + " server exceptions=" + handler.errors, t0);
            long requests = field(wrk, "REQUESTS=(\\d+)");
            assertThat(requests).as("requests wrk completed\n" + wrk).isGreaterThan(0);
            assertThat(field(wrk, "GOOD=(\\d+)")).as("good responses\n" + wrk).isGreaterThan(0);
            assertThat(field(wrk, "BAD=(\\d+)")).as("bad responses (non-200, wrong length or content)\n" + wrk)
                    .isZero();
            assertThat(wrk).as("wrk socket errors").contains("ERRORS connect=0 read=0 write=0 timeout=0 status=0");

            // Linux closed every connection (wrk and curl exited): the server side is passive close,
            // so no TIME_WAIT on the engine, and every flow and ring byte must be given back.
            TasEngine e = engine;
            await(() -> e.flowCount() == 0 && e.ringBytesInUse() == 0 && e.flowRecordsInUse() == 0, 15,
                    () -> "flows and rings to be reclaimed: flows=" + e.flowCount() + " rings=" + e.ringBytesInUse()
                            + " counters=" + nonZeroCounters(e));

            server.close().sync();
            assertThat(group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS))
                    .as("event loop group terminated").isTrue();
            group = null;
        } finally {
            try {
                if (group != null) {
                    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
                }
            } finally {
                try {
                    if (engine != null) {
                        engine.close();
                    }
                } finally {
                    link.close();
                    scratch.close();
                }
            }
        }
    }

    private static void assertBody(Path file, byte[] expected, String what) throws IOException {
        byte[] got = Files.exists(file) ? Files.readAllBytes(file) : new byte[0];
        assertThat(sha256(got)).as("SHA-256 of " + what + " (" + got.length + " bytes, expected "
                + expected.length + ")").isEqualTo(sha256(expected));
        assertThat(Arrays.equals(got, expected)).isTrue();
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Per response: status 200, {@code len} bytes, the pattern; done() sums over the threads. */
    static String wrkScript(int len) {
        return """
                local threads = {}
                function setup(thread)
                  table.insert(threads, thread)
                end
                function init(args)
                  good = 0
                  bad = 0
                  badinfo = ""
                  local t = {}
                  for i = 0, %d - 1 do
                    t[#t + 1] = string.char((i * 31 + math.floor(i / 256) + 7) %% 256)
                  end
                  expected = table.concat(t)
                end
                function response(status, headers, body)
                  if status ~= 200 or body == nil or #body ~= %d or body ~= expected then
                    bad = bad + 1
                    if #badinfo < 300 then
                      badinfo = badinfo .. status .. ":" .. (body and #body or -1) .. " "
                    end
                  else
                    good = good + 1
                  end
                end
                function done(summary, latency, requests)
                  local g, b, info = 0, 0, ""
                  for _, t in ipairs(threads) do
                    g = g + t:get("good")
                    b = b + t:get("bad")
                    info = info .. t:get("badinfo")
                  end
                  local e = summary.errors
                  io.write(string.format("REQUESTS=%%d GOOD=%%d BAD=%%d %%s\\n", summary.requests, g, b, info))
                  io.write(string.format("ERRORS connect=%%d read=%%d write=%%d timeout=%%d status=%%d\\n",
                    e.connect, e.read, e.write, e.timeout, e.status))
                end
                """.formatted(len, len);
    }

    private static long field(String s, String regex) {
        Matcher m = Pattern.compile(regex).matcher(s);
        if (!m.find()) {
            throw new AssertionError("no " + regex + " in wrk's output:\n" + s);
        }
        return Long.parseLong(m.group(1));
    }

    private static void await(BooleanSupplier cond, int seconds, java.util.function.Supplier<String> what)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + seconds + " s waiting for " + what.get());
            }
            Thread.sleep(20);
        }
    }

    private static String nonZeroCounters(TasEngine e) {
        return io.tasnetty.engine.TasEnginePair.nonZero(e);
    }

    private static void report(LinuxLink link, TasEngine e, String what, long t0) {
        System.out.printf("[%s] %s: %d ms; %s%n", link.describe(), what, (System.nanoTime() - t0) / 1_000_000,
                nonZeroCounters(e));
    }
}
