package io.tasnetty.transport;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

class TasTest {
    @Test
    void isAvailableOnJdk25WithAValidConfiguration() {
        assertThat(Tas.isAvailable()).isTrue();
        assertThat(Tas.unavailabilityCause()).isNull();
        assertThatCode(Tas::ensureAvailability).doesNotThrowAnyException();
    }
}
