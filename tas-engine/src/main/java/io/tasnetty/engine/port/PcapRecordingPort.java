package io.tasnetty.engine.port;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Objects;

/**
 * A decorator that records every frame received from and transmitted to the inner port in a
 * classic pcap file (nanosecond timestamps, LINKTYPE_ETHERNET) that {@code tshark} and Wireshark
 * read. Received frames are recorded as {@link #rxBurst} hands them out; transmitted frames only
 * if the inner port took them (copied to a per-queue staging area first, because after
 * {@code txBurst} they are no longer ours to read).
 *
 * <p>A debugging decorator: one lock serialises writers from all queues, which is simple and
 * slow, and acceptable here. An I/O error stops recording (the port keeps working) and is
 * rethrown by {@link #close}.
 */
public final class PcapRecordingPort implements TasPortDecorator {
    /** Classic pcap magic for nanosecond timestamps. */
    static final int MAGIC_NANOS = 0xA1B23C4D;
    static final int LINKTYPE_ETHERNET = 1;
    static final int SNAPLEN = 65535;
    static final int GLOBAL_HEADER = 24;
    static final int RECORD_HEADER = 16;
    private static final int OUT_BUFFER = 1 << 20;

    private final TasPort inner;
    private final Path file;
    private final FileChannel channel;
    private final Object lock = new Object();
    // Guarded by lock: the file buffer (little-endian, the byte order the magic announces).
    private final ByteBuffer out;
    private final MemorySegment outSegment;
    private final TxStaging[] staging;
    private final long epochBaseNanos;
    private final long monotonicBase;
    private long recorded;
    private IOException failure;
    private boolean closed;

    /** Per TX queue: copies of a burst's frames, kept until the inner port says how many it took. */
    private static final class TxStaging {
        byte[] bytes = new byte[64 * 1024];
        MemorySegment segment = MemorySegment.ofArray(bytes);
        int[] lengths = new int[64];

        void ensure(int frames, long totalBytes) {
            if (lengths.length < frames) {
                lengths = new int[Integer.highestOneBit(frames - 1) << 1];
            }
            if (bytes.length < totalBytes) { // grows during warm-up only, never per packet after
                bytes = new byte[(int) Math.min(Integer.MAX_VALUE - 8, Long.highestOneBit(totalBytes - 1) << 1)];
                segment = MemorySegment.ofArray(bytes);
            }
        }
    }

    /** Records {@code inner}'s traffic into {@code file} (created or truncated). */
    public PcapRecordingPort(TasPort inner, Path file) {
        this.inner = Objects.requireNonNull(inner, "inner");
        this.file = Objects.requireNonNull(file, "file");
        try {
            this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create pcap file " + file, e);
        }
        this.out = ByteBuffer.allocateDirect(OUT_BUFFER).order(ByteOrder.LITTLE_ENDIAN);
        this.outSegment = MemorySegment.ofBuffer(out);
        this.staging = new TxStaging[inner.queueCount()];
        for (int i = 0; i < staging.length; i++) {
            staging[i] = new TxStaging();
        }
        Instant wall = Instant.now();
        this.monotonicBase = System.nanoTime();
        this.epochBaseNanos = wall.getEpochSecond() * 1_000_000_000L + wall.getNano();
        out.putInt(MAGIC_NANOS).putShort((short) 2).putShort((short) 4) // version 2.4
                .putInt(0) // thiszone: UTC
                .putInt(0) // sigfigs
                .putInt(SNAPLEN)
                .putInt(LINKTYPE_ETHERNET);
        synchronized (lock) {
            flushLocked();
        }
        if (failure != null) {
            closeChannelQuietly();
            throw new UncheckedIOException("cannot write pcap header to " + file, failure);
        }
    }

    /** The file being written. */
    public Path file() {
        return file;
    }

    /** Frames recorded so far. */
    public long recorded() {
        synchronized (lock) {
            return recorded;
        }
    }

    @Override
    public TasPort inner() {
        return inner;
    }

    @Override
    public String name() {
        return "pcap(" + inner.name() + ")";
    }






    @Override
    public int rxBurst(int queue, PacketBuffer[] bufs, int max) {
        int n = inner.rxBurst(queue, bufs, max);
        if (n > 0) {
            long ts = timestamp();
            synchronized (lock) {
                for (int i = 0; i < n; i++) {
                    recordLocked(bufs[i].segment, bufs[i].offset, bufs[i].length, ts);
                }
            }
        }
        return n;
    }

    @Override
    public int txBurst(int queue, PacketBuffer[] bufs, int count) {
        if (count <= 0) {
            return inner.txBurst(queue, bufs, count);
        }
        TxStaging st = staging[queue]; // the queue's thread only: no lock needed
        long total = 0;
        for (int i = 0; i < count; i++) {
            total += Math.min(bufs[i].length, SNAPLEN);
        }
        st.ensure(count, total);
        long pos = 0;
        for (int i = 0; i < count; i++) {
            int len = bufs[i].length;
            int captured = Math.min(len, SNAPLEN);
            MemorySegment.copy(bufs[i].segment, bufs[i].offset, st.segment, pos, captured);
            st.lengths[i] = len;
            pos += captured;
        }
        long ts = timestamp();
        int taken = inner.txBurst(queue, bufs, count);
        if (taken > 0) {
            synchronized (lock) {
                pos = 0;
                for (int i = 0; i < taken; i++) {
                    recordLocked(st.segment, pos, st.lengths[i], ts);
                    pos += Math.min(st.lengths[i], SNAPLEN);
                }
            }
        }
        return taken;
    }

    private long timestamp() {
        return epochBaseNanos + (System.nanoTime() - monotonicBase);
    }

    private void recordLocked(MemorySegment s, long off, int len, long ts) {
        if (closed || failure != null) {
            return;
        }
        int captured = Math.min(len, SNAPLEN);
        if (out.remaining() < RECORD_HEADER + captured) {
            flushLocked();
            if (failure != null) {
                return;
            }
        }
        out.putInt((int) (ts / 1_000_000_000L))
                .putInt((int) (ts % 1_000_000_000L))
                .putInt(captured)
                .putInt(len);
        MemorySegment.copy(s, off, outSegment, out.position(), captured);
        out.position(out.position() + captured);
        recorded++;
    }

    private void flushLocked() {
        if (failure != null) {
            out.clear();
            return;
        }
        out.flip();
        try {
            while (out.hasRemaining()) {
                channel.write(out);
            }
        } catch (IOException e) {
            failure = e; // stop recording; the data path keeps going
        }
        out.clear();
    }

    /** Writes buffered records to the file (e.g. before reading it while the port runs). */
    public void flush() {
        synchronized (lock) {
            if (!closed) {
                flushLocked();
            }
        }
    }






    /** Closes the inner port, then flushes and closes the file. */
    @Override
    public void close() {
        IOException error;
        synchronized (lock) {
            if (closed) {
                return;
            }
            flushLocked();
            closed = true;
            error = failure;
            try {
                channel.close();
            } catch (IOException e) {
                if (error == null) {
                    error = e;
                }
            }
        }
        inner.close();
        if (error != null) {
            throw new UncheckedIOException("pcap recording to " + file + " failed", error);
        }
    }

    private void closeChannelQuietly() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // already failing; the constructor reports the first error
        }
    }
}
