package io.tasnetty.samples;

import io.netty.channel.EventLoopGroup;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.samples.grpc.GreeterClient;
import io.tasnetty.samples.grpc.GreeterSample;
import io.tasnetty.samples.grpc.GreeterServer;
import io.tasnetty.samples.http.HttpSample;
import io.tasnetty.samples.http.HttpSampleServer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * The samples' main job: the HTTP server and the gRPC greeter on the TAS transport (the process-wide
 * default engine: the embedded in-JVM one unless {@code -Dtas.*} or engine options say otherwise),
 * each serving real requests from a TAS client in this process, then how to reach them from outside.
 *
 * <p>Engine options may be given as arguments too ({@code --ip-addr=192.168.77.2/24 --port=tap:tas0}):
 * they become {@code -Dtas.*} properties before the engine starts. {@code --serve} keeps the servers
 * up afterwards (useful once the engine has a TAP or DPDK port).
 */
@Command(name = "tas-samples", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"HTTP and gRPC samples on Netty over TAS, each answering requests from a client in this process.",
        "Any TAS engine option (see --engine-help) may be given too, e.g. --port=tap:tas0 --ip-addr=192.168.77.2/24."})
public final class TasSamplesMain implements Callable<Integer> {
    @Option(names = "--transport", converter = Transport.Converter.class, defaultValue = "tas",
        description = "tas, nio, epoll or io_uring (default: ${DEFAULT-VALUE})")
    Transport transport;

    @Option(names = "--sample", defaultValue = "all", description = "http, grpc or all (default: ${DEFAULT-VALUE})")
    String sample;

    @Option(names = "--http-port", defaultValue = "8080", description = "HTTP port (default: ${DEFAULT-VALUE})")
    int httpPort;

    @Option(names = "--grpc-port", defaultValue = "50051", description = "gRPC port (default: ${DEFAULT-VALUE})")
    int grpcPort;

    @Option(names = "--requests", defaultValue = "20000", description = "timed requests per sample, after as many untimed (default: ${DEFAULT-VALUE}; enough that one scheduling hiccup does not decide the rate)")
    int requests;

    @Option(names = "--warmup", defaultValue = "20", description = "after as many untimed requests as timed ones, more"
        + " until their rate settles (the JIT has compiled the path), for at most this many seconds; 0: no more"
        + " (default: ${DEFAULT-VALUE})")
    double warmupSeconds;

    @Option(names = "--serve", description = "keep serving after the in-process requests, until stopped")
    boolean serve;

