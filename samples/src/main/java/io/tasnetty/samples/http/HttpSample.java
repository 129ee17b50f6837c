package io.tasnetty.samples.http;

import io.netty.channel.EventLoopGroup;
import io.tasnetty.samples.TasSetup;
import io.tasnetty.samples.Warmup;
import io.tasnetty.samples.Transport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.Callable;

/**
 * The HTTP sample: {@link HttpSampleServer} and {@link HttpSampleClient} on the transport chosen by
 * {@code --transport=tas|nio|epoll|io_uring}.
 *
 * <ul>
 *   <li>{@code --mode=both} (default): the server and a client in this process; the client makes a
 *       few requests, then {@code --requests} untimed and as many timed ones, and prints what it
 *       got. On TAS with the embedded default engine (no NIC) that is a TAS client talking to a TAS
 *       server through the engine's loopback.</li>
 *   <li>{@code --mode=server}: serve until the process is stopped.</li>
 *   <li>{@code --mode=client}: request from {@code --connect}.</li>
 * </ul>
 * Engine options come from {@code -Dtas.*} (e.g. {@code -Dtas.port=tap:tas0 -Dtas.ip-addr=192.168.77.2/24}).
 */
@Command(name = "http-sample", mixinStandardHelpOptions = true,
    description = "HTTP server (and client) on Netty over TAS, NIO, epoll or io_uring.")
public final class HttpSample implements Callable<Integer> {
    @Option(names = "--transport", converter = Transport.Converter.class, defaultValue = "tas",
        description = "tas, nio, epoll or io_uring (default: ${DEFAULT-VALUE})")
    Transport transport;

    @Option(names = "--mode", defaultValue = "both", description = "both, server or client (default: ${DEFAULT-VALUE})")
    String mode;

    @Option(names = "--bind", defaultValue = "0.0.0.0", description = "server address (default: ${DEFAULT-VALUE})")
    String bind;

    @Option(names = "--port", defaultValue = "8080", description = "server port; 0 picks one (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--connect", defaultValue = "127.0.0.1",
        description = "host the client connects to (default: ${DEFAULT-VALUE})")
    String connect;

    @Option(names = "--requests", defaultValue = "20000", description = "timed GET / requests, after as many untimed (default: ${DEFAULT-VALUE})")
    int requests;

    @Option(names = "--warmup", defaultValue = "20", description = "after as many untimed requests as timed ones, more"
        + " until their rate settles (the JIT has compiled the path), for at most this many seconds; 0: no more"
        + " (default: ${DEFAULT-VALUE})")
    double warmupSeconds;

    @Option(names = "--threads", defaultValue = "1", description = "worker event loops (default: ${DEFAULT-VALUE})")
    int threads;

