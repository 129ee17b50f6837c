package io.tasnetty.engine.port;

/**
 * A port that wraps another (fault injector, pcap recorder, test injectors): everything it does
 * not override goes straight to {@link #inner()}.
 */
public interface TasPortDecorator extends TasPort {
    /** The decorated port. */
    TasPort inner();

    @Override
    default int queueCount() {
        return inner().queueCount();
    }

    @Override
    default long macAddress() {
        return inner().macAddress();
    }

    @Override
    default int mtu() {
        return inner().mtu();
    }

    @Override
    default TasPortCapabilities capabilities() {
        return inner().capabilities();
    }

    @Override
    default void start() {
        inner().start();
    }

    @Override
    default int rxBurst(int queue, PacketBuffer[] bufs, int max) {
        return inner().rxBurst(queue, bufs, max);
    }

    @Override
    default int txBurst(int queue, PacketBuffer[] bufs, int count) {
        return inner().txBurst(queue, bufs, count);
    }

    @Override
    default int alloc(PacketBuffer[] bufs, int count) {
        return inner().alloc(bufs, count);
    }

    @Override
    default void free(PacketBuffer buf) {
        inner().free(buf);
    }

    @Override
    default void awaitRx(int queue, long timeoutNanos) {
        inner().awaitRx(queue, timeoutNanos);
    }

    @Override
    default void wakeup(int queue) {
        inner().wakeup(queue);
    }

    @Override
    default boolean rxFromAnyThread() {
        return inner().rxFromAnyThread();
    }

    @Override
    default int flowQueue(int localIp, int localPort, int remoteIp, int remotePort, int queues) {
        return inner().flowQueue(localIp, localPort, remoteIp, remotePort, queues);
    }

    @Override
    default TasPortStats stats() {
        return inner().stats();
    }
}