    @Option(names = "--timeout", defaultValue = "120", description = "give up (and dump threads) after this many seconds; 0: never (default: ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Option(names = "--engine-help", description = "list the TAS engine options")
    boolean engineHelp;

    @Unmatched
    List<String> engineArgs = new ArrayList<>();

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new TasSamplesMain());
        cl.setUnmatchedOptionsArePositionalParams(false);
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        if (engineHelp) {
            out.println(TasConfig.help());
            return 0;
        }
        TasConfig cfg;
        long warmupNanos;
        try {
            warmupNanos = Warmup.nanos(warmupSeconds);
            applyEngineArgs(engineArgs);
            cfg = TasSetup.defaultEngineConfig();
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        }
        transport.ensureAvailable();
        if (timeoutSeconds > 0 && !serve) {
            watchdog(timeoutSeconds);
        }
        boolean http = sample.equals("all") || sample.equals("http");
        boolean grpc = sample.equals("all") || sample.equals("grpc");
        if (!http && !grpc) {
            System.err.println("error: --sample: expected http, grpc or all, not " + sample);
            return 2;
        }
        out.println("== TAS for Netty samples: plain Netty HTTP and grpc-netty on the " + transport + " transport ==");
        if (transport == Transport.TAS) {
            out.println("TAS engine (process-wide default, started by the first TasEventLoopGroup): "
                + TasSetup.describe(cfg));
            if (TasSetup.embedded(cfg)) {
                out.println("There is no NIC on the embedded default: clients in this process connect to 127.0.0.1,"
                    + " which the engine serves itself (its loopback), TAS client to TAS server.");
            }
        }
        boolean ok = true;
        long t0 = System.nanoTime();
        EventLoopGroup boss = transport.newGroup(1, "http-boss");
        EventLoopGroup workers = transport.newGroup(1, "http-worker");
        EventLoopGroup clients = transport.newGroup(1, "http-client");
        HttpSampleServer httpServer = null;
        GreeterServer grpcServer = null;
        try {
            if (http) {
                out.println();
                out.println("-- HTTP (io.tasnetty.samples.http.HttpSample: HttpServerCodec, routes /, /echo, /stats) --");
                httpServer = HttpSampleServer.start(transport, boss, workers, new InetSocketAddress("0.0.0.0", httpPort));
                out.printf("HTTP server listening at %s (%s)%n", httpServer.localAddress(),
                    httpServer.channel().getClass().getSimpleName());
                int port = ((InetSocketAddress) httpServer.localAddress()).getPort();
                ok &= HttpSample.runClient(transport, clients, new InetSocketAddress("127.0.0.1", port), requests,
                    warmupNanos, out);
                out.printf("HTTP server: %d connection(s) accepted, %d request(s) served%n",
                    httpServer.connectionsAccepted(), httpServer.requestsServed());
            }
            if (grpc) {
                out.println();
                out.println("-- gRPC (io.tasnetty.samples.grpc.GreeterSample: grpc-netty, helloworld.Greeter) --");
                grpcServer = GreeterServer.start(transport, new InetSocketAddress("0.0.0.0", grpcPort), 1);
                out.printf("gRPC server listening at %s%n", grpcServer.localAddress());
                try (GreeterClient c = GreeterClient.connect(transport,
                    new InetSocketAddress("127.0.0.1", grpcServer.port()))) {
                    ok &= GreeterSample.runClient(transport, c, "TAS", requests, warmupNanos, out);
                }
                out.printf("gRPC server: %d call(s) served%n", grpcServer.calls());
            }
            out.println();
            out.printf("%s in %.1f s: %s%n", ok ? "OK" : "FAILED", (System.nanoTime() - t0) / 1e9,
                ok ? "every request got the expected answer over " + transport
                    : "some answers were not the expected ones (see UNEXPECTED above)");
            if (transport == Transport.TAS) {
                out.println();
                if (TasSetup.embedded(cfg)) {
                    out.println(TasSetup.outsideHelp("these servers", httpPort,
                        "curl http://192.168.77.2:" + httpPort + "/"));
                    out.println("The same command takes the engine options as arguments: -Dsamples.args=\"--port=tap:tas0 "
                        + "--ip-addr=192.168.77.2/24 --serve\".");
                } else {
                    out.printf("The engine is on %s: from outside, try  curl http://%s:%d/  and a gRPC client on %s:%d.%n",
                        cfg.port(), TasSetup.engineIp(cfg), httpPort, TasSetup.engineIp(cfg), grpcPort);
                }
            }
            if (serve && ok) {
                out.println();
                out.println("Serving until stopped (Ctrl-C).");
                if (httpServer != null) {
                    httpServer.channel().closeFuture().sync();
                } else {
                    grpcServer.awaitTermination();
                }
            }
        } finally {
            if (grpcServer != null) {
                grpcServer.close();
            }
            if (httpServer != null) {
                httpServer.close();
            }
            clients.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
        return ok ? 0 : 1;
    }

    /** Turns {@code --name=value} engine options into {@code tas.name} system properties (validated). */
    static void applyEngineArgs(List<String> args) {
        Map<String, List<String>> props = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("--") || a.length() == 2) {
                throw new IllegalArgumentException("unexpected argument \"" + a + "\" (see --help)");
            }
            int eq = a.indexOf('=');
            String name = eq < 0 ? a.substring(2) : a.substring(2, eq);
            var option = TasConfig.option(name); // refuses unknown names with a message
            String value;
            if (eq >= 0) {
                value = a.substring(eq + 1);
            } else if (option.flag()) {
                value = "true";
            } else if (i + 1 < args.size()) {
                value = args.get(++i);
            } else {
                throw new IllegalArgumentException("option --" + name + " needs a value");
            }
            props.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }
        TasConfig.fromArgs(args.toArray(String[]::new)); // every value checked before anything starts
        props.forEach((k, v) -> System.setProperty("tas." + k, String.join(" ", v)));
    }

    private static void watchdog(int seconds) {
        Thread.ofPlatform().daemon().name("samples-watchdog").start(() -> {
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
            } catch (InterruptedException e) {
                return;
            }
            System.err.printf("%nSTUCK: the samples did not finish within %d s. Threads:%n", seconds);
            for (ThreadInfo ti : ManagementFactory.getThreadMXBean().dumpAllThreads(false, false)) {
                System.err.print(ti);
            }
            System.exit(3);
        });
    }
}
