package io.tasnetty.engine.slow;

import io.tasnetty.engine.EngineHarness;
import io.tasnetty.engine.TcpTestPeer.Segment;
import io.tasnetty.engine.config.TasConfig;
import io.tasnetty.engine.wire.Tcp;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Ephemeral ports (RFC 6056 3.3.4, double-hash selection): each destination gets its own keyed
 * offset, so the ports an observer sees for one destination say nothing about another's; for one
 * destination, successive connections take successive ports (no early reuse of a port).
 */
class EphemeralPortTest {
    private static int synPort(EngineHarness h, int remotePort) {
        h.connect(remotePort);
        List<Segment> out = h.step();
        Segment syn = out.stream().filter(s -> s.has(Tcp.SYN)).findFirst().orElseThrow();
        return syn.srcPort();
    }

    @Test
    void destinationsDoNotShareOneSequenceOfPorts() {
        try (EngineHarness h = new EngineHarness(TasConfig.builder())) {
            List<Integer> ports = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                ports.add(synPort(h, 7000 + i));
            }
            int consecutive = 0;
            for (int i = 1; i < ports.size(); i++) {
                if (ports.get(i) == ports.get(i - 1) + 1) {
                    consecutive++;
                }
            }
            assertThat(consecutive).as("a global counter would make these consecutive: %s", ports).isLessThan(3);
            assertThat(new HashSet<>(ports)).hasSize(20);
            assertThat(ports).allSatisfy(p -> assertThat(p).isBetween(32768, 60999));
        }
    }

    @Test
    void oneDestinationGetsSuccessivePorts() {
        try (EngineHarness h = new EngineHarness(TasConfig.builder())) {
            int first = synPort(h, 8080);
            int second = synPort(h, 8080);
            int third = synPort(h, 8080);
            assertThat(List.of(second, third)).containsExactly(wrap(first + 1), wrap(first + 2));
        }
    }

    private static int wrap(int p) {
        return p > 60999 ? p - (60999 - 32768 + 1) : p;
    }
}
