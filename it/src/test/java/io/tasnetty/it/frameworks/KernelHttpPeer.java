package io.tasnetty.it.frameworks;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the framework tests serve and send, and a plain JDK HTTP server on 127.0.0.1 (the kernel's
 * TCP, no Netty) with the same two routes as the framework servers: {@code GET /bytes} answers
 * {@link #BODY}, {@code POST /echo} answers the request's body.
 */
final class KernelHttpPeer implements AutoCloseable {
    /** The body every {@code GET /bytes} answers: larger than one ring or socket buffer. */
    static final byte[] BODY = bytes(300_000, 1);
    /** What the tests post to {@code /echo}. */
    static final byte[] UPLOAD = bytes(1 << 20, 2);

    private final HttpServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(2);
    private final AtomicInteger requests = new AtomicInteger();

    KernelHttpPeer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/bytes", ex -> answer(ex, BODY));
        server.createContext("/echo", ex -> {
            byte[] in;
            try (InputStream body = ex.getRequestBody()) {
                in = body.readAllBytes();
            }
            answer(ex, in);
        });
        server.setExecutor(executor);
        server.start();
    }

    private void answer(HttpExchange ex, byte[] body) throws IOException {
        requests.incrementAndGet();
        ex.sendResponseHeaders(200, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    int port() {
        return server.getAddress().getPort();
    }

    /** Requests this server answered. */
    int requests() {
        return requests.get();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
