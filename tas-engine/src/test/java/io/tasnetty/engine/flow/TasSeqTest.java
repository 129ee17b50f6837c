package io.tasnetty.engine.flow;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TasSeqTest {
    @Test
    void shouldCompareAcrossTheWrapOf2To32() {
        int before = 0xFFFF_FFF0;
        int after = 0x0000_0010;
        assertThat(TasSeq.lt(before, after)).isTrue();
        assertThat(TasSeq.gt(after, before)).isTrue();
        assertThat(TasSeq.le(before, before)).isTrue();
        assertThat(TasSeq.max(before, after)).isEqualTo(after);
        assertThat(TasSeq.min(before, after)).isEqualTo(before);
        assertThat(TasSeq.inRange(0xFFFF_FFFF, before, after)).isTrue();
        assertThat(TasSeq.inRange(0, before, after)).isTrue();
        assertThat(TasSeq.inRange(after, before, after)).isFalse();
        assertThat(after - before).isEqualTo(0x20);
    }
}
