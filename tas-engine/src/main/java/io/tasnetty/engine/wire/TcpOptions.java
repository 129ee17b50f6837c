package io.tasnetty.engine.wire;

import static io.tasnetty.engine.wire.Layouts.BYTE;
import static io.tasnetty.engine.wire.Layouts.INT_BE;
import static io.tasnetty.engine.wire.Layouts.SHORT_BE;

import java.lang.foreign.MemorySegment;

/**
 * Parsed TCP options (RFC 9293 3.1-3.2), and writers for the options this stack sends. A reusable
 * mutable holder: keep one per thread; {@link #parse} allocates nothing.
 *
 * <pre>
 * kind 0  EOL              +--------+
 *                          |00000000|
 *                          +--------+
 * kind 1  NOP              +--------+
 *                          |00000001|
 *                          +--------+
 * kind 2  MSS (RFC 9293)   +--------+--------+--------+--------+
 *                          |00000010|00000100|   max seg size  |
 *                          +--------+--------+--------+--------+
 * kind 3  Window scale     +--------+--------+--------+
 *         (RFC 7323 2.2)   |00000011|00000011|shift.ct|
 *                          +--------+--------+--------+
 * kind 4  SACK permitted   +--------+--------+
 *         (RFC 2018 2)     |00000100|00000010|
 *                          +--------+--------+
 * kind 5  SACK             +--------+--------+
 *         (RFC 2018 3)     |00000101| 2+8*n  |  then n pairs of 32-bit left edge, right edge
 *                          +--------+--------+
 * kind 8  Timestamps       +--------+--------+-----------------+-----------------+
 *         (RFC 7323 3.2)   |00001000|00001010|  TSval (32 bit) |  TSecr (32 bit) |
 *                          +--------+--------+-----------------+-----------------+
 * </pre>
 *
 * Writers lay options out as Linux does (NOPs so that 32-bit fields are aligned) and return the
 * bytes written, always a multiple of 4, so the result can be added straight to the header length.
 */
public final class TcpOptions {
    public static final int KIND_EOL = 0;
    public static final int KIND_NOP = 1;
    public static final int KIND_MSS = 2;
    public static final int KIND_WINDOW_SCALE = 3;
    public static final int KIND_SACK_PERMITTED = 4;
    public static final int KIND_SACK = 5;
    public static final int KIND_TIMESTAMP = 8;

    public static final int LENGTH_MSS = 4;
    public static final int LENGTH_WINDOW_SCALE = 3;
    public static final int LENGTH_SACK_PERMITTED = 2;
    public static final int LENGTH_TIMESTAMP = 10;

    /** At most 4 SACK blocks fit in 40 bytes of options (RFC 2018 3). */
    public static final int MAX_SACK_BLOCKS = 4;
    /** The largest shift count a receiver may use (RFC 7323 2.3). */
    public static final int MAX_WINDOW_SCALE = 14;
    /** Room for options in a header: 60 - 20 bytes. */
    public static final int MAX_OPTIONS_LENGTH = Tcp.MAX_HEADER_LENGTH - Tcp.MIN_HEADER_LENGTH;

    private static final int NOP_NOP = KIND_NOP << 8 | KIND_NOP;

    /** Maximum segment size, or -1 if absent. */
    public int mss = -1;
    /** Window scale shift count, or -1 if absent; {@link #parse} clamps values above 14 to 14 (RFC 7323 2.3). */
    public int windowScale = -1;
    public boolean sackPermitted;
    public boolean hasTimestamp;
    public int tsVal;
    public int tsEcr;
    /** Number of valid entries in {@link #sackLeft}/{@link #sackRight}. */
    public int sackBlocks;
    public final int[] sackLeft = new int[MAX_SACK_BLOCKS];
    public final int[] sackRight = new int[MAX_SACK_BLOCKS];

    /** Forgets everything parsed (the SACK arrays are not zeroed; {@link #sackBlocks} says how many are valid). */
    public void clear() {
        mss = -1;
        windowScale = -1;
        sackPermitted = false;
        hasTimestamp = false;
        tsVal = 0;
        tsEcr = 0;
        sackBlocks = 0;
    }

    /**
     * Clears, then parses the options in {@code [optOff, optOff + optLen)} (the bytes between the
     * fixed header and {@code Tcp.headerLength}). Unknown kinds are skipped by their length
     * (RFC 9293 3.1, MUST-6); EOL ends the list; for repeated options the last one wins.
     *
     * @return false if malformed: an option length below 2 or running past the end, or a known
     *         kind with the wrong length (RFC 9293 3.1, MUST-7: handle illegal lengths without
     *         crashing; the caller decides, e.g. drop or reset). Fields parsed before the error
     *         stay set.
     */
    public boolean parse(MemorySegment s, long optOff, int optLen) {
        clear();
        long i = optOff;
        final long end = optOff + optLen;
        while (i < end) {
            final int kind = s.get(BYTE, i) & 0xFF;
            if (kind == KIND_EOL) {
                return true;
            }
            if (kind == KIND_NOP) {
                i++;
                continue;
            }
            if (i + 1 >= end) {
                return false; // no room for the length byte
            }
            final int len = s.get(BYTE, i + 1) & 0xFF;
            if (len < 2 || len > end - i) {
                return false;
            }
            // A known option with the wrong length is ignored, as Linux's tcp_parse_options does;
            // the segment and the other options stand.
            switch (kind) {
                case KIND_MSS -> {
                    if (len == LENGTH_MSS) {
                        mss = s.get(SHORT_BE, i + 2) & 0xFFFF;
                    }
                }
                case KIND_WINDOW_SCALE -> {
                    if (len == LENGTH_WINDOW_SCALE) {
                        // RFC 7323 2.3: a shift count above 14 MUST be used as 14.
                        windowScale = Math.min(s.get(BYTE, i + 2) & 0xFF, MAX_WINDOW_SCALE);
                    }
                }
                case KIND_SACK_PERMITTED -> {
                    if (len == LENGTH_SACK_PERMITTED) {
                        sackPermitted = true;
                    }
                }
                case KIND_TIMESTAMP -> {
                    if (len == LENGTH_TIMESTAMP) {
                        hasTimestamp = true;
                        tsVal = s.get(INT_BE, i + 2);
                        tsEcr = s.get(INT_BE, i + 6);
                    }
                }
                case KIND_SACK -> {
                    final int n = (len - 2) >>> 3;
                    if (n >= 1 && n <= MAX_SACK_BLOCKS && len == 2 + 8 * n) {
                        for (int b = 0; b < n; b++) {
                            sackLeft[b] = s.get(INT_BE, i + 2 + 8L * b);
                            sackRight[b] = s.get(INT_BE, i + 6 + 8L * b);
                        }
                        sackBlocks = n;
                    }
                }
                default -> {
                    // Unknown kind: skip by its length (RFC 9293 3.1, MUST-6).
                }
            }
            i += len;
        }
        return true;
    }

