package io.tasnetty.samples;

import io.tasnetty.samples.bench.BenchResult;
import io.tasnetty.samples.bench.RpcBench;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The benchmark worker runs (briefly) and reports sane figures. No timing is asserted. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RpcBenchTest {

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"TAS", "NIO"})
    void rpcModeCompletesRequests(Transport t) throws Exception {
        BenchResult r = RpcBench.run(new RpcBench.Config(t, "rpc", 64, 4, 2, 200, 1000, 1, 1, "127.0.0.1", false), null);
        assertThat(r.requests()).isPositive();
        assertThat(r.bytes()).isEqualTo(r.requests() * 64);
        assertThat(r.p50()).isPositive().isLessThanOrEqualTo(r.p99());
        assertThat(r.p99()).isLessThanOrEqualTo(r.p999());
        assertThat(r.seconds()).isGreaterThan(0.5);
        assertThat(r.cpuProcess()).isPositive();
        assertThat(r.cpuServer() + r.cpuClient()).isPositive();
        // The result line the runner parses gives the same figures back.
        BenchResult back = BenchResult.parse(r.toLine());
        assertThat(back.requests()).isEqualTo(r.requests());
        assertThat(back.p99()).isEqualTo(r.p99());
        assertThat(back.cpuProcess()).isEqualTo(r.cpuProcess());
        assertThat(back.note()).isEqualTo(r.note());
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"TAS", "NIO"})
    void openLoopSendsAtTheOfferedRateFromAnAppThread(Transport t) throws Exception {
        BenchResult r = RpcBench.run(new RpcBench.Config(t, "open", 64, 4, 1, 300, 1000, 1, 1, "127.0.0.1", false,
            2000), null);
        assertThat(r.mode()).isEqualTo("open");
        assertThat(r.offered()).isEqualTo(2000);
        // A loose bound: the schedule, not the transport, sets the rate (no timing is asserted beyond "it ran").
        assertThat(r.requests()).isPositive().isLessThan(4000);
        assertThat(r.p50()).isPositive().isLessThanOrEqualTo(r.p99());
        assertThat(r.cpuApp()).isPositive();
        BenchResult back = BenchResult.parse(r.toLine());
        assertThat(back.offered()).isEqualTo(r.offered());
        assertThat(back.cpuApp()).isEqualTo(r.cpuApp());
        assertThat(back.senderLagP99()).isEqualTo(r.senderLagP99());
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"TAS", "NIO"})
    void blockingCallersEachWaitForTheirEcho(Transport t) throws Exception {
        BenchResult r = RpcBench.run(new RpcBench.Config(t, "blocking", 64, 3, 1, 200, 1000, 1, 1, "127.0.0.1",
            false), null);
        assertThat(r.mode()).isEqualTo("blocking");
        assertThat(r.requests()).isPositive();
        assertThat(r.bytes()).isEqualTo(r.requests() * 64);
        assertThat(r.p50()).isPositive().isLessThanOrEqualTo(r.p99());
        assertThat(r.cpuApp()).isPositive();
        assertThat(r.offered()).isZero();
    }

    @Test
    void bulkModeMovesBytesOnTas() throws Exception {
        BenchResult r = RpcBench.run(new RpcBench.Config(Transport.TAS, "bulk", 16384, 1, 1, 100, 700, 1, 1,
            "127.0.0.1", false), null);
        assertThat(r.bytes()).isPositive();
        assertThat(r.gbitPerSecond()).isPositive();
    }
}
