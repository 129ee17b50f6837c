package io.tasnetty.engine.port;

import static org.assertj.core.api.Assertions.assertThat;

import io.tasnetty.engine.TasTestEnvironment;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PcapRecordingPortTest {
    private static final long MAC_A = 0x02_00_00_00_00_0AL;
    private static final long MAC_B = 0x02_00_00_00_00_0BL;

    @TempDir
    Path dir;

    record PcapRecord(long tsNanos, int capturedLength, int originalLength, byte[] data) {
    }

    /** A minimal reader of classic little-endian nanosecond pcap files, independent of the writer. */
    static List<PcapRecord> readPcap(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getInt()).isEqualTo(0xA1B23C4D);
        assertThat(b.getShort()).isEqualTo((short) 2);
        assertThat(b.getShort()).isEqualTo((short) 4);
        assertThat(b.getInt()).isZero(); // thiszone
        assertThat(b.getInt()).isZero(); // sigfigs
        assertThat(b.getInt()).isEqualTo(65535); // snaplen
        assertThat(b.getInt()).isEqualTo(1); // LINKTYPE_ETHERNET
        List<PcapRecord> records = new ArrayList<>();
        while (b.hasRemaining()) {
            long sec = b.getInt() & 0xFFFF_FFFFL;
            long nsec = b.getInt() & 0xFFFF_FFFFL;
            assertThat(nsec).isLessThan(1_000_000_000L);
            int incl = b.getInt();
            int orig = b.getInt();
            byte[] data = new byte[incl];
            b.get(data);
            records.add(new PcapRecord(sec * 1_000_000_000L + nsec, incl, orig, data));
        }
        return records;
    }

    @Test
    void recordsReceivedAndTransmittedFramesInClassicPcapFormat() throws IOException {
        Path file = dir.resolve("wire.pcap");
        try (TasWire wire = new TasWire()) {
            WirePort a = wire.attach("a", MAC_A, 1, 1500, 64);
            WirePort b = wire.attach("b", MAC_B, 1, 1500, 64);
            long before = System.currentTimeMillis() * 1_000_000L;
            byte[][] expected = new byte[5][];
            try (PcapRecordingPort rec = new PcapRecordingPort(a, file)) {
                PacketBuffer[] bufs = new PacketBuffer[3];
                rec.alloc(bufs, 3);
                int[] lengths = {60, 1514, 333};
                for (int i = 0; i < 3; i++) {
                    Frames.raw(bufs[i], MAC_B, MAC_A, i, lengths[i]);
                    expected[i] = Frames.bytes(bufs[i]);
                }
                assertThat(rec.txBurst(0, bufs, 3)).isEqualTo(3);

                PacketBuffer[] one = new PacketBuffer[1];
                for (int i = 3; i < 5; i++) {
                    b.alloc(one, 1);
                    Frames.raw(one[0], MAC_A, MAC_B, i, 70 + i);
                    expected[i] = Frames.bytes(one[0]);
                    b.txBurst(0, one, 1);
                }
                assertThat(rec.rxBurst(0, bufs, 3)).isEqualTo(2);
                rec.free(bufs, 2);
                assertThat(rec.recorded()).isEqualTo(5);
            }
            long after = System.currentTimeMillis() * 1_000_000L + 1_000_000L;
            List<PcapRecord> records = readPcap(file);
            assertThat(records).hasSize(5);
            for (int i = 0; i < 5; i++) {
                PcapRecord r = records.get(i);
                assertThat(r.data()).isEqualTo(expected[i]);
                assertThat(r.capturedLength()).isEqualTo(expected[i].length);
                assertThat(r.originalLength()).isEqualTo(expected[i].length);
                assertThat(r.tsNanos()).isBetween(before - TimeUnit.SECONDS.toNanos(1), after);
            }
        }
    }

    @Test
    void recordsOnlyTheTransmittedFramesTheInnerPortTook() throws IOException {
        Path file = dir.resolve("partial.pcap");
        ScriptedPort inner = new ScriptedPort(1, 16);
        inner.txAccept = 2;
        try (PcapRecordingPort rec = new PcapRecordingPort(inner, file)) {
            PacketBuffer[] bufs = new PacketBuffer[4];
            rec.alloc(bufs, 4);
            for (int i = 0; i < 4; i++) {
                Frames.raw(bufs[i], MAC_B, MAC_A, i, 100 + i);
            }
            assertThat(rec.txBurst(0, bufs, 4)).isEqualTo(2);
            rec.free(bufs[2]);
            rec.free(bufs[3]);
        }
        List<PcapRecord> records = readPcap(file);
        assertThat(records).extracting(PcapRecord::originalLength).containsExactly(100, 101);
        assertThat(inner.closed).isTrue();
        assertThat(inner.pool.available()).isEqualTo(16);
    }

    @Test
    void flushMakesRecordsVisibleWhileThePortRuns() throws IOException {
        Path file = dir.resolve("live.pcap");
        ScriptedPort inner = new ScriptedPort(1, 16);
        try (PcapRecordingPort rec = new PcapRecordingPort(inner, file)) {
            inner.inject(0, 1, 64);
            PacketBuffer[] bufs = new PacketBuffer[1];
            assertThat(rec.rxBurst(0, bufs, 1)).isEqualTo(1);
            rec.free(bufs[0]);
            assertThat(Files.size(file)).isEqualTo(PcapRecordingPort.GLOBAL_HEADER);
            rec.flush();
            assertThat(readPcap(file)).hasSize(1);
        }
    }

    @Test
    void tsharkReadsTheRecordedFrames() throws Exception {
        TasTestEnvironment.require(TasTestEnvironment.hasCommand("tshark"), "tshark installed (apt-get install tshark)");
        Path file = dir.resolve("tshark.pcap");
        int[] lengths = {60, 64, 1514, 200, 2048};
        ScriptedPort inner = new ScriptedPort(1, 16);
        try (PcapRecordingPort rec = new PcapRecordingPort(inner, file)) {
            PacketBuffer[] bufs = new PacketBuffer[1];
            for (int len : lengths) {
                if (len > inner.pool.bufferSize()) {
                    continue;
                }
                rec.alloc(bufs, 1);
                Frames.raw(bufs[0], MAC_B, MAC_A, len, len);
                assertThat(rec.txBurst(0, bufs, 1)).isEqualTo(1);
            }
        }
        Process p = new ProcessBuilder("tshark", "-r", file.toString(), "-T", "fields", "-e", "frame.len")
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        List<String> expected = Arrays.stream(lengths).filter(l -> l <= inner.pool.bufferSize())
                .mapToObj(Integer::toString).toList();
        assertThat(out.lines().map(String::trim).toList()).isEqualTo(expected);
    }
}