    /** What {@link #writeSynOptions} writes for these arguments (MSS is always present). */
    public static int synOptionsLength(int windowScale, boolean sackPermitted, boolean timestamps) {
        return LENGTH_MSS
                + (timestamps ? 12 : sackPermitted ? 4 : 0)
                + (windowScale >= 0 ? 4 : 0);
    }

    /**
     * Writes the options of a SYN or SYN-ACK, laid out as Linux does:
     * <pre>
     * MSS                                      2 4 mss mss
     * SACK-permitted + timestamps, or          4 2 8 10 tsval tsecr
     * NOP NOP timestamps, or                   1 1 8 10 tsval tsecr
     * NOP NOP SACK-permitted                   1 1 4 2
     * NOP window scale (unless windowScale -1) 1 3 3 shift
     * </pre>
     * A SYN-ACK should only carry window scale, SACK-permitted and timestamps if the SYN did
     * (RFC 7323 1.3, 3.2; RFC 2018 2); that choice is the caller's.
     *
     * @param windowScale shift count 0..14, or -1 to omit the option
     * @return bytes written, a multiple of 4 (at most 20)
     */
    public static int writeSynOptions(MemorySegment s, long off, int mss, int windowScale, boolean sackPermitted,
            boolean timestamps, int tsVal, int tsEcr) {
        long p = off;
        s.set(INT_BE, p, KIND_MSS << 24 | LENGTH_MSS << 16 | mss & 0xFFFF);
        p += 4;
        if (timestamps) {
            final int lead = sackPermitted ? KIND_SACK_PERMITTED << 8 | LENGTH_SACK_PERMITTED : NOP_NOP;
            s.set(INT_BE, p, lead << 16 | KIND_TIMESTAMP << 8 | LENGTH_TIMESTAMP);
            s.set(INT_BE, p + 4, tsVal);
            s.set(INT_BE, p + 8, tsEcr);
            p += 12;
        } else if (sackPermitted) {
            s.set(INT_BE, p, NOP_NOP << 16 | KIND_SACK_PERMITTED << 8 | LENGTH_SACK_PERMITTED);
            p += 4;
        }
        if (windowScale >= 0) {
            s.set(INT_BE, p, KIND_NOP << 24 | KIND_WINDOW_SCALE << 16 | LENGTH_WINDOW_SCALE << 8 | windowScale & 0xFF);
            p += 4;
        }
        return (int) (p - off);
    }

    /** The number of SACK blocks {@link #writeAckOptions} writes: at most 3 with timestamps, 4 without. */
    public static int sackBlocksWritten(boolean timestamps, int sackBlocks) {
        return Math.max(0, Math.min(sackBlocks, timestamps ? 3 : MAX_SACK_BLOCKS));
    }

    /** What {@link #writeAckOptions} writes for these arguments. */
    public static int ackOptionsLength(boolean timestamps, int sackBlocks) {
        final int n = sackBlocksWritten(timestamps, sackBlocks);
        return (timestamps ? 12 : 0) + (n > 0 ? 4 + 8 * n : 0);
    }

    /**
     * Writes the options of a non-SYN segment, laid out as Linux does:
     * <pre>
     * NOP NOP timestamps (if timestamps)       1 1 8 10 tsval tsecr
     * NOP NOP SACK (unless sackBlocks 0)       1 1 5 2+8n left right ...
     * </pre>
     * Only the first blocks that fit in 40 bytes are written: 3 with timestamps, 4 without
     * (RFC 2018 3); the caller orders them (the most recent first, RFC 2018 4).
     *
     * @return bytes written, a multiple of 4 (at most 40)
     */
    public static int writeAckOptions(MemorySegment s, long off, boolean timestamps, int tsVal, int tsEcr,
            int[] sackLeft, int[] sackRight, int sackBlocks) {
        long p = off;
        if (timestamps) {
            s.set(INT_BE, p, NOP_NOP << 16 | KIND_TIMESTAMP << 8 | LENGTH_TIMESTAMP);
            s.set(INT_BE, p + 4, tsVal);
            s.set(INT_BE, p + 8, tsEcr);
            p += 12;
        }
        final int n = sackBlocksWritten(timestamps, sackBlocks);
        if (n > 0) {
            s.set(INT_BE, p, NOP_NOP << 16 | KIND_SACK << 8 | (2 + 8 * n));
            p += 4;
            for (int b = 0; b < n; b++) {
                s.set(INT_BE, p, sackLeft[b]);
                s.set(INT_BE, p + 4, sackRight[b]);
                p += 8;
            }
        }
        return (int) (p - off);
    }
}
