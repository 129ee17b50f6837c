package io.tasnetty.samples.grpc;

import io.tasnetty.samples.TasSetup;
import io.tasnetty.samples.Warmup;
import io.tasnetty.samples.Transport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The gRPC greeter: {@link GreeterServer} and {@link GreeterClient} on the transport chosen by
 * {@code --transport=tas|nio|epoll|io_uring}. {@code --mode=both} (default) runs both in this
 * process (on TAS's embedded default: a TAS client to a TAS server through the engine's loopback).
 */
@Command(name = "grpc-greeter", mixinStandardHelpOptions = true,
    description = "gRPC greeter (server and client, grpc-netty) over TAS, NIO, epoll or io_uring.")
public final class GreeterSample implements Callable<Integer> {
    @Option(names = "--transport", converter = Transport.Converter.class, defaultValue = "tas",
        description = "tas, nio, epoll or io_uring (default: ${DEFAULT-VALUE})")
    Transport transport;

    @Option(names = "--mode", defaultValue = "both", description = "both, server or client (default: ${DEFAULT-VALUE})")
    String mode;

    @Option(names = "--bind", defaultValue = "0.0.0.0", description = "server address (default: ${DEFAULT-VALUE})")
    String bind;

    @Option(names = "--port", defaultValue = "50051", description = "server port; 0 picks one (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--connect", defaultValue = "127.0.0.1", description = "host the client calls (default: ${DEFAULT-VALUE})")
    String connect;

    @Option(names = "--name", defaultValue = "TAS", description = "who to greet (default: ${DEFAULT-VALUE})")
    String name;

    @Option(names = "--calls", defaultValue = "20000", description = "timed unary calls, after as many untimed (default: ${DEFAULT-VALUE})")
    int calls;

    @Option(names = "--warmup", defaultValue = "20", description = "after as many untimed calls as timed ones, more"
        + " until their rate settles (the JIT has compiled the path), for at most this many seconds; 0: no more"
        + " (default: ${DEFAULT-VALUE})")
    double warmupSeconds;

    public static void main(String[] args) {
        System.exit(new CommandLine(new GreeterSample()).execute(args));
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
                return runBoth(transport, bind, port, connect, name, calls, Warmup.nanos(warmupSeconds), out) ? 0 : 1;
            }
            case "server" -> {
                try (GreeterServer s = GreeterServer.start(transport, new InetSocketAddress(bind, port), 1)) {
                    out.printf("gRPC greeter on %s at %s (helloworld.Greeter/SayHello, SayHelloStream). Ctrl-C stops it.%n",
                        transport, s.localAddress());
                    s.awaitTermination();
                }
                return 0;
            }
            case "client" -> {
                try (GreeterClient c = GreeterClient.connect(transport, new InetSocketAddress(connect, port))) {
                    return runClient(transport, c, name, calls, Warmup.nanos(warmupSeconds), out) ? 0 : 1;
                }
            }
            default -> throw new CommandLine.ParameterException(new CommandLine(this),
                "--mode: expected both, server or client, not " + mode);
        }
    }

    /** Server and client of {@code transport} in this process; returns whether every answer was right. */
    public static boolean runBoth(Transport transport, String bind, int port, String connect, String name, int calls,
        long warmupNanos, PrintStream out) throws Exception {
        try (GreeterServer s = GreeterServer.start(transport, new InetSocketAddress(bind, port), 1)) {
            out.printf("gRPC greeter on %s listening at %s%n", transport, s.localAddress());
            boolean ok;
            try (GreeterClient c = GreeterClient.connect(transport, new InetSocketAddress(connect, s.port()))) {
                ok = runClient(transport, c, name, calls, warmupNanos, out);
            }
            out.printf("Server side: %d call(s) served%n", s.calls());
            return ok;
        }
    }

    public static boolean runClient(Transport transport, GreeterClient c, String name, int calls, long warmupNanos,
        PrintStream out) {
        long t0 = System.nanoTime();
        String hello = c.sayHello(name);
        out.printf("  SayHello(\"%s\")        -> \"%s\" (%.1f ms, first call: connection + HTTP/2 setup)%n", name, hello,
            (System.nanoTime() - t0) / 1e6);
        boolean ok = hello.startsWith("Hello, " + name);
        List<String> stream = c.sayHelloStream(name, 3);
        out.printf("  SayHelloStream(\"%s\", 3) -> %s%n", name, stream);
        ok &= stream.size() == 3;
        if (calls > 0) {
            // Untimed calls first, on every transport alike, until the JIT has compiled the call
            // path: the timed ones then measure the transport, not how far the JIT got (see Warmup).
            Warmup w = new Warmup(calls, warmupNanos);
            for (int i = 0; w.more(); i++) {
                ok &= c.sayHello(name + i).startsWith("Hello, " + name + i);
            }
            long[] t = new long[calls];
            long start = System.nanoTime();
            for (int i = 0; i < calls; i++) {
                long a = System.nanoTime();
                String r = c.sayHello(name + i);
                t[i] = System.nanoTime() - a;
                ok &= r.startsWith("Hello, " + name + i);
            }
            double secs = (System.nanoTime() - start) / 1e9;
            Arrays.sort(t);
            out.printf("warm-up: %s%n", w.describe("calls"));
            out.printf("%,d timed unary calls on one HTTP/2 connection (%s, after the warm-up): %.0f calls/s,"
                + " p50 %.1f us, p99 %.1f us%n", calls, transport, calls / secs, t[calls / 2] / 1e3,
                t[(int) (calls * 0.99)] / 1e3);
        }
        return ok;
    }
}
