package io.tasnetty.engine.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChecksumsTest {

    @Test
    void shouldSumRfc1071ExampleAtEveryAlignment() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to 2ddf0, folded ddf2.
        final byte[] example = NaiveChecksum.hex("00 01 f2 03 f4 f5 f6 f7");
        for (int off = 0; off < 16; off++) {
            final byte[] buf = new byte[off + example.length + 3];
            System.arraycopy(example, 0, buf, off, example.length);
            final MemorySegment s = MemorySegment.ofArray(buf);
            assertThat(Checksums.sum(s, off, example.length, 0)).isEqualTo(0xddf2);
            assertThat(Checksums.finish(Checksums.sum(s, off, example.length, 0))).isEqualTo(0x220d);
        }
    }

    @Test
    void shouldMatchByteByByteReferenceForRandomDataAtEveryOffsetAndLength() {
        final Random random = new Random(1071);
        final byte[] buf = new byte[16 + 200 + 8];
        final MemorySegment s = MemorySegment.ofArray(buf);
        for (int off = 0; off < 16; off++) {
            for (int len = 0; len <= 200; len++) {
                random.nextBytes(buf);
                final int initial = random.nextInt(4) == 0 ? 0 : random.nextInt();
                assertThat(Checksums.sum(s, off, len, initial))
                        .as("off %d len %d initial %08x", off, len, initial)
                        .isEqualTo(NaiveChecksum.sum(buf, off, len, initial));
            }
        }
    }

    @Test
    void shouldReturnInitialFoldedForEmptyRange() {
        final MemorySegment s = MemorySegment.ofArray(new byte[0]);
        assertThat(Checksums.sum(s, 0, 0, 0)).isZero();
        assertThat(Checksums.sum(s, 0, 0, 0x1_2345)).isEqualTo(0x2346);
    }

    @Test
    void shouldTreatOddTrailingByteAsHighByte() {
        final MemorySegment s = MemorySegment.ofArray(new byte[] {0x12, 0x34, 0x56});
        assertThat(Checksums.sum(s, 0, 3, 0)).isEqualTo(0x1234 + 0x5600);
        assertThat(Checksums.sum(s, 2, 1, 0)).isEqualTo(0x5600);
    }

    @Test
    void shouldNotOverflowOnLargeBuffersOfAllOnes() {
        try (Arena arena = Arena.ofConfined()) {
            final int len = 1 << 20;
            final MemorySegment s = arena.allocate(len + 1);
            s.fill((byte) 0xFF);
            assertThat(Checksums.sum(s, 1, len, 0)).isEqualTo(0xFFFF);
            assertThat(Checksums.sum(s, 1, len, -1)).isEqualTo(0xFFFF);
            assertThat(Checksums.sum(s, 0, len + 1, 0)).isEqualTo(NaiveChecksum.sum(s, 0, len + 1, 0));
        }
    }

    @Test
    void shouldChainPartialSumsLikeOneSum() {
        final Random random = new Random(7);
        final byte[] buf = new byte[300];
        final MemorySegment s = MemorySegment.ofArray(buf);
        for (int round = 0; round < 1000; round++) {
            random.nextBytes(buf);
            final int split = 2 * random.nextInt(100); // even split keeps word boundaries
            final int len = split + random.nextInt(300 - split);
            final int chained = Checksums.sum(s, split, len - split, Checksums.sum(s, 0, split, 0));
            assertThat(chained).isEqualTo(Checksums.sum(s, 0, len, 0));
        }
    }

    @Test
    void shouldFoldEndAroundCarries() {
        assertThat(Checksums.fold(0)).isZero();
        assertThat(Checksums.fold(0xFFFF)).isEqualTo(0xFFFF);
        assertThat(Checksums.fold(0x1_0000)).isEqualTo(1);
        assertThat(Checksums.fold(0x2_DDF0)).isEqualTo(0xDDF2);
        assertThat(Checksums.fold(0x1_FFFF)).isEqualTo(1);
        assertThat(Checksums.fold(0x1_FFFE)).isEqualTo(0xFFFF);
        assertThat(Checksums.fold(0xFFFF_FFFF)).isEqualTo(0xFFFF);
        assertThat(Checksums.fold(0x8000_0000)).isEqualTo(0x8000);
        assertThat(Checksums.finish(0x2_DDF0)).isEqualTo(0x220D);
        assertThat(Checksums.finish(0)).isEqualTo(0xFFFF);
    }

    @Test
    void shouldApplyRfc1624Equation3WithoutProducingMinusZero() {
        // RFC 1624 section 4: HC 0xDD2F, m 0x5555 -> m' 0x3285 gives HC' 0x0000 (eqn. 2 gives 0xFFFF).
        assertThat(Checksums.update16(0xDD2F, 0x5555, 0x3285)).isEqualTo(0x0000);
    }

    @Test
    void shouldUpdate16LikeFullRecomputationForRandomChanges() {
        final Random random = new Random(1624);
        final byte[] buf = new byte[64];
        final MemorySegment s = MemorySegment.ofArray(buf);
        final ValueLayout.OfShort be = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
        for (int round = 0; round < 20_000; round++) {
            random.nextBytes(buf);
            final int len = 2 + random.nextInt(63);
            final int before = Checksums.finish(Checksums.sum(s, 0, len, 0));
            final int at = 2 * random.nextInt(len / 2);
            final int oldWord = s.get(be, at) & 0xFFFF;
            final int newWord = round % 10 == 0 ? (oldWord ^ 0xFFFF) : random.nextInt(0x10000);
            s.set(be, at, (short) newWord);
            assertThat(Checksums.update16(before, oldWord, newWord))
                    .as("round %d", round)
                    .isEqualTo(Checksums.finish(Checksums.sum(s, 0, len, 0)));
        }
    }

    @Test
    void shouldUpdate32LikeFullRecomputationForRandomChanges() {
        final Random random = new Random(3232);
        final byte[] buf = new byte[64];
        final MemorySegment s = MemorySegment.ofArray(buf);
        final ValueLayout.OfInt be = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
        for (int round = 0; round < 20_000; round++) {
            random.nextBytes(buf);
            final int len = 4 + random.nextInt(61);
            final int before = Checksums.finish(Checksums.sum(s, 0, len, 0));
            final int at = 2 * random.nextInt((len - 2) / 2);
            final int oldValue = s.get(be, at);
            final int newValue = random.nextInt();
            s.set(be, at, newValue);
            final int expected = Checksums.finish(Checksums.sum(s, 0, len, 0));
            assertThat(Checksums.update32(before, oldValue, newValue)).as("round %d", round).isEqualTo(expected);
            assertThat(Checksums.update16(Checksums.update16(before, oldValue >>> 16, newValue >>> 16),
                    oldValue & 0xFFFF, newValue & 0xFFFF)).isEqualTo(expected);
        }
    }
}
