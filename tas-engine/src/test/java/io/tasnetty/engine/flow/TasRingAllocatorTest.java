package io.tasnetty.engine.flow;

import io.tasnetty.engine.TasTestEnvironment;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class TasRingAllocatorTest {
    @Test
    void shouldReuseReleasedBlocksAndRespectTheLimit() {
        try (TasRingAllocator a = new TasRingAllocator(1 << 20)) {
            List<MemorySegment> held = new ArrayList<>();
            MemorySegment s;
            while ((s = a.allocate(64 * 1024)) != null) {
                held.add(s);
            }
            assertThat(held).hasSize(16);
            assertThat(a.bytesInUse()).isEqualTo(1 << 20);
            held.forEach(a::release);
            assertThat(a.bytesInUse()).isZero();
            for (int i = 0; i < 1000; i++) {
                MemorySegment x = a.allocate(64 * 1024);
                assertThat(x).isNotNull();
                a.release(x);
            }
            assertThat(a.bytesReserved()).as("no growth from reuse").isEqualTo(1 << 20);
        }
    }

    @Test
    void blocksOfAPageOrMoreArePageAlignedWhateverWasCarvedBefore() {
        try (TasRingAllocator a = new TasRingAllocator(1 << 30)) {
            assertThat(a.allocate(2048)).isNotNull();
            for (int size : new int[] {4096, 2048, 131072, 64, 8192}) {
                MemorySegment m = a.allocate(size);
                assertThat(m.byteSize()).isEqualTo(size);
                if (size >= 4096) {
                    assertThat(m.address() % 4096).as("block of %d", size).isZero();
                }
            }
        }
    }

    @Test
    void aReleasedBlockReadsAsZeroPastItsFirstPageAndKeepsItsFirstPage() {
        try (TasRingAllocator a = new TasRingAllocator(1 << 30)) {
            TasTestEnvironment.require(a.commitsOnTouch(), "ring pages committed on touch (Linux mmap)");
            MemorySegment m = a.allocate(16384);
            m.fill((byte) 7);
            a.release(m);
            MemorySegment again = a.allocate(16384);
            assertThat(again.address()).as("the same block comes back").isEqualTo(m.address());
            assertThat(again.get(ValueLayout.JAVA_BYTE, 0)).as("first page kept").isEqualTo((byte) 7);
            assertThat(again.get(ValueLayout.JAVA_BYTE, 4096)).as("later pages given back").isZero();
            assertThat(again.get(ValueLayout.JAVA_BYTE, 16383)).isZero();
        }
    }

    /**
     * Service mode: rings carved from an application's shared region file give their pages back
     * to the file system when released (the file's allocated blocks fall), and the block is
     * reused by the next ring of its size (the region does not grow).
     */
    @Test
    void aRegionsReleasedRingsArePunchedOutOfItsFileAndReused() throws IOException {
        Path shm = Path.of("/dev/shm");
        TasTestEnvironment.require(Files.isDirectory(shm), "/dev/shm (tmpfs) for a shared region file");
        Path file = Files.createTempFile(shm, "tas-region", ".shm");
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
             java.nio.channels.FileChannel fc = java.nio.channels.FileChannel.open(file,
                 java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            long size = 64L << 20; // one chunk, as the service sizes regions
            fc.write(java.nio.ByteBuffer.wrap(new byte[1]), size - 1);
            MemorySegment region = fc.map(java.nio.channels.FileChannel.MapMode.READ_WRITE, 0, size, arena);
            TasRingAllocator a = TasRingAllocator.inRegion(region, size);
            assertThat(a.commitsOnTouch()).as("tmpfs can punch holes").isTrue();
            long empty = allocatedBytes(file);
            MemorySegment ring = a.allocate(4 << 20);
            ring.fill((byte) 3);
            assertThat(allocatedBytes(file) - empty).isGreaterThanOrEqualTo(4L << 20);
            a.release(ring);
            assertThat(allocatedBytes(file) - empty).as("all but the first page punched out").isLessThanOrEqualTo(64 << 10);
            MemorySegment again = a.allocate(4 << 20);
            assertThat(again.address()).as("the block is reused").isEqualTo(ring.address());
            assertThat(again.get(ValueLayout.JAVA_BYTE, 8192)).isZero();
            assertThat(a.bytesReserved()).isEqualTo(4L << 20);
            // Past the limit: refused, and counted.
            assertThat(a.allocate(64 << 20)).isNull();
            assertThat(a.failures()).isEqualTo(1);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Bytes the file system holds for {@code file} (st_blocks x 512), as {@code stat} reports them. */
    private static long allocatedBytes(Path file) throws IOException {
        Process p = new ProcessBuilder("stat", "-c", "%b %B", file.toString()).redirectErrorStream(true).start();
        String[] w = new String(p.getInputStream().readAllBytes()).trim().split(" ");
        return Long.parseLong(w[0]) * Long.parseLong(w[1]);
    }

    /**
     * What makes thousands of idle connections affordable: 2,000 connections' worth of 128 KiB rx
     * and tx rings, each with one page of data, take a few pages each of resident memory, not the
     * 512 MiB the rings span.
     */
    @Test
    void ringsCostOnlyThePagesTheirDataTouched() throws IOException {
        try (TasRingAllocator a = new TasRingAllocator(1L << 30)) {
            TasTestEnvironment.require(a.commitsOnTouch(), "ring pages committed on touch (Linux mmap)");
            long before = residentBytes();
            List<MemorySegment> held = new ArrayList<>();
            for (int i = 0; i < 4000; i++) {
                MemorySegment m = a.allocate(128 * 1024);
                m.asSlice(0, 1000).fill((byte) 1); // a small request or response
                held.add(m);
            }
            long grown = residentBytes() - before;
            assertThat(a.bytesInUse()).isEqualTo(4000L * 128 * 1024);
            assertThat(grown).as("resident growth for 512 MiB of rings").isLessThan(64L << 20);
            held.forEach(a::release);
        }
    }

    private static long residentBytes() throws IOException {
        String[] statm = Files.readString(Path.of("/proc/self/statm")).trim().split("\\s+");
        return Long.parseLong(statm[1]) * 4096;
    }
}
