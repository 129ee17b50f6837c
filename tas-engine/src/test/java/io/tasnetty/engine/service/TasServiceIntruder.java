package io.tasnetty.engine.service;

import java.nio.file.Path;

/**
 * An attached application that tries to reset and unbind sockets it does not hold (isolation
 * tests): it writes, into its own command queue (the only one it can write), an abort for every
 * socket id below {@code ids} and an unlisten for each, with transmit and receive positions far
 * outside any ring. Ids name sockets of the sender's own session only, so each must be refused
 * and counted ({@link TasServiceAppCounter#REFUSED_FOREIGN}), and no other application's
 * connection may notice.
 */
public final class TasServiceIntruder implements AutoCloseable {
    private final TasServiceClient client;

    private TasServiceIntruder(TasServiceClient client) {
        this.client = client;
    }

    public static TasServiceIntruder attach(Path dir) {
        return new TasServiceIntruder(TasServiceClient.attach(dir));
    }

    /** Sends the attempts; returns how many commands were sent. */
    public int tryToResetAndUnbindOthers(int ids) {
        int n = 0;
        for (int id = 0; id < ids; id++) {
            client.rawCommand(TasServiceLayout.C_FLOW, id,
                io.tasnetty.engine.flow.TasFlow.CMD_ABORT | io.tasnetty.engine.flow.TasFlow.CMD_TX, Long.MAX_VALUE / 2, 1L << 40);
            client.rawCommand(TasServiceLayout.C_UNLISTEN, id, 0, 0, 0);
            n += 2;
        }
        return n;
    }

    /** Its refused commands as the service counts them (copied into its region each cycle). */
    public long refused() {
        return client.appCounter(TasServiceAppCounter.REFUSED_FOREIGN);
    }

    /** Waits until the service has counted {@code n} refusals (or {@code millis} passed); returns the count. */
    public long awaitRefused(long n, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (refused() < n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        return refused();
    }

    @Override
    public void close() {
        client.close();
    }

    /** For a JVM of its own: {@code DIR IDS}; prints {@code refused N of M}. */
    public static void main(String[] args) throws InterruptedException {
        try (TasServiceIntruder x = attach(Path.of(args[0]))) {
            int sent = x.tryToResetAndUnbindOthers(Integer.parseInt(args[1]));
            System.out.println("refused " + x.awaitRefused(sent, 30_000) + " of " + sent);
        }
    }
}
