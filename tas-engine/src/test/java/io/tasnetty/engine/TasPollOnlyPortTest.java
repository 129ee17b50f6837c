package io.tasnetty.engine;

import io.tasnetty.engine.port.TasPort;
import io.tasnetty.engine.port.TasPortCapabilities;
import io.tasnetty.engine.port.TasPortDecorator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A port that cannot wake a sleeping thread when frames come (as DPDK's net_memif): the engine's
 * fast-path thread must find every frame by polling, keep polling while frames come, and nap
 * between polls while none do, longer the longer it stays idle, never longer than its caps (one
 * between bursts, a longer one once idle for a second).
 */
class TasPollOnlyPortTest {

    /** The wire port, but its waits ignore frames: only a timeout or {@link #wakeup} ends them. */
    static final class PollOnly implements TasPortDecorator {
        private final TasPort inner;
        private volatile Thread waiter;
        final AtomicLong waits = new AtomicLong();
        final AtomicLong longestNap = new AtomicLong();

        PollOnly(TasPort inner) {
            this.inner = inner;
        }

        @Override
        public TasPort inner() {
            return inner;
        }

        @Override
        public String name() {
            return "poll-only:" + inner.name();
        }

        @Override
        public void close() {
            inner.close();
        }

        @Override
        public TasPortCapabilities capabilities() {
            TasPortCapabilities c = inner.capabilities();
            return new TasPortCapabilities(c.txChecksumOffload(), c.rxChecksumOffload(), c.rssRetaSize(), false);
        }

        @Override
        public void awaitRx(int queue, long timeoutNanos) {
            if (timeoutNanos <= 0) {
                return;
            }
            waits.incrementAndGet();
            longestNap.accumulateAndGet(timeoutNanos, Math::max);
            waiter = Thread.currentThread();
            LockSupport.parkNanos(this, timeoutNanos);
        }

        @Override
        public void wakeup(int queue) {
            Thread t = waiter;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldMoveEveryByteThenNapUpToItsCapWhenIdle() throws Exception {
        PollOnly[] ports = new PollOnly[2];
        try (TasEnginePair pair = new TasEnginePair(c -> c, p -> ports[0] = new PollOnly(p),
                p -> ports[1] = new PollOnly(p))) {
            List<TasEnginePair.Link> links = pair.connect(7000, 4, 10_000);
            pair.exchangeAll(links, 1 << 20, 30_000);

            // Idle now: the naps grow (an eighth of the idle time) to their cap between bursts,
            // within ~40 ms of silence, and stay there until the silence lasts a second.
            awaitLongestNap(ports, TasEngine.POLL_ONLY_MAX_NAP_NANOS);
            for (PollOnly p : ports) {
                assertThat(p.longestNap.get()).as("longest nap of %s before a second of silence", p.name())
                    .isEqualTo(TasEngine.POLL_ONLY_MAX_NAP_NANOS);
            }
            // Then up to the idle cap, and never beyond it.
            awaitLongestNap(ports, TasEngine.POLL_ONLY_IDLE_NAP_NANOS);
            for (PollOnly p : ports) {
                assertThat(p.longestNap.get()).as("longest nap of %s when idle", p.name())
                    .isEqualTo(TasEngine.POLL_ONLY_IDLE_NAP_NANOS);
            }
            // Still correct after a long idle stretch: a new exchange on the same connections. The
            // first send of each side ends its engine's long nap, so its reply waits for no nap.
            long ended = pair.a.fastPathOf(0).longNapsEnded() + pair.b.fastPathOf(0).longNapsEnded();
            pair.exchangeAll(links, 64 << 10, 30_000);
            assertThat(pair.a.fastPathOf(0).longNapsEnded() + pair.b.fastPathOf(0).longNapsEnded())
                .as("long naps ended by a sending application thread").isGreaterThan(ended);
            assertThat(pair.threadsAlive()).isTrue();
        }
    }

    private static void awaitLongestNap(PollOnly[] ports, long nanos) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while ((ports[0].longestNap.get() < nanos || ports[1].longestNap.get() < nanos) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldNotNapWhenTheApplicationAsksForPureSpinning() throws Exception {
        PollOnly[] ports = new PollOnly[2];
        try (TasEnginePair pair = new TasEnginePair(c -> c.set("fp-no-ints", "true"),
                p -> ports[0] = new PollOnly(p), p -> ports[1] = new PollOnly(p))) {
            List<TasEnginePair.Link> links = pair.connect(7001, 2, 10_000);
            pair.exchangeAll(links, 256 << 10, 30_000);
            Thread.sleep(50);
            for (PollOnly p : ports) {
                assertThat(p.waits.get()).as("awaitRx calls on %s with fp-no-ints", p.name()).isZero();
            }
        }
    }
}
