package io.tasnetty.engine.port.dpdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Availability is reported consistently, and without DPDK the reason says what to install. */
class TasDpdkTest {
    @Test
    void shouldBeAvailableOrSayWhyNot() {
        if (TasDpdk.isAvailable()) {
            assertThat(TasDpdk.unavailabilityCause()).isNull();
            TasDpdk.ensureAvailability();
        } else {
            assertThat(TasDpdk.unavailabilityCause()).isNotNull();
            assertThat(TasDpdk.unavailabilityCause().getMessage()).isNotBlank();
            assertThatThrownBy(TasDpdk::ensureAvailability)
                    .isInstanceOf(UnsatisfiedLinkError.class)
                    .hasMessageContaining(TasDpdk.unavailabilityCause().getMessage());
        }
    }

    @Test
    void shouldFindTheShimInTheNativeShimJarWhenDpdkWasInstalledAtBuildTime() {
        boolean built = TasDpdk.class.getResource(TasDpdk.RESOURCE) != null;
        if (!built) {
            assertThat(TasDpdk.isAvailable()).isFalse();
            assertThat(TasDpdk.unavailabilityCause()).hasMessageContaining("libtasshim.so not in the native-shim jar");
        }
    }
}