    public static void main(String[] args) {
        System.exit(new CommandLine(new HttpSample()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        transport.ensureAvailable();
        PrintStream out = System.out;
        if (transport == Transport.TAS) {
            out.println("TAS engine: " + TasSetup.describe(TasSetup.defaultEngineConfig()));
        }
        switch (mode) {
            case "both" -> {
                return runBoth(transport, bind, port, connect, requests, Warmup.nanos(warmupSeconds), threads, out) ? 0 : 1;
            }
            case "server" -> {
                EventLoopGroup boss = transport.newGroup(1, "http-boss");
                EventLoopGroup workers = transport.newGroup(threads, "http-worker");
                try (HttpSampleServer s = HttpSampleServer.start(transport, boss, workers,
                    new InetSocketAddress(bind, port))) {
                    out.printf("HTTP server on %s at %s; routes: GET /, GET|POST /echo, GET /stats. Ctrl-C stops it.%n",
                        transport, s.localAddress());
                    s.channel().closeFuture().sync();
                } finally {
                    boss.shutdownGracefully();
                    workers.shutdownGracefully();
                }
                return 0;
            }
            case "client" -> {
                EventLoopGroup group = transport.newGroup(1, "http-client");
                try {
                    return runClient(transport, group, new InetSocketAddress(connect, port), requests,
                        Warmup.nanos(warmupSeconds), out) ? 0 : 1;
                } finally {
                    group.shutdownGracefully().syncUninterruptibly();
                }
            }
            default -> throw new CommandLine.ParameterException(new CommandLine(this),
                "--mode: expected both, server or client, not " + mode);
        }
    }

    /**
     * Starts the server on {@code transport}, connects a client of the same transport in this process
     * and prints the exchange. Returns whether every answer was the expected one.
     */
    public static boolean runBoth(Transport transport, String bind, int port, String connect, int requests,
        long warmupNanos, int threads, PrintStream out) throws Exception {
        EventLoopGroup boss = transport.newGroup(1, "http-boss");
        EventLoopGroup workers = transport.newGroup(threads, "http-worker");
        EventLoopGroup clients = transport.newGroup(1, "http-client");
        try (HttpSampleServer server = HttpSampleServer.start(transport, boss, workers,
            new InetSocketAddress(bind, port))) {
            int realPort = ((InetSocketAddress) server.localAddress()).getPort();
            out.printf("HTTP server on %s listening at %s (channel %s)%n", transport, server.localAddress(),
                server.channel().getClass().getSimpleName());
            boolean ok = runClient(transport, clients, new InetSocketAddress(connect, realPort), requests,
                warmupNanos, out);
            out.printf("Server side: %d connection(s) accepted, %d request(s) served%n", server.connectionsAccepted(),
                server.requestsServed());
            return ok;
        } finally {
            clients.shutdownGracefully().syncUninterruptibly();
            workers.shutdownGracefully().syncUninterruptibly();
            boss.shutdownGracefully().syncUninterruptibly();
        }
    }

    /**
     * The client part: a few requests shown in full, then untimed GETs (at least {@code requests},
     * and for at least {@code warmupNanos}), then {@code requests} timed ones.
     */
    public static boolean runClient(Transport transport, EventLoopGroup group, InetSocketAddress remote, int requests,
        long warmupNanos, PrintStream out) throws Exception {
        boolean ok = true;
        try (HttpSampleClient c = HttpSampleClient.connect(transport, group, remote)) {
            out.printf("HTTP client on %s connected %s -> %s (channel %s)%n", transport, c.channel().localAddress(),
                c.channel().remoteAddress(), c.channel().getClass().getSimpleName());
            ok &= show(out, "GET /", c.get("/"), 200, null);
            ok &= show(out, "GET /echo?msg=hello%20tas", c.get("/echo?msg=hello%20tas"), 200, "hello tas");
            String json = "{\"greeting\":\"hi\",\"n\":42}";
            ok &= show(out, "POST /echo " + json, c.post("/echo", "application/json", json), 200, json);
            ok &= show(out, "GET /nope", c.get("/nope"), 404, null);
            if (requests > 0) {
                // Untimed requests first, on every transport alike, until the JIT has compiled the
                // request path: the timed ones then measure the transport, not how far the JIT got.
                // A user-space stack has far more Java to compile than the kernel's (Linux's TCP
                // is compiled already), so a fixed count would time TAS's warm-up (see Warmup).
                Warmup w = new Warmup(requests, warmupNanos);
                while (w.more()) {
                    if (c.get("/").status() != 200) {
                        ok = false;
                    }
                }
                long[] t = new long[requests];
                long t0 = System.nanoTime();
                for (int i = 0; i < requests; i++) {
                    HttpSampleClient.Response r = c.get("/");
                    if (r.status() != 200) {
                        ok = false;
                    }
                    t[i] = r.nanos();
                }
                double secs = (System.nanoTime() - t0) / 1e9;
                Arrays.sort(t);
                out.printf("warm-up: %s%n", w.describe("GETs"));
                out.printf("%,d timed GET / on one keep-alive connection (after the warm-up): %.0f requests/s,"
                    + " p50 %.1f us, p99 %.1f us%n",
                    requests, requests / secs, t[requests / 2] / 1e3, t[(int) (requests * 0.99)] / 1e3);
            }
            ok &= show(out, "GET /stats", c.get("/stats"), 200, null);
        }
        return ok;
    }

    private static boolean show(PrintStream out, String what, HttpSampleClient.Response r, int status, String body) {
        boolean ok = r.status() == status && (body == null || body.equals(r.body()));
        out.printf("  %-48s -> %d %s (%.0f us)%s%n", what, r.status(), r.body().strip(), r.nanos() / 1e3,
            ok ? "" : "   UNEXPECTED");
        return ok;
    }
}
