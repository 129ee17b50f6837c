package io.tasnetty.engine.port;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TasToeplitzSteeringTest {
    private static final int LOCAL_IP = Frames.ip(10, 0, 0, 1);
    private static final int REMOTE_IP = Frames.ip(10, 0, 0, 2);

    @Test
    void shouldIndexARedirectionTableByTheLowBitsOfTheHash() {
        int[] reta = TasToeplitzSteering.roundRobin(128, 3);
        assertThat(reta).startsWith(0, 1, 2, 0, 1, 2);
        TasToeplitzSteering s = new TasToeplitzSteering(TasToeplitzTest.MS_KEY, reta, true);
        TasToeplitz t = new TasToeplitz(TasToeplitzTest.MS_KEY);
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 1000; i++) {
            int src = r.nextInt();
            int sp = r.nextInt(65536);
            int h = t.hash(src, LOCAL_IP, sp, 80);
            assertThat(s.hash(src, sp, LOCAL_IP, 80)).isEqualTo(h);
            assertThat(s.queueForPacket(src, sp, LOCAL_IP, 80, 3)).isEqualTo(reta[h & 127]);
        }
    }

    @Test
    void shouldIndexATableOfAnotherSizeByTheUnsignedRemainder() {
        int[] reta = TasToeplitzSteering.roundRobin(100, 4);
        TasToeplitzSteering s = new TasToeplitzSteering(TasToeplitzTest.MS_KEY, reta, true);
        SplittableRandom r = new SplittableRandom(2);
        for (int i = 0; i < 1000; i++) {
            int src = r.nextInt();
            int h = s.hash(src, 1234, LOCAL_IP, 80);
            assertThat(s.queueForPacket(src, 1234, LOCAL_IP, 80, 4)).isEqualTo(reta[Integer.remainderUnsigned(h, 100)]);
        }
    }

    @Test
    void shouldHashAddressesOnlyWhenTheDeviceLeavesTcpPortsOut() {
        TasToeplitzSteering s = new TasToeplitzSteering(TasToeplitzTest.MS_KEY, TasToeplitzSteering.roundRobin(64, 4),
            false);
        int q = s.queueForPacket(REMOTE_IP, 1, LOCAL_IP, 80, 4);
        for (int port = 2; port < 2000; port++) {
            assertThat(s.queueForPacket(REMOTE_IP, port, LOCAL_IP, 80, 4)).isEqualTo(q);
        }
        assertThat(s.hash(REMOTE_IP, 9, LOCAL_IP, 80)).isEqualTo(
            new TasToeplitz(TasToeplitzTest.MS_KEY).hash(REMOTE_IP, LOCAL_IP));
    }

    @Test
    void shouldPlaceAFlowByThePacketsItReceivesFromThePeer() {
        // The Microsoft key is not symmetric, so the direction matters: the engine's flow local <->
        // remote receives packets from remote to local.
        TasToeplitzSteering s = new TasToeplitzSteering(TasToeplitzTest.MS_KEY, TasToeplitzSteering.roundRobin(128, 4),
            true);
        int differ = 0;
        for (int port = 40000; port < 40100; port++) {
            int flow = s.flowQueue(LOCAL_IP, 80, REMOTE_IP, port, 4);
            assertThat(flow).isEqualTo(s.queueForPacket(REMOTE_IP, port, LOCAL_IP, 80, 4));
            if (flow != s.queueForPacket(LOCAL_IP, 80, REMOTE_IP, port, 4)) {
                differ++;
            }
        }
        assertThat(differ).as("flows whose transmit direction hashes elsewhere").isPositive();
    }

    @Test
    void shouldFoldEntriesBeyondThePolledQueuesIntoRange() {
        TasToeplitzSteering s = new TasToeplitzSteering(TasToeplitzTest.MS_KEY, new int[] {5, 5, 5, 5}, true);
        assertThat(s.queueForPacket(REMOTE_IP, 1, LOCAL_IP, 2, 2)).isEqualTo(1);
        assertThat(s.queueForPacket(REMOTE_IP, 1, LOCAL_IP, 2, 8)).isEqualTo(5);
        assertThatThrownBy(() -> new TasToeplitzSteering(TasToeplitzTest.MS_KEY, new int[0], true))
            .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TasToeplitzSteering(TasToeplitzTest.MS_KEY, new int[] {0, -1}, true))
            .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldMakeTheWireDeliverEachFrameOnTheQueueTheModelNamesAndTellFlowsTheSame() {
        TasToeplitzSteering model = new TasToeplitzSteering(TasToeplitzTest.MS_KEY,
            TasToeplitzSteering.roundRobin(128, 4), true);
        try (TasWire wire = new TasWire()) {
            WirePort sender = wire.attach("s", 0x02_00_00_00_00_0AL, 1, 1500, 256);
            WirePort receiver = wire.attach("r", 0x02_00_00_00_00_0BL, 4, 1500, 256).steering(model);
            TasPort decorated = new FaultInjectingPort(receiver, TasFaultPlan.NONE);
            PacketBuffer[] one = new PacketBuffer[1];
            PacketBuffer[] got = new PacketBuffer[8];
            int[] perQueue = new int[4];
            for (int port = 30000; port < 30200; port++) {
                assertThat(sender.alloc(one, 1)).isEqualTo(1);
                Frames.tcp(one[0], receiver.macAddress(), sender.macAddress(), REMOTE_IP, port, LOCAL_IP, 80, 10);
                sender.txBurst(0, one, 1);
                int expected = model.flowQueue(LOCAL_IP, 80, REMOTE_IP, port, 4);
                assertThat(receiver.flowQueue(LOCAL_IP, 80, REMOTE_IP, port, 4)).isEqualTo(expected);
                assertThat(decorated.flowQueue(LOCAL_IP, 80, REMOTE_IP, port, 4)).as("decorators forward")
                    .isEqualTo(expected);
                for (int q = 0; q < 4; q++) {
                    int n = receiver.rxBurst(q, got, got.length);
                    assertThat(n).as("frames on queue %d for port %d", q, port).isEqualTo(q == expected ? 1 : 0);
                    receiver.free(got, n);
                }
                perQueue[expected]++;
            }
            assertThat(java.util.Arrays.stream(perQueue).min().orElseThrow()).as("the hash spreads flows over every queue")
                .isGreaterThan(20);
        }
    }

    @Test
    void shouldKeepTheSoftwareHashByDefault() {
        try (TasWire wire = new TasWire()) {
            WirePort p = wire.attach("d", 0x02_00_00_00_00_0CL, 4, 1500, 64);
            for (int port = 1; port < 500; port++) {
                assertThat(p.flowQueue(LOCAL_IP, 80, REMOTE_IP, port, 4))
                    .isEqualTo(TasRss.queueFor(LOCAL_IP, 80, REMOTE_IP, port, 4));
            }
            assertThat(p.steering()).isSameAs(TasRxSteering.SOFTWARE);
        }
    }
}
