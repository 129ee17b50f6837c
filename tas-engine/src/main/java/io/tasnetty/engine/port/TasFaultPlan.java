package io.tasnetty.engine.port;

/**
 * What a {@link FaultInjectingPort} does to received frames. Immutable; build with
 * {@link #builder()}. Probabilities are per frame, in [0, 1].
 *
 * @param seed seed of the random sequence: the same seed and input give the same faults
 * @param loss probability that a frame is dropped
 * @param duplicate probability that a frame is delivered twice (back to back)
 * @param reorder probability that a frame is held back and delivered after the next one (or
 *                after {@code reorderHoldNanos} when no next one comes)
 * @param corrupt probability that one random bit after the 14-byte Ethernet header is flipped
 * @param delayNanos fixed delay every frame waits before delivery (0: none)
 * @param reorderHoldNanos longest time a reordered frame waits for a successor
 * @param rateBitsPerSecond token-bucket rate limit in bits of Ethernet frame per second (0: none)
 * @param rateBurstBytes token-bucket depth in bytes (0: two full-size frames of the inner port)
 * @param rateQueueFrames frames that may wait for tokens; more are dropped, as by a router
 * @param holdFrames frames each queue may hold in its delay line; when it is full the port
 *                   stops pulling from the inner port (which then drops at its own queue)
 */
public record TasFaultPlan(long seed, double loss, double duplicate, double reorder, double corrupt,
                           long delayNanos, long reorderHoldNanos, long rateBitsPerSecond, int rateBurstBytes,
                           int rateQueueFrames, int holdFrames) {

    /** Default longest wait of a reordered frame: 1 ms. */
    public static final long DEFAULT_REORDER_HOLD_NANOS = 1_000_000L;
    /** Default router queue behind the rate limiter. */
    public static final int DEFAULT_RATE_QUEUE_FRAMES = 128;
    /** Default delay-line depth per queue. */
    public static final int DEFAULT_HOLD_FRAMES = 8192;

    /** Highest rate limit: 1 Tbit/s. */
    public static final long MAX_RATE_BITS_PER_SECOND = 1_000_000_000_000L;

    /** No faults at all. */
    public static final TasFaultPlan NONE = builder().build();

    public TasFaultPlan {
        probability("loss", loss);
        probability("duplicate", duplicate);
        probability("reorder", reorder);
        probability("corrupt", corrupt);
        nonNegative("delayNanos", delayNanos);
        nonNegative("reorderHoldNanos", reorderHoldNanos);
        nonNegative("rateBitsPerSecond", rateBitsPerSecond);
        if (rateBitsPerSecond > MAX_RATE_BITS_PER_SECOND) {
            throw new IllegalArgumentException("rateBitsPerSecond must be at most 10^12 (1 Tbit/s), was "
                    + rateBitsPerSecond);
        }
        nonNegative("rateBurstBytes", rateBurstBytes);
        if (rateBurstBytes > (1 << 30)) {
            throw new IllegalArgumentException("rateBurstBytes must be at most 2^30, was " + rateBurstBytes);
        }
        if (rateQueueFrames < 0 || rateQueueFrames > (1 << 20)) {
            throw new IllegalArgumentException("rateQueueFrames must be in [0, 2^20], was " + rateQueueFrames);
        }
        if (holdFrames < 2 || holdFrames > (1 << 20)) {
            throw new IllegalArgumentException("holdFrames must be in [2, 2^20], was " + holdFrames);
        }
    }

    private static void probability(String name, double p) {
        if (!(p >= 0.0 && p <= 1.0)) { // also rejects NaN
            throw new IllegalArgumentException(name + " must be a probability in [0, 1], was " + p);
        }
    }

    private static void nonNegative(String name, long v) {
        if (v < 0) {
            throw new IllegalArgumentException(name + " must not be negative, was " + v);
        }
    }

    /** Whether any fault is configured (a plan that is all zeros passes frames through). */
    public boolean isNone() {
        return loss == 0 && duplicate == 0 && reorder == 0 && corrupt == 0 && delayNanos == 0
                && rateBitsPerSecond == 0;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this plan's settings. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.seed = seed;
        b.loss = loss;
        b.duplicate = duplicate;
        b.reorder = reorder;
        b.corrupt = corrupt;
        b.delayNanos = delayNanos;
        b.reorderHoldNanos = reorderHoldNanos;
        b.rateBitsPerSecond = rateBitsPerSecond;
        b.rateBurstBytes = rateBurstBytes;
        b.rateQueueFrames = rateQueueFrames;
        b.holdFrames = holdFrames;
        return b;
    }

    /** Builds a {@link TasFaultPlan}; validation happens in {@link #build()}. */
    public static final class Builder {
        private long seed;
        private double loss;
        private double duplicate;
        private double reorder;
        private double corrupt;
        private long delayNanos;
        private long reorderHoldNanos = DEFAULT_REORDER_HOLD_NANOS;
        private long rateBitsPerSecond;
        private int rateBurstBytes;
        private int rateQueueFrames = DEFAULT_RATE_QUEUE_FRAMES;
        private int holdFrames = DEFAULT_HOLD_FRAMES;

        private Builder() {
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder loss(double p) {
            this.loss = p;
            return this;
        }

        public Builder duplicate(double p) {
            this.duplicate = p;
            return this;
        }

        public Builder reorder(double p) {
            this.reorder = p;
            return this;
        }

        public Builder corrupt(double p) {
            this.corrupt = p;
            return this;
        }

        public Builder delayNanos(long nanos) {
            this.delayNanos = nanos;
            return this;
        }

        public Builder reorderHoldNanos(long nanos) {
            this.reorderHoldNanos = nanos;
            return this;
        }

        public Builder rateBitsPerSecond(long bitsPerSecond) {
            this.rateBitsPerSecond = bitsPerSecond;
            return this;
        }

        public Builder rateBurstBytes(int bytes) {
            this.rateBurstBytes = bytes;
            return this;
        }

        public Builder rateQueueFrames(int frames) {
            this.rateQueueFrames = frames;
            return this;
        }

        public Builder holdFrames(int frames) {
            this.holdFrames = frames;
            return this;
        }

        public TasFaultPlan build() {
            return new TasFaultPlan(seed, loss, duplicate, reorder, corrupt, delayNanos, reorderHoldNanos,
                    rateBitsPerSecond, rateBurstBytes, rateQueueFrames, holdFrames);
        }
    }
}
