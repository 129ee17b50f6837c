package io.tasnetty.engine.port;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class TasLoopbackBuffersTest {
    @Test
    void makesBuffersOnlyWhenNeededAndNoMoreThanItsLimit() {
        try (TasLoopbackBuffers b = new TasLoopbackBuffers(2)) {
            assertThat(b.capacity()).isZero();
            List<PacketBuffer> held = new ArrayList<>();
            PacketBuffer p;
            while ((p = b.allocOne()) != null) {
                held.add(p);
                assertThat(p.capacity).isGreaterThanOrEqualTo(TasLoopbackBuffers.LOOPBACK_MTU + 14);
            }
            assertThat(held).hasSize(2 * TasLoopbackBuffers.CHUNK);
            assertThat(b.capacity()).isEqualTo(2 * TasLoopbackBuffers.CHUNK);
            held.forEach(b::free);
            assertThat(b.available()).isEqualTo(2 * TasLoopbackBuffers.CHUNK);
        }
    }

    @Test
    void theDecoratedPortReturnsEachBufferWhereItCameFrom() {
        TasWire wire = new TasWire();
        WirePort raw = wire.attach("a", 0x0200_0000_0001L, 1, 1500, 64);
        try (TasLoopbackBuffers b = new TasLoopbackBuffers(1)) {
            TasPort port = b.decorate(raw);
            PacketBuffer big = b.allocOne();
            PacketBuffer[] small = new PacketBuffer[1];
            assertThat(port.alloc(small, 1)).isEqualTo(1);
            int portFree = raw.pool().available();
            port.free(big);
            port.free(small[0]);
            assertThat(b.available()).isEqualTo(TasLoopbackBuffers.CHUNK);
            assertThat(raw.pool().available()).isEqualTo(portFree + 1);
        } finally {
            raw.close();
        }
    }
}
